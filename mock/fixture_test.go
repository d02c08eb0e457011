package mock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/mock"
)

// strongPassword passes the policy for every test user.
const strongPassword = "Vq7#Lmz2!Rtx"

// lab is a service on a real loopback listener (plain HTTP here: TLS is
// the vhost package's business and is exercised end to end in the portal
// test) with its admin API on a second listener. It keeps the service's
// log and every response body it served, for assertNoSecrets.
type lab struct {
	svc    *mock.Service
	api    *httptest.Server
	admin  *httptest.Server
	logs   *testtool.Buffer
	bodies *testtool.Buffer
}

func newLab(t testing.TB, opts ...mock.Option) *lab {
	t.Helper()
	dir, err := mock.LoadDirectoryFile("testdata/directory.yaml")
	require.NoError(t, err)
	logs := &testtool.Buffer{}
	opts = append([]mock.Option{mock.WithDirectory(dir), mock.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	svc, err := mock.New(opts...)
	require.NoError(t, err)
	l := &lab{svc: svc, logs: logs, bodies: &testtool.Buffer{}}
	l.api = httptest.NewServer(l.recorded(svc, nil))
	// The outbox and the authenticator are the user's phone: they show
	// codes by design.
	l.admin = httptest.NewServer(l.recorded(svc.AdminHandler(), func(r *http.Request) bool {
		return r.Method == http.MethodGet && (r.URL.Path == mock.AdminPrefix+"/outbox" || strings.HasPrefix(r.URL.Path, mock.AdminPrefix+"/authenticator/"))
	}))
	t.Cleanup(l.api.Close)
	t.Cleanup(l.admin.Close)
	return l
}

// recorded serves h and keeps a copy of every response body it writes,
// except for requests skip says hold secrets by design.
func (l *lab) recorded(h http.Handler, skip func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if skip != nil && skip(r) {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(teeWriter{w, l.bodies}, r)
	})
}

type teeWriter struct {
	http.ResponseWriter
	copy io.Writer
}

func (t teeWriter) Write(p []byte) (int, error) {
	_, _ = t.copy.Write(p) // a testtool.Buffer does not fail
	return t.ResponseWriter.Write(p)
}

// apiResult is a JSON API answer: a view or an error.
type apiResult struct {
	Status int
	View   mock.FlowView
	Err    struct {
		Kind, Message, Field string
	}
	Raw string
}

func (l *lab) post(t testing.TB, path string, body any, header ...string) apiResult {
	t.Helper()
	res, err := l.call(path, body, header...)
	require.NoError(t, err)
	return res
}

// call is post for any goroutine: it returns its errors.
func (l *lab) call(path string, body any, header ...string) (apiResult, error) {
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			return apiResult{}, err
		}
	}
	req, err := http.NewRequest(http.MethodPost, l.api.URL+mock.APIPrefix+path, bytes.NewReader(b))
	if err != nil {
		return apiResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := l.api.Client().Do(req)
	if err != nil {
		return apiResult{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiResult{}, err
	}
	res := apiResult{Status: resp.StatusCode, Raw: string(raw)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &res.View); err != nil {
			return res, fmt.Errorf("%s: %w: %s", path, err, raw)
		}
		return res, nil
	}
	var e struct {
		Error *struct{ Kind, Message, Field string }
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Error == nil {
		return res, fmt.Errorf("%s: status %d without a JSON error: %s", path, resp.StatusCode, raw)
	}
	res.Err = *e.Error
	return res, nil
}

// begin starts a flow for upn, solving the captcha.
func (l *lab) begin(t testing.TB, upn string, header ...string) apiResult {
	t.Helper()
	res, err := l.callBegin(upn, header...)
	require.NoError(t, err)
	return res
}

// callBegin is begin for any goroutine.
func (l *lab) callBegin(upn string, header ...string) (apiResult, error) {
	c, err := l.call("/captcha", "{}")
	if err != nil {
		return c, err
	}
	if c.Status != http.StatusOK {
		return c, fmt.Errorf("captcha: status %d: %s", c.Status, c.Raw)
	}
	var cap mock.Captcha
	if err := json.Unmarshal([]byte(c.Raw), &cap); err != nil {
		return c, err
	}
	return l.call("/begin", map[string]string{"userId": upn, "captchaId": cap.ID, "captchaAnswer": cap.Challenge}, header...)
}

// codeFor returns the code of the newest message sent over m in the flow
// with correlation id corr: several flows of one user each find their own.
func (l *lab) codeFor(upn, corr string, m mock.Method) (string, bool) {
	msgs := l.svc.Outbox().Messages(upn)
	for _, msg := range slices.Backward(msgs) {
		if msg.CorrelationID == corr && msg.Channel == m {
			return msg.Code, true
		}
	}
	return "", false
}

func (l *lab) send(t testing.TB, token string, m mock.Method) apiResult {
	t.Helper()
	return l.post(t, "/send", map[string]any{"flowToken": token, "method": m})
}

func (l *lab) verify(t testing.TB, token string, m mock.Method, code string, answers ...string) apiResult {
	t.Helper()
	return l.post(t, "/verify", map[string]any{"flowToken": token, "method": m, "code": code, "answers": answers})
}

func (l *lab) password(t testing.TB, token, pw string) apiResult {
	t.Helper()
	return l.post(t, "/password", map[string]any{"flowToken": token, "newPassword": pw})
}

// lastCode reads the newest code sent to upn over m from the outbox.
func (l *lab) lastCode(t testing.TB, upn string, m mock.Method) string {
	t.Helper()
	msg, ok := l.svc.Outbox().Last(upn, m)
	require.True(t, ok, "no %s message for %s", m, upn)
	return msg.Code
}

// pass completes one gate with a code method.
func (l *lab) passCode(t testing.TB, upn, token string, m mock.Method) apiResult {
	t.Helper()
	r := l.send(t, token, m)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, mock.StatusCodeSent, r.View.Status, r.Raw)
	return l.verify(t, token, m, l.lastCode(t, upn, m))
}

// adminDo calls the admin API and decodes its JSON answer into out.
func (l *lab) adminDo(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.admin.URL+mock.AdminPrefix+path, rd)
	require.NoError(t, err)
	resp, err := l.admin.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode
}

// assertNoSecrets checks that nothing the service logged, audited or
// served (API answers and errors, HTML pages, admin API bodies other than
// the outbox's and the authenticator's) holds a code, an answer or a
// password.
func (l *lab) assertNoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	audit, err := json.Marshal(l.svc.Audit().Entries(""))
	require.NoError(t, err)
	logs, bodies := l.logs.String(), l.bodies.String()
	require.Contains(t, logs, "mock: flow step", "the service logs its flows: else this check could not fail")
	require.NotEmpty(t, bodies)
	for _, sec := range secrets {
		require.NotEmpty(t, sec)
		// A code is six digits: look for it as a word, not inside a
		// random token that happens to hold the same digits.
		re := regexp.MustCompile(`(?:^|[^0-9A-Za-z])` + regexp.QuoteMeta(sec) + `(?:[^0-9A-Za-z]|$)`)
		if strings.Trim(sec, "0123456789") != "" {
			re = regexp.MustCompile(regexp.QuoteMeta(sec))
		}
		assert.False(t, re.MatchString(string(audit)), "the audit log holds a secret")
		assert.False(t, re.MatchString(logs), "the log holds a secret")
		assert.False(t, re.MatchString(bodies), "a response holds a secret")
	}
}

func fixedClock() *mock.Clock {
	c := &mock.Clock{}
	c.Freeze()
	c.Set(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	return c
}
