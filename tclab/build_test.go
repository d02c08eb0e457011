package tclab_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/tclab"
)

// TestCheckStatic: only a static Linux executable can be the image.
func TestCheckStatic(t *testing.T) {
	t.Parallel()
	text := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("not a program"), 0o644))
	err := tclab.CheckStatic(text)
	require.Error(t, err)
	assert.Contains(t, err.Error(), text+": not a Linux executable")

	// Debian's shell is dynamically linked.
	if _, err := os.Stat("/bin/sh"); err == nil {
		err := tclab.CheckStatic("/bin/sh")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "dynamically linked")
		assert.Contains(t, err.Error(), "CGO_ENABLED=0")
	}
}
