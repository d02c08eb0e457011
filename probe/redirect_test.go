package probe_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/probe"
)

// TestProbePortalRedirect: the portal's page redirects, as a web view
// follows, to a page on the same host that loads the lab CDN's script;
// the probe follows and checks the script. The portal is a server of the
// test's, reached with a connect-to override; the CDN is the lab's.
func TestProbePortalRedirect(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t) // no proxy: the workstation reaches every host
	// The lab portal's page, for its script tag.
	resp, err := lab.HTTPClient().Get("https://passwordreset.microsoftonline.com" + client.PortalPath)
	require.NoError(t, err)
	page, err := io.ReadAll(io.LimitReader(resp.Body, client.MaxPage))
	resp.Body.Close()
	require.NoError(t, err)
	tag := regexp.MustCompile(`<script[^>]*src="[^"]+"[^>]*>`).Find(page)
	require.NotEmpty(t, tag)

	leaf, err := lab.Authority.Issue(pki.Request{Hosts: []string{"passwordreset.microsoftonline.com"}})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == client.PortalPath {
			http.Redirect(w, r, "/n/passwordreset/start", http.StatusFound)
			return
		}
		fmt.Fprintf(w, "<html><body>%s</script></body></html>", tag)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	connectTo, err := probe.ParseConnectTo([]string{"passwordreset.microsoftonline.com:443=" + srv.Listener.Addr().String()})
	require.NoError(t, err)
	r, err := probe.Run(context.Background(), probe.Config{
		ConnectTo: connectTo, Dial: loopbackOrLab(lab), Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Revocation: client.RevocationOff, Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	require.NotNil(t, r.Portal)
	assert.Equal(t, []string{"https://passwordreset.microsoftonline.com/n/passwordreset/start"}, r.Portal.Redirects)
	require.NotNil(t, r.Portal.ScriptCheck)
	assert.True(t, r.Portal.ScriptCheck.OK)
}
