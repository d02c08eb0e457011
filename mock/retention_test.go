package mock_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

func TestWithRetention(t *testing.T) {
	t.Parallel()
	defaults := mock.Counts{Flows: mock.DefaultMaxFlows, Captchas: mock.DefaultMaxCaptchas,
		Messages: mock.DefaultMaxMessages, AuditEntries: mock.DefaultMaxAuditEntries}
	svc, err := mock.New()
	require.NoError(t, err)
	assert.Equal(t, defaults, svc.Stats().Limits)

	svc, err = mock.New(mock.WithRetention(mock.Retention{Messages: 7}))
	require.NoError(t, err)
	want := defaults
	want.Messages = 7
	assert.Equal(t, want, svc.Stats().Limits, "zero fields keep their defaults")

	for name, r := range map[string]mock.Retention{
		"flows":          {Flows: -1},
		"captchas":       {Captchas: -1},
		"messages":       {Messages: -1},
		"audit entries":  {AuditEntries: -1},
		"ended flow TTL": {EndedFlowTTL: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := mock.New(mock.WithRetention(r))
			assert.ErrorContains(t, err, "must not be negative")
		})
	}
}

// TestFlowLimit: over the limit a new flow drops the flow that ended
// first, and, when none has ended, the oldest under way; the drops are
// counted and a dropped flow's token is unknown.
func TestFlowLimit(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()), mock.WithRetention(mock.Retention{Flows: 3}))
	a := l.begin(t, "nobody@contoso.com").View
	require.Equal(t, mock.StepFailed, a.Step, "an unknown user's flow ends at once")
	b := l.begin(t, "adele@contoso.com").View
	c := l.begin(t, "quinn@contoso.com").View
	st := l.svc.Stats()
	assert.Equal(t, 3, st.Kept.Flows)
	assert.Equal(t, 2, st.FlowsUnderWay)

	l.begin(t, "alex@fabrikam.com")
	st = l.svc.Stats()
	assert.Equal(t, 3, st.Kept.Flows)
	assert.Equal(t, 3, st.FlowsUnderWay)
	assert.Equal(t, 1, st.Dropped.Flows)
	assert.Equal(t, "unknown-flow", l.send(t, a.FlowToken, mock.MethodEmail).Err.Kind, "the ended flow went first")
	assert.Equal(t, mock.StatusCodeSent, l.send(t, b.FlowToken, mock.MethodEmail).View.Status, "the flows under way stay")

	l.begin(t, "megan@fabrikam.com")
	st = l.svc.Stats()
	assert.Equal(t, 3, st.Kept.Flows)
	assert.Equal(t, 2, st.Dropped.Flows)
	assert.Equal(t, "unknown-flow", l.send(t, b.FlowToken, mock.MethodEmail).Err.Kind, "with none ended, the oldest under way went")
	assert.Equal(t, mock.StatusCodeSent, l.send(t, c.FlowToken, mock.MethodEmail).View.Status)
	assert.Zero(t, st.Expired.Flows)
}

// TestEndedFlowsExpire: a flow stays known EndedFlowTTL after it ended
// (done, failed, or expired at the end of its flow TTL), then goes, on
// the service's clock; the authenticator forgets it too.
func TestEndedFlowsExpire(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock), mock.WithRetention(mock.Retention{EndedFlowTTL: 10 * time.Minute}))
	done := l.begin(t, "adele@contoso.com").View
	l.passCode(t, "adele@contoso.com", done.FlowToken, mock.MethodEmail)
	require.Equal(t, mock.StepDone, l.password(t, done.FlowToken, strongPassword).View.Step)
	open := l.begin(t, "megan@fabrikam.com").View // expires after mock.DefaultFlowTTL, 15 minutes
	l.send(t, open.FlowToken, mock.MethodAppNotification)
	_, _, appFlows := mock.StateSizes(l.svc)
	require.Equal(t, 1, appFlows)

	status := func(token string) (int, string) {
		r := l.send(t, token, mock.MethodEmail)
		return r.Status, r.Err.Kind
	}
	clock.Advance(9 * time.Minute)
	assert.Equal(t, 2, l.svc.Stats().Kept.Flows)
	code, kind := status(done.FlowToken)
	assert.Equal(t, http.StatusConflict, code, "an ended flow is still known")
	assert.Equal(t, "out-of-order", kind)

	clock.Advance(2 * time.Minute) // 11 minutes after the first ended
	st := l.svc.Stats()
	assert.Equal(t, 1, st.Kept.Flows)
	assert.Equal(t, mock.Counts{Flows: 1}, st.Expired)
	assert.Equal(t, 1, st.FlowsUnderWay)
	_, kind = status(done.FlowToken)
	assert.Equal(t, "unknown-flow", kind)

	clock.Advance(9 * time.Minute) // 20 minutes: the open flow expired at 15
	st = l.svc.Stats()
	assert.Equal(t, 0, st.FlowsUnderWay)
	assert.Equal(t, 1, st.Kept.Flows)
	_, _, appFlows = mock.StateSizes(l.svc)
	assert.Zero(t, appFlows, "an expired flow's notification is forgotten")
	code, kind = status(open.FlowToken)
	assert.Equal(t, http.StatusGone, code)
	assert.Equal(t, "flow-expired", kind)

	clock.Advance(6 * time.Minute) // 26 minutes: 11 after it expired
	st = l.svc.Stats()
	assert.Equal(t, 0, st.Kept.Flows)
	assert.Equal(t, mock.Counts{Flows: 2}, st.Expired)
	assert.Zero(t, st.Dropped.Flows)
	_, kind = status(open.FlowToken)
	assert.Equal(t, "unknown-flow", kind)
}

// TestCaptchaRetention: unused captchas go over the limit, oldest first,
// and when they expire; either way an answer to one is a wrong captcha.
func TestCaptchaRetention(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock), mock.WithRetention(mock.Retention{Captchas: 2}))
	var cs []mock.Captcha
	for range 3 {
		c, err := l.svc.NewCaptcha()
		require.NoError(t, err)
		cs = append(cs, c)
	}
	st := l.svc.Stats()
	assert.Equal(t, 2, st.Kept.Captchas)
	assert.Equal(t, 1, st.Dropped.Captchas)
	begin := func(c mock.Captcha) string {
		return l.post(t, "/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": c.ID, "captchaAnswer": c.Challenge}).View.Status
	}
	assert.Equal(t, mock.StatusWrongCaptcha, begin(cs[0]), "the oldest went")
	assert.Equal(t, mock.StatusOK, begin(cs[1]))
	assert.Equal(t, 1, l.svc.Stats().Kept.Captchas, "a captcha is used once")

	clock.Advance(mock.DefaultCaptchaTTL + time.Second)
	st = l.svc.Stats()
	assert.Equal(t, 0, st.Kept.Captchas)
	assert.Equal(t, 1, st.Expired.Captchas)
	assert.Equal(t, mock.StatusWrongCaptcha, begin(cs[2]))

	// Answered after it expired, before anything purged it.
	c, err := l.svc.NewCaptcha()
	require.NoError(t, err)
	clock.Advance(mock.DefaultCaptchaTTL + time.Second)
	assert.Equal(t, mock.StatusWrongCaptcha, begin(c))
	st = l.svc.Stats()
	assert.Equal(t, 2, st.Expired.Captchas)
	assert.Equal(t, 1, st.Dropped.Captchas)
	assert.Equal(t, 0, st.Kept.Captchas)
}

// TestOutboxRetention: over the limit the oldest messages go; the ids go
// on; reading by user, by flow and the newest per channel give what is
// kept.
func TestOutboxRetention(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()), mock.WithRetention(mock.Retention{Messages: 3}))
	adele := l.begin(t, "adele@contoso.com").View
	quinn := l.begin(t, "quinn@contoso.com").View
	for _, v := range []mock.FlowView{adele, quinn, adele, quinn, adele} {
		require.Equal(t, mock.StatusCodeSent, l.send(t, v.FlowToken, mock.MethodEmail).View.Status)
	}
	out := l.svc.Outbox()
	ids := func(msgs []mock.Message) (out []int) {
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	assert.Equal(t, []int{3, 4, 5}, ids(out.Messages("")))
	assert.Equal(t, []int{3, 5}, ids(out.Messages("adele@contoso.com")))
	assert.Equal(t, []int{3, 5}, ids(out.Flow(adele.CorrelationID)))
	assert.Equal(t, []int{4}, ids(out.Flow(quinn.CorrelationID)))
	last, ok := out.Last("adele@contoso.com", mock.MethodEmail)
	require.True(t, ok)
	assert.Equal(t, 5, last.ID)
	_, ok = out.Last("adele@contoso.com", mock.MethodSMS)
	assert.False(t, ok)
	st := l.svc.Stats()
	assert.Equal(t, 3, st.Kept.Messages)
	assert.Equal(t, 2, st.Dropped.Messages)

	var byAdmin []mock.Message
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/outbox?correlationId="+quinn.CorrelationID, nil, &byAdmin))
	assert.Equal(t, []int{4}, ids(byAdmin))
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/outbox?upn=adele@contoso.com&correlationId="+quinn.CorrelationID, nil, &byAdmin))
	assert.Empty(t, byAdmin)

	// The newest code still verifies.
	assert.Equal(t, mock.StepPassword, l.verify(t, adele.FlowToken, mock.MethodEmail, last.Code).View.Step)

	out.Clear()
	assert.Nil(t, out.Messages(""))
	assert.Nil(t, out.Flow(adele.CorrelationID))
	assert.Equal(t, 0, l.svc.Stats().Kept.Messages)
	l.send(t, quinn.FlowToken, mock.MethodEmail)
	assert.Equal(t, []int{6}, ids(out.Messages("quinn@contoso.com")), "ids go on after Clear")
	assert.Equal(t, 2, l.svc.Stats().Dropped.Messages, "Clear is not a drop")
}

// TestOutboxIndexes: with a limit, many flows of several users sending in
// turn, the outbox read by user and by flow is exactly what the whole
// holds for them.
func TestOutboxIndexes(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()), mock.WithRetention(mock.Retention{Messages: 7}))
	upns := []string{"adele@contoso.com", "quinn@contoso.com", "alex@fabrikam.com"}
	var flows []mock.FlowView
	for _, upn := range upns {
		for range 2 {
			flows = append(flows, l.begin(t, upn).View)
		}
	}
	for i := range 40 {
		f := flows[(i*7+i/3)%len(flows)]
		require.Equal(t, mock.StatusCodeSent, l.send(t, f.FlowToken, mock.MethodEmail).View.Status)
	}
	out := l.svc.Outbox()
	all := out.Messages("")
	require.Len(t, all, 7)
	assert.Equal(t, 40, all[6].ID)
	for _, upn := range upns {
		want := slices.DeleteFunc(slices.Clone(all), func(m mock.Message) bool { return m.UPN != upn })
		assert.Equal(t, nilIfEmpty(want), out.Messages(upn), upn)
	}
	for _, f := range flows {
		want := slices.DeleteFunc(slices.Clone(all), func(m mock.Message) bool { return m.CorrelationID != f.CorrelationID })
		assert.Equal(t, nilIfEmpty(want), out.Flow(f.CorrelationID), f.CorrelationID)
	}
	assert.Equal(t, 33, l.svc.Stats().Dropped.Messages)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestAuditRetention: over the limit the oldest entries go; the ids go
// on; a user's entries are what the whole holds for them.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()), mock.WithRetention(mock.Retention{AuditEntries: 3}))
	v := l.begin(t, "adele@contoso.com").View                         // 1: started
	l.passCode(t, "adele@contoso.com", v.FlowToken, mock.MethodEmail) // 2: passed gate 1
	l.password(t, v.FlowToken, strongPassword)                        // 3: reset
	l.begin(t, "quinn@contoso.com")                                   // 4: started
	ids := func(es []mock.AuditEntry) (out []int) {
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	audit := l.svc.Audit()
	assert.Equal(t, []int{2, 3, 4}, ids(audit.Entries("")))
	assert.Equal(t, []int{2, 3}, ids(audit.Entries("adele@contoso.com")))
	assert.Equal(t, []int{4}, ids(audit.Entries("quinn@contoso.com")))
	assert.Nil(t, audit.Entries("nobody@contoso.com"))
	st := l.svc.Stats()
	assert.Equal(t, 3, st.Kept.AuditEntries)
	assert.Equal(t, 1, st.Dropped.AuditEntries)

	var byAdmin []mock.AuditEntry
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/audit?upn=adele@contoso.com&activity="+url.QueryEscape(mock.ActivityReset), nil, &byAdmin))
	assert.Equal(t, []int{3}, ids(byAdmin))
}

// TestAdminStats: the admin API serves Stats.
func TestAdminStats(t *testing.T) {
	t.Parallel()
	l := newLab(t, mock.WithClock(fixedClock()), mock.WithRetention(mock.Retention{AuditEntries: 1}))
	v := l.begin(t, "adele@contoso.com").View
	l.send(t, v.FlowToken, mock.MethodEmail)
	l.verify(t, v.FlowToken, mock.MethodEmail, "000000")
	var st mock.Stats
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/stats", nil, &st))
	assert.Equal(t, l.svc.Stats(), st)
	assert.Equal(t, mock.Counts{Flows: 1, Messages: 1, AuditEntries: 1}, st.Kept)
	assert.Equal(t, 1, st.Dropped.AuditEntries)
	assert.Equal(t, 1, st.FlowsUnderWay)
}

// Example of a lab that keeps little: what Stats shows once the limits
// bite.
func ExampleWithRetention() {
	svc, err := mock.New(mock.WithRetention(mock.Retention{Captchas: 100}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 150 {
		if _, err := svc.NewCaptcha(); err != nil {
			fmt.Println(err)
			return
		}
	}
	st := svc.Stats()
	fmt.Println("kept", st.Kept.Captchas, "dropped", st.Dropped.Captchas, "limit", st.Limits.Captchas)
	// Output: kept 100 dropped 50 limit 100
}

// TestRetentionAccounting: over many flows on a moving clock, some done,
// some left at verification, with captchas left unused, what is kept stays
// within the limits, and what is kept and what went add up to all there
// was.
func TestRetentionAccounting(t *testing.T) {
	t.Parallel()
	const users, rounds = 16, 240
	d := &mock.DirectoryData{Tenants: []mock.Tenant{{ID: "contoso", Domains: []string{"contoso.com"}, SSPR: mock.SSPRAll, Gates: 1}}}
	for i := range users {
		d.Users = append(d.Users, mock.User{UPN: fmt.Sprintf("u%d@contoso.com", i), Methods: mock.Registration{Email: fmt.Sprintf("u%d@mail.example", i)}})
	}
	r := mock.Retention{Flows: 12, EndedFlowTTL: 20 * time.Minute, Captchas: 3, Messages: 30, AuditEntries: 60}
	clock := fixedClock()
	l := newLab(t, mock.WithDirectory(d), mock.WithClock(clock), mock.WithRetention(r))
	captchas, used, sent := 0, 0, 0
	for i := range rounds {
		upn := fmt.Sprintf("u%d@contoso.com", i%users)
		// Captchas left unused: every round in the first half (over the
		// limit), every fifth in the second (they expire).
		if i < rounds/2 || i%5 == 0 {
			_, err := l.svc.NewCaptcha()
			require.NoError(t, err)
			captchas++
		}
		v := l.begin(t, upn).View
		captchas++
		used++
		require.Equal(t, mock.StepVerify, v.Step, "round %d", i)
		require.Equal(t, mock.StatusCodeSent, l.send(t, v.FlowToken, mock.MethodEmail).View.Status)
		sent++
		if i%4 != 0 { // every fourth flow is left at verification
			msgs := l.svc.Outbox().Flow(v.CorrelationID)
			require.NotEmpty(t, msgs)
			require.Equal(t, mock.StepPassword, l.verify(t, v.FlowToken, mock.MethodEmail, msgs[len(msgs)-1].Code).View.Step)
			require.Equal(t, mock.StepDone, l.password(t, v.FlowToken, strongPassword).View.Step)
		}
		clock.Advance(2 * time.Minute)

		st := l.svc.Stats()
		require.LessOrEqual(t, st.Kept.Flows, r.Flows)
		require.LessOrEqual(t, st.Kept.Captchas, r.Captchas)
		require.LessOrEqual(t, st.Kept.Messages, r.Messages)
		require.LessOrEqual(t, st.Kept.AuditEntries, r.AuditEntries)
		require.Equal(t, i+1, st.Kept.Flows+st.Dropped.Flows+st.Expired.Flows, "round %d: flows", i)
		require.Equal(t, captchas, st.Kept.Captchas+st.Dropped.Captchas+st.Expired.Captchas+used, "round %d: captchas", i)
		require.Equal(t, sent, st.Kept.Messages+st.Dropped.Messages, "round %d: messages", i)
		all := l.svc.Audit().Entries("")
		require.Equal(t, all[len(all)-1].ID, st.Kept.AuditEntries+st.Dropped.AuditEntries, "round %d: audit entries", i)
		require.Len(t, all, st.Kept.AuditEntries)
	}
	st := l.svc.Stats()
	assert.Positive(t, st.Expired.Flows, "flows went when their time was up")
	assert.Positive(t, st.Dropped.Flows, "and over the limit")
	assert.Positive(t, st.Expired.Captchas)
	assert.Positive(t, st.Dropped.Captchas)
	_, _, appFlows := mock.StateSizes(l.svc)
	assert.Zero(t, appFlows)
}
