package scenarios

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pac"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/vhost"
)

// Report is the outcome of one scenario run.
type Report struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Passed is true when every expectation held.
	Passed bool `json:"passed"`
	// NotRun says why the scenario did not run, or did not finish: the run
	// was interrupted (its context cancelled) before it began or while it
	// ran, or other input was invalid. Its expectations were not checked.
	NotRun string `json:"notRun,omitempty"`
	// Unsupported says why the backend cannot run the scenario (a
	// feature only the in-process lab has); it did not run, and that is
	// not a failure of the run.
	Unsupported string `json:"unsupported,omitempty"`
	// Error is set when the lab could not be built or the client could not
	// be made: the scenario did not run.
	Error string `json:"error,omitempty"`
	// Mismatches are the expectations that did not hold.
	Mismatches []Mismatch        `json:"mismatches,omitempty"`
	Result     *client.Result    `json:"result,omitempty"`
	Journal    []proxy.Entry     `json:"journal,omitempty"`
	Audit      []mock.AuditEntry `json:"audit,omitempty"`
	Duration   time.Duration     `json:"durationNs"`
}

// Mismatch is one expectation that did not hold.
type Mismatch struct {
	Field string `json:"field"`
	Want  string `json:"want"`
	Got   string `json:"got"`
}

func (m Mismatch) String() string { return fmt.Sprintf("%s: want %s, got %s", m.Field, m.Want, m.Got) }

// ScenarioTimeout bounds one scenario's run, all its runs of the flow
// included.
const ScenarioTimeout = 2 * time.Minute

// Options tune a run.
type Options struct {
	// Parallel is how many scenarios run at once (default GOMAXPROCS*4:
	// a lab waits on loopback more than it computes).
	Parallel int
	// Logger receives the labs' logs (default: discarded).
	Logger *slog.Logger
	// OnDone is called after each scenario, from the goroutine that ran it.
	OnDone func(*Report)
	// Backend builds the labs and runs the clients (default: InProcess).
	Backend Backend
}

// A Backend builds a scenario's lab and runs its client there: in this
// process (InProcess), or on Docker (package tclab). A scenario file
// chooses no backend: the runner does.
type Backend interface {
	// Exercise builds sc's lab (valid), runs sc's client in it
	// (sc.Client.Runs times), closes the lab, and returns what the run
	// gave. An error means the lab or the client could not be built or
	// run: the scenario did not run. ctx bounds it all.
	Exercise(ctx context.Context, sc *Scenario) (*Observation, error)
}

// Observation is what a backend saw of a scenario's run.
type Observation struct {
	// Result is the client's last run.
	Result *client.Result
	// Journal is the proxy's journal, in the order the decisions began,
	// each complete (nil without a proxy).
	Journal []proxy.Entry
	// Audit is the service's audit log for the client's user.
	Audit []mock.AuditEntry
}

// InProcess is the backend that builds each lab in this process
// (scenarios.NewLab), logging to Logger (nil: discarded).
type InProcess struct{ Logger *slog.Logger }

// RunAll runs the scenarios in parallel, each in its own lab, and returns
// their reports in the scenarios' order.
func RunAll(ctx context.Context, list []*Scenario, o Options) []*Report {
	n := o.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0) * 4
	}
	reports := make([]*Report, len(list))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, sc := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b := o.Backend
			if b == nil {
				b = InProcess{Logger: o.Logger}
			}
			reports[i] = RunOn(ctx, sc, b)
			if o.OnDone != nil {
				o.OnDone(reports[i])
			}
		}()
	}
	wg.Wait()
	return reports
}

// Run builds the scenario's lab in this process, runs the client in it
// and checks the expectations: RunOn with InProcess.
func Run(ctx context.Context, sc *Scenario, logger *slog.Logger) *Report {
	return RunOn(ctx, sc, InProcess{Logger: logger})
}

// RunOn runs the scenario on a backend and checks the expectations. It
// never returns nil. When ctx ends before the scenario does, the report
// says it did not run or finish ([Report.NotRun]) rather than what the
// interrupted client saw.
func RunOn(ctx context.Context, sc *Scenario, b Backend) *Report {
	start := time.Now()
	r := &Report{Name: sc.Name, File: sc.File}
	defer func() { r.Duration = time.Since(start) }()
	if err := sc.Validate(); err != nil {
		r.Error = "invalid scenario: " + err.Error()
		return r
	}
	parent := ctx
	interrupted := func(why string) bool {
		if parent.Err() == nil {
			return false
		}
		r.NotRun = why + ": " + context.Cause(parent).Error()
		return true
	}
	if interrupted("not run") {
		return r
	}
	if sc.Client.Before != nil || sc.Client.Address != "" {
		switch b.(type) {
		case InProcess, *InProcess:
		default:
			// Rather than run the flow without what it depends on.
			if sc.Client.Before != nil {
				r.Unsupported = "client.before: only the in-process backend runs a session before the flow and moves its proxy's clock"
			} else {
				r.Unsupported = "client.address: only the in-process backend chooses the workstation's address"
			}
			return r
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ScenarioTimeout)
	defer cancel()
	obs, err := b.Exercise(ctx, sc)
	if err != nil {
		if !interrupted("not run") {
			r.Error = err.Error()
		}
		return r
	}
	r.Result, r.Journal, r.Audit = obs.Result, obs.Journal, obs.Audit
	if interrupted("did not finish") {
		// What the client saw was the interruption, not the scenario.
		return r
	}
	r.Mismatches = sc.Expect.check(r)
	r.Passed = len(r.Mismatches) == 0
	return r
}

// Exercise builds sc's lab in this process and runs its client there.
func (b InProcess) Exercise(ctx context.Context, sc *Scenario) (*Observation, error) {
	logger := b.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hopts := []harness.Option{harness.WithLogger(logger.With("scenario", sc.Name))}
	var clk *harness.MovedClock
	if sc.Client.Before != nil {
		clk = &harness.MovedClock{}
		hopts = append(hopts, harness.WithProxy(proxy.WithClock(clk.Now)))
	}
	lab, err := NewLab(ctx, sc, hopts...)
	//lint:ignore SA5001 NewLab returns the partly built lab with its error: it is closed either way.
	defer lab.Close()
	if err != nil {
		return nil, err
	}
	var copts []client.Option
	if sc.Client.TrustInterception {
		pool, err := lab.InterceptionRoots()
		if err != nil {
			return nil, fmt.Errorf("interception root: %w", err)
		}
		copts = append(copts, client.WithRoots(pool))
	}
	if sc.Client.Address != "" {
		copts = append(copts, client.WithDialer(lab.DialFrom(sc.Client.Address)))
	}
	c, err := lab.Client(sc.Client.Profile, copts...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	// The journal of the report is the flow's: a session before it
	// (client.before) is left out.
	var flowStart time.Time
	if b := sc.Client.Before; b != nil {
		if err := runBefore(ctx, lab, sc, b); err != nil {
			return nil, err
		}
		ago := time.Duration(b.Ago)
		if ago == 0 {
			ago = time.Minute
		}
		clk.Add(ago)
		flowStart = time.Now()
	}
	obs := &Observation{}
	for range max(sc.Client.Runs, 1) {
		obs.Result = c.Run(ctx)
		if ctx.Err() != nil {
			break
		}
	}
	// The client has let go of its connections: let the proxy's tunnels
	// end on their own, so that the journal is whole and says how they
	// ended, then close the lab.
	if lab.Proxy != nil {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lab.Proxy.Shutdown(sctx)
		cancel()
	}
	lab.Close()
	if lab.Proxy != nil {
		// Entries are kept as decisions end (tunnels as they begin, then
		// completed in place: the lab is closed, so none is open); a
		// report reads best in the order they began.
		obs.Journal = slices.DeleteFunc(lab.Journal().Entries(), func(e proxy.Entry) bool { return e.Time.Before(flowStart) })
		sort.SliceStable(obs.Journal, func(a, b int) bool { return obs.Journal[a].Time.Before(obs.Journal[b].Time) })
	}
	obs.Audit = lab.Audit().Entries(sc.Client.UserID)
	return obs, nil
}

// runBefore runs a signed-in user's session before the flow
// (client.before): the profile as the "user" account with the session's
// credentials. It fails unless the proxy authenticated the session.
func runBefore(ctx context.Context, lab *harness.Lab, sc *Scenario, b *Before) error {
	prof := sc.Client.Profile
	prof.Account = client.AccountUser
	creds := b.Credentials
	prof.Credentials = &creds
	var opts []client.Option
	if a := cmp.Or(b.Address, sc.Client.Address); a != "" {
		opts = append(opts, client.WithDialer(lab.DialFrom(a)))
	}
	c, err := lab.Client(prof, opts...)
	if err != nil {
		return fmt.Errorf("client.before: %w", err)
	}
	res := c.Run(ctx)
	for _, e := range lab.Journal().Entries() {
		if e.User != "" && !e.Surrogate {
			return nil
		}
	}
	return fmt.Errorf("client.before: the signed-in session never authenticated to the proxy (its run ended %s, %s)", res.Outcome, orNone(string(res.Cause)))
}

// NewLab builds the lab a scenario describes (its lab and directory
// sections, service faults included), with extra harness options after
// the scenario's own, so that a program or a test can drive its own
// client against a catalog scenario's lab. Like harness.New, it returns
// the lab as far as it was built with its error, to be closed either way
// (nil only when the scenario is invalid).
func NewLab(ctx context.Context, sc *Scenario, extra ...harness.Option) (*harness.Lab, error) {
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("invalid scenario: %w", err)
	}
	opts, err := sc.labOptions()
	if err != nil {
		return nil, err
	}
	lab, err := harness.New(ctx, append(opts, extra...)...)
	if err != nil {
		return lab, fmt.Errorf("build the lab: %w", err)
	}
	for step, f := range sc.Lab.serviceFaults() {
		if err := lab.Service.SetFault(step, f); err != nil {
			return lab, fmt.Errorf("lab.service.faults.%s: %w", step, err)
		}
	}
	return lab, nil
}

func (l *Lab) serviceFaults() map[string]mock.StepFault {
	if l.Service == nil {
		return nil
	}
	return l.Service.Faults
}

// labOptions turns the lab section into harness options.
func (s *Scenario) labOptions() ([]harness.Option, error) {
	var opts []harness.Option
	for h, spec := range s.Lab.Hosts {
		if ownHost(h) {
			o := harness.LabHost{Name: h, Port: spec.port(), Plain: spec.Plain, Certificate: spec.Certificate, Handler: spec.Response}
			if spec.TLS != nil {
				r, err := vhost.ParseRange(spec.TLS.Min, spec.TLS.Max)
				if err != nil {
					return nil, fmt.Errorf("lab.hosts.%s.tls: %w", h, err)
				}
				o.Versions = r
			}
			if spec.KeyType != "" {
				k, err := pki.ParseKeyType(spec.KeyType)
				if err != nil {
					return nil, fmt.Errorf("lab.hosts.%s.keyType: %w", h, err)
				}
				o.KeyType = &k
			}
			opts = append(opts, harness.WithHost(o))
			continue
		}
		if spec.TLS != nil {
			r, err := vhost.ParseRange(spec.TLS.Min, spec.TLS.Max)
			if err != nil {
				return nil, fmt.Errorf("lab.hosts.%s.tls: %w", h, err)
			}
			opts = append(opts, harness.WithHostTLS(h, r))
		}
		if spec.Certificate != "" {
			opts = append(opts, harness.WithCertificate(h, spec.Certificate))
		}
		if spec.KeyType != "" {
			k, err := pki.ParseKeyType(spec.KeyType)
			if err != nil {
				return nil, fmt.Errorf("lab.hosts.%s.keyType: %w", h, err)
			}
			opts = append(opts, harness.WithHostKeyType(h, k))
		}
	}
	if s.Lab.Firewall != nil {
		opts = append(opts, harness.WithFirewall(*s.Lab.Firewall))
	}
	if px := s.Lab.Proxy; px != nil {
		var popts []proxy.Option
		if px.Auth != nil {
			popts = append(popts, proxy.WithAuth(*px.Auth))
		}
		popts = append(popts, proxy.WithRules(px.Rules...))
		if px.Default != "" {
			popts = append(popts, proxy.WithDefault(proxy.Action(px.Default)))
		}
		opts = append(opts, harness.WithProxy(popts...))
		if px.Address != "" {
			opts = append(opts, harness.WithProxyAddr(px.Address))
		}
		if len(px.Unresolvable) > 0 {
			opts = append(opts, harness.WithProxyDNSFailure(px.Unresolvable...))
		}
	}
	if s.Directory != nil {
		opts = append(opts, harness.WithDirectory(s.Directory))
	}
	return opts, nil
}

// check compares a run with the expectations.
func (e *Expect) check(r *Report) []Mismatch {
	var out []Mismatch
	res := r.Result
	cmp := func(field, want, got string) {
		if want != "" && want != got {
			out = append(out, Mismatch{Field: field, Want: want, Got: orNone(got)})
		}
	}
	cmp("outcome", string(e.Outcome), string(res.Outcome))
	if e.Outcome == client.OutcomeSuccess || e.Cause != "" {
		// A success expects no cause; otherwise the cause named.
		if string(e.Cause) != string(res.Cause) {
			out = append(out, Mismatch{Field: "cause", Want: orNone(string(e.Cause)), Got: orNone(string(res.Cause))})
		}
	}
	cmp("step", string(e.Step), string(res.Step))
	if e.Gate != 0 && e.Gate != res.Gate {
		out = append(out, Mismatch{Field: "gate", Want: fmt.Sprint(e.Gate), Got: fmt.Sprint(res.Gate)})
	}
	cmp("host", e.Host, res.Host)
	cmp("proxySource", e.ProxySource, res.ProxySource)
	if e.ProxyAuth != "" {
		cmp("proxyAuth", e.ProxyAuth, orNoneWord(res.ProxyAuth))
	}
	cmp("tlsVersion", e.TLSVersion, res.TLSVersion)
	var method, entry string
	if a := res.AutoProxy; a != nil {
		method, entry = a.Method, a.Used
	}
	if e.AutoProxy != "" {
		cmp("autoProxy", e.AutoProxy, orNoneWord(method))
	}
	if e.ProxyEntry != "" {
		// Compared as entries: "proxy a:1" is "PROXY a:1".
		want := e.ProxyEntry
		if ps, err := pac.ParseResult(want); err == nil && len(ps) == 1 {
			want = ps[0].String()
		}
		cmp("proxyEntry", want, entry)
	}
	if e.RevocationSource != "" {
		cmp("revocationSource", e.RevocationSource, orNoneWord(res.RevocationSource))
	}
	if e.Methods != nil && !slices.Equal(e.Methods, res.Methods) {
		out = append(out, Mismatch{Field: "methods", Want: fmt.Sprint(e.Methods), Got: fmt.Sprint(res.Methods)})
	}
	if e.Warnings != nil && *e.Warnings != len(res.Warnings) {
		out = append(out, Mismatch{Field: "warnings", Want: fmt.Sprint(*e.Warnings), Got: fmt.Sprintf("%d %q", len(res.Warnings), res.Warnings)})
	}
	for i, m := range e.Proxy {
		if !anyEntry(r.Journal, m) {
			out = append(out, Mismatch{Field: fmt.Sprintf("proxy[%d]", i), Want: m.String(), Got: fmt.Sprintf("no such decision among %d", len(r.Journal))})
		}
	}
	for i, m := range e.Audit {
		if !anyAudit(r.Audit, m) {
			out = append(out, Mismatch{Field: fmt.Sprintf("audit[%d]", i), Want: m.String(), Got: fmt.Sprintf("no such record among %d", len(r.Audit))})
		}
	}
	return out
}

func orNoneWord(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func anyEntry(entries []proxy.Entry, m JournalMatch) bool {
	for _, e := range entries {
		if (m.Target == "" || strings.EqualFold(m.Target, e.Target)) &&
			(m.Method == "" || strings.EqualFold(m.Method, e.Method)) &&
			(m.Rule == "" || m.Rule == e.Rule) &&
			(m.Action == "" || m.Action == e.Action) &&
			(m.Status == 0 || m.Status == e.Status) &&
			(m.Result == "" || m.Result == e.Result) &&
			(m.User == "" || strings.EqualFold(m.User, e.User)) &&
			(m.Detail == "" || strings.Contains(e.Detail, m.Detail)) &&
			(m.Line == 0 || m.Line == e.Line) &&
			(!m.Surrogate || e.Surrogate) {
			return true
		}
	}
	return false
}

func anyAudit(entries []mock.AuditEntry, m AuditMatch) bool {
	for _, e := range entries {
		if (m.Activity == "" || m.Activity == e.Activity) &&
			(m.Result == "" || m.Result == e.Result) &&
			(m.Reason == "" || strings.Contains(e.ResultReason, m.Reason)) &&
			(m.ClientType == "" || m.ClientType == e.ClientType) {
			return true
		}
	}
	return false
}

// String describes the match.
func (m JournalMatch) String() string {
	surrogate := ""
	if m.Surrogate {
		surrogate = "true"
	}
	return describe("target", m.Target, "method", m.Method, "rule", m.Rule, "line", statusText(m.Line), "action", string(m.Action),
		"status", statusText(m.Status), "result", m.Result, "user", m.User, "detail", m.Detail, "surrogate", surrogate)
}

// String describes the match.
func (m AuditMatch) String() string {
	return describe("activity", m.Activity, "result", m.Result, "reason", m.Reason, "clientType", m.ClientType)
}

func statusText(s int) string {
	if s == 0 {
		return ""
	}
	return fmt.Sprint(s)
}

func describe(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, kv[i]+"="+kv[i+1])
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}
