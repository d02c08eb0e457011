package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	ntlmproxy "github.com/launchdarkly/go-ntlm-proxy-auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

// TestInterceptedTunnelStaysOnTarget: a request inside an intercepted
// tunnel may only go to the tunnel's host, whatever its Host header or URL
// names; the rules stand.
func TestInterceptedTunnelStaysOnTarget(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	ic, err := u.auth.Interception()
	require.NoError(t, err)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(u.auth.Pool()),
		proxy.WithRules(proxy.Rule{Name: "inspect portal", Hosts: []string{portal}, Action: proxy.Intercept}))
	trusting := x509.NewCertPool()
	trusting.AppendCertsFromPEM(ic.CA().CertPEM())

	conn := openTunnelT(t, p.Listener.Addr().String(), portal+":443")
	tc := tls.Client(conn, &tls.Config{RootCAs: trusting, ServerName: portal})
	defer tc.Close()
	require.NoError(t, tc.SetDeadline(time.Now().Add(10*time.Second)))
	for _, req := range []string{
		"GET /x HTTP/1.1\r\nHost: ajax.aspnetcdn.com\r\n\r\n",
		"GET https://blocked.example/y HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
		"GET /ok HTTP/1.1\r\nHost: " + portal + "\r\n\r\n",
	} {
		_, err := io.WriteString(tc, req)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufioReader(tc), nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(req, "/ok") {
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "hello from "+portal+"/ok", string(body))
		} else {
			assert.Equal(t, 400, resp.StatusCode, req)
			assert.NotContains(t, string(body), "hello from")
		}
	}
	assert.Zero(t, netw.dialsTo("ajax.aspnetcdn.com:443"))
	assert.Zero(t, netw.dialsTo("blocked.example:443"))
	tc.Close()

	// A client without the root: its CONNECT is journaled all the same.
	_, _, _ = get(t, client(u, p.URL, nil), "https://"+portal+"/")
	var connects, refused int
	for _, e := range entries(t, p, 5) {
		if e.Method == http.MethodConnect {
			connects++
			assert.Equal(t, "tunnel intercepted", e.Detail)
		}
		if e.Result == proxy.ResultBadRequest {
			refused++
			assert.True(t, e.Intercepted)
		}
	}
	assert.Equal(t, 2, connects)
	assert.Equal(t, 2, refused)
}

func openTunnelT(t *testing.T, proxyAddr, target string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	require.NoError(t, err)
	// Read the status line and the empty line byte by byte: nothing of the
	// tunnel may be consumed.
	var head []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		_, err := c.Read(one)
		require.NoError(t, err)
		head = append(head, one[0])
	}
	require.True(t, strings.HasPrefix(string(head), "HTTP/1.1 200"), string(head))
	require.NoError(t, c.SetDeadline(time.Time{}))
	return c
}

func TestForwardsTheNormalisedTarget(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	for _, raw := range []string{"http://Allowed.Example./n", "http://allowed.example:0080/n", "http://ALLOWED.example/n"} {
		status, body, err := get(t, client(u, p.URL, nil), raw)
		require.NoError(t, err, raw)
		assert.Equal(t, 200, status, raw)
		assert.Equal(t, "hello from allowed.example/n", body, "the origin sees the normalised host")
	}
}

func TestNoCredentialsInTheJournal(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	addr := p.Listener.Addr().String()
	for _, req := range []string{
		"GET http://alice:S3cret@allowed.example/ HTTP/1.1\nHost: allowed.example\n\n",
		"CONNECT alice:S3cret@allowed.example:443 HTTP/1.1\n\n",
	} {
		status, _ := raw(t, addr, crlf(req))
		assert.Equal(t, 400, status)
	}
	js, err := json.Marshal(p.Journal().Entries())
	require.NoError(t, err)
	assert.NotContains(t, string(js), "S3cret")
	assert.Contains(t, string(js), "***@")
}

// TestBareHandlerNTLM: as a handler in someone else's server the proxy
// cannot see connections, so no connection stays authenticated; the
// handshake itself still works.
func TestBareHandlerNTLM(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	p, err := proxy.New(proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Schemes: []string{proxy.SchemeNTLM}, Users: []proxy.User{{Name: "alice", Password: "Passw0rd!"}}}),
		proxy.WithDefault(proxy.Authenticate))
	require.NoError(t, err)
	srv := httptest.NewServer(p)
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	dial := ntlmproxy.WrapDialContext((&net.Dialer{}).DialContext, addr, "alice", "Passw0rd!", "LAB")
	c := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: u.auth.Pool()}}, Timeout: 10 * time.Second}
	status, _, err := get(t, c, "https://"+portal+"/bare")
	require.NoError(t, err)
	assert.Equal(t, 200, status)

	pu, _ := url.Parse(srv.URL)
	plain := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 10 * time.Second}
	status, _, err = get(t, plain, "http://allowed.example/")
	require.NoError(t, err)
	assert.Equal(t, 407, status, "no connection is taken as authenticated")
}

func TestInterceptRuleFaults(t *testing.T) {
	t.Parallel()
	_, err := proxy.New(proxy.WithRules(proxy.Rule{Action: proxy.Intercept, Fault: &fault.Spec{Kind: fault.Reset}}))
	assert.ErrorContains(t, err, "close-after, latency or bandwidth")
}

// TestCloseEndsTunnels: closing the proxy ends the tunnels under way.
func TestCloseEndsTunnels(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p, err := proxy.New(proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	require.NoError(t, err)
	require.NoError(t, p.Start())
	c := openTunnelT(t, p.Listener.Addr().String(), portal+":443")
	defer c.Close()
	p.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = c.Read(make([]byte, 1))
	assert.Error(t, err, "the tunnel is gone")
	var ne net.Error
	assert.False(t, errorsAs(err, &ne) && ne.Timeout(), "closed, not timed out: %v", err)
}

// TestShapingFaultsThroughTheProxy: latency and bandwidth slow what comes
// back through the proxy (lower bounds only; never an upper bound on time).
func TestShapingFaultsThroughTheProxy(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	tests := map[string]struct {
		spec fault.Spec
		path string
		min  time.Duration
	}{
		"latency 100ms":   {fault.Spec{Kind: fault.Latency, Delay: fault.Duration(100 * time.Millisecond)}, "/x", 100 * time.Millisecond},
		"bandwidth 4 MiB": {fault.Spec{Kind: fault.Bandwidth, Rate: 4 << 20}, "/big", 200 * time.Millisecond}, // 1 MiB at 4 MiB/s
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, proxy.WithDialer(netw.dial),
				proxy.WithRules(proxy.Rule{Hosts: []string{"allowed.example", portal}, Action: proxy.Fault, Fault: &tc.spec}))
			for _, scheme := range []string{"http", "https"} {
				host := "allowed.example"
				if scheme == "https" {
					host = portal
				}
				start := time.Now()
				status, body, err := get(t, client(u, p.URL, nil), scheme+"://"+host+tc.path)
				elapsed := time.Since(start)
				require.NoError(t, err, scheme)
				assert.Equal(t, 200, status)
				assert.NotEmpty(t, body)
				assert.GreaterOrEqual(t, elapsed, tc.min, "%s through the proxy", scheme)
			}
		})
	}
}

// TestWebSocketUpgrade: a plain-HTTP upgrade passes through the proxy, and
// the connection carries the protocol that follows.
func TestWebSocketUpgrade(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "GET http://allowed.example/ws HTTP/1.1\r\nHost: allowed.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(t, err)
	br := bufioReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	_, err = io.WriteString(c, "ping")
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(br, got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got), "the upgraded connection is relayed both ways")
}

// TestBytesSentWithConnect: what a client sends in the same write as its
// CONNECT reaches upstream (goproxy's own hijack used to drop it).
func TestBytesSentWithConnect(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	netw.add("echo.example:7", echo.Addr().String())
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT echo.example:7 HTTP/1.1\r\nHost: echo.example:7\r\n\r\nhello, early")
	require.NoError(t, err)
	br := bufioReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	got := make([]byte, len("hello, early"))
	_, err = io.ReadFull(br, got)
	require.NoError(t, err)
	assert.Equal(t, "hello, early", string(got))
}
