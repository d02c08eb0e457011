package mock_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// strongPassword passes the policy for every test user.
const strongPassword = "Vq7#Lmz2!Rtx"

// lab is a service on a real loopback listener (plain HTTP here: TLS is
// the vhost package's business and is exercised end to end in the portal
// test) with its admin API on a second listener.
type lab struct {
	svc   *mock.Service
	api   *httptest.Server
	admin *httptest.Server
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLab(t testing.TB, opts ...mock.Option) *lab {
	t.Helper()
	dir, err := mock.LoadDirectoryFile("testdata/directory.yaml")
	require.NoError(t, err)
	logs := &syncBuffer{}
	opts = append([]mock.Option{mock.WithDirectory(dir), mock.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	svc, err := mock.New(opts...)
	require.NoError(t, err)
	l := &lab{svc: svc, api: httptest.NewServer(svc), admin: httptest.NewServer(svc.AdminHandler()), logs: logs}
	t.Cleanup(l.api.Close)
	t.Cleanup(l.admin.Close)
	return l
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
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		b, err = json.Marshal(body)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(http.MethodPost, l.api.URL+mock.APIPrefix+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := l.api.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	res := apiResult{Status: resp.StatusCode, Raw: string(raw)}
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(raw, &res.View), string(raw))
	} else {
		var e struct {
			Error *struct{ Kind, Message, Field string }
		}
		require.NoError(t, json.Unmarshal(raw, &e), string(raw))
		require.NotNil(t, e.Error, string(raw))
		res.Err = *e.Error
	}
	return res
}

// begin starts a flow for upn, solving the captcha.
func (l *lab) begin(t testing.TB, upn string, header ...string) apiResult {
	t.Helper()
	c := l.post(t, "/captcha", "{}")
	require.Equal(t, http.StatusOK, c.Status, c.Raw)
	var cap mock.Captcha
	require.NoError(t, json.Unmarshal([]byte(c.Raw), &cap))
	return l.post(t, "/begin", map[string]string{"userId": upn, "captchaId": cap.ID, "captchaAnswer": cap.Challenge}, header...)
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

// assertNoSecrets checks that nothing the service logged or audited holds
// a code or a password.
func (l *lab) assertNoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	audit, err := json.Marshal(l.svc.Audit().Entries(""))
	require.NoError(t, err)
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		assert.NotContains(t, string(audit), sec, "the audit log holds a secret")
		assert.NotContains(t, l.logs.String(), sec, "the log holds a secret")
	}
}

func fixedClock() *mock.Clock {
	c := &mock.Clock{}
	c.Freeze()
	c.Set(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	return c
}
