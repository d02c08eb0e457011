package harness_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// inspectingLab is a lab whose proxy intercepts the SSPR hosts and lets
// the rest through, and a Windows-like client behind it that trusts the
// interception root (catalog: inspection-rescues-windows7).
func inspectingLab(ctx context.Context) (*harness.Lab, *client.Client, error) {
	lab, err := harness.New(ctx, harness.WithProxy(proxy.WithRules(
		proxy.Rule{Name: "inspect the sspr hosts", Hosts: []string{mock.PortalHost, mock.CDNHost}, Action: proxy.Intercept},
		proxy.Rule{Action: proxy.Allow},
	)))
	if err != nil {
		return lab, nil, err
	}
	roots, err := lab.InterceptionRoots()
	if err != nil {
		return lab, nil, err
	}
	p := profile(func(p *client.Profile) {
		p.Account = client.AccountDefaultUser1
		p.Proxy.PerMachine = &client.ProxySetting{Server: harness.DefaultProxyAddr}
	})
	c, err := lab.Client(p, client.WithRoots(roots))
	return lab, c, err
}

// TestNoGoroutinesAfterInterceptedRun: once Close returns, nothing the lab
// started for a client's intercepted tunnels is left running. (Not
// parallel: goleak sees every goroutine of the process.)
func TestNoGoroutinesAfterInterceptedRun(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // last, after the lab's Close
	lab, c, err := inspectingLab(context.Background())
	t.Cleanup(lab.Close) // the partly built lab too
	require.NoError(t, err)
	res := c.Run(context.Background())
	require.True(t, res.OK(), "%s", res)
	var intercepted int
	for _, e := range lab.Journal().Entries() {
		if e.Intercepted {
			intercepted++
		}
	}
	require.Positive(t, intercepted, "requests went through intercepted tunnels")
	lab.Close()
}

// TestNoGoroutinesAfterCatalogInspection runs the Windows-like client in
// the lab of every catalog scenario with an intercepting rule (trusted,
// untrusted, faulted, an old appliance), and closes the lab: nothing it
// started is left running.
func TestNoGoroutinesAfterCatalogInspection(t *testing.T) {
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	var n int
	for _, sc := range cat {
		if sc.Lab.Proxy == nil || !slices.ContainsFunc(sc.Lab.Proxy.Rules, func(r proxy.Rule) bool { return r.Action == proxy.Intercept }) {
			continue
		}
		n++
		t.Run(sc.Name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, before) })
			lab, err := scenarios.NewLab(context.Background(), sc)
			t.Cleanup(lab.Close)
			require.NoError(t, err)
			var opts []client.Option
			if sc.Client.TrustInterception {
				roots, err := lab.InterceptionRoots()
				require.NoError(t, err)
				opts = append(opts, client.WithRoots(roots))
			}
			c, err := lab.Client(sc.Client.Profile, opts...)
			require.NoError(t, err)
			res := c.Run(context.Background())
			require.Equal(t, sc.Expect.Outcome, res.Outcome, "%s", res)
			lab.Close()
		})
	}
	require.GreaterOrEqual(t, n, 4, "the catalog's inspection scenarios")
}

// TestCloseWaitsForHostConnections: after a host's server answered a
// request itself (431 for an oversized head) it lingers half a second
// on the connection; Close waits for that, so that nothing is left.
func TestCloseWaitsForHostConnections(t *testing.T) {
	for name, hostport := range map[string]string{"plain": mock.OCSPHost + ":80", "tls": mock.PortalHost + ":443"} {
		t.Run(name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, before) })
			lab := harness.Start(t)
			c, err := lab.Dial(context.Background(), "tcp", hostport)
			require.NoError(t, err)
			defer c.Close()
			if name == "tls" {
				host, _, _ := net.SplitHostPort(hostport)
				c = tls.Client(c, &tls.Config{ServerName: host, RootCAs: lab.Roots()})
			}
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			// Written and read at once: the server may answer before the
			// head is all sent, and then stops reading.
			go func() {
				_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 1<<20+8192)+"\r\n\r\n")
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil { // a reset may come first
				resp.Body.Close()
				assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
			}
			lab.Close()
		})
	}
}
