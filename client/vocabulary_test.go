package client_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's diagnosis table from client.Vocabulary")

// diagnosisHeader opens the README's diagnosis table.
const diagnosisHeader = "| cause | read from | outcome | remedy |"

// diagnosisTable renders the vocabulary as the README's table.
func diagnosisTable() string {
	var b strings.Builder
	b.WriteString(diagnosisHeader + "\n| --- | --- | --- | --- |\n")
	for _, e := range client.Vocabulary() {
		b.WriteString("| `" + string(e.Cause) + "` | " + e.ReadFrom + " | " + string(e.Outcome) + " | " + e.Remedy + " |\n")
	}
	return b.String()
}

// TestVocabulary: every cause has one entry, a remedy and an outcome, and
// Remedy and Causes come from it.
func TestVocabulary(t *testing.T) {
	t.Parallel()
	seen := map[client.Cause]bool{}
	for _, e := range client.Vocabulary() {
		assert.False(t, seen[e.Cause], "%s twice", e.Cause)
		seen[e.Cause] = true
		assert.NotEmpty(t, e.ReadFrom, e.Cause)
		assert.Contains(t, client.Outcomes(), e.Outcome, e.Cause)
		assert.Equal(t, client.Remedy(e.Cause), e.Remedy)
		assert.NotContains(t, e.ReadFrom+e.Remedy, "|", "the README's table cannot hold it")
	}
	assert.Len(t, client.Causes(), len(seen))
}

// TestREADMEDiagnosisTable: the README's diagnosis table is the
// vocabulary's (go test ./client -run TestREADMEDiagnosisTable
// -update-readme rewrites it).
func TestREADMEDiagnosisTable(t *testing.T) {
	const path = "../README.md"
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(data)
	start := strings.Index(text, diagnosisHeader+"\n")
	require.GreaterOrEqual(t, start, 0, "README.md has no diagnosis table (%q)", diagnosisHeader)
	end := start
	for end < len(text) && strings.HasPrefix(text[end:], "|") {
		nl := strings.IndexByte(text[end:], '\n')
		require.GreaterOrEqual(t, nl, 0)
		end += nl + 1
	}
	want := diagnosisTable()
	if *updateREADME {
		require.NoError(t, os.WriteFile(path, []byte(text[:start]+want+text[end:]), 0o644))
		return
	}
	assert.Equal(t, want, text[start:end], "README.md's diagnosis table is out of date: go test ./client -run TestREADMEDiagnosisTable -update-readme")
}
