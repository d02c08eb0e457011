package testtool

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// MainNoLeaks is a TestMain: it runs the package's tests and fails them
// if any goroutine outlives them (go.uber.org/goleak), so that everything
// a test starts must end with its Close. A benchmark run is not checked:
// its baselines (bare goproxy, httptest) keep idle connections of their
// own.
func MainNoLeaks(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.bench").Value.String() == "" {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
