package mock_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// TestBadInput sends each kind of bad request in the middle of a flow and
// checks the JSON error, then that the flow goes on as if nothing happened.
func TestBadInput(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	const upn = "adele@contoso.com"
	v := l.begin(t, upn).View
	require.Equal(t, mock.StepVerify, v.Step)
	before := len(l.svc.Audit().Entries(""))
	outboxBefore := len(l.svc.Outbox().Messages(""))

	tests := map[string]struct {
		path   string
		body   any
		header []string
		status int
		kind   string
		field  string
		msg    string
	}{
		"malformed JSON":     {"/send", `{"flowToken": `, nil, 400, "bad-request", "", "truncated JSON"},
		"syntax error":       {"/send", `{"flowToken": x}`, nil, 400, "bad-request", "", "malformed JSON at byte"},
		"wrong type":         {"/send", `{"flowToken": 42, "method": "email"}`, nil, 400, "bad-request", "flowToken", `flowToken: want string, got JSON number`},
		"wrong type in list": {"/verify", `{"flowToken": "` + v.FlowToken + `", "method": "securityQuestions", "answers": [1]}`, nil, 400, "bad-request", "answers", "want string"},
		"unknown field":      {"/send", `{"flowToken": "x", "method": "email", "pin": "1"}`, nil, 400, "bad-request", "pin", `pin: unknown field`},
		"two values":         {"/send", `{"flowToken": "x"} {}`, nil, 400, "bad-request", "", "more than one JSON value"},
		"empty body":         {"/send", ``, nil, 400, "bad-request", "", "empty request body"},
		"oversized":          {"/send", `{"flowToken": "` + strings.Repeat("a", mock.MaxBodyBytes) + `"}`, nil, 413, "too-large", "", "larger than 65536 bytes"},
		"unknown token":      {"/send", map[string]any{"flowToken": "deadbeef", "method": "email"}, nil, 404, "unknown-flow", "flowToken", "unknown flow token"},
		"missing token":      {"/send", map[string]any{"method": "email"}, nil, 400, "bad-request", "flowToken", "flowToken: required"},
		"unknown method":     {"/send", map[string]any{"flowToken": v.FlowToken, "method": "carrier-pigeon"}, nil, 400, "bad-request", "method", `method: unknown method "carrier-pigeon"`},
		"verify before send": {"/verify", map[string]any{"flowToken": v.FlowToken, "method": "email", "code": "123456"}, nil, 409, "out-of-order", "method", "send it first"},
		"password too early": {"/password", map[string]any{"flowToken": v.FlowToken, "newPassword": strongPassword}, nil, 409, "out-of-order", "", `at step "verify", not "password"`},
		"unknown client":     {"/begin", map[string]any{"userId": upn, "captchaId": "x", "captchaAnswer": "y"}, []string{mock.ClientTypeHeader, "netscape"}, 400, "bad-request", "clientType", `clientType: unknown client type "netscape"`},
		"missing user id":    {"/begin", map[string]any{"captchaId": "x"}, nil, 400, "bad-request", "userId", "userId: required"},
		"not JSON":           {"/send", `flowToken=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported-media-type", "", "want application/json"},
		"unknown call":       {"/reset-everything", `{}`, nil, 404, "not-found", "", "no such API call"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := l.post(t, tc.path, tc.body, tc.header...)
			assert.Equal(t, tc.status, r.Status, r.Raw)
			assert.Equal(t, tc.kind, r.Err.Kind, r.Raw)
			assert.Equal(t, tc.field, r.Err.Field, r.Raw)
			assert.Contains(t, r.Err.Message, tc.msg)
		})
	}

	t.Run("GET is not allowed", func(t *testing.T) {
		resp, err := l.api.Client().Get(l.api.URL + mock.APIPrefix + "/begin")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
	})

	// Nothing changed: no audit entry, no message, and the flow goes on.
	assert.Len(t, l.svc.Audit().Entries(""), before, "bad requests leave no audit entry")
	assert.Len(t, l.svc.Outbox().Messages(""), outboxBefore)
	r := l.passCode(t, upn, v.FlowToken, mock.MethodEmail)
	assert.Equal(t, mock.StepPassword, r.View.Step)
	assert.Equal(t, mock.OutcomeSuccess, l.password(t, v.FlowToken, strongPassword).View.Outcome)
}

func TestExpiredFlow(t *testing.T) {
	t.Parallel()
	clock := fixedClock()
	l := newLab(t, mock.WithClock(clock))
	v := l.begin(t, "adele@contoso.com").View
	clock.Advance(mock.DefaultFlowTTL + time.Second)
	r := l.send(t, v.FlowToken, mock.MethodEmail)
	assert.Equal(t, http.StatusGone, r.Status)
	assert.Equal(t, "flow-expired", r.Err.Kind)
	assert.Empty(t, l.svc.Outbox().Messages(""))
}

func TestCaptcha(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	r := l.post(t, "/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": "nope", "captchaAnswer": "X"})
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, mock.StatusWrongCaptcha, r.View.Status)
	assert.Empty(t, r.View.FlowToken)

	c, err := l.svc.NewCaptcha()
	require.NoError(t, err)
	ok := l.post(t, "/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": c.ID, "captchaAnswer": strings.ToLower(c.Challenge)})
	assert.Equal(t, mock.StepVerify, ok.View.Step, "case does not matter")
	again := l.post(t, "/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": c.ID, "captchaAnswer": c.Challenge})
	assert.Equal(t, mock.StatusWrongCaptcha, again.View.Status, "a captcha is single-use")
}

// TestOversizedBodyNoContentLength: the limit holds when the client does
// not announce the size (a reader of unknown length is sent chunked).
func TestOversizedBodyNoContentLength(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	body := bytes.NewReader([]byte(`{"flowToken":"` + strings.Repeat("b", 2*mock.MaxBodyBytes) + `"}`))
	req, err := http.NewRequest(http.MethodPost, l.api.URL+mock.APIPrefix+"/send", struct{ *bytes.Reader }{body})
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.api.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
