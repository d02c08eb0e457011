package mock_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

func TestHappyPathOneGate(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	r := l.begin(t, "Adele@Contoso.com", mock.ClientTypeHeader, mock.ClientWindowsLogon)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	v := r.View
	assert.Equal(t, mock.StepVerify, v.Step)
	assert.Equal(t, 1, v.Gate)
	assert.Equal(t, 1, v.GatesRequired)
	assert.Equal(t, []mock.MethodOption{
		{Method: mock.MethodEmail, Contact: "ad*********@outlook.example"},
		{Method: mock.MethodSMS, Contact: "XXXXXXXXXXX00"},
		{Method: mock.MethodVoice, Contact: "XXXXXXXXXXX01"},
	}, v.Methods)

	r = l.passCode(t, "adele@contoso.com", v.FlowToken, mock.MethodSMS)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, mock.StepPassword, r.View.Step)
	r = l.password(t, v.FlowToken, strongPassword)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, mock.StepDone, r.View.Step)
	assert.Equal(t, mock.OutcomeSuccess, r.View.Outcome)
	assert.Equal(t, "Your password has been reset.", r.View.Message)

	entries := l.svc.Audit().Entries("adele@contoso.com")
	require.NotEmpty(t, entries)
	last := entries[len(entries)-1]
	assert.Equal(t, mock.ActivityReset, last.Activity)
	assert.Equal(t, mock.ResultSuccess, last.Result)
	assert.Equal(t, "User successfully reset password", last.ResultReason)
	assert.Equal(t, mock.AuditService, last.Service)
	assert.Equal(t, mock.AuditCategory, last.Category)
	assert.Equal(t, mock.ClientWindowsLogon, last.ClientType)
	assert.Equal(t, "127.0.0.1", last.ClientIP)
	assert.Equal(t, v.CorrelationID, last.CorrelationID)
	for _, e := range entries {
		assert.Equal(t, v.CorrelationID, e.CorrelationID, "one correlation id for the flow")
	}
	msg, ok := l.svc.Outbox().Last("adele@contoso.com", mock.MethodSMS)
	require.True(t, ok)
	assert.Equal(t, "+1 4255550100", msg.To)
	assert.Contains(t, msg.Text, msg.Code)
	l.assertNoSecrets(t, msg.Code, strongPassword)
}

func TestHappyPathTwoGates(t *testing.T) {
	t.Parallel()
	t.Run("sms and app code", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, "alex@fabrikam.com").View
		assert.Equal(t, 2, v.GatesRequired)
		r := l.passCode(t, "alex@fabrikam.com", v.FlowToken, mock.MethodSMS)
		assert.Equal(t, mock.StepVerify, r.View.Step)
		assert.Equal(t, 2, r.View.Gate)
		assert.NotContains(t, methodsOf(r.View), mock.MethodSMS, "a passed method is not offered again")

		r = l.send(t, v.FlowToken, mock.MethodAppCode)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		r = l.verify(t, v.FlowToken, mock.MethodAppCode, "000000x")
		assert.Equal(t, mock.StatusWrongCode, r.View.Status)
		r = l.verify(t, v.FlowToken, mock.MethodAppCode, l.svc.Authenticator().Code("alex@fabrikam.com"))
		assert.Equal(t, mock.StepPassword, r.View.Step, r.Raw)
		r = l.password(t, v.FlowToken, strongPassword)
		assert.Equal(t, mock.OutcomeSuccess, r.View.Outcome)
	})
	t.Run("email and notification through the admin API", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, "alex@fabrikam.com").View
		l.passCode(t, "alex@fabrikam.com", v.FlowToken, mock.MethodEmail)
		r := l.send(t, v.FlowToken, mock.MethodAppNotification)
		assert.Equal(t, mock.StatusPending, r.View.Status)
		r = l.verify(t, v.FlowToken, mock.MethodAppNotification, "")
		assert.Equal(t, mock.StatusPending, r.View.Status, "not answered yet")

		var st struct{ Pending bool }
		require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/authenticator/alex@fabrikam.com", nil, &st))
		assert.True(t, st.Pending)
		require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPost, "/authenticator/alex@fabrikam.com/approve", nil, nil))
		r = l.verify(t, v.FlowToken, mock.MethodAppNotification, "")
		assert.Equal(t, mock.StepPassword, r.View.Step, r.Raw)
		assert.Equal(t, http.StatusConflict, l.adminDo(t, http.MethodPost, "/authenticator/alex@fabrikam.com/approve", nil, nil), "nothing pending any more")
	})
	t.Run("denied notification", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, "alex@fabrikam.com").View
		l.send(t, v.FlowToken, mock.MethodAppNotification)
		require.NoError(t, l.svc.Authenticator().Answer("alex@fabrikam.com", false))
		r := l.verify(t, v.FlowToken, mock.MethodAppNotification, "")
		assert.Equal(t, mock.StatusDenied, r.View.Status)
		assert.Equal(t, mock.StepVerify, r.View.Step)
		assert.Equal(t, 1, r.View.Gate)
	})
}

func methodsOf(v mock.FlowView) []mock.Method {
	var out []mock.Method
	for _, m := range v.Methods {
		out = append(out, m.Method)
	}
	return out
}

// TestOutcomesAtBegin covers every outcome decided at "Get back into your
// account", with the audit reason each leaves.
func TestOutcomesAtBegin(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	tests := map[string]struct {
		upn, client       string
		outcome, code     string
		message, auditMsg string
	}{
		"tenant SSPR off":            {upn: "user@offco.example", outcome: mock.OutcomeNotEnabled, code: "SSPR_0009", message: "Your account is not enabled for password reset."},
		"no policy":                  {upn: "user@nopolicy.example", outcome: mock.OutcomeNotEnabled, code: "SSPR_0011"},
		"not licensed":               {upn: "nolicense@contoso.com", outcome: mock.OutcomeNotEnabled, code: "SSPR_0012"},
		"not in the group":           {upn: "outsider@fabrikam.com", outcome: mock.OutcomeNotEnabled, code: "SSPR_0013"},
		"not registered":             {upn: "unregistered@contoso.com", outcome: mock.OutcomeCouldNotVerify, code: "SSPR_0014", message: "We couldn't verify your account."},
		"app alone":                  {upn: "apponly@contoso.com", outcome: mock.OutcomeCouldNotVerify, code: "SSPR_0014"},
		"windows 7, app needed":      {upn: "megan@fabrikam.com", client: mock.ClientWindows7Addin, outcome: mock.OutcomeCouldNotVerify, code: "SSPR_0014", auditMsg: "does not support the authenticator app"},
		"on-premises, writeback off": {upn: "user@onpremoff.example", outcome: mock.OutcomeContactAdmin, code: "SSPR_0010", message: "Please contact your administrator.", auditMsg: "User's password is managed on-premises"},
		"disabled account":           {upn: "disabled@contoso.com", outcome: mock.OutcomeContactAdmin, code: mock.CodeUserDisabled},
		"unknown user":               {upn: "nobody@contoso.com", outcome: mock.OutcomeCouldNotVerify, code: mock.CodeUserNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var hdr []string
			if tc.client != "" {
				hdr = []string{mock.ClientTypeHeader, tc.client}
			}
			r := l.begin(t, tc.upn, hdr...)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, mock.StepFailed, r.View.Step)
			assert.Equal(t, tc.outcome, r.View.Outcome)
			assert.Equal(t, tc.code, r.View.Code)
			if tc.message != "" {
				assert.Equal(t, tc.message, r.View.Message)
			}
			if tc.code == mock.CodeUserNotFound {
				assert.Empty(t, l.svc.Audit().Entries(tc.upn), "no audit entry for a user that does not exist")
				return
			}
			entries := l.svc.Audit().Entries(tc.upn)
			require.NotEmpty(t, entries)
			last := entries[len(entries)-1]
			assert.Equal(t, mock.ActivityReset, last.Activity)
			assert.Equal(t, mock.ResultFailure, last.Result)
			if tc.auditMsg != "" {
				assert.Contains(t, last.ResultReason, tc.auditMsg)
			}
			// The flow is over: no further step is accepted.
			s := l.send(t, r.View.FlowToken, mock.MethodEmail)
			assert.Equal(t, http.StatusConflict, s.Status)
			assert.Equal(t, "out-of-order", s.Err.Kind)
		})
	}
}

func TestWindows7CanStillUseOtherMethods(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	r := l.begin(t, "adele@contoso.com", mock.ClientTypeHeader, mock.ClientWindows7Addin)
	require.Equal(t, mock.StepVerify, r.View.Step, r.Raw)
	r = l.send(t, r.View.FlowToken, mock.MethodAppCode)
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Equal(t, "method-unavailable", r.Err.Kind)
}

func TestWritebackFailuresAtPassword(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for upn, code := range map[string]string{"user@onprembroken.example": "SSPR_0030", "user@onpremadmin.example": "SSPR_0029"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			v := l.begin(t, upn).View
			require.Equal(t, mock.StepVerify, v.Step)
			l.passCode(t, upn, v.FlowToken, mock.MethodEmail)
			r := l.password(t, v.FlowToken, strongPassword)
			assert.Equal(t, mock.OutcomeContactAdmin, r.View.Outcome)
			assert.Equal(t, code, r.View.Code)
			assert.Equal(t, "Please contact your administrator.", r.View.Message)
		})
	}
}

func TestPasswordPolicyInFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := l.begin(t, "adele@contoso.com").View
	l.passCode(t, "adele@contoso.com", v.FlowToken, mock.MethodEmail)
	for pw, reason := range map[string]string{
		"P@ssw0rd1":        mock.PasswordBanned,
		"Contoso!1":        mock.PasswordBanned,
		"AdeleVance1!":     mock.PasswordBanned,
		"Sh0rt!":           mock.PasswordTooShort,
		"alllowercase1234": mock.PasswordTooSimple,
	} {
		r := l.password(t, v.FlowToken, pw)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, mock.OutcomeWeakPassword, r.View.Outcome, pw)
		assert.Equal(t, reason, r.View.Reason, pw)
		assert.Equal(t, mock.StepPassword, r.View.Step, "the user may try again")
		if reason == mock.PasswordBanned {
			assert.Equal(t, "FuzzyPolicyViolationInvalidPassword", r.View.Code)
		}
		l.assertNoSecrets(t, pw)
	}
	r := l.password(t, v.FlowToken, "ContosoBlankf9!")
	assert.Equal(t, mock.OutcomeSuccess, r.View.Outcome, "scores exactly 5: contoso + blank + f, 9, !")
}

func TestWrongCodeThenRight(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := l.begin(t, "adele@contoso.com").View
	l.send(t, v.FlowToken, mock.MethodEmail)
	r := l.verify(t, v.FlowToken, mock.MethodEmail, "12345x")
	assert.Equal(t, mock.StatusWrongCode, r.View.Status)
	assert.Equal(t, mock.MethodEmail, r.View.Method, "the code is still awaited")
	r = l.verify(t, v.FlowToken, mock.MethodEmail, l.lastCode(t, "adele@contoso.com", mock.MethodEmail))
	assert.Equal(t, mock.StepPassword, r.View.Step)
}

func TestCodeExpires(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	v := l.begin(t, "adele@contoso.com").View
	l.send(t, v.FlowToken, mock.MethodEmail)
	clock.Advance(mock.DefaultCodeTTL + time.Second)
	r := l.verify(t, v.FlowToken, mock.MethodEmail, l.lastCode(t, "adele@contoso.com", mock.MethodEmail))
	assert.Equal(t, mock.StatusCodeExpired, r.View.Status)
	assert.Empty(t, r.View.Method)
}

func TestSecurityQuestions(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := l.begin(t, "quinn@contoso.com").View
	r := l.send(t, v.FlowToken, mock.MethodSecurityQuestions)
	require.Equal(t, mock.StatusQuestions, r.View.Status, r.Raw)
	assert.Equal(t, []string{"In what city were you born?", "What was your first pet's name?", "What was your childhood nickname?"}, r.View.Questions)
	r = l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "lisbon", "Rex", "q")
	assert.Equal(t, mock.StatusWrongAnswers, r.View.Status)
	r = l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "  LISBON ", "biscuit", "q")
	assert.Equal(t, mock.StepPassword, r.View.Step, r.Raw)
	l.assertNoSecrets(t, "Biscuit", "biscuit")

	r = l.verify(t, l.begin(t, "quinn@contoso.com").View.FlowToken, mock.MethodSecurityQuestions, "", "x")
	assert.Equal(t, http.StatusConflict, r.Status, "answers before the questions were asked")
}
