//go:build docker

package tclab_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/egresslab/egresslab/tclab"
)

// image is the project's image, built once for the package's tests.
var image string

// dockerMissing says why Docker cannot be used, "" when it can.
var dockerMissing string

func TestMain(m *testing.M) {
	// The reaper's image cannot be pulled here: labs are removed
	// explicitly (CleanupLab), and a test checks that nothing is left.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		dockerMissing = fmt.Sprintf("Docker is not available (docker info: %v: %s)", err, out)
		os.Exit(m.Run())
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

// needDocker skips a test without Docker, and fails it on CI (CI=true),
// where Docker must be there.
func needDocker(t *testing.T) {
	t.Helper()
	if dockerMissing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(dockerMissing + ": CI=true needs it")
	}
	t.Skip(dockerMissing)
}
