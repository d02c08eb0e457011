package probe_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// outOfScope are the catalog's scenarios whose cause is the service's
// answer to the flow's later steps, which the probe never takes (it
// loads the portal's page and script, and never sends a user ID or
// resets a password).
var outOfScope = map[string]string{
	"app-only":                     "SSPR_0014: the service's answer to the user's methods",
	"windows7-authenticator-only":  "SSPR_0014 for the Windows 7 add-in: the service's answer to the user's methods",
	"sspr-0009-tenant-disabled":    "the service's SSPR code",
	"sspr-0010-writeback-off":      "the service's SSPR code",
	"sspr-0011-no-policy":          "the service's SSPR code",
	"sspr-0012-not-licensed":       "the service's SSPR code",
	"sspr-0013-not-in-group":       "the service's SSPR code",
	"sspr-0014-not-registered":     "the service's SSPR code",
	"sspr-0029-admin-action":       "the service's SSPR code",
	"sspr-0030-writeback-broken":   "the service's SSPR code",
	"security-questions-throttled": "throttling is the service's, after verification",
	"sms-throttled":                "throttling is the service's, after verification",
	"throttled":                    "throttling is the service's, after several resets",
	"user-disabled":                "the service's answer for one user",
	"user-not-found":               "the service's answer for one user",
	"weak-password":                "the service's password policy",
	"service-error":                "a fault of the service's API, after the page",
	"service-stall":                "a stall of the service's API, after the page",
}

// TestProbeCatalog runs the probe against every network scenario's lab,
// as the scenario's client would reach it, and checks that the probe's
// verdict is the client's expected cause (none for the scenarios where
// SSPR works).
func TestProbeCatalog(t *testing.T) {
	t.Parallel()
	cat, err := scenarios.Catalog()
	require.NoError(t, err)
	ran := 0
	for _, sc := range cat {
		if why, ok := outOfScope[sc.Name]; ok {
			t.Logf("skip %s: %s", sc.Name, why)
			continue
		}
		ran++
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// client.before moves the proxy's clock on after a signed-in
			// session, as the scenario runner does.
			clk := &harness.MovedClock{}
			var hopts []harness.Option
			if sc.Client.Before != nil {
				hopts = append(hopts, harness.WithProxy(proxy.WithClock(clk.Now)))
			}
			lab, err := scenarios.NewLab(ctx, sc, hopts...)
			if lab != nil {
				t.Cleanup(lab.Close)
			}
			require.NoError(t, err)
			dial := client.DialFunc(lab.Dial)
			if sc.Client.Address != "" {
				dial = lab.DialFrom(sc.Client.Address)
			}
			roots := lab.Roots()
			if sc.Client.TrustInterception {
				roots, err = lab.InterceptionRoots()
				require.NoError(t, err)
			}
			prof := sc.Client.Profile
			if prof.Timeouts.Connect == 0 {
				prof.Timeouts.Connect = 2 * time.Second
			}
			if prof.Timeouts.Request == 0 {
				prof.Timeouts.Request = 4 * time.Second
			}
			if b := sc.Client.Before; b != nil {
				// The signed-in user's session: the probe as that user,
				// which authenticates to the proxy.
				user := prof
				user.Account, user.Credentials = client.AccountUser, &b.Credentials
				bdial := dial
				if b.Address != "" {
					bdial = lab.DialFrom(b.Address)
				}
				_, err := probe.Run(ctx, probe.Config{Profile: user, Dial: bdial, Resolver: lab, Roots: roots, Issuers: harness.ServiceIssuers})
				require.NoError(t, err)
				require.True(t, slices.ContainsFunc(lab.Journal().Entries(), func(e proxy.Entry) bool { return e.User != "" && !e.Surrogate }),
					"the signed-in session authenticated to the proxy")
				clk.Add(cmp.Or(time.Duration(b.Ago), time.Minute))
			}
			r, err := probe.Run(ctx, probe.Config{
				Profile: prof, Dial: dial, Resolver: lab, Roots: roots, Issuers: harness.ServiceIssuers,
			})
			require.NoError(t, err)
			want := sc.Expect.Cause
			if sc.Expect.Outcome == client.OutcomeSuccess {
				want = client.CauseNone
			}
			t.Logf("works=%v cause=%s verdicts=%d ms=%d", r.Works, r.Cause, len(r.Verdicts), r.DurationMS)
			assert.Equal(t, want, r.Cause, "verdicts: %+v", r.Verdicts)
			assert.Equal(t, want == client.CauseNone, r.Works)
			// Every blocking verdict fails a documented cause.
			for _, v := range r.Verdicts {
				if !v.Blocking {
					continue
				}
				found := false
				for _, d := range r.Documented {
					found = found || (d.Status == "fail" && slices.Contains(d.Causes, v.Cause))
				}
				assert.True(t, found, "%s is under no failed documented cause: %+v", v.Cause, r.Documented)
			}
			if sc.Name == "per-user-proxy-direct-blocked" {
				require.NotEmpty(t, r.Verdicts)
				assert.Contains(t, r.Verdicts[0].Error, "per-user proxy (proxy.corp.example:3128) does not apply to the temporary account")
			}
			if want != client.CauseNone {
				// The TLS causes' remedy depends on the error
				// (client.RemedyFor), as in the client's result.
				if want != client.CauseTLSVersion && want != client.CauseTLSHandshake {
					assert.Equal(t, client.Remedy(want), r.Remedy)
				}
				assert.NotEmpty(t, r.Remedy)
			}
		})
	}
	require.NotZero(t, ran)
	// The list of skipped scenarios names only catalog scenarios.
	for name := range outOfScope {
		assert.True(t, slices.ContainsFunc(cat, func(sc *scenarios.Scenario) bool { return sc.Name == name }), "outOfScope names %s, which the catalog does not have", name)
	}
}
