package mock_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// TestOutboxByFlow: two flows of one user and a flow of another send in
// turn; reading by flow, by user, and the admin API's correlationId filter
// give each exactly its own, oldest first.
func TestOutboxByFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()))
	a1 := l.begin(t, "adele@contoso.com").View
	a2 := l.begin(t, "adele@contoso.com").View
	q := l.begin(t, "quinn@contoso.com").View
	for _, v := range []mock.FlowView{a1, q, a2, a1, q, a2, a2} {
		require.Equal(t, mock.StatusCodeSent, l.send(t, v.FlowToken, mock.MethodEmail).View.Status)
	}
	out := l.svc.Outbox()
	ids := func(msgs []mock.Message) (out []int) {
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, ids(out.Messages("")))
	assert.Equal(t, []int{1, 3, 4, 6, 7}, ids(out.Messages("adele@contoso.com")))
	assert.Equal(t, []int{2, 5}, ids(out.Messages("quinn@contoso.com")))
	assert.Equal(t, []int{1, 4}, ids(out.Flow(a1.CorrelationID)))
	assert.Equal(t, []int{3, 6, 7}, ids(out.Flow(a2.CorrelationID)))
	assert.Equal(t, []int{2, 5}, ids(out.Flow(q.CorrelationID)))
	assert.Nil(t, out.Flow("no-such-flow"))
	assert.Nil(t, out.Messages("nobody@contoso.com"))
	last, ok := out.Last("adele@contoso.com", mock.MethodEmail)
	require.True(t, ok)
	assert.Equal(t, 7, last.ID)
	_, ok = out.Last("adele@contoso.com", mock.MethodSMS)
	assert.False(t, ok)
	for _, m := range out.Messages("") {
		assert.True(t, slices.Contains(ids(out.Flow(m.CorrelationID)), m.ID))
	}

	var byAdmin []mock.Message
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/outbox?correlationId="+a1.CorrelationID, nil, &byAdmin))
	assert.Equal(t, []int{1, 4}, ids(byAdmin))
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/outbox?upn=quinn@contoso.com&correlationId="+a1.CorrelationID, nil, &byAdmin))
	assert.Empty(t, byAdmin, "both filters apply")

	// The newest code of each flow verifies it.
	for _, v := range []mock.FlowView{a1, a2, q} {
		msgs := out.Flow(v.CorrelationID)
		assert.Equal(t, mock.StepPassword, l.verify(t, v.FlowToken, mock.MethodEmail, msgs[len(msgs)-1].Code).View.Step)
	}

	out.Clear()
	assert.Nil(t, out.Messages(""))
	assert.Nil(t, out.Messages("adele@contoso.com"))
	assert.Nil(t, out.Flow(a1.CorrelationID))
}
