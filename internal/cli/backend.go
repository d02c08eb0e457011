package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/egresslab/egresslab/scenarios"
	"github.com/egresslab/egresslab/tclab"
)

// The run command's backends.
const (
	backendInProcess = "in-process"
	backendDocker    = "docker"
)

// dockerParallel is how many container labs run at once by default: more
// does not help, Docker's own work per lab is what takes the time.
const dockerParallel = 8

// dockerBackend prepares the container backend: the image (image, or one
// built from this executable, which must be static), a network pool, and
// what to remove after the run. getenv is the environment.
func dockerBackend(ctx context.Context, image string, getenv func(string) string, stderr io.Writer) (scenarios.Backend, func(), error) {
	// The reaper's image is pulled from a registry; the labs are removed
	// explicitly instead (also after an interrupt), unless the user asks
	// for the reaper.
	if getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	tclog.SetDefault(tclog.NewNoopLogger())
	built := false
	if image != "" {
		if err := tclab.ImageExists(ctx, image); err != nil {
			return nil, nil, usagef("--image: %v", err)
		}
	}
	if image == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, usagef("--backend docker: this program's path: %v (give --image)", err)
		}
		if err := tclab.CheckStatic(exe); err != nil {
			return nil, nil, usagef("--backend docker: cannot build the image from this program: %v", err)
		}
		if image, err = tclab.BuildImage(ctx, exe, ""); err != nil {
			return nil, nil, fmt.Errorf("--backend docker: %w", err)
		}
		fmt.Fprintf(stderr, "egresslab: built the labs' image %s from %s (removed at the end)\n", image, exe)
		built = true
	}
	pool := tclab.NewNetworkPool()
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pool.Close(ctx); err != nil {
			fmt.Fprintln(stderr, "egresslab: remove the labs' networks:", err)
		}
		if built {
			if err := tclab.RemoveImage(ctx, image); err != nil {
				fmt.Fprintln(stderr, "egresslab: remove the image:", err)
			}
		}
	}
	return tclab.Backend{Image: image, Networks: pool}, cleanup, nil
}
