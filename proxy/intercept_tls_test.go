package proxy_test

import (
	"crypto/tls"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

// pinned is a Go client pinned to one TLS version (for TLS 1.0 and 1.1 a
// Go client needs its minimum set explicitly).
func pinned(v uint16) *tls.Config { return &tls.Config{MinVersion: v, MaxVersion: v} }

// TestInterceptClientTLS: what an intercept rule accepts from clients. By
// default it is what inspection products accept, TLS 1.0 to 1.3, so a
// Windows 7 client gets through; Rule.TLS narrows it, and a client
// outside the range gets the protocol_version alert (70).
func TestInterceptClientTLS(t *testing.T) {
	t.Parallel()
	rsaRoot := func() *pki.Interceptor {
		a, err := pki.New(pki.WithKeyType(pki.RSA2048))
		require.NoError(t, err)
		ic, err := a.Interception()
		require.NoError(t, err)
		return ic
	}
	tests := map[string]struct {
		root    func() *pki.Interceptor // nil: ECDSA
		policy  *proxy.TLSPolicy
		client  *tls.Config
		version uint16 // 0: refused with alert
		suite   uint16
		alert   tlsalert.Alert
	}{
		"default, TLS 1.0 client":          {client: pinned(tls.VersionTLS10), version: tls.VersionTLS10},
		"default, TLS 1.1 client":          {client: pinned(tls.VersionTLS11), version: tls.VersionTLS11},
		"default, TLS 1.3 client":          {client: pinned(tls.VersionTLS13), version: tls.VersionTLS13},
		"default, RSA root, TLS 1.0":       {root: rsaRoot, client: pinned(tls.VersionTLS10), version: tls.VersionTLS10, suite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
		"min 1.2, TLS 1.0 client":          {policy: &proxy.TLSPolicy{Min: "1.2"}, client: pinned(tls.VersionTLS10), alert: tlsalert.ProtocolVersion},
		"min 1.2, TLS 1.2 client":          {policy: &proxy.TLSPolicy{Min: "1.2"}, client: pinned(tls.VersionTLS12), version: tls.VersionTLS12},
		"max 1.2, TLS 1.3 client":          {policy: &proxy.TLSPolicy{Max: "1.2"}, client: pinned(tls.VersionTLS13), alert: tlsalert.ProtocolVersion},
		"1.0 only, TLS 1.0-1.3 client":     {policy: &proxy.TLSPolicy{Max: "1.0"}, client: &tls.Config{MinVersion: tls.VersionTLS10}, version: tls.VersionTLS10},
		"chosen suite, TLS 1.2 client":     {policy: &proxy.TLSPolicy{Max: "1.2", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"}}, client: pinned(tls.VersionTLS12), version: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
		"default suites, TLS 1.0 client":   {client: pinned(tls.VersionTLS10), version: tls.VersionTLS10, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
		"only RSA kex, TLS 1.2 ECDHE-only": {root: rsaRoot, policy: &proxy.TLSPolicy{Max: "1.2", CipherSuites: []string{"TLS_RSA_WITH_AES_128_CBC_SHA"}}, client: pinned(tls.VersionTLS12), alert: tlsalert.HandshakeFailure},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var ic *pki.Interceptor
			if tc.root != nil {
				ic = tc.root()
			}
			ix := newInterceptionWith(t, ic, proxy.Rule{Name: "inspect", Action: proxy.Intercept, TLS: tc.policy})
			c := openTunnelT(t, ix.p.Listener.Addr().String(), portal+":443")
			defer c.Close()
			tc2 := tls.Client(c, ix.clientConfig(portal+":443", tc.client))
			err := tc2.Handshake()
			if tc.version == 0 {
				require.Error(t, err)
				a, ok := tlsalert.FromError(err)
				require.True(t, ok, "an alert from the proxy: %v", err)
				assert.Equal(t, tc.alert, a, "%v", err)
				return
			}
			require.NoError(t, err)
			cs := tc2.ConnectionState()
			assert.Equal(t, tls.VersionName(tc.version), tls.VersionName(cs.Version))
			if tc.suite != 0 {
				assert.Equal(t, tls.CipherSuiteName(tc.suite), tls.CipherSuiteName(cs.CipherSuite))
			}
			resp, body, err := roundTrip(t, tc2, bufioReader(tc2), "GET /tls HTTP/1.1\r\nHost: "+portal+"\r\n\r\n")
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "hello from "+portal+"/tls", body)
		})
	}
}

// TestInterceptUpstreamTLS: what an intercept rule offers the origin. By
// default it follows the origin (TLS 1.0 to 1.3), so an origin that only
// speaks TLS 1.0 is reached; Rule.UpstreamTLS pins it, and a failed
// handshake with the origin is a 502 page (ERR_SECURE_CONNECT_FAIL) and a
// journal entry saying why. Each rule has its own upstream connections.
func TestInterceptUpstreamTLS(t *testing.T) {
	t.Parallel()
	ix := newInterception(t,
		proxy.Rule{Name: "follows", Hosts: []string{"old.example"}, Action: proxy.Intercept},
		proxy.Rule{Name: "strict", Hosts: []string{"strict.example"}, Action: proxy.Intercept, UpstreamTLS: &proxy.TLSPolicy{Min: "1.2"}},
		proxy.Rule{Name: "old appliance", Hosts: []string{portal}, Action: proxy.Intercept, UpstreamTLS: &proxy.TLSPolicy{Max: "1.0"}},
		proxy.Rule{Name: "inspect", Action: proxy.Intercept},
	)
	// An origin that speaks TLS 1.0 only, under two names.
	leaf, err := ix.u.auth.Issue(pki.Request{Hosts: []string{"old.example", "strict.example"}})
	require.NoError(t, err)
	old, err := vhost.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(tls.VersionName(r.TLS.Version)))
	}), vhost.WithHost("old.example"), vhost.WithCertificate(leaf.TLS), vhost.WithVersions(vhost.Range{Min: tls.VersionTLS10, Max: tls.VersionTLS10}))
	require.NoError(t, err)
	t.Cleanup(old.Close)
	ix.netw.add("old.example:443", old.Addr())
	ix.netw.add("strict.example:443", old.Addr())

	tests := []struct {
		host   string
		status int
		body   string
		detail string
	}{
		{host: "old.example", status: http.StatusOK, body: "TLS 1.0"},
		{host: "strict.example", status: http.StatusBadGateway, detail: "TLS handshake with strict.example:443: remote error: tls: protocol version not supported"},
		{host: portal, status: http.StatusBadGateway, detail: "TLS handshake with " + portal + ":443"}, // the service wants 1.2 and up
		{host: "ajax.aspnetcdn.com", status: http.StatusOK, body: "hello from ajax.aspnetcdn.com/up"},
		{host: "old.example", status: http.StatusOK, body: "TLS 1.0"}, // again, after the others
	}
	for i, tc := range tests {
		tc2, br := ix.tlsTunnel(t, tc.host+":443", nil)
		resp, body, err := roundTrip(t, tc2, br, "GET /up HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		require.NoError(t, err, tc.host)
		assert.Equal(t, tc.status, resp.StatusCode, tc.host)
		if tc.status == http.StatusOK {
			assert.Equal(t, tc.body, body)
			continue
		}
		assert.Equal(t, "ERR_SECURE_CONNECT_FAIL 0", resp.Header.Get("X-Squid-Error"))
		got := ix.intercepted(t, "/up")
		require.Len(t, got, i+1)
		assert.Equal(t, proxy.ResultUpstreamError, got[i].Result)
		assert.Contains(t, got[i].Detail, tc.detail)
	}
}

// TestInterceptOpenSSLClient: a real TLS 1.0 client (OpenSSL, as Debian
// builds it, at security level 0) through the proxy's CONNECT: it gets
// through an intercept rule by default, and a rule with TLS min 1.2
// refuses it with the protocol_version alert.
func TestInterceptOpenSSLClient(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "openssl")
	ix := newInterception(t,
		proxy.Rule{Name: "strict", Hosts: []string{"ajax.aspnetcdn.com"}, Action: proxy.Intercept, TLS: &proxy.TLSPolicy{Min: "1.2"}},
		proxy.Rule{Name: "inspect", Action: proxy.Intercept},
	)
	ic, err := ix.u.auth.Interception()
	require.NoError(t, err)
	caFile := filepath.Join(t.TempDir(), "interception.pem")
	require.NoError(t, ic.CA().WritePEM(caFile))
	sClient := func(host string) (string, int) {
		out, code, err := testtool.Run(t, "openssl", "s_client", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0",
			"-proxy", ix.p.Listener.Addr().String(), "-connect", host+":443", "-servername", host,
			"-CAfile", caFile, "-verify_return_error", "-brief")
		require.NoError(t, err)
		return out, code
	}
	out, code := sClient(portal)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "Protocol version: TLSv1\n", out)
	assert.Contains(t, out, "Verification: OK", out)

	out, code = sClient("ajax.aspnetcdn.com")
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "alert protocol version", out)
}

// TestInterceptThroughParent: the requests inside an intercepted tunnel
// reach the origin through the parent proxy, with the parent's
// credentials, as tunnels do.
func TestInterceptThroughParent(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	parent := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: "child", Password: "chain-pw"}}}),
		proxy.WithDefault(proxy.Authenticate))
	netw.add("parent.corp:3128", parent.Listener.Addr().String())
	ic, err := u.auth.Interception()
	require.NoError(t, err)
	child := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithParent("http://child:chain-pw@parent.corp:3128"),
		proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(u.auth.Pool()), proxy.WithRules(proxy.Rule{Action: proxy.Intercept}))
	ix := &interception{p: child, netw: netw, u: u, roots: ic.CA().Pool()}
	tc, br := ix.tlsTunnel(t, portal+":443", nil)
	resp, body, err := roundTrip(t, tc, br, "GET /via-parent HTTP/1.1\r\nHost: "+portal+"\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello from "+portal+"/via-parent", body)
	tc.Close()
	child.Close() // the upstream connection to the parent closes with it
	e := entries(t, parent, 1)[0]
	assert.Equal(t, http.MethodConnect, e.Method)
	assert.Equal(t, portal+":443", e.Target)
	assert.Equal(t, "child", e.User)
}
