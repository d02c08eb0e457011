package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/vhost"
)

// interception is a proxy that intercepts with the lab's interception
// root, in front of the test network's origins.
type interception struct {
	p     *proxy.Proxy
	netw  *network
	u     *upstreams
	roots *x509.CertPool // the interception root, as a client that has it installed
}

// newInterception starts a proxy whose rules are rules (every CONNECT is
// intercepted when there are none).
func newInterception(t *testing.T, rules ...proxy.Rule) *interception {
	t.Helper()
	return newInterceptionWith(t, nil, rules...)
}

// newInterceptionWith is newInterception with the interception root ic
// (nil: the upstreams' authority's).
func newInterceptionWith(t *testing.T, ic *pki.Interceptor, rules ...proxy.Rule) *interception {
	t.Helper()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	if ic == nil {
		var err error
		ic, err = u.auth.Interception()
		require.NoError(t, err)
	}
	if len(rules) == 0 {
		rules = []proxy.Rule{{Name: "inspect", Action: proxy.Intercept}}
	}
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(u.auth.Pool()),
		proxy.WithRules(rules...))
	return &interception{p: p, netw: netw, u: u, roots: ic.CA().Pool()}
}

// clientConfig completes a client's TLS configuration for target:
// RootCAs and ServerName default to the interception root and the
// target's host.
func (ix *interception) clientConfig(target string, cfg *tls.Config) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.RootCAs == nil {
		cfg.RootCAs = ix.roots
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(target)
	}
	return cfg
}

// roundTrip writes one request and reads its response, body included.
func roundTrip(t *testing.T, w io.Writer, br *bufio.Reader, request string) (*http.Response, string, error) {
	t.Helper()
	if _, err := io.WriteString(w, request); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// earlyConn is a client connection that sends its CONNECT head and the
// first write that follows (a TLS ClientHello) in one write, as a client
// may (RFC 2817 5.2), and reads the proxy's answer before anything else.
type earlyConn struct {
	net.Conn
	head   string
	sent   bool
	answer string
}

func (c *earlyConn) Write(b []byte) (int, error) {
	if c.sent {
		return c.Conn.Write(b)
	}
	c.sent = true
	if _, err := c.Conn.Write(append([]byte(c.head), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *earlyConn) Read(b []byte) (int, error) {
	if c.answer == "" {
		// The status line and the empty line, byte by byte: nothing of
		// the tunnel may be consumed.
		one := make([]byte, 1)
		for !strings.HasSuffix(c.answer, "\r\n\r\n") {
			if _, err := c.Conn.Read(one); err != nil {
				return 0, fmt.Errorf("reading the answer to CONNECT: %w", err)
			}
			c.answer += string(one)
		}
		if !strings.HasPrefix(c.answer, "HTTP/1.1 200") {
			return 0, fmt.Errorf("CONNECT answered %q", c.answer)
		}
	}
	return c.Conn.Read(b)
}

// TestInterceptKeepsBytesSentWithConnect: a TLS client that sends its
// ClientHello in the same write as its CONNECT completes its handshake
// through an intercept rule, as it does through an allow rule.
func TestInterceptKeepsBytesSentWithConnect(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	raw, err := net.Dial("tcp", ix.p.Listener.Addr().String())
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, raw.SetDeadline(time.Now().Add(10*time.Second)))
	target := portal + ":443"
	ec := &earlyConn{Conn: raw, head: "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"}
	tc := tls.Client(ec, ix.clientConfig(target, nil))
	require.NoError(t, tc.Handshake(), "the ClientHello sent with the CONNECT reached the interceptor")
	resp, body, err := roundTrip(t, tc, bufioReader(tc), "GET /early HTTP/1.1\r\nHost: "+portal+"\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello from "+portal+"/early", body)
}

// tlsTunnel opens an intercepted tunnel to target and completes the TLS
// handshake in it with cfg (see clientConfig).
func (ix *interception) tlsTunnel(t *testing.T, target string, cfg *tls.Config) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c := openTunnelT(t, ix.p.Listener.Addr().String(), target)
	t.Cleanup(func() { c.Close() })
	tc := tls.Client(c, ix.clientConfig(target, cfg))
	require.NoError(t, tc.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, tc.Handshake())
	return tc, bufio.NewReader(tc)
}

// intercepted returns the journal's entries for requests inside
// intercepted tunnels, once one for path is there: the entries of the
// requests before it on its tunnel are there too.
func (ix *interception) intercepted(t *testing.T, path string) []proxy.Entry {
	t.Helper()
	var out []proxy.Entry
	require.Eventually(t, func() bool {
		out = out[:0]
		found := false
		for _, e := range ix.p.Journal().Entries() {
			if e.Intercepted {
				out = append(out, e)
				found = found || e.Path == path
			}
		}
		return found
	}, 10*time.Second, time.Millisecond, "no journal entry for %s", path)
	return out
}

// TestInterceptRefusalJournaledOnce: a request refused inside an
// intercepted tunnel has one journal entry, not a second one for the
// refusal's response.
func TestInterceptRefusalJournaledOnce(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	tc, br := ix.tlsTunnel(t, portal+":443", nil)
	resp, _, err := roundTrip(t, tc, br, "GET /elsewhere HTTP/1.1\r\nHost: ajax.aspnetcdn.com\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _, err = roundTrip(t, tc, br, "GET /after HTTP/1.1\r\nHost: "+portal+"\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	got := ix.intercepted(t, "/after")
	require.Len(t, got, 2, "%+v", got)
	assert.Equal(t, "/elsewhere", got[0].Path)
	assert.Equal(t, http.StatusBadRequest, got[0].Status)
	assert.Equal(t, proxy.ResultBadRequest, got[0].Result)
	assert.Contains(t, got[0].Detail, "inside a tunnel to "+portal+":443")
	assert.Positive(t, got[0].BytesDown, "the refusal's page")
	assert.Equal(t, "/after", got[1].Path)
	assert.Equal(t, proxy.ResultOK, got[1].Result)
}

// TestInterceptUpstreamErrorPage: a request inside an intercepted tunnel
// whose origin cannot be reached gets the Squid page a plain request
// would get, and is journaled; the tunnel stays open.
func TestInterceptUpstreamErrorPage(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	tc, br := ix.tlsTunnel(t, "nowhere.example:443", nil) // no such name on the test network
	for _, path := range []string{"/first", "/second"} {
		resp, body, err := roundTrip(t, tc, br, "GET "+path+" HTTP/1.1\r\nHost: nowhere.example\r\n\r\n")
		require.NoError(t, err, path)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, "ERR_DNS_FAIL 0", resp.Header.Get("X-Squid-Error"))
		assert.Contains(t, body, "Unable to determine IP address")
	}
	got := ix.intercepted(t, "/second")
	require.Len(t, got, 2)
	for _, e := range got {
		assert.Equal(t, proxy.ResultUpstreamError, e.Result)
		assert.Equal(t, http.StatusServiceUnavailable, e.Status)
		assert.Contains(t, e.Detail, "no such host")
	}
}

// TestInterceptConnectionClose: a request that asks to close the
// connection (RFC 9112 9.6: "Connection: close", or HTTP/1.0 without
// keep-alive) inside an intercepted tunnel gets its response, marked
// "Connection: close", and then the tunnel closes; other requests keep
// it open.
func TestInterceptConnectionClose(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	tests := map[string]struct {
		head   string
		closes bool
	}{
		"HTTP/1.1 Connection: close":      {"GET /%s HTTP/1.1\r\nHost: " + portal + "\r\nConnection: close\r\n\r\n", true},
		"HTTP/1.1 Connection: Close, foo": {"GET /%s HTTP/1.1\r\nHost: " + portal + "\r\nConnection: Close, foo\r\n\r\n", true},
		"HTTP/1.0":                        {"GET /%s HTTP/1.0\r\nHost: " + portal + "\r\n\r\n", true},
		"HTTP/1.1":                        {"GET /%s HTTP/1.1\r\nHost: " + portal + "\r\n\r\n", false},
		"HTTP/1.0 keep-alive":             {"GET /%s HTTP/1.0\r\nHost: " + portal + "\r\nConnection: keep-alive\r\n\r\n", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc2, br := ix.tlsTunnel(t, portal+":443", nil)
			path := strings.NewReplacer(" ", "-", ":", "", ",", "", "/", "").Replace(name)
			resp, body, err := roundTrip(t, tc2, br, fmt.Sprintf(tc.head, path))
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "hello from "+portal+"/"+path, body)
			assert.Equal(t, tc.closes, resp.Close, "the response says whether the tunnel closes")
			if tc.closes {
				_, err := br.ReadByte()
				assert.ErrorIs(t, err, io.EOF, "the tunnel closed (with a close_notify) after the response")
				return
			}
			resp, _, err = roundTrip(t, tc2, br, "GET /again HTTP/1.1\r\nHost: "+portal+"\r\n\r\n")
			require.NoError(t, err, "the tunnel stays open")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}

// TestInterceptNothingAfterClose: a request pipelined behind one that
// closes the tunnel never goes upstream.
func TestInterceptNothingAfterClose(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	tc, br := ix.tlsTunnel(t, portal+":443", nil)
	resp, _, err := roundTrip(t, tc, br, "GET /last HTTP/1.1\r\nHost: "+portal+"\r\nConnection: close\r\n\r\n"+
		"GET /too-late HTTP/1.1\r\nHost: "+portal+"\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, resp.Close)
	got := ix.intercepted(t, "/too-late")
	require.Len(t, got, 2)
	assert.Equal(t, proxy.ResultOK, got[0].Result)
	assert.Equal(t, proxy.ResultBadRequest, got[1].Result, "not forwarded")
	assert.Contains(t, got[1].Detail, "after the tunnel's Connection: close")
}

// TestInterceptRefusesPlainHTTP: plain HTTP sent inside a tunnel the
// proxy intercepts is refused (400, journaled) and the tunnel closes;
// nothing goes upstream (goproxy would send it to http://host:443).
func TestInterceptRefusesPlainHTTP(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	c := openTunnelT(t, ix.p.Listener.Addr().String(), portal+":443")
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(c)
	resp, body, err := roundTrip(t, c, br, "GET /plain HTTP/1.1\r\nHost: "+portal+":443\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "ERR_PROTOCOL_UNKNOWN 0", resp.Header.Get("X-Squid-Error"))
	assert.Contains(t, body, "expects TLS")
	assert.True(t, resp.Close)
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the tunnel is closed")

	got := ix.intercepted(t, "/plain")
	require.Len(t, got, 1)
	assert.Equal(t, proxy.ResultBadRequest, got[0].Result)
	assert.Equal(t, http.StatusBadRequest, got[0].Status)
	assert.Equal(t, portal+":443", got[0].Target)
	assert.Zero(t, ix.netw.dialsTo(portal+":443"), "nothing went upstream")
	assert.Zero(t, ix.netw.dialsTo(portal+":80"))
}

// countingOrigin is a TLS origin for name on the test network that counts
// the requests it gets; a request for /hold waits until the proxy lets go
// of it.
type countingOrigin struct {
	requests atomic.Int32
	held     chan struct{} // a /hold request arrived
	released chan struct{} // and its connection ended
}

func newCountingOrigin(t *testing.T, ix *interception, name string) *countingOrigin {
	t.Helper()
	o := &countingOrigin{held: make(chan struct{}, 1), released: make(chan struct{}, 1)}
	leaf, err := ix.u.auth.Issue(pki.Request{Hosts: []string{name}})
	require.NoError(t, err)
	srv, err := vhost.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		if r.URL.Path == "/hold" {
			o.held <- struct{}{}
			<-r.Context().Done()
			o.released <- struct{}{}
			return
		}
		_, _ = io.WriteString(w, "counted "+r.URL.Path)
	}), vhost.WithHost(name), vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	ix.netw.add(name+":443", srv.Addr())
	return o
}

// TestCloseEndsInterceptedTunnels: Close ends the intercepted tunnels; a
// request sent inside one afterwards goes nowhere and is not journaled.
func TestCloseEndsInterceptedTunnels(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	origin := newCountingOrigin(t, ix, "counted.example")
	tc, br := ix.tlsTunnel(t, "counted.example:443", nil)
	resp, body, err := roundTrip(t, tc, br, "GET /before HTTP/1.1\r\nHost: counted.example\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "counted /before", body)
	ix.intercepted(t, "/before")

	ix.p.Close()
	resp, _, err = roundTrip(t, tc, br, "GET /after HTTP/1.1\r\nHost: counted.example\r\n\r\n")
	assert.Error(t, err, "the tunnel is closed: %+v", resp)
	var ne net.Error
	assert.False(t, errorsAs(err, &ne) && ne.Timeout(), "closed, not timed out: %v", err)
	assert.Equal(t, int32(1), origin.requests.Load(), "the origin saw the first request only")
	for _, e := range ix.p.Journal().Entries() {
		assert.NotEqual(t, "/after", e.Path, "nothing read after Close is journaled")
	}
}

// TestCloseDoesNotWaitForInterceptedClients: Close returns while the
// clients of intercepted tunnels are silent (before their TLS handshake,
// and between requests) and while a request inside one waits for its
// origin, which then sees it end; that request's entry is in the journal
// when Close returns.
func TestCloseDoesNotWaitForInterceptedClients(t *testing.T) {
	t.Parallel()
	ix := newInterception(t)
	origin := newCountingOrigin(t, ix, "counted.example")

	silent := openTunnelT(t, ix.p.Listener.Addr().String(), "counted.example:443") // no handshake
	defer silent.Close()
	idle, _ := ix.tlsTunnel(t, "counted.example:443", nil)
	busy, br := ix.tlsTunnel(t, "counted.example:443", nil)
	_, err := io.WriteString(busy, "GET /hold HTTP/1.1\r\nHost: counted.example\r\n\r\n")
	require.NoError(t, err)
	<-origin.held

	ix.p.Close()
	<-origin.released // the proxy let go of the request upstream
	var held []proxy.Entry
	for _, e := range ix.p.Journal().Entries() {
		if e.Path == "/hold" {
			held = append(held, e)
		}
	}
	if assert.Len(t, held, 1, "journaled by the time Close returned") {
		assert.Equal(t, proxy.ResultUpstreamError, held[0].Result)
		assert.Contains(t, held[0].Detail, "context canceled")
	}
	for name, c := range map[string]net.Conn{"silent": silent, "idle": idle} {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err := c.Read(make([]byte, 1))
		assert.Error(t, err, name)
		var ne net.Error
		assert.False(t, errorsAs(err, &ne) && ne.Timeout(), "%s: closed, not timed out: %v", name, err)
	}
	// The busy tunnel may have carried the held request's error page
	// before its connection closed; then it ends.
	if resp, err := http.ReadResponse(br, nil); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	}
	_, err = br.ReadByte()
	assert.Error(t, err, "the busy tunnel is closed too")
}

// TestShutdownAndInterceptedTunnels: Shutdown waits for intercepted
// tunnels as for the others; a request read inside one after it began is
// refused (503, Connection: close, not journaled), so the tunnel ends and
// Shutdown returns.
func TestShutdownAndInterceptedTunnels(t *testing.T) {
	t.Parallel()
	ix := newInterception(t, proxy.Rule{Name: "inspect", Hosts: []string{"counted.example"}, Action: proxy.Intercept},
		proxy.Rule{Name: "plain", Action: proxy.Allow})
	origin := newCountingOrigin(t, ix, "counted.example")
	tc, br := ix.tlsTunnel(t, "counted.example:443", nil)
	resp, _, err := roundTrip(t, tc, br, "GET /before HTTP/1.1\r\nHost: counted.example\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	done := make(chan struct{})
	go func() {
		ix.p.Shutdown(context.Background())
		close(done)
	}()
	addr := ix.p.Listener.Addr().String()
	require.Eventually(t, func() bool {
		status, _ := raw(t, addr, "GET http://allowed.example/ HTTP/1.1\r\nHost: allowed.example\r\n\r\n")
		return status == http.StatusServiceUnavailable
	}, 10*time.Second, time.Millisecond, "the proxy refuses new requests")

	resp, _, err = roundTrip(t, tc, br, "GET /during HTTP/1.1\r\nHost: counted.example\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "ERR_SHUTTING_DOWN 0", resp.Header.Get("X-Squid-Error"))
	assert.True(t, resp.Close)
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the tunnel ends")
	<-done
	assert.Equal(t, int32(1), origin.requests.Load())
	var paths []string
	for _, e := range ix.p.Journal().Entries() {
		if e.Intercepted {
			paths = append(paths, e.Path)
		}
	}
	assert.Equal(t, []string{"/before"}, paths)
}
