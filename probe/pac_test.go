package probe_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/pac"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
)

// deadAddr returns a loopback address nothing listens on: a listener's,
// closed.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// loopbackOrLab dials loopback addresses for real and everything else
// through the lab.
func loopbackOrLab(lab *harness.Lab) client.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().IsLoopback() {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		return lab.Dial(ctx, network, addr)
	}
}

func TestProbePACFailover(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)))
	dead := deadAddr(t)
	src := fmt.Sprintf(`function FindProxyForURL(url, host) { return "PROXY %s; PROXY %s; DIRECT"; }`, dead, lab.ProxyAddr)
	script, err := pac.Compile("test.pac", []byte(src))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := probe.Run(ctx, probe.Config{
		PAC: script, PACURL: "test.pac", Dial: loopbackOrLab(lab), Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	assert.Equal(t, "pac", r.ProxySource)
	var txt strings.Builder
	require.NoError(t, probe.WriteText(&txt, r, probe.PlainMarks))
	assert.Contains(t, txt.String(), "PAC for passwordreset.microsoftonline.com:443: \"PROXY "+dead+"; PROXY "+lab.ProxyAddr+"; DIRECT\"; passed over PROXY "+dead)
	for _, e := range r.Endpoints {
		require.NotNil(t, e.Route, e.Name)
		assert.Equal(t, lab.ProxyAddr, e.Route.Proxy, e.Name)
		require.Len(t, e.Route.Attempts, 2, e.Name)
		assert.Equal(t, "PROXY "+dead, e.Route.Attempts[0].Entry)
		assert.False(t, e.Route.Attempts[0].Used)
		assert.Contains(t, e.Route.Attempts[0].Error, "connect to proxy "+dead)
		assert.True(t, e.Route.Attempts[1].Used)
		assert.Equal(t, "proxy", e.DNS.ResolvedBy)
	}
}

// A proxy that answers (even 407) is used: WinHTTP fails over only when
// it cannot connect.
func TestProbePACNoFailoverOnRefusal(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Authenticate),
		proxy.WithAuth(proxy.Auth{Schemes: []string{"basic"}, Users: []proxy.User{{Name: "alice", Domain: "CORP", Password: "Pr0xy-pw"}}})))
	src := fmt.Sprintf(`function FindProxyForURL(url, host) { return "PROXY %s; DIRECT"; }`, lab.ProxyAddr)
	script, err := pac.Compile("auth.pac", []byte(src))
	require.NoError(t, err)
	r, err := probe.Run(context.Background(), probe.Config{
		PAC: script, PACSource: "wpad", Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.False(t, r.Works)
	assert.Equal(t, client.CauseProxyAuthRequired, r.Cause)
	assert.Equal(t, "wpad", r.ProxySource)
	portal := r.Endpoints[0]
	require.NotNil(t, portal.Connect)
	assert.Equal(t, 407, portal.Connect.Status)
	assert.Equal(t, []string{client.SchemeBasic}, portal.Connect.Schemes)
	assert.NotEmpty(t, portal.Connect.SquidError)
	require.Len(t, portal.Route.Attempts, 1)

	// The signed-in user, with credentials, gets through the same proxy.
	r, err = probe.Run(context.Background(), probe.Config{
		PAC: script, Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Account: client.AccountUser, Credentials: &client.Credentials{Username: "alice", Domain: "CORP", Password: "Pr0xy-pw"},
			Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	assert.Equal(t, "user", r.Account)
	require.NotNil(t, r.Endpoints[0].Connect)
	assert.Equal(t, client.SchemeBasic, r.Endpoints[0].Connect.AuthScheme)
}

func TestProbeCancelled(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := probe.Run(ctx, probe.Config{Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers})
	require.NoError(t, err)
	assert.False(t, r.Works)
	assert.Equal(t, client.CauseCanceled, r.Cause)
}

// A PAC script that throws leaves the static settings in force, here a
// direct connection, which the firewall blocks: the PAC script is the
// cause, as the client diagnoses it.
func TestProbePACError(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)))
	script, err := pac.Compile("broken.pac", []byte(`function FindProxyForURL(url, host) { throw new Error("boom"); }`))
	require.NoError(t, err)
	r, err := probe.Run(context.Background(), probe.Config{
		PAC: script, PACURL: "broken.pac", Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.False(t, r.Works)
	assert.Equal(t, client.CausePACScriptError, r.Cause)
	for _, e := range r.Endpoints {
		assert.Contains(t, e.Route.AutoProxyError, "boom", e.Name)
		assert.Contains(t, e.Route.AutoProxyError, "fell back to DIRECT", e.Name)
		assert.Empty(t, e.Route.Proxy)
	}
	assert.Equal(t, "tcp", r.Verdicts[0].Check)
}

// Entries WinHTTP cannot use are skipped; a result of only those is the
// script's failure, and the static settings (here DIRECT, blocked) apply.
func TestProbePACUnusableEntries(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)))
	run := func(result string) *probe.Report {
		script, err := pac.Compile("socks.pac", []byte(`function FindProxyForURL(url, host) { return "`+result+`"; }`))
		require.NoError(t, err)
		r, err := probe.Run(context.Background(), probe.Config{
			PAC: script, Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
			Profile: client.Profile{Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
		})
		require.NoError(t, err)
		return r
	}
	r := run("SOCKS socks.corp.example:1080; PROXY " + lab.ProxyAddr)
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	require.Len(t, r.Endpoints[0].Route.Attempts, 2)
	assert.Contains(t, r.Endpoints[0].Route.Attempts[0].Error, "WinHTTP skips it")

	r = run("SOCKS socks.corp.example:1080")
	assert.Equal(t, client.CausePACScriptError, r.Cause)
	assert.Contains(t, r.Endpoints[0].Route.AutoProxyError, "no usable entry")
}
