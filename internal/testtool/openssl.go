// Package testtool gives tests access to the real command-line peers the
// project tests against (openssl, curl). A test that needs one and does not
// find it fails, unless EGRESSLAB_ALLOW_MISSING_TOOLS=1 says the run may
// skip it: a missing peer must never pass silently in CI. Docker
// ([NeedDocker]) and Squid ([NeedSquid]) are skipped, saying so, when
// missing, and fail the test when CI=true.
package testtool

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Need returns the path of the named program, or ends the test: with a
// failure by default, or a skip when EGRESSLAB_ALLOW_MISSING_TOOLS=1.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("EGRESSLAB_ALLOW_MISSING_TOOLS") == "1" {
		t.Skipf("%s not installed (EGRESSLAB_ALLOW_MISSING_TOOLS=1)", name)
	}
	t.Fatalf("%s not installed: install it (.ci/run does) or set EGRESSLAB_ALLOW_MISSING_TOOLS=1 to skip", name)
	return ""
}

// Run runs a program with no standard input and returns its combined
// output and exit code. The run is bounded: it is killed after a minute.
// An error is returned only when the program could not be run at all.
func Run(t testing.TB, name string, args ...string) (out string, code int, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Need(t, name), args...)
	cmd.Stdin = nil
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(b), ee.ExitCode(), nil
	}
	if err != nil {
		return string(b), -1, err
	}
	return string(b), 0, nil
}
