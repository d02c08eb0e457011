package client_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
)

// rawProxy is a minimal proxy written by hand, to meet the client with
// what real proxies send and the lab's proxy does not: a 407 whose body
// runs until the connection closes, several challenges in one header, a
// connection closed after the first 407. It answers CONNECT only, relays
// through the lab's upstream dialer, and records what it saw.
type rawProxy struct {
	l        *lab
	ln       net.Listener
	mu       sync.Mutex
	agents   []string
	attempts int
	// respond writes the answer to a CONNECT without valid credentials;
	// it returns whether to keep the connection open after it.
	respond func(w io.Writer) (keep bool)
}

func newRawProxy(t *testing.T, l *lab, respond func(w io.Writer) bool) *rawProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &rawProxy{l: l, ln: ln, respond: respond}
	t.Cleanup(func() { ln.Close() })
	l.net.add(proxyAddr, ln.Addr().String())
	go p.serve()
	return p
}

func (p *rawProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *rawProxy) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.agents = append(p.agents, req.Header.Get("User-Agent"))
		p.attempts++
		p.mu.Unlock()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(`CONTOSO\`+proxyUser+":"+proxyPassword))
		if req.Method != http.MethodConnect || req.Header.Get("Proxy-Authorization") != want {
			if !p.respond(c) {
				return
			}
			continue
		}
		up, err := p.l.net.upstream(context.Background(), "tcp", req.Host)
		if err != nil {
			_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		defer up.Close()
		_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { _, _ = io.Copy(up, br); up.Close() }()
		_, _ = io.Copy(c, up)
		return
	}
}

func (p *rawProxy) seen() ([]string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.agents...), p.attempts
}

// TestRefusalWithoutLength: a 407 with no Content-Length on a connection
// the proxy keeps open is a refusal at once, not a wait for the body.
func TestRefusalWithoutLength(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	newRawProxy(t, l, func(w io.Writer) bool {
		_, _ = io.WriteString(w, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n")
		return true // and never close
	})
	res := l.run(t, profile(func(p *client.Profile) {
		p.Account = client.AccountDefaultUser1
		p.Proxy.PerMachine = viaProxy()
		p.Timeouts.Request = 20 * time.Second
	}))
	assert.Equal(t, client.CauseProxyAuthRequired, res.Cause, "%s", res)
}

// TestChallengesInOneHeader: "NTLM, Basic realm=..." in one header is two
// challenges; the proxy closes after its 407 and the client answers with
// Basic on a new connection. The CONNECT carries the web view's
// User-Agent, as proxies that exempt it by agent expect.
func TestChallengesInOneHeader(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	rp := newRawProxy(t, l, func(w io.Writer) bool {
		_, _ = io.WriteString(w, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM, Basic realm=\"a, b\", charset=\"UTF-8\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return false
	})
	res := l.run(t, profile(func(p *client.Profile) {
		p.Proxy.PerUser = viaProxy()
		p.Credentials = creds(client.SchemeBasic)
		p.Revocation = client.RevocationOff // the raw proxy does no plain HTTP
	}))
	require.True(t, res.OK(), "%s", res)
	assert.Equal(t, client.SchemeBasic, res.ProxyAuth)
	agents, attempts := rp.seen()
	assert.GreaterOrEqual(t, attempts, 4, "two tunnels, each refused once")
	for _, a := range agents {
		assert.Contains(t, a, "Mozilla/5.0 (Windows NT 10.0")
	}

	// Offered in one header, NTLM is seen as NTLM, and a client limited
	// to NTLM gets the challenge-less 407 for its NEGOTIATE again.
	res = l.run(t, profile(func(p *client.Profile) {
		p.Proxy.PerUser = viaProxy()
		p.Credentials = creds(client.SchemeNTLM)
	}))
	var pe *client.ProxyError
	require.ErrorAs(t, res.Err, &pe, "%s", res)
	assert.Equal(t, []string{"ntlm", "basic"}, pe.Offered)
	assert.Equal(t, "ntlm", pe.Scheme)
	assert.Equal(t, client.CauseProxyAuthRequired, res.Cause)
}

// TestRevocationFailures: each way an OCSP answer can be unusable is
// revocation-offline under hard-fail when the CRL cannot be had either,
// with both reasons in the error; with the CRL hosts up, the CRL answers
// instead, as CryptoAPI falls back to it, unless it is as stale as the
// OCSP answer.
func TestRevocationFailures(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		responder func(t *testing.T, l *lab) http.Handler
		want      string
	}{
		"responder fails": {func(*testing.T, *lab) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
		}, "OCSP responder answered 500"},
		"stale answer": {nil, "OCSP response is stale"},
		"another authority's responder": {func(t *testing.T, _ *lab) http.Handler {
			other, err := pki.New()
			require.NoError(t, err)
			r, err := mock.NewOCSPResponder(other)
			require.NoError(t, err)
			return r
		}, "unauthorized"},
		"not OCSP at all": {func(*testing.T, *lab) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>captive portal</html>") })
		}, "OCSP response:"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var opts []labOption
			if tc.responder == nil {
				// The lab's CA runs a month behind: its certificates are
				// valid still, its OCSP answers expired a fortnight ago.
				opts = append(opts, withPKIClock(func() time.Time { return time.Now().Add(-30 * 24 * time.Hour) }))
			}
			newRevLab := func(opts ...labOption) *lab {
				l := newLab(t, opts...)
				if tc.responder != nil {
					srv := httptest.NewServer(tc.responder(t, l))
					t.Cleanup(srv.Close)
					l.net.add(mock.OCSPHost+":80", srv.Listener.Addr().String())
				}
				return l
			}
			l := newRevLab(append(opts, withoutCRL())...)
			res := l.run(t, profile())
			assert.Equal(t, client.CauseRevocationOffline, res.Cause, "%s", res)
			assert.Equal(t, client.StepRevocation, res.Step)
			assert.Contains(t, res.Error, tc.want)
			assert.Contains(t, res.Error, "; CRL http://crl3.digicert.com/egresslab-issuing-ca.crl: ")
			assert.Empty(t, res.RevocationSource)
			soft := l.run(t, profile(func(p *client.Profile) { p.Revocation = client.RevocationSoftFail }))
			require.True(t, soft.OK(), "%s", soft)
			assert.Len(t, soft.Warnings, 4, "portal and CDN certificates and, for each, the issuing CA's")

			withCRL := newRevLab(opts...).run(t, profile())
			if tc.responder == nil {
				assert.Equal(t, client.CauseRevocationOffline, withCRL.Cause, "%s", withCRL)
				assert.Contains(t, withCRL.Error, "CRL is stale")
				return
			}
			require.True(t, withCRL.OK(), "the CRL answers: %s", withCRL)
			assert.Equal(t, client.SourceCRL, withCRL.RevocationSource)
		})
	}
}

// TestCaptcha: a wrong answer and a solver that fails both end at the
// CAPTCHA.
func TestCaptcha(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	for name, solve := range map[string]func(context.Context, string) (string, error){
		"wrong answer":  func(context.Context, string) (string, error) { return "nope", nil },
		"solver failed": func(context.Context, string) (string, error) { return "", errors.New("no one there") },
	} {
		res := l.run(t, profile(), client.WithCaptcha(solve))
		assert.Equal(t, client.OutcomeCouldNotVerify, res.Outcome, name)
		assert.Equal(t, client.CauseVerificationFailed, res.Cause, name)
		assert.Equal(t, client.StepCaptcha, res.Step, name)
	}
}

// TestBlockedWhenSending: the sixth SMS within an hour blocks the user when
// it is sent: the block is reported at the gate, not at begin.
func TestBlockedWhenSending(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	sms := profile(func(p *client.Profile) { p.Methods = []string{"sms"} })
	for range mock.ThrottleLimit {
		require.True(t, l.run(t, sms).OK())
	}
	res := l.run(t, sms)
	assert.Equal(t, client.OutcomeBlocked, res.Outcome, "%s", res)
	assert.Equal(t, client.CauseThrottled, res.Cause)
	assert.Equal(t, client.StepVerify, res.Step)
	assert.Equal(t, 1, res.Gate)
}

// TestCanceled: a run its caller cancels says so.
func TestCanceled(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := l.client(t, profile()).Run(ctx)
	assert.Equal(t, client.CauseCanceled, res.Cause, "%s", res)
	assert.Equal(t, client.StepPage, res.Step)
}

// TestPendingNotification: the client asks again until the notification
// is answered (here on the third time it asks), and gives up on one that
// is never answered.
func TestPendingNotification(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	pending := 0
	// The portal approves the user's notification after answering
	// "pending" twice: the user takes a while to find the phone.
	wrap := func(l *lab, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if r.URL.Path == mock.APIPrefix+"/verify" && strings.Contains(rec.Body.String(), `"status":"pending"`) {
				mu.Lock()
				pending++
				if pending == 2 {
					require.NoError(t, l.svc.Authenticator().Answer("megan@fabrikam.com", true))
				}
				mu.Unlock()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	}
	l := newLab(t, withPortalWrapper(wrap))
	codes := l.codes()
	noApproval := client.CodeFunc(func(ctx context.Context, ch client.Challenge) (client.Response, error) {
		if ch.Method == "appNotification" {
			return client.Response{}, nil // the user has to find the phone first
		}
		return codes.Respond(ctx, ch)
	})
	p := profile(func(p *client.Profile) {
		p.UserID, p.Methods = "megan@fabrikam.com", []string{"appNotification", "email"}
	})
	res := l.run(t, p, client.WithCodeSource(noApproval), client.WithPollInterval(time.Millisecond))
	require.True(t, res.OK(), "%s", res)
	assert.Equal(t, []string{"appNotification", "email"}, res.Methods)
	mu.Lock()
	assert.Equal(t, 2, pending)
	mu.Unlock()

	// Never answered: the client stops waiting.
	res = l.run(t, p, client.WithCodeSource(noApproval), client.WithPollInterval(time.Millisecond),
		client.WithNotificationTimeout(50*time.Millisecond))
	assert.Equal(t, client.OutcomeCouldNotVerify, res.Outcome, "%s", res)
	assert.Equal(t, client.CauseVerificationFailed, res.Cause)
	assert.Contains(t, res.Error, "not answered within 50ms")
}
