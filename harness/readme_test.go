package harness_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/harness"
)

// TestREADMEDirectory: the README's table of the default directory names
// every user of harness/directory.yaml, and no other.
func TestREADMEDirectory(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(b)
	start := strings.Index(readme, "**The default directory**")
	require.GreaterOrEqual(t, start, 0, "the README has the table")
	end := strings.Index(readme[start:], "Any other user is")
	require.Positive(t, end)
	table := readme[start : start+end]
	var listed []string
	for _, line := range strings.Split(table, "\n") {
		if upn, ok := strings.CutPrefix(line, "| `"); ok {
			listed = append(listed, upn[:strings.Index(upn, "`")])
		}
	}
	var users []string
	for _, u := range harness.DefaultDirectory().Users {
		users = append(users, u.UPN)
	}
	assert.ElementsMatch(t, users, listed)
}
