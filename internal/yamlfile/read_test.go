//go:build unix

package yamlfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/internal/yamlfile"
)

// TestReadFile: regular files up to the limit are read; a pipe, a device,
// a directory and a larger file are refused with the file's name and the
// reason, without blocking or reading on.
func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("#", size)), 0o644))
		return p
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	testtool.FIFO(t, fifo)
	link := filepath.Join(dir, "link.yaml")
	require.NoError(t, os.Symlink(write("target.yaml", 10), link))

	tests := map[string]struct {
		path string
		size int    // of the data read
		want string // the error
	}{
		"small file":        {path: write("small.yaml", 10), size: 10},
		"file at the limit": {path: write("limit.yaml", yamlfile.MaxFileSize), size: yamlfile.MaxFileSize},
		"symlink to a file": {path: link, size: 10},
		"file over the limit": {path: write("large.yaml", yamlfile.MaxFileSize+1),
			want: "large.yaml: 1048577 bytes or more, over the limit of 1 MiB (1048576 bytes)"},
		"named pipe": {path: fifo, want: "pipe.yaml: not a regular file (a named pipe): only regular files are read"},
		"/dev/zero":  {path: "/dev/zero", want: "/dev/zero: not a regular file (a character device)"},
		"directory":  {path: dir, want: dir + ": not a regular file (a directory)"},
		"missing":    {path: filepath.Join(dir, "missing.yaml"), want: "missing.yaml: no such file or directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := yamlfile.ReadFile(tc.path)
			if tc.want != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				assert.Nil(t, data)
				return
			}
			require.NoError(t, err)
			assert.Len(t, data, tc.size)
		})
	}
}
