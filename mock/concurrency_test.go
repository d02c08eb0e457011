package mock_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// runEmailFlow runs one flow of upn with an email code over the API and
// checks every step's answer; it returns the outcome. A flow may end
// blocked at any step, when other flows of the same user used up the
// reset limit. It returns its errors, for use in any goroutine.
func (l *lab) runEmailFlow(upn string) (string, error) {
	blocked := func(r apiResult) bool {
		return r.Status == http.StatusOK && r.View.Step == mock.StepFailed && r.View.Outcome == mock.OutcomeBlocked
	}
	check := func(call string, r apiResult, err error, step, status string) error {
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", call, err)
		case r.Status != http.StatusOK || r.View.Step != step || r.View.Status != status:
			return fmt.Errorf("%s: want step %q status %q, got %d: %s", call, step, status, r.Status, r.Raw)
		}
		return nil
	}
	r, err := l.callBegin(upn)
	if err == nil && blocked(r) {
		return mock.OutcomeBlocked, nil
	}
	if err := check("begin", r, err, mock.StepVerify, mock.StatusOK); err != nil {
		return "", err
	}
	v := r.View
	r, err = l.call("/send", map[string]any{"flowToken": v.FlowToken, "method": mock.MethodEmail})
	if err == nil && blocked(r) {
		return mock.OutcomeBlocked, nil
	}
	if err := check("send", r, err, mock.StepVerify, mock.StatusCodeSent); err != nil {
		return "", err
	}
	code, ok := l.codeFor(upn, v.CorrelationID, mock.MethodEmail)
	if !ok {
		return "", fmt.Errorf("no email in the outbox for flow %s", v.CorrelationID)
	}
	r, err = l.call("/verify", map[string]any{"flowToken": v.FlowToken, "method": mock.MethodEmail, "code": code})
	if err == nil && blocked(r) {
		return mock.OutcomeBlocked, nil
	}
	if err := check("verify", r, err, mock.StepPassword, mock.StatusOK); err != nil {
		return "", err
	}
	r, err = l.call("/password", map[string]any{"flowToken": v.FlowToken, "newPassword": strongPassword})
	if err == nil && blocked(r) {
		return mock.OutcomeBlocked, nil
	}
	if err := check("password", r, err, mock.StepDone, mock.StatusOK); err != nil {
		return "", err
	}
	return r.View.Outcome, nil
}

// TestParallelFlows runs 200 complete flows at once, for 200 users, and
// with them 20 flows for one user, over the API. Each step answers as it
// should; the 200 succeed; of the one user's 20, exactly five succeed and
// the rest are blocked; the outbox and the audit log hold exactly what
// they should.
func TestParallelFlows(t *testing.T) {
	t.Parallel()
	const n, contended = 200, 20
	const hot = "hot@contoso.com"
	d := &mock.DirectoryData{Tenants: []mock.Tenant{{ID: "contoso", Domains: []string{"contoso.com"}, SSPR: mock.SSPRAll, Gates: 1}}}
	upns := make([]string, 0, n+contended)
	for i := range n {
		upn := fmt.Sprintf("user%03d@contoso.com", i)
		d.Users = append(d.Users, mock.User{UPN: upn, Methods: mock.Registration{Email: fmt.Sprintf("u%03d@outlook.example", i)}})
		upns = append(upns, upn)
	}
	d.Users = append(d.Users, mock.User{UPN: hot, Methods: mock.Registration{Email: "hot@outlook.example"}})
	for range contended {
		upns = append(upns, hot)
	}
	l := newLab(t, mock.WithDirectory(d))
	l.api.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	var wg sync.WaitGroup
	outcomes := make([]string, len(upns))
	errs := make([]error, len(upns))
	for i, upn := range upns {
		wg.Go(func() { outcomes[i], errs[i] = l.runEmailFlow(upn) })
	}
	wg.Wait()
	hotOutcomes := map[string]int{}
	for i, upn := range upns {
		require.NoError(t, errs[i], "flow %d of %s", i, upn)
		if upn == hot {
			hotOutcomes[outcomes[i]]++
			continue
		}
		assert.Equal(t, mock.OutcomeSuccess, outcomes[i], upn)
		assert.Len(t, l.svc.Outbox().Messages(upn), 1, upn)
	}
	assert.Equal(t, map[string]int{mock.OutcomeSuccess: mock.ThrottleLimit, mock.OutcomeBlocked: contended - mock.ThrottleLimit}, hotOutcomes)
	resets, blocks, ids := map[string]int{}, 0, map[int]bool{}
	for _, e := range l.svc.Audit().Entries("") {
		assert.False(t, ids[e.ID], "audit ids are unique")
		ids[e.ID] = true
		if e.Activity == mock.ActivityReset && e.Result == mock.ResultSuccess {
			resets[e.TargetUser]++
		}
		if e.Activity == mock.ActivityBlocked {
			blocks++
			assert.Equal(t, hot, e.TargetUser)
		}
	}
	assert.Len(t, resets, n+1)
	assert.Equal(t, mock.ThrottleLimit, resets[hot])
	assert.Equal(t, 1, blocks, "one block, started by the sixth reset")
}

func TestStepFaults(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	put := func(step string, f any) int { return l.adminDo(t, http.MethodPut, "/faults/"+step, f, nil) }

	require.Equal(t, http.StatusNoContent, put("begin", mock.StepFault{Status: 503, Times: 1}))
	c := l.post(t, "/captcha", "{}")
	require.Equal(t, http.StatusOK, c.Status, "other steps are unaffected")
	resp, err := l.api.Client().Post(l.api.URL+mock.APIPrefix+"/begin", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, mock.StepVerify, l.begin(t, "adele@contoso.com").View.Step, "times: 1 applied once")

	require.Equal(t, http.StatusNoContent, put("password", mock.StepFault{Status: 500}))
	var faults map[string]mock.StepFault
	require.Equal(t, http.StatusOK, l.adminDo(t, http.MethodGet, "/faults", nil, &faults))
	assert.Equal(t, map[string]mock.StepFault{"password": {Status: 500}}, faults)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/faults/password", nil, nil))

	// Bad faults.
	for name, tc := range map[string]struct {
		step string
		body any
	}{
		"unknown step":  {"teleport", mock.StepFault{Status: 503}},
		"4xx status":    {"begin", mock.StepFault{Status: 404}},
		"stall and 500": {"begin", mock.StepFault{Status: 500, Stall: true}},
		"empty":         {"begin", mock.StepFault{}},
		"negative":      {"begin", mock.StepFault{Status: 503, Times: -1}},
		"times alone":   {"begin", mock.StepFault{Times: 2}},
	} {
		assert.Equal(t, http.StatusBadRequest, put(tc.step, tc.body), name)
	}
	assert.ErrorContains(t, l.svc.SetFault("begin", mock.StepFault{Times: 1}), "needs a status or stall")
	assert.Empty(t, l.svc.Faults(), "no bad fault was set")
	assert.Equal(t, mock.StepVerify, l.begin(t, "adele@contoso.com").View.Step, "begin answers normally")
}

// TestStallFault: a stalled step holds the request until the client gives
// up or the fault is cleared.
func TestStallFault(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/faults/captcha", mock.StepFault{Stall: true}, nil))

	// The client gives up, once the server holds the request.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.api.URL+mock.APIPrefix+"/captcha", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = l.api.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return l.svc.Stalled() == 1 }, 10*time.Second, time.Millisecond, "the request is held")
	select {
	case err := <-done:
		require.Failf(t, "the stalled request ended before the client gave up", "%v", err)
	default:
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled, "the client gave up; nothing answered before")
	// The server lets go of the request once it sees the client leave.
	require.Eventually(t, func() bool { return l.svc.Stalled() == 0 }, 10*time.Second, time.Millisecond)

	// Once a request is held, clearing the fault ends it with a closed
	// connection, never an answer.
	go func() { done <- stalledPost(l, "/captcha") }()
	require.Eventually(t, func() bool { return l.svc.Stalled() == 1 }, 10*time.Second, time.Millisecond)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/faults/captcha", nil, nil))
	assert.Error(t, <-done)
	assert.Equal(t, 0, l.svc.Stalled())
}

// stalledPost posts to an API call on a fresh connection: on a reused one,
// Go's transport may retry after the abort and reach the cleared step.
func stalledPost(l *lab, path string) error {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post(l.api.URL+mock.APIPrefix+path, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// TestStallReleasePerStep: clearing or changing one step's fault lets go
// of the requests that step stalls, and of no others.
func TestStallReleasePerStep(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	require.NoError(t, l.svc.SetFault("captcha", mock.StepFault{Stall: true}))
	require.NoError(t, l.svc.SetFault("begin", mock.StepFault{Stall: true}))
	captcha, begin := make(chan error, 1), make(chan error, 1)
	go func() { captcha <- stalledPost(l, "/captcha") }()
	go func() { begin <- stalledPost(l, "/begin") }()
	require.Eventually(t, func() bool { return l.svc.Stalled() == 2 }, 10*time.Second, time.Millisecond)

	// Changing the captcha's fault frees the captcha request only.
	require.NoError(t, l.svc.SetFault("captcha", mock.StepFault{Status: 503}))
	assert.Error(t, <-captcha)
	require.Eventually(t, func() bool { return l.svc.Stalled() == 1 }, 10*time.Second, time.Millisecond)
	select {
	case err := <-begin:
		require.Failf(t, "the begin request was let go with the captcha's", "%v", err)
	default:
	}
	assert.Equal(t, 1, l.svc.Stalled(), "begin is still held")

	require.NoError(t, l.svc.SetFault("begin", mock.StepFault{}))
	assert.Error(t, <-begin)
	require.Eventually(t, func() bool { return l.svc.Stalled() == 0 }, 10*time.Second, time.Millisecond)
}
