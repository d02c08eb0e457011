package harness_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/vhost"
)

// TestOwnHosts: a developer's own hosts in the lab, one over TLS with a
// range of its own, one over plain HTTP, behind the lab's proxy (whose
// rules name them) and firewall (which lets one through directly).
func TestOwnHosts(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "my api: "+r.Host) })
	l := harness.Start(t,
		harness.WithHost(harness.LabHost{Name: "API.Contoso.example", Handler: api, Versions: vhost.Range{Min: tls.VersionTLS13, Max: tls.VersionTLS13}}),
		harness.WithHost(harness.LabHost{Name: "status.contoso.example", Plain: true, Handler: api}),
		harness.WithProxy(proxy.WithRules(proxy.Rule{Hosts: []string{"api.contoso.example"}, Action: proxy.Allow})),
		harness.WithFirewall(harness.Firewall{Allow: []string{"status.contoso.example:80"}}))
	assert.Contains(t, l.Names(), "api.contoso.example:443")
	assert.Contains(t, l.Names(), "status.contoso.example:80")
	addrs, err := l.LookupNetIP(context.Background(), "ip4", "api.contoso.example")
	require.NoError(t, err)
	assert.True(t, addrs[0].IsValid(), "a virtual address of its own")

	hc := l.HTTPClient()
	resp, err := hc.Get("https://api.contoso.example/v1")
	require.NoError(t, err, "through the proxy, trusting the lab's root")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "my api: api.contoso.example", string(b))
	assert.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version)
	// Its own certificate, from the lab's issuing CA, for its name only.
	assert.Equal(t, []string{"api.contoso.example"}, resp.TLS.PeerCertificates[0].DNSNames)
	assert.Equal(t, pki.IssuingName, resp.TLS.PeerCertificates[0].Issuer.CommonName)
	es := l.Journal().Entries()
	require.NotEmpty(t, es)
	assert.Equal(t, "api.contoso.example:443", es[len(es)-1].Target)

	// The plain host: denied at the proxy (no rule), reached directly.
	resp, err = hc.Get("http://status.contoso.example/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the proxy's default denies it")
	direct := &http.Client{Transport: &http.Transport{DialContext: l.Dial}}
	resp, err = direct.Get("http://status.contoso.example/")
	require.NoError(t, err, "the firewall lets it through")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "my api: status.contoso.example", string(b))
	_, err = direct.Get("https://api.contoso.example/")
	require.Error(t, err, "not through the firewall")
	assert.NotNil(t, l.Hosts["api.contoso.example"], "among the lab's TLS hosts")
}

func TestOwnHostsBadOptions(t *testing.T) {
	t.Parallel()
	h := http.NotFoundHandler()
	for want, opts := range map[string][]harness.Option{
		`WithHost: "bad_name": want a DNS name`:                             {harness.WithHost(harness.LabHost{Name: "bad_name", Handler: h})},
		"WithHost: ocsp.digicert.com is one of the lab's own hosts":         {harness.WithHost(harness.LabHost{Name: "ocsp.digicert.com", Handler: h})},
		"WithHost: api.example: nil handler":                                {harness.WithHost(harness.LabHost{Name: "api.example"})},
		"WithHost: api.example: port 70000":                                 {harness.WithHost(harness.LabHost{Name: "api.example", Port: 70000, Handler: h})},
		"WithHost: api.example: a plain-HTTP host has no TLS versions":      {harness.WithHost(harness.LabHost{Name: "api.example", Plain: true, Certificate: pki.Expired, Handler: h})},
		"WithHost: api.example:443 added twice":                             {harness.WithHost(harness.LabHost{Name: "api.example", Handler: h}), harness.WithHost(harness.LabHost{Name: "API.example", Handler: h})},
		`WithFirewall: allow[0]: "api.example:80" names no host of the lab`: {harness.WithHost(harness.LabHost{Name: "api.example", Handler: h}), harness.WithFirewall(harness.Firewall{Allow: []string{"api.example:80"}})},
	} {
		l, err := harness.New(context.Background(), opts...)
		l.Close()
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), want)
	}
	// A firewall naming an added host is valid whatever the options' order.
	l, err := harness.New(context.Background(), harness.WithFirewall(harness.Firewall{Allow: []string{"api.example:443"}}),
		harness.WithHost(harness.LabHost{Name: "api.example", Handler: h}))
	l.Close()
	require.NoError(t, err)
}
