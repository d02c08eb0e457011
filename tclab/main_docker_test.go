//go:build docker

package tclab_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/tclab"
)

// image is the project's image, built once for the package's tests.
var image string

func TestMain(m *testing.M) {
	// The reaper's image cannot be pulled here: labs are removed
	// explicitly (CleanupLab), and a test checks that nothing is left.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if testtool.DockerMissing() != "" {
		os.Exit(m.Run()) // each test skips, or fails on CI
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var err error
	image, err = tclab.BuildImage(ctx, "", "")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	if err := tclab.RemoveImage(ctx, image); err != nil {
		fmt.Fprintln(os.Stderr, "remove image:", err)
	}
	cancel()
	os.Exit(code)
}

// needDocker is testtool.NeedDocker.
func needDocker(t *testing.T) {
	t.Helper()
	testtool.NeedDocker(t)
}
