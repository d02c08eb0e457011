package client_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
)

// TestServiceOutcomes runs users whose accounts the service refuses, and
// the flows that go through with one or two gates.
func TestServiceOutcomes(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		user    string
		mod     func(*client.Profile)
		outcome client.Outcome
		cause   client.Cause
		step    client.Step
		methods []string
	}{
		"one gate by email":          {user: "adele@contoso.com", outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"email"}},
		"one gate by SMS":            {user: "adele@contoso.com", mod: func(p *client.Profile) { p.Methods = []string{"sms"} }, outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"sms"}},
		"one gate by voice":          {user: "adele@contoso.com", mod: func(p *client.Profile) { p.Methods = []string{"voice", "email"} }, outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"voice"}},
		"security questions":         {user: "quinn@contoso.com", mod: func(p *client.Profile) { p.Methods = []string{"securityQuestions"} }, outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"securityQuestions"}},
		"two gates: email and SMS":   {user: "alex@fabrikam.com", mod: func(p *client.Profile) { p.Methods = []string{"email", "sms"} }, outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"email", "sms"}},
		"two gates: app code":        {user: "alex@fabrikam.com", mod: func(p *client.Profile) { p.Methods = []string{"appCode", "email"} }, outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"appCode", "email"}},
		"two gates: notification":    {user: "megan@fabrikam.com", mod: func(p *client.Profile) { p.Methods = []string{"appNotification", "email"} }, outcome: client.OutcomeSuccess, step: client.StepDone, methods: []string{"appNotification", "email"}},
		"SSPR_0009 tenant disabled":  {user: "user@offco.example", outcome: client.OutcomeNotEnabled, cause: client.CauseTenantDisabled, step: client.StepBegin},
		"SSPR_0010 no writeback":     {user: "user@onpremoff.example", outcome: client.OutcomeContactAdmin, cause: client.CauseWritebackDisabled, step: client.StepBegin},
		"SSPR_0011 no policy":        {user: "user@nopolicy.example", outcome: client.OutcomeNotEnabled, cause: client.CauseNoPolicy, step: client.StepBegin},
		"SSPR_0012 not licensed":     {user: "nolicense@contoso.com", outcome: client.OutcomeNotEnabled, cause: client.CauseUserNotLicensed, step: client.StepBegin},
		"SSPR_0013 not in group":     {user: "outsider@fabrikam.com", outcome: client.OutcomeNotEnabled, cause: client.CauseNotInGroup, step: client.StepBegin},
		"SSPR_0014 not registered":   {user: "unregistered@contoso.com", outcome: client.OutcomeCouldNotVerify, cause: client.CauseNotRegistered, step: client.StepBegin},
		"SSPR_0029 admin action":     {user: "user@onpremadmin.example", outcome: client.OutcomeContactAdmin, cause: client.CauseOnPremAdminAction, step: client.StepPassword, methods: []string{"email"}},
		"SSPR_0030 writeback broken": {user: "user@onprembroken.example", outcome: client.OutcomeContactAdmin, cause: client.CauseOnPremConnectivity, step: client.StepPassword, methods: []string{"email"}},
		"unknown user":               {user: "nobody@contoso.com", outcome: client.OutcomeCouldNotVerify, cause: client.CauseUserNotFound, step: client.StepBegin},
		"disabled user":              {user: "disabled@contoso.com", outcome: client.OutcomeContactAdmin, cause: client.CauseUserDisabled, step: client.StepBegin},
		"weak password": {user: "adele@contoso.com", mod: func(p *client.Profile) { p.NewPassword = "Password1!" },
			outcome: client.OutcomeWeakPassword, cause: client.CauseWeakPassword, step: client.StepPassword, methods: []string{"email"}},
		"Windows 7 add-in, user with only the app besides email": {user: "megan@fabrikam.com",
			mod:     func(p *client.Profile) { p.OS = client.Windows7; p.TLS.DefaultSecureProtocols = 0xA80 },
			outcome: client.OutcomeCouldNotVerify, cause: client.CauseNotRegistered, step: client.StepBegin},
		"profile picks a method the user lacks": {user: "adele@contoso.com", mod: func(p *client.Profile) { p.Methods = []string{"securityQuestions"} },
			outcome: client.OutcomeCouldNotVerify, cause: client.CauseNoUsableMethod, step: client.StepVerify},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			res := l.run(t, profile(func(p *client.Profile) {
				p.UserID = tc.user
				if tc.mod != nil {
					tc.mod(p)
				}
			}))
			assert.Equal(t, tc.outcome, res.Outcome, "%s", res)
			assert.Equal(t, tc.cause, res.Cause, "%s", res)
			assert.Equal(t, tc.step, res.Step, "%s", res)
			assert.Equal(t, tc.methods, res.Methods)
			assert.Equal(t, client.Remedy(tc.cause), res.Remedy)
			if tc.outcome != client.OutcomeSuccess {
				assert.NotEmpty(t, res.Remedy)
			}
			if res.Cause == client.CauseNoUsableMethod {
				return
			}
			if tc.outcome != client.OutcomeSuccess && tc.cause != client.CauseNoUsableMethod {
				assert.NotEmpty(t, res.Message, "the screen's text")
			}
		})
	}
}

// TestThrottled: the sixth reset within an hour is refused and blocks the
// user; the next run is told so at once.
func TestThrottled(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for range mock.ThrottleLimit {
		assertSuccess(t, l.run(t, profile()))
	}
	res := l.run(t, profile())
	assert.Equal(t, client.OutcomeBlocked, res.Outcome, "%s", res)
	assert.Equal(t, client.CauseThrottled, res.Cause)
	assert.Equal(t, client.StepPassword, res.Step)
	res = l.run(t, profile())
	assert.Equal(t, client.OutcomeBlocked, res.Outcome, "%s", res)
	assert.Equal(t, client.StepBegin, res.Step)
}

// TestWrongCode: a code source that gets it wrong ends at the gate.
func TestWrongCode(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	wrong := client.CodeFunc(func(_ context.Context, _ client.Challenge) (client.Response, error) {
		return client.Response{Code: "000000"}, nil
	})
	res := l.run(t, profile(), client.WithCodeSource(wrong))
	assert.Equal(t, client.OutcomeCouldNotVerify, res.Outcome)
	assert.Equal(t, client.CauseVerificationFailed, res.Cause)
	assert.Equal(t, client.StepVerify, res.Step)
	assert.Equal(t, 1, res.Gate)
}
