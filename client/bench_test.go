package client_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// BenchmarkRun times one whole flow (page, script, OCSP, CAPTCHA, begin,
// one gate, password; new connections each run), direct and through the
// NTLM proxy, next to its baseline: a plain net/http client fetching the
// portal page over a new TLS connection in the same lab.
func BenchmarkRun(b *testing.B) {
	b.Run("baseline=net/http-one-page", func(b *testing.B) {
		l := newLab(b)
		tr := &http.Transport{DialContext: l.net.workstation, TLSClientConfig: &tls.Config{RootCAs: l.auth.Pool()}, DisableKeepAlives: true}
		hc := &http.Client{Transport: tr}
		for b.Loop() {
			resp, err := hc.Get("https://" + mock.PortalHost + "/n/passwordreset")
			require.NoError(b, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("direct", func(b *testing.B) {
		l := newLab(b)
		c := l.client(b, profile())
		for b.Loop() {
			l.svc.Unblock("adele@contoso.com") // the reset throttle counts every run
			res := c.Run(context.Background())
			require.True(b, res.OK(), "%s", res)
		}
	})
	b.Run("ntlm-proxy", func(b *testing.B) {
		l := newLab(b, withProxy(authenticate()), withAuthSchemes(proxy.SchemeNTLM))
		c := l.client(b, profile(func(p *client.Profile) { p.Proxy.PerUser = viaProxy(); p.Credentials = creds() }))
		for b.Loop() {
			l.svc.Unblock("adele@contoso.com")
			res := c.Run(context.Background())
			require.True(b, res.OK(), "%s", res)
		}
	})
}
