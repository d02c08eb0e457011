//go:build unix && squid

package squidtest_test

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/egresslab/egresslab/internal/testtool"
)

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func squidMissing() bool { return testtool.SquidMissing() != "" }

// fatalTB records a Fatal and stops the caller with a panic the test
// recovers, so that a test can check what Start fails with.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f.msg)
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(f.msg)
}
