package harness_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// loadDomain is the NetBIOS domain of the load test's proxy accounts.
const loadDomain = "CONTOSO"

// loadProxyPassword is every load-test proxy account's password (a lab
// fixture, never logged).
const loadProxyPassword = "Pr0xy-S3cret!"

// loadUsers returns a directory of n users made from adele@contoso.com
// (one gate, by email), load0001@contoso.com onward: the service
// throttles resets per user (mock.ThrottleLimit an hour), so each flow
// resets a user of its own.
func loadUsers(tb testing.TB, n int) *mock.DirectoryData {
	tb.Helper()
	d := harness.DefaultDirectory()
	var tmpl *mock.User
	for i := range d.Users {
		if d.Users[i].UPN == "adele@contoso.com" {
			tmpl = &d.Users[i]
		}
	}
	if tmpl == nil {
		tb.Fatal("the default directory has no adele@contoso.com")
	}
	users := make([]mock.User, n)
	for i := range users {
		u := *tmpl
		u.UPN = loadUPN(i)
		u.DisplayName = fmt.Sprintf("Load User %d", i+1)
		u.Methods.Email = fmt.Sprintf("load%04d@outlook.example", i+1)
		users[i] = u
	}
	d.Users = users
	return d
}

func loadUPN(i int) string { return fmt.Sprintf("load%04d@contoso.com", i+1) }

// loadProxyUser is flow i's proxy account: each flow signs in to the
// proxy as a user of its own, so that the journal shows every flow.
func loadProxyUser(i int) string { return fmt.Sprintf("load%04d", i+1) }

// ntlmLoadLab starts a lab for n flows: the directory of loadUsers, and a
// proxy that requires Negotiate or NTLM for everything (the catalog's
// signed-in-user-ntlm), with a proxy account per flow.
func ntlmLoadLab(tb testing.TB, n int, opts ...harness.Option) *harness.Lab {
	tb.Helper()
	users := make([]proxy.User, n)
	for i := range users {
		users[i] = proxy.User{Name: loadProxyUser(i), Domain: loadDomain, Password: loadProxyPassword}
	}
	base := []harness.Option{harness.WithDirectory(loadUsers(tb, n)), harness.WithProxy(
		proxy.WithAuth(proxy.Auth{Schemes: []string{proxy.SchemeNegotiate, proxy.SchemeNTLM}, Users: users}),
		proxy.WithRules(proxy.Rule{Name: "authenticate everything", Action: proxy.Authenticate}),
		proxy.WithJournalLimit(max(proxy.DefaultJournalLimit, 40*n)),
	)}
	return harness.Start(tb, append(base, opts...)...)
}

// loadProfile is flow i's profile: the signed-in user on Windows 10 with
// the per-user proxy and their proxy credentials.
func loadProfile(i int) client.Profile {
	return client.Profile{OS: client.Windows10, Account: client.AccountUser, UserID: loadUPN(i),
		NewPassword: strongPassword, Revocation: client.RevocationHardFail,
		Proxy:       client.ProxySources{PerUser: &client.ProxySetting{Server: harness.DefaultProxyAddr}},
		Credentials: &client.Credentials{Username: loadProxyUser(i), Domain: loadDomain, Password: loadProxyPassword}}
}

// loadClients returns a client per flow, from..from+n-1, on lab.
func loadClients(tb testing.TB, lab *harness.Lab, from, n int) []*client.Client {
	tb.Helper()
	cs := make([]*client.Client, n)
	for i := range cs {
		c, err := lab.Client(loadProfile(from + i))
		if err != nil {
			tb.Fatalf("client %d: %v", from+i, err)
		}
		cs[i] = c
	}
	return cs
}

// runAtOnce runs every client's flow at the same moment, each in a
// goroutine of its own, and returns their results in order.
func runAtOnce(ctx context.Context, cs []*client.Client) []*client.Result {
	res := make([]*client.Result, len(cs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			<-start
			res[i] = c.Run(ctx)
		})
	}
	close(start)
	wg.Wait()
	return res
}

// tally counts results by "outcome/cause".
func tally(res []*client.Result) map[string]int {
	m := map[string]int{}
	for _, r := range res {
		k := string(r.Outcome)
		if r.Cause != client.CauseNone {
			k += "/" + string(r.Cause)
		}
		m[k]++
	}
	return m
}

// checkComplete checks, once the lab's proxy is shut down, that the
// journal and the audit log are whole for flows from..from+len(res)-1
// that all succeeded: no entry left open or dropped, no error in the
// journal, a tunnel to the portal signed in as each flow's proxy account,
// and each flow's reset in the audit log under its correlation id. It
// returns the journal's entries.
func checkComplete(tb testing.TB, lab *harness.Lab, from int, res []*client.Result) []proxy.Entry {
	tb.Helper()
	j := lab.Journal()
	if d := j.Dropped(); d > 0 {
		tb.Fatalf("journal dropped %d entries", d)
	}
	es := j.Entries()
	portal := map[string]int{} // proxy user -> tunnels to the portal
	for _, e := range es {
		switch e.Result {
		case proxy.ResultOK:
		case proxy.ResultAuthRequired: // the NTLM handshake's two 407s
		default:
			tb.Fatalf("journal: %s %s: %s %d %s", e.Method, e.Target, e.Result, e.Status, e.Detail)
		}
		if e.Result == proxy.ResultOK && e.Method == http.MethodConnect && e.Target == mock.PortalHost+":443" {
			portal[e.User]++
		}
	}
	for i, r := range res {
		if u := loadDomain + `\` + loadProxyUser(from+i); portal[u] == 0 {
			tb.Fatalf("flow %d: no tunnel to the portal signed in as %s in the journal", from+i, u)
		}
		var reset bool
		for _, a := range lab.Audit().Entries(loadUPN(from + i)) {
			if a.Activity == mock.ActivityReset && a.Result == mock.ResultSuccess && a.CorrelationID == r.CorrelationID {
				reset = true
			}
		}
		if !reset {
			tb.Fatalf("flow %d (%s): no successful reset in the audit log for correlation id %q", from+i, loadUPN(from+i), r.CorrelationID)
		}
	}
	return es
}

// BenchmarkNTLMFlows500 runs 500 complete SSPR flows at once through an
// NTLM-authenticating proxy in one lab (issue 16): every flow must end in
// success, and the journal (every tunnel complete, one to the portal per
// flow's proxy account) and the audit log (a reset per flow) must be
// whole. An op is the 500 flows; starting the lab and the checks are not
// timed.
func BenchmarkNTLMFlows500(b *testing.B) {
	const n = 500
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	b.Logf("RLIMIT_NOFILE: soft %d, hard %d", lim.Cur, lim.Max)
	var entries int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		lab := ntlmLoadLab(b, n)
		cs := loadClients(b, lab, 0, n)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		b.StartTimer()
		res := runAtOnce(ctx, cs)
		b.StopTimer()
		cancel()
		for j, r := range res {
			if !r.OK() {
				b.Fatalf("flow %d: %s (of %d flows: %v)", j, r, n, tally(res))
			}
		}
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		lab.Proxy.Shutdown(sctx) // the tunnels end: their entries are complete
		scancel()
		entries += len(checkComplete(b, lab, 0, res))
		lab.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "flows/s")
	b.ReportMetric(float64(entries)/float64(b.N), "journal-entries/op")
}
