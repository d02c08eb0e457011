package mock_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// blockedEntries returns the user's "Blocked from self-service password
// reset" audit entries.
func blockedEntries(l *lab, upn string) []mock.AuditEntry {
	var out []mock.AuditEntry
	for _, e := range l.svc.Audit().Entries(upn) {
		if e.Activity == mock.ActivityBlocked {
			out = append(out, e)
		}
	}
	return out
}

func TestThrottlePhoneSends(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	const upn = "adele@contoso.com"
	for i := range mock.ThrottleLimit {
		v := l.begin(t, upn).View
		r := l.send(t, v.FlowToken, mock.MethodSMS)
		require.Equal(t, mock.StatusCodeSent, r.View.Status, "send %d", i+1)
		clock.Advance(time.Minute)
	}
	v := l.begin(t, upn).View
	r := l.send(t, v.FlowToken, mock.MethodSMS)
	assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome, "the sixth validation within an hour is refused")
	assert.Equal(t, mock.StepFailed, r.View.Step)
	blk := blockedEntries(l, upn)
	require.Len(t, blk, 1)
	assert.Equal(t, "User attempted to validate a phone too many times and is blocked for 24 hours", blk[0].ResultReason)

	// Blocked for 24 hours, even for other methods.
	clock.Advance(23 * time.Hour)
	assert.Equal(t, mock.OutcomeBlocked, l.begin(t, upn).View.Outcome)
	var got mock.Block
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/blocks/"+upn, nil, &got))
	clock.Advance(time.Hour)
	assert.Equal(t, mock.StepVerify, l.begin(t, upn).View.Step, "the block has ended")
	assert.Equal(t, http.StatusNotFound, l.adminDo(t, http.MethodGet, "/blocks/"+upn, nil, nil))
}

func TestThrottleWindowRolls(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	const upn = "adele@contoso.com"
	for range mock.ThrottleLimit {
		l.send(t, l.begin(t, upn).View.FlowToken, mock.MethodVoice)
		clock.Advance(15 * time.Minute) // five sends over 75 minutes
	}
	r := l.send(t, l.begin(t, upn).View.FlowToken, mock.MethodVoice)
	assert.Equal(t, mock.StatusCodeSent, r.View.Status, "only four of the five fall within the last hour")
}

func TestThrottleWrongSMSCodes(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()))
	const upn = "adele@contoso.com"
	v := l.begin(t, upn).View
	l.send(t, v.FlowToken, mock.MethodSMS) // one phone event
	for range mock.ThrottleLimit - 1 {
		assert.Equal(t, mock.StatusWrongCode, l.verify(t, v.FlowToken, mock.MethodSMS, "000000x").View.Status)
	}
	r := l.verify(t, v.FlowToken, mock.MethodSMS, "000000x")
	assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome)
	blk := blockedEntries(l, upn)
	require.Len(t, blk, 1)
	assert.Equal(t, "User entered too many invalid SMS verification codes and is blocked for 24 hours", blk[0].ResultReason)
}

func TestThrottleSecurityQuestions(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()))
	const upn = "quinn@contoso.com"
	v := l.begin(t, upn).View
	l.send(t, v.FlowToken, mock.MethodSecurityQuestions)
	for range mock.ThrottleLimit {
		assert.Equal(t, mock.StatusWrongAnswers, l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "a", "b", "c").View.Status)
	}
	r := l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "Lisbon", "Biscuit", "Q")
	assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome, "right answers do not help once the gate was used too often")
}

func TestThrottleResets(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	const upn = "adele@contoso.com"
	for i := range mock.ThrottleLimit {
		v := l.begin(t, upn).View
		l.passCode(t, upn, v.FlowToken, mock.MethodEmail)
		require.Equal(t, mock.OutcomeSuccess, l.password(t, v.FlowToken, strongPassword).View.Outcome, "reset %d", i+1)
	}
	r := l.begin(t, upn)
	assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome)
	blk := blockedEntries(l, upn)
	require.Len(t, blk, 1)
	assert.Contains(t, blk[0].ResultReason, "reset their password too many times")

	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/blocks/"+upn, nil, nil))
	assert.Equal(t, mock.StepVerify, l.begin(t, upn).View.Step, "unblocked by the admin API")
}
