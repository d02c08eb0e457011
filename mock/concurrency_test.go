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

// TestParallelFlows runs 200 complete flows at once, for 200 users, over
// the API: every one succeeds, and the outbox and audit log hold exactly
// what they should.
func TestParallelFlows(t *testing.T) {
	t.Parallel()
	const n = 200
	d := &mock.DirectoryData{Tenants: []mock.Tenant{{ID: "contoso", Domains: []string{"contoso.com"}, SSPR: mock.SSPRAll, Gates: 1}}}
	for i := range n {
		d.Users = append(d.Users, mock.User{UPN: fmt.Sprintf("user%03d@contoso.com", i), Methods: mock.Registration{Email: fmt.Sprintf("u%03d@outlook.example", i)}})
	}
	l := newLab(t, mock.WithDirectory(d))
	l.api.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	var wg sync.WaitGroup
	outcomes := make([]string, n)
	for i := range n {
		wg.Go(func() {
			upn := fmt.Sprintf("user%03d@contoso.com", i)
			v := l.begin(t, upn).View
			if !assert.Equal(t, mock.StepVerify, v.Step, upn) {
				return
			}
			l.send(t, v.FlowToken, mock.MethodEmail)
			msg, ok := l.svc.Outbox().Last(upn, mock.MethodEmail)
			if !assert.True(t, ok) {
				return
			}
			l.verify(t, v.FlowToken, mock.MethodEmail, msg.Code)
			outcomes[i] = l.password(t, v.FlowToken, strongPassword).View.Outcome
		})
	}
	wg.Wait()
	for i, o := range outcomes {
		assert.Equal(t, mock.OutcomeSuccess, o, "flow %d", i)
	}
	assert.Len(t, l.svc.Outbox().Messages(""), n)
	resets, ids := 0, map[int]bool{}
	for _, e := range l.svc.Audit().Entries("") {
		assert.False(t, ids[e.ID], "audit ids are unique")
		ids[e.ID] = true
		if e.Activity == mock.ActivityReset && e.Result == mock.ResultSuccess {
			resets++
		}
	}
	assert.Equal(t, n, resets)
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
	} {
		assert.Equal(t, http.StatusBadRequest, put(tc.step, tc.body), name)
	}
}

// TestStallFault: a stalled step holds the request until the client gives
// up (a timeout, as a real network stall looks) or the fault is cleared.
func TestStallFault(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodPut, "/faults/captcha", mock.StepFault{Stall: true}, nil))

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.api.URL+mock.APIPrefix+"/captcha", nil)
	_, err := l.api.Client().Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the client times out")
	// The server lets go of the request once it sees the client leave.
	require.Eventually(t, func() bool { return l.svc.Stalled() == 0 }, 10*time.Second, time.Millisecond)

	done := make(chan error, 1)
	go func() {
		// A fresh connection: on a reused one, Go's transport may retry
		// after the abort and reach the cleared step.
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Post(l.api.URL+mock.APIPrefix+"/captcha", "application/json", nil)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Once the request is held, clearing the fault ends it with a closed
	// connection, never an answer.
	require.Eventually(t, func() bool { return l.svc.Stalled() == 1 }, 10*time.Second, time.Millisecond)
	require.Equal(t, http.StatusNoContent, l.adminDo(t, http.MethodDelete, "/faults/captcha", nil, nil))
	assert.Error(t, <-done)
	assert.Equal(t, 0, l.svc.Stalled())
}
