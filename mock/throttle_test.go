package mock_test

import (
	"fmt"
	"net/http"
	"sync"
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

func TestThrottleWrongPhoneCodes(t *testing.T) {
	t.Parallel()
	for m, reason := range map[mock.Method]string{
		mock.MethodSMS:   "User entered too many invalid SMS verification codes and is blocked for 24 hours",
		mock.MethodVoice: "User entered too many invalid voice call verification codes and is blocked for 24 hours",
	} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			l := newLab(t, mock.WithClock(fixedClock()))
			const upn = "adele@contoso.com"
			v := l.begin(t, upn).View
			l.send(t, v.FlowToken, m) // one phone event
			for range mock.ThrottleLimit - 1 {
				assert.Equal(t, mock.StatusWrongCode, l.verify(t, v.FlowToken, m, "000000x").View.Status)
			}
			r := l.verify(t, v.FlowToken, m, "000000x")
			assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome)
			blk := blockedEntries(l, upn)
			require.Len(t, blk, 1)
			assert.Equal(t, reason, blk[0].ResultReason)
		})
	}
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

// TestThrottleResets: five resets in an hour are allowed; the sixth is
// refused when it sets the password, and blocks.
func TestThrottleResets(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	const upn = "adele@contoso.com"
	for i := range mock.ThrottleLimit {
		v := l.begin(t, upn).View
		l.passCode(t, upn, v.FlowToken, mock.MethodEmail)
		require.Equal(t, mock.OutcomeSuccess, l.password(t, v.FlowToken, strongPassword).View.Outcome, "reset %d", i+1)
		clock.Advance(time.Minute)
	}
	v := l.begin(t, upn).View
	require.Equal(t, mock.StepVerify, v.Step, "five resets do not block by themselves")
	l.passCode(t, upn, v.FlowToken, mock.MethodEmail)
	r := l.password(t, v.FlowToken, strongPassword)
	assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome, "the sixth reset is refused")
	assert.Equal(t, mock.StepFailed, r.View.Step)
	blk := blockedEntries(l, upn)
	require.Len(t, blk, 1)
	assert.Contains(t, blk[0].ResultReason, "reset their password too many times")
	assert.Equal(t, mock.OutcomeBlocked, l.begin(t, upn).View.Outcome)

	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/blocks/"+upn, nil, nil))
	assert.Equal(t, mock.StepVerify, l.begin(t, upn).View.Step, "unblocked by the admin API")
}

// TestThrottleResetsParallel: eight flows of one user, begun at once and
// each verified, then all set their password at once: exactly five resets
// go through, one is refused and blocks, and the block ends the others.
func TestThrottleResetsParallel(t *testing.T) {
	t.Parallel()
	const flows = 8
	l := newLab(t, mock.WithClock(fixedClock()))
	const upn = "adele@contoso.com"

	views := make([]mock.FlowView, flows)
	errs := make([]error, flows)
	parallel := func(step func(i int) error) {
		var wg sync.WaitGroup
		for i := range flows {
			wg.Go(func() { errs[i] = step(i) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "flow %d", i)
		}
	}
	parallel(func(i int) error {
		r, err := l.callBegin(upn)
		if err == nil && r.View.Step != mock.StepVerify {
			err = fmt.Errorf("begin: %s", r.Raw)
		}
		views[i] = r.View
		return err
	})
	parallel(func(i int) error {
		v := views[i]
		if r, err := l.call("/send", map[string]any{"flowToken": v.FlowToken, "method": mock.MethodEmail}); err != nil || r.View.Status != mock.StatusCodeSent {
			return fmt.Errorf("send: %v %s", err, r.Raw)
		}
		code, ok := l.codeFor(upn, v.CorrelationID, mock.MethodEmail)
		if !ok {
			return fmt.Errorf("no code for flow %s", v.CorrelationID)
		}
		r, err := l.call("/verify", map[string]any{"flowToken": v.FlowToken, "method": mock.MethodEmail, "code": code})
		if err == nil && r.View.Step != mock.StepPassword {
			err = fmt.Errorf("verify: %s", r.Raw)
		}
		return err
	})
	outcomes := make([]string, flows)
	parallel(func(i int) error {
		r, err := l.call("/password", map[string]any{"flowToken": views[i].FlowToken, "newPassword": strongPassword})
		outcomes[i] = r.View.Outcome
		return err
	})
	count := map[string]int{}
	for _, o := range outcomes {
		count[o]++
	}
	assert.Equal(t, map[string]int{mock.OutcomeSuccess: mock.ThrottleLimit, mock.OutcomeBlocked: flows - mock.ThrottleLimit}, count)
	assert.Len(t, blockedEntries(l, upn), 1, "one block, started by the sixth reset")
	_, blocked := l.svc.Block(upn)
	assert.True(t, blocked)
}

// TestBlockEndsRunningFlows: a block started in one flow ends the user's
// other flows at their next step, whatever the step.
func TestBlockEndsRunningFlows(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()))
	const upn = "adele@contoso.com"
	atVerify := l.begin(t, upn).View
	atPassword := l.begin(t, upn).View
	l.passCode(t, upn, atPassword.FlowToken, mock.MethodEmail)
	for range mock.ThrottleLimit {
		require.Equal(t, mock.StatusCodeSent, l.send(t, l.begin(t, upn).View.FlowToken, mock.MethodSMS).View.Status)
	}
	r := l.send(t, l.begin(t, upn).View.FlowToken, mock.MethodSMS)
	require.Equal(t, mock.OutcomeBlocked, r.View.Outcome, r.Raw)

	for name, r := range map[string]apiResult{
		"send":     l.send(t, atVerify.FlowToken, mock.MethodEmail),
		"password": l.password(t, atPassword.FlowToken, strongPassword),
	} {
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, mock.StepFailed, r.View.Step, name)
		assert.Equal(t, mock.OutcomeBlocked, r.View.Outcome, name)
		assert.Equal(t, mock.CodeBlocked, r.View.Code, name)
	}
	assert.Len(t, l.svc.Outbox().Messages(upn), 1+mock.ThrottleLimit, "one email and five texts; nothing after the block")
	for _, e := range l.svc.Audit().Entries(upn) {
		assert.False(t, e.Activity == mock.ActivityReset && e.Result == mock.ResultSuccess, "no reset went through")
	}
}

// TestThrottleMemory: a deleted user's throttling events, block and
// notifications are dropped, and so are events older than the window.
func TestThrottleMemory(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	l.send(t, l.begin(t, "adele@contoso.com").View.FlowToken, mock.MethodSMS)
	v := l.begin(t, "alex@fabrikam.com").View
	l.send(t, v.FlowToken, mock.MethodSMS)
	l.send(t, v.FlowToken, mock.MethodAppNotification)
	users, _, flows := mock.StateSizes(l.svc)
	assert.Equal(t, 2, users)
	assert.Equal(t, 1, flows)

	require.True(t, l.svc.DeleteUser("alex@fabrikam.com"))
	users, _, flows = mock.StateSizes(l.svc)
	assert.Equal(t, 1, users)
	assert.Equal(t, 0, flows)
	assert.False(t, l.svc.Authenticator().Pending("alex@fabrikam.com"))

	// Two hours on, adele's one event is old: the next event of anyone
	// sweeps it.
	clock.Advance(2 * time.Hour)
	v = l.begin(t, "quinn@contoso.com").View
	l.send(t, v.FlowToken, mock.MethodSecurityQuestions)
	require.Equal(t, mock.StatusWrongAnswers, l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "x", "y", "z").View.Status)
	users, _, _ = mock.StateSizes(l.svc)
	assert.Equal(t, 1, users, "only quinn's event is left")
}
