package mock_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// TestSecurityAnswers: a user's answers in the questions' order, by a
// UPN in any case; a question without an answer names the user and it.
func TestSecurityAnswers(t *testing.T) {
	t.Parallel()
	d := &mock.DirectoryData{Users: []mock.User{{UPN: "quinn@contoso.com", Methods: mock.Registration{SecurityQuestions: []mock.SecurityQuestion{
		{Question: "first pet?", Answer: "rex"}, {Question: "first car?", Answer: "mini"}}}}}}
	got, err := d.SecurityAnswers("Quinn@Contoso.com", []string{"first car?", "first pet?"})
	require.NoError(t, err)
	assert.Equal(t, []string{"mini", "rex"}, got)
	_, err = d.SecurityAnswers("quinn@contoso.com", []string{"first school?"})
	assert.EqualError(t, err, `the directory has no answer of quinn@contoso.com to "first school?"`)
	_, err = d.SecurityAnswers("nobody@contoso.com", []string{"first pet?"})
	assert.Error(t, err)
}
