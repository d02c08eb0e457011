package harness_test

import (
	"context"
	"slices"
	"testing"

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
