package probe_test

import (
	"testing"

	"github.com/egresslab/egresslab/internal/testtool"
)

// TestMain fails the tests if a goroutine outlives them.
func TestMain(m *testing.M) { testtool.MainNoLeaks(m) }
