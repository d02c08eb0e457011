//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
)

// TestSpecialFiles: validate and run read regular files only, of at most
// 1 MiB; a pipe (given or in a directory), a device and a larger file are
// refused at once, each error naming the file and why.
func TestSpecialFiles(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("testdata/good.yaml")
	require.NoError(t, err)

	// Each pipe is opened by one test at most (should the code under
	// test open it): its waiting writer serves one reader.
	pipeDir := func() string {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "good.yaml"), good, 0o644))
		testtool.FIFO(t, filepath.Join(dir, "pipe.yaml"))
		return dir
	}
	validateDir, runDir := pipeDir(), pipeDir()
	pipe := filepath.Join(t.TempDir(), "given.yaml")
	testtool.FIFO(t, pipe)
	runPipe := filepath.Join(t.TempDir(), "run.yaml")
	testtool.FIFO(t, runPipe)
	large := filepath.Join(t.TempDir(), "large.yaml")
	// Valid YAML, a comment padding it over the limit.
	require.NoError(t, os.WriteFile(large, append(good, "#"+strings.Repeat("x", 1<<20)+"\n"...), 0o644))

	const notRegular = ": not a regular file (a named pipe): only regular files are read"
	tests := map[string]struct {
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		"validate a pipe": {args: []string{"validate", pipe}, code: 1, stdout: []string{pipe + notRegular}},
		"validate a directory holding a pipe": {args: []string{"validate", validateDir}, code: 1,
			stdout: []string{filepath.Join(validateDir, "good.yaml") + ": ok", filepath.Join(validateDir, "pipe.yaml") + notRegular}},
		"validate /dev/zero":             {args: []string{"validate", "/dev/zero"}, code: 1, stdout: []string{"/dev/zero: not a regular file (a character device)"}},
		"validate a large file":          {args: []string{"validate", large}, code: 1, stdout: []string{large + ": " + strconv.Itoa(len(good)+2+1<<20) + " bytes or more, over the limit of 1 MiB"}},
		"run a pipe":                     {args: []string{"run", runPipe}, code: 2, stderr: []string{runPipe + notRegular}},
		"run /dev/zero":                  {args: []string{"run", "/dev/zero"}, code: 2, stderr: []string{"/dev/zero: not a regular file (a character device)"}},
		"run a directory holding a pipe": {args: []string{"run", runDir}, code: 2, stderr: []string{filepath.Join(runDir, "pipe.yaml") + notRegular}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(tc.args, nil)
			assert.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, stderr, s)
			}
		})
	}
}
