package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

// TestFaultsAsAClientSeesThem: each fault, on a tunnel to the portal and
// on plain HTTP, gives a Go client the error a real network gives.
func TestFaultsAsAClientSeesThem(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	type check func(t *testing.T, status int, body []byte, err error, connectStatus int)
	isReset := func(t *testing.T, _ int, _ []byte, err error, _ int) {
		assert.True(t, errors.Is(err, syscall.ECONNRESET), "want a reset, got %v", err)
	}
	isTimeout := func(t *testing.T, _ int, _ []byte, err error, _ int) {
		var ne net.Error
		assert.True(t, errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded), "want a timeout, got %v", err)
	}
	truncated := func(t *testing.T, status int, body []byte, err error, _ int) {
		assert.Equal(t, 200, status)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Len(t, body, 1000, "exactly the bytes before the cut")
	}
	tests := map[string]struct {
		spec  fault.Spec
		https check
		plain check
	}{
		"reset": {fault.Spec{Kind: fault.Reset}, isReset, isReset},
		"stall": {fault.Spec{Kind: fault.Stall}, isTimeout, isTimeout},
		"status 503": {fault.Spec{Kind: fault.Status, Status: 503},
			func(t *testing.T, _ int, _ []byte, err error, cs int) {
				assert.Error(t, err)
				assert.Equal(t, 503, cs)
			},
			func(t *testing.T, status int, _ []byte, err error, _ int) {
				assert.NoError(t, err)
				assert.Equal(t, 503, status)
			}},
		"malformed": {fault.Spec{Kind: fault.Malformed},
			func(t *testing.T, _ int, _ []byte, err error, _ int) { assert.ErrorContains(t, err, "malformed HTTP") },
			func(t *testing.T, _ int, _ []byte, err error, _ int) { assert.ErrorContains(t, err, "malformed HTTP") }},
		"close after 1000 bytes": {fault.Spec{Kind: fault.CloseAfter, Bytes: 1000},
			func(t *testing.T, _ int, _ []byte, err error, _ int) {
				// The cut falls inside the TLS handshake's server flight.
				assert.Error(t, err)
				assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "want EOF, got %v", err)
			},
			truncated},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow),
				proxy.WithRules(proxy.Rule{Name: name, Hosts: []string{portal, "allowed.example"}, Action: proxy.Fault, Fault: &tc.spec}))
			for _, scheme := range []string{"https", "http"} {
				var cs atomic.Int64 // written by the transport's dialing goroutine
				pu, _ := url.Parse(p.URL)
				// Since Go 1.22 a cancelled request's dial goes on in the
				// background; the handshake timeout makes it give up, so a
				// stalled tunnel is closed by the client and journaled.
				tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: u.auth.Pool()}, DisableKeepAlives: true,
					TLSHandshakeTimeout: time.Second,
					OnProxyConnectResponse: func(_ context.Context, _ *url.URL, _ *http.Request, r *http.Response) error {
						cs.Store(int64(r.StatusCode))
						return nil
					}}
				// The stall fault is the only one meant to use this budget up
				// (500 ms once ran out on a loaded machine before a reset).
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				host := portal
				if scheme == "http" {
					host = "allowed.example"
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/big", nil)
				resp, err := tr.RoundTrip(req)
				var body []byte
				status := 0
				if err == nil {
					status = resp.StatusCode
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				cancel()
				if scheme == "https" {
					tc.https(t, status, body, err, int(cs.Load()))
				} else {
					tc.plain(t, status, body, err, int(cs.Load()))
				}
			}
			for _, e := range entries(t, p, 2) { // one per scheme, written as each ends
				assert.Equal(t, proxy.ResultFault, e.Result, "%+v", e)
				assert.Equal(t, string(tc.spec.Kind), e.Fault)
			}
		})
	}
}

// TestIntercept: with its root trusted the client gets through, seeing the
// interception root's certificate; without, its TLS fails as in the field;
// with a fault, an antivirus that breaks downloads.
func TestIntercept(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	ic, err := u.auth.Interception()
	require.NoError(t, err)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(u.auth.Pool()),
		proxy.WithRules(
			proxy.Rule{Name: "inspect cdn", Hosts: []string{"ajax.aspnetcdn.com"}, Action: proxy.Intercept, Fault: &fault.Spec{Kind: fault.CloseAfter, Bytes: 100}},
			proxy.Rule{Name: "inspect", Action: proxy.Intercept},
		))
	pu, _ := url.Parse(p.URL)
	trusting := x509.NewCertPool()
	trusting.AppendCertsFromPEM(ic.CA().CertPEM())
	var peer *x509.Certificate
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: trusting,
		VerifyConnection: func(cs tls.ConnectionState) error { peer = cs.PeerCertificates[0]; return nil }}}}
	status, body, err := get(t, c, "https://"+portal+"/inspected")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello from "+portal+"/inspected", body)
	assert.Equal(t, pki.InterceptionName, peer.Issuer.CommonName)

	resp, err := c.Get("https://ajax.aspnetcdn.com/big")
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the antivirus cut the download")
	assert.Len(t, got, 100)

	_, _, err = get(t, client(u, p.URL, nil), "https://"+portal+"/")
	var ua x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &ua, "a client without the interception root")
	assert.Equal(t, pki.InterceptionName, ua.Cert.Issuer.CommonName)

	var inner int
	for _, e := range p.Journal().Entries() {
		if e.Intercepted {
			inner++
			assert.Equal(t, proxy.Intercept, e.Action)
			assert.NotEmpty(t, e.Path)
		}
	}
	assert.Equal(t, 2, inner, "each request inside the tunnels is journaled")
}
