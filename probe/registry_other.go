//go:build !windows

package probe

import (
	"errors"
	"runtime"
)

// OpenRegistry returns the live registry of this machine, read-only; on
// anything but Windows there is none.
func OpenRegistry() (Registry, error) {
	return nil, errors.New("no Windows registry on " + runtime.GOOS + ": the system's proxy is the environment's (EnvSources)")
}
