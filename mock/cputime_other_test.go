//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mock_test

import "time"

// processCPU is not available here.
func processCPU() (time.Duration, bool) { return 0, false }
