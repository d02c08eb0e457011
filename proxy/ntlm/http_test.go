package ntlm_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	ntlmssp "github.com/Azure/go-ntlmssp"
	ntlmproxy "github.com/launchdarkly/go-ntlm-proxy-auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/proxy/ntlm"
)

// handshakeHandler runs the NTLM handshake over HTTP: as a server (401,
// WWW-Authenticate) or, with proxy set, as a proxy (407,
// Proxy-Authenticate) that forwards nothing and answers every request
// itself once authenticated. The State is keyed by the connection's
// r.RemoteAddr, so the three legs must share one connection.
type handshakeHandler struct {
	srv   *ntlm.Server
	proxy bool
	offer []string // schemes offered on a request without credentials

	mu     sync.Mutex
	states map[string]*ntlm.State
	legs   map[string]int // handshake legs seen per connection
	auths  []authResult   // every AUTHENTICATE and what it gave
}

type authResult struct {
	msg []byte
	err error
}

// results returns the AUTHENTICATE messages seen so far and their results.
func (h *handshakeHandler) results() []authResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]authResult(nil), h.auths...)
}

func newHandshakeHandler(proxy bool, offer ...string) *handshakeHandler {
	return &handshakeHandler{
		srv: newServer(), proxy: proxy, offer: offer,
		states: map[string]*ntlm.State{}, legs: map[string]int{},
	}
}

// start serves h on an ephemeral loopback port.
func (h *handshakeHandler) start(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// connections returns how many connections carried handshake legs.
func (h *handshakeHandler) connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.legs)
}

func (h *handshakeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	authz, authn, status := "Authorization", "WWW-Authenticate", http.StatusUnauthorized
	if h.proxy {
		authz, authn, status = "Proxy-Authorization", "Proxy-Authenticate", http.StatusProxyAuthRequired
	}
	deny := func(challenges ...string) {
		for _, c := range challenges {
			w.Header().Add(authn, c)
		}
		w.WriteHeader(status)
	}
	v := r.Header.Get(authz)
	if v == "" {
		deny(h.offer...)
		return
	}
	tok, err := ntlm.ParseAuthorization(v)
	if err != nil {
		deny(h.offer...)
		return
	}
	h.mu.Lock()
	h.legs[r.RemoteAddr]++
	h.mu.Unlock()
	switch tok.Type() {
	case ntlm.TypeNegotiate:
		challenge, st, err := h.srv.Challenge(tok.Message)
		if err != nil {
			deny(h.offer...)
			return
		}
		h.mu.Lock()
		h.states[r.RemoteAddr] = st
		h.mu.Unlock()
		deny(ntlm.Header(tok.Scheme, challenge, tok.SPNEGO))
	case ntlm.TypeAuthenticate:
		h.mu.Lock()
		st := h.states[r.RemoteAddr]
		delete(h.states, r.RemoteAddr)
		h.mu.Unlock()
		id, err := h.srv.Authenticate(st, tok.Message)
		h.mu.Lock()
		h.auths = append(h.auths, authResult{tok.Message, err})
		h.mu.Unlock()
		if err != nil {
			deny(h.offer...)
			return
		}
		if r.Method == http.MethodConnect {
			tunnel(w, id)
			return
		}
		fmt.Fprintf(w, "hello %s", id)
		if h.proxy {
			fmt.Fprintf(w, " from %s", r.URL.Host)
		}
	default:
		deny(h.offer...)
	}
}

// tunnel answers an authenticated CONNECT: 200, then one line from the
// client is answered with "hello <id>".
func tunnel(w http.ResponseWriter, id string) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	if _, err := rw.ReadString('\n'); err != nil {
		return
	}
	fmt.Fprintf(conn, "hello %s\n", id)
}

func TestCurlServerNTLM(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "curl")
	h := newHandshakeHandler(false, "NTLM")
	s := h.start(t)
	tests := map[string]struct {
		user string
		want string
	}{
		"right password":        {`CONTOSO\alice:Passw0rd!`, `hello CONTOSO\alice` + "\n200"},
		"no domain":             {`alice:Passw0rd!`, "hello alice\n200"},
		"domain in lower case":  {`contoso\alice:Passw0rd!`, `hello contoso\alice` + "\n200"},
		"user in upper case":    {`CONTOSO\ALICE:Passw0rd!`, `hello CONTOSO\ALICE` + "\n200"},
		"wrong password":        {`CONTOSO\alice:Passw0rd?`, "\n401"},
		"password case matters": {`CONTOSO\alice:passw0rd!`, "\n401"},
		"unknown user":          {`CONTOSO\mallory:Passw0rd!`, "\n401"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, code, err := testtool.Run(t, "curl", "-q", "-s", "-S", "--noproxy", "*",
				"--ntlm", "-u", tt.user, "-w", `\n%{http_code}`, s.URL+"/")
			require.NoError(t, err)
			assert.Equal(t, 0, code, out)
			assert.Equal(t, tt.want, out)
		})
	}
}

func TestCurlProxyNTLM(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "curl")
	h := newHandshakeHandler(true, "NTLM")
	s := h.start(t)
	tests := map[string]struct {
		user string
		want string
	}{
		"right password": {`CONTOSO\alice:Passw0rd!`, `hello CONTOSO\alice from example.test` + "\n200"},
		"wrong password": {`CONTOSO\alice:nope`, "\n407"},
		"unknown user":   {`CONTOSO\mallory:Passw0rd!`, "\n407"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, code, err := testtool.Run(t, "curl", "-q", "-s", "-S", "-x", s.URL,
				"--proxy-ntlm", "--proxy-user", tt.user, "-w", `\n%{http_code}`, "http://example.test/")
			require.NoError(t, err)
			assert.Equal(t, 0, code, out)
			assert.Equal(t, tt.want, out)
		})
	}
}

// TestCurlOneConnection: curl's three legs share one connection, and a
// wrong password with --fail is exit code 22.
func TestCurlOneConnection(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "curl")
	h := newHandshakeHandler(false, "NTLM")
	s := h.start(t)
	out, code, err := testtool.Run(t, "curl", "-q", "-s", "-S", "-f", "--noproxy", "*",
		"--ntlm", "-u", `CONTOSO\alice:Passw0rd!`, s.URL+"/")
	require.NoError(t, err)
	require.Equal(t, 0, code, out)
	assert.Equal(t, `hello CONTOSO\alice`, out)
	assert.Equal(t, 1, h.connections())
	res := h.results()
	require.Len(t, res, 1)
	require.NoError(t, res[0].err)
	// curl negotiates OEM strings, and answers NTLMv2 (an NT response
	// longer than NTLMv1's 24 bytes) because the CHALLENGE has target info.
	flags := binary.LittleEndian.Uint32(res[0].msg[60:])
	assert.Equal(t, uint32(flagOEM), flags&(flagOEM|flagUnicode), "flags %#08x", flags)
	assert.Greater(t, binary.LittleEndian.Uint16(res[0].msg[20:]), uint16(24), "NT response length")

	out, code, err = testtool.Run(t, "curl", "-q", "-s", "-S", "-f", "--noproxy", "*",
		"--ntlm", "-u", `CONTOSO\alice:nope`, s.URL+"/")
	require.NoError(t, err)
	assert.Equal(t, 22, code, out)
	assert.Contains(t, out, "401")
	res = h.results()
	require.Len(t, res, 2)
	assert.ErrorIs(t, res[1].err, ntlm.ErrBadCredentials)
}

// TestAzureNegotiator: github.com/Azure/go-ntlmssp's RoundTripper answers
// a 401 offering NTLM or Negotiate (it sends raw NTLMSSP under both).
func TestAzureNegotiator(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		offer    []string
		user     string
		password string
		status   int
		body     string
	}{
		"NTLM":                      {[]string{"NTLM"}, `CONTOSO\alice`, "Passw0rd!", http.StatusOK, `hello CONTOSO\alice`},
		"NTLM, wrong password":      {[]string{"NTLM"}, `CONTOSO\alice`, "nope", http.StatusUnauthorized, ""},
		"Negotiate":                 {[]string{"Negotiate"}, `CONTOSO\bob`, "hunter2", http.StatusOK, `hello CONTOSO\bob`},
		"Negotiate, wrong password": {[]string{"Negotiate"}, `CONTOSO\bob`, "Hunter2", http.StatusUnauthorized, ""},
		"both offered":              {[]string{"Negotiate", "NTLM"}, `alice`, "Passw0rd!", http.StatusOK, `hello alice`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHandshakeHandler(false, tt.offer...)
			s := h.start(t)
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: tr}}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/", nil)
			require.NoError(t, err)
			req.SetBasicAuth(tt.user, tt.password)
			resp, err := c.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			res := h.results()
			require.Len(t, res, 1)
			if tt.status == http.StatusOK {
				assert.NoError(t, res[0].err)
				assert.Equal(t, tt.body, string(body))
				assert.Equal(t, 1, h.connections())
			} else {
				assert.ErrorIs(t, res[0].err, ntlm.ErrBadCredentials)
			}
		})
	}
}

// TestLaunchDarklyConnectDialer: github.com/launchdarkly/go-ntlm-proxy-auth
// runs the handshake on CONNECT; it takes the user's domain from the
// CHALLENGE's target name.
func TestLaunchDarklyConnectDialer(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		user, password string
		err            string
	}{
		"right password": {"alice", "Passw0rd!", ""},
		"user upper":     {"ALICE", "Passw0rd!", ""},
		"wrong password": {"alice", "nope", "Proxy Authentication Required"},
		"unknown user":   {"mallory", "Passw0rd!", "Proxy Authentication Required"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHandshakeHandler(true, "NTLM")
			proxyURL, err := url.Parse(h.start(t).URL)
			require.NoError(t, err)
			dial := ntlmproxy.NewNTLMProxyDialContext(&net.Dialer{}, *proxyURL, tt.user, tt.password, "CONTOSO", nil)
			conn, err := dial(context.Background(), "tcp", "login.microsoftonline.test:443")
			if conn != nil {
				defer conn.Close()
			}
			res := h.results()
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				require.Len(t, res, 1)
				assert.ErrorIs(t, res[0].err, ntlm.ErrBadCredentials)
				return
			}
			require.NoError(t, err)
			_, err = io.WriteString(conn, "ping\n")
			require.NoError(t, err)
			line, err := bufio.NewReader(conn).ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, `hello CONTOSO\`+tt.user, strings.TrimSpace(line))
		})
	}
}
