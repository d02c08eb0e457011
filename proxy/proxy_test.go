package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	ntlmproxy "github.com/launchdarkly/go-ntlm-proxy-auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
)

// client returns an HTTP client behind proxyURL that trusts the lab's
// upstream certificates and reports the proxy's answer to CONNECT.
func client(u *upstreams, proxyURL string, connectStatus *int) *http.Client {
	pu, _ := url.Parse(proxyURL)
	tr := &http.Transport{
		Proxy:             http.ProxyURL(pu),
		TLSClientConfig:   &tls.Config{RootCAs: u.auth.Pool()},
		DisableKeepAlives: true,
	}
	if connectStatus != nil {
		tr.OnProxyConnectResponse = func(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
			*connectStatus = resp.StatusCode
			return nil
		}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestAllowAndDeny(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	var lines bytes.Buffer
	var mu sync.Mutex
	var seen []proxy.Entry
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithRules(
			proxy.Rule{Name: "sspr", Hosts: []string{portal}, Ports: []int{443}, Action: proxy.Allow},
			proxy.Rule{Name: "plain", Hosts: []string{"allowed.example"}, Methods: []string{"HTTP"}, Action: proxy.Allow},
		),
		proxy.WithJournalWriter(&syncWriter{w: &lines, mu: &mu}),
		proxy.WithObserver(func(e proxy.Entry) { mu.Lock(); seen = append(seen, e); mu.Unlock() }),
	)

	var st int
	status, body, err := get(t, client(u, p.URL, &st), "https://"+portal+"/n/passwordreset")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello from "+portal+"/n/passwordreset", body)
	assert.Equal(t, 200, st)

	status, body, err = get(t, client(u, p.URL, nil), "http://allowed.example/x")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello from allowed.example/x", body)

	// Denied by default, with Squid's page; Go reports a 403 on CONNECT
	// only as text, OnProxyConnectResponse sees the status.
	_, _, err = get(t, client(u, p.URL, &st), "https://ajax.aspnetcdn.com/")
	require.Error(t, err)
	assert.Equal(t, 403, st)
	status, _, err = get(t, client(u, p.URL, nil), "http://ocsp.digicert.com/")
	require.NoError(t, err)
	assert.Equal(t, 403, status)
	assert.Zero(t, netw.dialsTo("ajax.aspnetcdn.com:443"))

	all := entries(t, p, 4)
	require.Len(t, all, 4)
	byTarget := map[string]proxy.Entry{}
	for _, e := range all {
		byTarget[e.Method+" "+e.Target] = e
	}
	tun := byTarget["CONNECT "+portal+":443"]
	assert.Equal(t, "sspr", tun.Rule)
	assert.Equal(t, proxy.ResultOK, tun.Result)
	assert.Greater(t, tun.BytesUp, int64(100), "TLS hello and request")
	assert.Greater(t, tun.BytesDown, int64(100))
	plain := byTarget["GET allowed.example:80"]
	assert.Equal(t, "/x", plain.Path)
	assert.Equal(t, int64(len("hello from allowed.example/x")), plain.BytesDown)
	assert.Equal(t, 403, byTarget["CONNECT ajax.aspnetcdn.com:443"].Status)
	assert.Equal(t, "default", byTarget["CONNECT ajax.aspnetcdn.com:443"].Rule)
	assert.Equal(t, proxy.ResultDenied, byTarget["GET ocsp.digicert.com:80"].Result)

	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, seen, 4, "the observer saw every entry")
	dec := json.NewDecoder(&lines)
	n := 0
	for dec.More() {
		var e proxy.Entry
		require.NoError(t, dec.Decode(&e))
		n++
	}
	assert.Equal(t, 4, n, "one JSON line per entry")
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func TestBasicAuthAndExemption(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Realm: "Contoso proxy", Users: []proxy.User{{Name: "alice", Password: "S3cret!pw"}}}),
		proxy.WithRules(
			// The documented remedy: the SSPR hosts without authentication.
			proxy.Rule{Name: "sspr exempt", Hosts: []string{portal, "ajax.aspnetcdn.com", ".digicert.com"}, Action: proxy.Allow},
			proxy.Rule{Name: "everyone else", Action: proxy.Authenticate},
		))
	base := strings.TrimPrefix(p.URL, "http://")

	status, _, err := get(t, client(u, p.URL, nil), "https://"+portal+"/")
	require.NoError(t, err)
	assert.Equal(t, 200, status, "exempt without credentials")

	status, hdr := raw(t, base, crlf("GET http://allowed.example/ HTTP/1.1\nHost: allowed.example\n\n"))
	assert.Equal(t, 407, status)
	assert.Equal(t, `Basic realm="Contoso proxy"`, hdr.Get("Proxy-Authenticate"))
	assert.Equal(t, "ERR_CACHE_ACCESS_DENIED 0", hdr.Get("X-Squid-Error"))

	var st int
	_, _, err = get(t, client(u, p.URL, &st), "https://allowed.example/")
	assert.Error(t, err)
	assert.Equal(t, 407, st, "a 407 on CONNECT, as Go's transport sees it")

	status, body, err := get(t, client(u, "http://alice:S3cret!pw@"+base, nil), "http://allowed.example/a")
	require.NoError(t, err)
	assert.Equal(t, 200, status, body)
	status, _, err = get(t, client(u, "http://alice:wrong@"+base, nil), "http://allowed.example/a")
	require.NoError(t, err)
	assert.Equal(t, 407, status)
	status, _, err = get(t, client(u, "http://mallory:S3cret!pw@"+base, nil), "http://allowed.example/a")
	require.NoError(t, err)
	assert.Equal(t, 407, status)

	var users []string
	js, _ := json.Marshal(p.Journal().Entries())
	assert.NotContains(t, string(js), "S3cret", "no password in the journal")
	assert.NotContains(t, string(js), base64.StdEncoding.EncodeToString([]byte("alice:S3cret!pw")))
	for _, e := range p.Journal().Entries() {
		if e.User != "" {
			users = append(users, e.User)
		}
	}
	assert.Equal(t, []string{"alice"}, users)
}

func ntlmProxy(t *testing.T, netw *network, schemes ...string) *proxy.Proxy {
	return startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Schemes: schemes, Domain: "CONTOSO", Users: []proxy.User{{Name: "alice", Domain: "CONTOSO", Password: "Passw0rd!"}}}),
		proxy.WithDefault(proxy.Authenticate))
}

// TestNTLMConnect runs the real three-leg NTLM handshake on CONNECT with a
// client library, then TLS through the tunnel.
func TestNTLMConnect(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	p := ntlmProxy(t, netw, proxy.SchemeNegotiate, proxy.SchemeNTLM)
	addr := p.Listener.Addr().String()

	status, hdr := raw(t, addr, crlf("CONNECT "+portal+":443 HTTP/1.1\nHost: "+portal+":443\n\n"))
	assert.Equal(t, 407, status)
	assert.Equal(t, []string{"Negotiate", "NTLM"}, hdr.Values("Proxy-Authenticate"), "offered in order, as proxies do")

	dial := ntlmproxy.WrapDialContext((&net.Dialer{}).DialContext, addr, "alice", "Passw0rd!", "CONTOSO")
	c := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: u.auth.Pool()}}, Timeout: 10 * time.Second}
	status, body, err := get(t, c, "https://"+portal+"/ntlm")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello from "+portal+"/ntlm", body)
	c.CloseIdleConnections() // ends the tunnel, which journals it

	bad := ntlmproxy.WrapDialContext((&net.Dialer{}).DialContext, addr, "alice", "wrong", "CONTOSO")
	c = &http.Client{Transport: &http.Transport{DialContext: bad, TLSClientConfig: &tls.Config{RootCAs: u.auth.Pool()}}, Timeout: 10 * time.Second}
	_, _, err = get(t, c, "https://"+portal+"/ntlm")
	assert.ErrorContains(t, err, "Proxy Authentication Required", "a wrong password gets 407 again")
	c.CloseIdleConnections()

	var ok, challenged, refused int
	for _, e := range entries(t, p, 5) {
		switch {
		case e.Result == proxy.ResultOK:
			ok++
			assert.Equal(t, `CONTOSO\alice`, e.User)
		case e.Detail == "NTLM challenge sent":
			challenged++
		case strings.HasPrefix(e.Detail, "NTLM authentication failed"):
			refused++
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 2, challenged)
	assert.Equal(t, 1, refused)
}

// TestNegotiateCarryingNTLM sends NTLM tokens inside Negotiate, as
// browsers do when Kerberos is unavailable, on one connection.
func TestNegotiateCarryingNTLM(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := ntlmProxy(t, netw, proxy.SchemeNegotiate)
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(c)
	send := func(auth string) *http.Response {
		req := &http.Request{Method: "CONNECT", URL: &url.URL{Opaque: portal + ":443"}, Host: portal + ":443", Header: http.Header{}}
		if auth != "" {
			req.Header.Set("Proxy-Authorization", auth)
		}
		require.NoError(t, req.Write(c))
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err)
		if resp.StatusCode != http.StatusOK { // after a 200 the connection is the tunnel
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp
	}
	neg, err := ntlmssp.NewNegotiateMessage("CONTOSO", "")
	require.NoError(t, err)
	resp := send("Negotiate " + base64.StdEncoding.EncodeToString(neg))
	require.Equal(t, 407, resp.StatusCode)
	scheme, ch, ok := strings.Cut(resp.Header.Get("Proxy-Authenticate"), " ")
	require.True(t, ok)
	assert.Equal(t, "Negotiate", scheme)
	challenge, err := base64.StdEncoding.DecodeString(ch)
	require.NoError(t, err)
	authMsg, err := ntlmssp.NewAuthenticateMessage(challenge, "alice", "Passw0rd!", nil)
	require.NoError(t, err)
	resp = send("Negotiate " + base64.StdEncoding.EncodeToString(authMsg))
	assert.Equal(t, 200, resp.StatusCode, "the same connection, now a tunnel")
}

func TestParentChain(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	parent := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: "child", Password: "chain-pw"}}}),
		proxy.WithDefault(proxy.Authenticate))
	parentAddr := parent.Listener.Addr().String()
	netw.add("parent.corp:3128", parentAddr)
	child := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithParent("http://child:chain-pw@parent.corp:3128"), proxy.WithDefault(proxy.Allow))

	status, _, err := get(t, client(u, child.URL, nil), "https://"+portal+"/chained")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	status, body, err := get(t, client(u, child.URL, nil), "http://allowed.example/chained")
	require.NoError(t, err)
	assert.Equal(t, 200, status, body)
	users := map[string]bool{}
	for _, e := range entries(t, parent, 2) {
		users[e.User] = true
	}
	assert.Equal(t, map[string]bool{"child": true}, users, "both requests reached the parent, authenticated")

	wrong := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithParent("http://child:nope@parent.corp:3128"), proxy.WithDefault(proxy.Allow))
	var st int
	_, _, err = get(t, client(u, wrong.URL, &st), "https://"+portal+"/")
	assert.Error(t, err)
	assert.Equal(t, 502, st, "the parent's 407 becomes a 502 from the child")
	js, _ := json.Marshal(wrong.Journal().Entries())
	assert.NotContains(t, string(js), "nope")
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	ic := func() *pki.Interceptor {
		a, err := pki.New()
		require.NoError(t, err)
		i, err := a.Interception()
		require.NoError(t, err)
		return i
	}()
	tests := map[string]struct {
		opts []proxy.Option
		want string
	}{
		"auth without accounts":     {[]proxy.Option{proxy.WithRules(proxy.Rule{Action: proxy.Authenticate})}, "requires authentication but no accounts"},
		"default auth, no accounts": {[]proxy.Option{proxy.WithDefault(proxy.Authenticate)}, "no accounts"},
		"intercept without a root":  {[]proxy.Option{proxy.WithRules(proxy.Rule{Action: proxy.Intercept})}, "no interception root"},
		"bad default":               {[]proxy.Option{proxy.WithDefault(proxy.Fault)}, "default action"},
		"bad parent":                {[]proxy.Option{proxy.WithParent("socks5://x:1")}, "want http://host:port"},
		"parent without port":       {[]proxy.Option{proxy.WithParent("http://parent.corp")}, "has no port"},
		"public address":            {[]proxy.Option{proxy.WithAddr("0.0.0.0:0")}, "not a loopback address"},
		"nil dialer":                {[]proxy.Option{proxy.WithDialer(nil)}, "nil dialer"},
		"bad scheme":                {[]proxy.Option{proxy.WithAuth(proxy.Auth{Schemes: []string{"kerberos"}, Users: []proxy.User{{Name: "a", Password: "b"}}})}, `unknown scheme "kerberos"`},
		"no users":                  {[]proxy.Option{proxy.WithAuth(proxy.Auth{})}, "at least one user"},
		"user with domain in name":  {[]proxy.Option{proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: `CONTOSO\a`, Password: "b"}}})}, "must not contain"},
		"bad rule":                  {[]proxy.Option{proxy.WithRules(proxy.Rule{Hosts: []string{"a b"}, Action: proxy.Allow})}, `rules[0]: hosts[0]`},
		"suites the root cannot sign": {[]proxy.Option{proxy.WithInterceptor(ic), proxy.WithRules(proxy.Rule{Name: "rsa only", Action: proxy.Intercept,
			TLS: &proxy.TLSPolicy{Max: "1.2", CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}}})},
			"rules[0] (rsa only): tls.cipherSuites: none of them authenticates with the interception root's ecdsa-p256 key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := proxy.New(tc.opts...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	_, err := proxy.New(proxy.WithInterceptor(ic), proxy.WithRules(proxy.Rule{Action: proxy.Intercept}))
	assert.NoError(t, err)
}

func TestJournalWindow(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	var mu sync.Mutex
	var lines bytes.Buffer
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Deny), proxy.WithJournalLimit(3), proxy.WithJournalWriter(&syncWriter{w: &lines, mu: &mu}))
	addr := p.Listener.Addr().String()
	for i := range 5 {
		status, _ := raw(t, addr, crlf("GET http://allowed.example/"+string(rune('a'+i))+" HTTP/1.1\nHost: allowed.example\n\n"))
		require.Equal(t, 403, status)
	}
	var paths []string
	for _, e := range p.Journal().Entries() {
		paths = append(paths, e.Path)
	}
	assert.Equal(t, []string{"/c", "/d", "/e"}, paths, "the latest three, oldest first")
	assert.Equal(t, 2, p.Journal().Dropped())
	mu.Lock()
	assert.Equal(t, 5, strings.Count(lines.String(), "\n"), "the writer got every entry")
	mu.Unlock()
	_, err := proxy.New(proxy.WithJournalLimit(0))
	assert.ErrorContains(t, err, "journal limit")
}

// TestNilJournal: a nil *Journal reads as an empty one.
func TestNilJournal(t *testing.T) {
	t.Parallel()
	var j *proxy.Journal
	assert.NotPanics(t, func() {
		assert.Empty(t, j.Entries())
		assert.NotNil(t, j.Entries(), "empty, as a journal with no entries")
		assert.Zero(t, j.Dropped())
		j.Reset()
	})
}
