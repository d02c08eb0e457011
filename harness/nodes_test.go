package harness_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// TestLabInParts builds the lab as the container backend does, in two
// parts: the services on addresses of their own (WithHostAddr), and a
// proxy alone (WithoutServices) that resolves and dials the services'
// part as its real network (WithUpstream).
func TestLabInParts(t *testing.T) {
	t.Parallel()
	svc := harness.Start(t, harness.WithHostAddr(mock.OCSPHost+":80", "127.0.0.2:0"),
		harness.WithHostAddr(mock.PortalHost+":443", "127.0.0.2:0"))
	for _, hp := range []string{mock.OCSPHost + ":80", mock.PortalHost + ":443"} {
		a, ok := svc.Resolve(hp)
		require.True(t, ok)
		assert.True(t, strings.HasPrefix(a, "127.0.0.2:"), "%s listens where it was told: %s", hp, a)
	}
	a, _ := svc.Resolve(mock.CDNHost + ":443")
	assert.True(t, strings.HasPrefix(a, "127.0.0.1:"), "the others keep loopback: %s", a)

	px := harness.Start(t, harness.WithoutServices(), harness.WithUpstream(svc, svc.Dial),
		harness.WithProxy(proxy.WithDefault(proxy.Allow)), harness.WithProxyDNSFailure(mock.CRL3Host))
	assert.Nil(t, px.Service)
	assert.Empty(t, px.Hosts)
	assert.Empty(t, px.Audit().Entries(""), "no service: an empty audit log")
	assert.Empty(t, px.Outbox().Messages(""), "no service: an empty outbox")

	hc := &http.Client{Transport: &http.Transport{DialContext: px.Dial,
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: px.ProxyAddr})}}
	resp, err := hc.Get("http://" + mock.CRL4Host + "/nothing-here")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the services' part answered")
	assert.Equal(t, 1, svc.Dials(mock.CRL4Host+":80"), "the proxy dialled the services' part")

	resp, err = hc.Get("http://" + mock.CRL3Host + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "ERR_DNS_FAIL 0", resp.Header.Get("X-Squid-Error"), "WithProxyDNSFailure stands in front of the upstream resolver")
	assert.Zero(t, svc.Dials(mock.CRL3Host+":80"))
}

func TestBadPartOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]harness.Option{
		`WithHostAddr: "example.com:80" names no host of the lab`:       harness.WithHostAddr("example.com:80", "127.0.0.1:0"),
		`WithHostAddr: ocsp.digicert.com:80: "127.0.0.1": want IP:port`: harness.WithHostAddr("ocsp.digicert.com:80", "127.0.0.1"),
		"WithUpstream: nil resolver or dialer":                          harness.WithUpstream(nil, func(context.Context, string, string) (net.Conn, error) { return nil, nil }),
	} {
		l, err := harness.New(context.Background(), o)
		l.Close()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
}
