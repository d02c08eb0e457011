package mock_test

import (
	"fmt"
	"net/http"
	"strings"
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
		{Method: mock.MethodSMS, Contact: "+1 XXXXXXXX00"},
		{Method: mock.MethodVoice, Contact: "+1 XXXXXXXX01"},
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
	const rules = "Your password must have 8 to 256 characters and use three of: lower-case letters, upper-case letters, numbers and symbols."
	const banned = "The password you chose is too easy to guess. Please choose a password that is harder to guess."
	for pw, reason := range map[string]string{
		"P@ssw0rd1":                mock.PasswordBanned,
		"Contoso!1":                mock.PasswordBanned,
		"AdeleVance1!":             mock.PasswordBanned,
		"Sh0rt!":                   mock.PasswordTooShort,
		strings.Repeat("Ab1!", 65): mock.PasswordTooLong,
		"alllowercase1234":         mock.PasswordTooSimple,
	} {
		r := l.password(t, v.FlowToken, pw)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, mock.OutcomeWeakPassword, r.View.Outcome, pw)
		assert.Equal(t, mock.StatusPasswordBad, r.View.Status, pw)
		assert.Equal(t, reason, r.View.Reason, pw)
		assert.Equal(t, mock.StepPassword, r.View.Step, "the user may try again")
		if reason == mock.PasswordBanned {
			assert.Equal(t, "FuzzyPolicyViolationInvalidPassword", r.View.Code, pw)
			assert.Equal(t, banned, r.View.Message, pw)
		} else {
			assert.Empty(t, r.View.Code, pw)
			assert.Equal(t, rules, r.View.Message, pw)
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

// TestTooManyWrongCodes: an email or app-code challenge takes five wrong
// codes; the fifth cancels it, without a block, and a new code works.
func TestTooManyWrongCodes(t *testing.T) {
	t.Parallel()
	for m, upn := range map[mock.Method]string{mock.MethodEmail: "adele@contoso.com", mock.MethodAppCode: "alex@fabrikam.com"} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			l := newLab(t, mock.WithClock(fixedClock()))
			v := l.begin(t, upn).View
			require.Equal(t, http.StatusOK, l.send(t, v.FlowToken, m).Status)
			for i := range mock.MaxWrongCodes - 1 {
				r := l.verify(t, v.FlowToken, m, "00000x")
				require.Equal(t, mock.StatusWrongCode, r.View.Status, "wrong code %d", i+1)
				assert.Equal(t, m, r.View.Method, "the challenge is still on")
			}
			r := l.verify(t, v.FlowToken, m, "00000x")
			assert.Equal(t, mock.StatusTooManyWrongCodes, r.View.Status)
			assert.Equal(t, mock.StepVerify, r.View.Step)
			assert.Empty(t, r.View.Method, "the challenge is cancelled")
			assert.Contains(t, methodsOf(r.View), m, "the user may start again")

			right := l.svc.Authenticator().Code(upn)
			if m == mock.MethodEmail {
				right = l.lastCode(t, upn, m)
			}
			r = l.verify(t, v.FlowToken, m, right)
			assert.Equal(t, http.StatusConflict, r.Status, "even the right code needs a new challenge")
			_, blocked := l.svc.Block(upn)
			assert.False(t, blocked, "wrong email and app codes do not block")

			require.Equal(t, http.StatusOK, l.send(t, v.FlowToken, m).Status)
			if m == mock.MethodEmail {
				right = l.lastCode(t, upn, m)
			}
			r = l.verify(t, v.FlowToken, m, right)
			assert.Equal(t, mock.StatusOK, r.View.Status, r.Raw)
			entries := l.svc.Audit().Entries(upn)
			assert.Equal(t, "User passed verification gate 1 with "+string(m), entries[len(entries)-1].ResultReason)
		})
	}
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

// TestNotificationsPerFlow: two flows of one user each wait for their own
// notification; the admin API answers a named flow's, or the newest.
func TestNotificationsPerFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	const upn = "alex@fabrikam.com"
	var flows [2]mock.FlowView
	for i := range flows {
		flows[i] = l.begin(t, upn).View
		l.passCode(t, upn, flows[i].FlowToken, mock.MethodEmail)
		require.Equal(t, mock.StatusPending, l.send(t, flows[i].FlowToken, mock.MethodAppNotification).View.Status)
	}
	first, second := flows[0].FlowToken, flows[1].FlowToken

	// Approve the first flow's by name: the second still waits.
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPost, "/authenticator/"+upn+"/approve?flow="+first, nil, nil))
	assert.Equal(t, mock.StatusPending, l.verify(t, second, mock.MethodAppNotification, "").View.Status)
	assert.Equal(t, mock.StepPassword, l.verify(t, first, mock.MethodAppNotification, "").View.Step)
	assert.Equal(t, http.StatusConflict, l.adminDo(t, http.MethodPost, "/authenticator/"+upn+"/deny?flow="+first, nil, nil), "answered already")
	assert.Equal(t, http.StatusConflict, l.adminDo(t, http.MethodPost, "/authenticator/megan@fabrikam.com/deny?flow="+second, nil, nil), "another user's flow")

	// Without a flow, the newest pending one: the second's.
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPost, "/authenticator/"+upn+"/deny", nil, nil))
	assert.Equal(t, mock.StatusDenied, l.verify(t, second, mock.MethodAppNotification, "").View.Status)
	assert.False(t, l.svc.Authenticator().Pending(upn))
	assert.Equal(t, http.StatusConflict, l.adminDo(t, http.MethodPost, "/authenticator/"+upn+"/approve", nil, nil), "nothing pending")

	// A newer notification for the first flow is the newest again.
	third := l.begin(t, upn).View.FlowToken
	l.passCode(t, upn, third, mock.MethodEmail)
	l.send(t, third, mock.MethodAppNotification)
	l.send(t, second, mock.MethodAppNotification)
	require.NoError(t, l.svc.Authenticator().Answer(upn, true))
	assert.Equal(t, mock.StepPassword, l.verify(t, second, mock.MethodAppNotification, "").View.Step)
	assert.Equal(t, mock.StatusPending, l.verify(t, third, mock.MethodAppNotification, "").View.Status)
}

// TestDirectoryChangesMidFlow: every step checks the user again; a change
// that makes them ineligible ends the flow with the outcome and code begin
// would give, at the verification step and at the password step alike.
func TestDirectoryChangesMidFlow(t *testing.T) {
	t.Parallel()
	no := false
	tests := map[string]struct {
		upn           string
		change        func(svc *mock.Service) error
		outcome, code string
	}{
		"tenant SSPR off": {"adele@contoso.com", func(svc *mock.Service) error {
			return editTenant(svc, "contoso", func(t *mock.Tenant) { t.SSPR = mock.SSPROff })
		}, mock.OutcomeNotEnabled, mock.CodeTenantDisabled},
		"no policy": {"adele@contoso.com", func(svc *mock.Service) error {
			return editTenant(svc, "contoso", func(t *mock.Tenant) { t.SSPR = mock.SSPRSelected })
		}, mock.OutcomeNotEnabled, mock.CodeNoPolicy},
		"licence removed": {"adele@contoso.com", func(svc *mock.Service) error {
			return editUser(svc, "adele@contoso.com", func(u *mock.User) { u.Licensed = &no })
		}, mock.OutcomeNotEnabled, mock.CodeUserNotLicensed},
		"left the group": {"alex@fabrikam.com", func(svc *mock.Service) error {
			return editUser(svc, "alex@fabrikam.com", func(u *mock.User) { u.InEnabledGroup = &no })
		}, mock.OutcomeNotEnabled, mock.CodeNotInGroup},
		"disabled": {"adele@contoso.com", func(svc *mock.Service) error {
			return editUser(svc, "adele@contoso.com", func(u *mock.User) { u.Enabled = &no })
		}, mock.OutcomeContactAdmin, mock.CodeUserDisabled},
		"methods removed": {"alex@fabrikam.com", func(svc *mock.Service) error {
			return editUser(svc, "alex@fabrikam.com", func(u *mock.User) { u.Methods = mock.Registration{Email: u.Methods.Email} })
		}, mock.OutcomeCouldNotVerify, mock.CodeNotRegistered},
		"writeback off": {"user@onprembroken.example", func(svc *mock.Service) error {
			return editTenant(svc, "onprembroken", func(t *mock.Tenant) { t.Writeback = mock.WritebackOff })
		}, mock.OutcomeContactAdmin, mock.CodeWritebackDisabled},
	}
	for name, tc := range tests {
		for _, at := range []string{mock.StepVerify, mock.StepPassword} {
			t.Run(name+" at "+at, func(t *testing.T) {
				t.Parallel()
				l := newLab(t)
				v := l.begin(t, tc.upn).View
				require.Equal(t, mock.StepVerify, v.Step, v)
				r := apiResult{Status: http.StatusOK, View: v}
				if at == mock.StepPassword {
					for gate := range v.GatesRequired {
						r = l.passCode(t, tc.upn, v.FlowToken, []mock.Method{mock.MethodEmail, mock.MethodSMS}[gate])
					}
				}
				require.Equal(t, at, r.View.Step, r.Raw)
				require.NoError(t, tc.change(l.svc))

				if at == mock.StepVerify {
					r = l.send(t, v.FlowToken, mock.MethodSMS)
				} else {
					r = l.password(t, v.FlowToken, strongPassword)
				}
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				assert.Equal(t, mock.StepFailed, r.View.Step)
				assert.Equal(t, tc.outcome, r.View.Outcome)
				assert.Equal(t, tc.code, r.View.Code)
				assert.Equal(t, http.StatusConflict, l.password(t, v.FlowToken, strongPassword).Status, "the flow is over")
			})
		}
	}
}

func editTenant(svc *mock.Service, id string, edit func(*mock.Tenant)) error {
	t, ok := svc.Tenant(id)
	if !ok {
		return fmt.Errorf("no tenant %s", id)
	}
	edit(&t)
	return svc.PutTenant(t)
}

func editUser(svc *mock.Service, upn string, edit func(*mock.User)) error {
	for _, u := range svc.Directory().Users {
		if u.UPN == upn {
			edit(&u)
			return svc.PutUser(u)
		}
	}
	return fmt.Errorf("no user %s", upn)
}

// TestGatesGrowMidFlow: when the tenant goes from one gate to two, a flow
// must pass a second gate before its password, wherever it stands.
func TestGatesGrowMidFlow(t *testing.T) {
	t.Parallel()
	const upn = "adele@contoso.com"
	twoGates := func(t *mock.Tenant) { t.Gates = 2 }

	t.Run("at the password step", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, upn).View
		require.Equal(t, mock.StepPassword, l.passCode(t, upn, v.FlowToken, mock.MethodEmail).View.Step)
		require.NoError(t, editTenant(l.svc, "contoso", twoGates))

		r := l.password(t, v.FlowToken, strongPassword)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, mock.StatusGateAdded, r.View.Status)
		assert.Equal(t, mock.StepVerify, r.View.Step, "back to verification")
		assert.Equal(t, 2, r.View.Gate)
		assert.Equal(t, 2, r.View.GatesRequired)
		assert.NotContains(t, methodsOf(r.View), mock.MethodEmail, "the passed gate stays passed")
		assert.Empty(t, r.View.Outcome, "the password was not looked at")

		require.Equal(t, mock.StepPassword, l.passCode(t, upn, v.FlowToken, mock.MethodSMS).View.Step)
		assert.Equal(t, mock.OutcomeSuccess, l.password(t, v.FlowToken, strongPassword).View.Outcome)
	})
	t.Run("at the verification step", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, upn).View
		require.Equal(t, 1, v.GatesRequired)
		require.NoError(t, editTenant(l.svc, "contoso", twoGates))
		r := l.passCode(t, upn, v.FlowToken, mock.MethodEmail)
		assert.Equal(t, mock.StepVerify, r.View.Step, "one gate is no longer enough")
		assert.Equal(t, 2, r.View.Gate)
		require.Equal(t, mock.StepPassword, l.passCode(t, upn, v.FlowToken, mock.MethodVoice).View.Step)
		assert.Equal(t, mock.OutcomeSuccess, l.password(t, v.FlowToken, strongPassword).View.Outcome)
	})
	t.Run("fewer gates do not shorten a flow", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, "alex@fabrikam.com").View
		require.Equal(t, 2, v.GatesRequired)
		require.NoError(t, editTenant(l.svc, "fabrikam", func(t *mock.Tenant) { t.Gates = 1 }))
		r := l.passCode(t, "alex@fabrikam.com", v.FlowToken, mock.MethodEmail)
		assert.Equal(t, mock.StepVerify, r.View.Step)
		assert.Equal(t, 2, r.View.GatesRequired)
	})
}

// TestSecurityQuestionsChangeMidFlow: questions asked, then the user's
// registration changes: answering is refused with 409, and so is asking
// again while the user has fewer questions than the policy needs.
func TestSecurityQuestionsChangeMidFlow(t *testing.T) {
	t.Parallel()
	const upn = "quinn@contoso.com"
	t.Run("a question removed", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, upn).View
		require.Equal(t, mock.StatusQuestions, l.send(t, v.FlowToken, mock.MethodSecurityQuestions).View.Status)
		require.NoError(t, editUser(l.svc, upn, func(u *mock.User) { u.Methods.SecurityQuestions = u.Methods.SecurityQuestions[:2] }))

		r := l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "Lisbon", "Biscuit", "Q")
		assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
		assert.Equal(t, "method-unavailable", r.Err.Kind)
		r = l.send(t, v.FlowToken, mock.MethodSecurityQuestions)
		assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
		assert.Equal(t, "method-unavailable", r.Err.Kind)
		assert.Contains(t, r.Err.Message, "the user has 2 security questions registered and the policy asks 3")
		// The flow goes on with another method.
		assert.Equal(t, mock.StepPassword, l.passCode(t, upn, v.FlowToken, mock.MethodEmail).View.Step)
	})
	t.Run("a question replaced", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		v := l.begin(t, upn).View
		require.Equal(t, mock.StatusQuestions, l.send(t, v.FlowToken, mock.MethodSecurityQuestions).View.Status)
		require.NoError(t, editUser(l.svc, upn, func(u *mock.User) {
			u.Methods.SecurityQuestions[0] = mock.SecurityQuestion{Question: "What was your first car?", Answer: "Beetle"}
		}))
		r := l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "Lisbon", "Biscuit", "Q")
		assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
		assert.Contains(t, r.Err.Message, "changed during the flow")
		r = l.send(t, v.FlowToken, mock.MethodSecurityQuestions)
		require.Equal(t, mock.StatusQuestions, r.View.Status)
		assert.Equal(t, "What was your first car?", r.View.Questions[0])
		assert.Equal(t, mock.StepPassword, l.verify(t, v.FlowToken, mock.MethodSecurityQuestions, "", "beetle", "Biscuit", "Q").View.Step)
	})
}
