//go:build unix

package winreg

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egresslab/egresslab/internal/testtool"
)

// TestLoadRefusesPipe: a named pipe is refused before it is read, so
// Load does not block on it.
func TestLoadRefusesPipe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe.reg")
	testtool.FIFO(t, p)
	_, err := Load(p)
	assert.EqualError(t, err, p+": not a regular file (a named pipe): only regular files are read")
}
