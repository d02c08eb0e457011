package probe_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
)

// TestProbeWPAD: WPAD finds wpad.corp.example (walking up from
// eu.corp.example), its PAC sends everything to an authenticating proxy,
// and the temporary account is stopped there.
func TestProbeWPAD(t *testing.T) {
	t.Parallel()
	var lab *harness.Lab
	wpad := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprintf(w, `function FindProxyForURL(url, host) { if (isPlainHostName(host)) return "DIRECT"; return "PROXY %s"; }`, lab.ProxyAddr)
	})
	lab = harness.Start(t,
		harness.WithHost(harness.LabHost{Name: "wpad.corp.example", Plain: true, Handler: wpad}),
		harness.WithFirewall(harness.Firewall{Allow: []string{"wpad.corp.example:80"}}),
		harness.WithProxy(proxy.WithDefault(proxy.Authenticate), proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: "alice", Password: "pw"}}})))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, script, err := probe.DiscoverPAC(ctx, "eu.corp.example", lab, lab.Dial, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "http://wpad.corp.example/wpad.dat", u)
	r, err := probe.Run(ctx, probe.Config{
		PAC: script, PACSource: probe.SourceWPAD, PACURL: u, Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.Equal(t, client.CauseProxyAuthRequired, r.Cause)
	assert.Equal(t, probe.SourceWPAD, r.ProxySource)
	assert.Equal(t, u, r.PAC)
	assert.Equal(t, "PROXY "+lab.ProxyAddr, r.Endpoints[0].Route.PACResult)

	_, _, err = probe.DiscoverPAC(ctx, "nowhere.example", lab, lab.Dial, 5*time.Second)
	assert.ErrorContains(t, err, "no WPAD file")
}
