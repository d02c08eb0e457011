//go:build unix

package harness_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/proxy"
)

// fdChildLimit is the child's RLIMIT_NOFILE: small, so that the ceiling
// comes in a few batches.
const fdChildLimit = 256

// fdFailure is one failed flow as the user saw it.
type fdFailure struct {
	Outcome client.Outcome `json:"outcome"`
	Cause   client.Cause   `json:"cause"`
	Step    client.Step    `json:"step"`
	Host    string         `json:"host,omitempty"`
	Message string         `json:"message,omitempty"` // the service's text; empty on the generic page
	Remedy  string         `json:"remedy,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// fdReport is what TestFlowsUntilDescriptorsRunOut's child finds.
type fdReport struct {
	Limit    uint64         `json:"limit"`    // the soft RLIMIT_NOFILE the flows ran under
	Hard     uint64         `json:"hard"`     // the hard limit
	Baseline int            `json:"baseline"` // descriptors open before the flows (the lab's listeners and the rest)
	Ceiling  int            `json:"ceiling"`  // the largest batch with zero errors
	FailedAt int            `json:"failedAt"` // the first batch with errors
	Failed   int            `json:"failed"`   // how many of its flows failed
	Batches  []int          `json:"batches"`  // the batches run, in order
	After    []int          `json:"after"`    // descriptors open after each batch
	Outcomes map[string]int `json:"outcomes"` // the failing batch by "outcome/cause"
	First    []fdFailure    `json:"first"`    // its first distinct failures
	// Proxy is what the journal says of the failures: distinct
	// "result status detail" of entries that are not ok or a 407.
	Proxy []string `json:"proxy"`
	// Logs are the distinct warnings and errors logged ("msg: err").
	Logs []string `json:"logs"`
	// Recovered: a batch run after the failing one, with the descriptors
	// free again, all succeeded.
	Recovered bool `json:"recovered"`
	Open      int  `json:"open"` // journal entries still open after Shutdown
}

// TestFlowsUntilDescriptorsRunOut runs concurrent flows through the NTLM
// proxy in batches that grow until some fail, in a child process whose
// descriptor limit is lowered to fdChildLimit (issue 16: the largest
// count one process handles before file descriptors run out, and what
// the user sees then). It checks what must hold whatever the count: the
// child ends (no panic, no hang), the failures are a proxy's or a
// connection's (a socket failure, a refused or cut connection), never a
// wrong diagnosis; the proxy's EMFILE is Squid's ERR_SOCKET_FAILURE and
// logged; nothing is left open; and the lab works again once the
// descriptors are free.
func TestFlowsUntilDescriptorsRunOut(t *testing.T) {
	if os.Getenv("EGRESSLAB_FDLOAD_CHILD") == "1" {
		fdLoadChild(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a timing
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFlowsUntilDescriptorsRunOut$")
	cmd.Env = append(os.Environ(), "EGRESSLAB_FDLOAD_CHILD=1")
	var stdout, stderr testtool.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "the child hung; stderr: %s", stderr.String())
	require.NoError(t, err, "child: stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	assert.NotContains(t, stdout.String()+stderr.String(), "panic:")
	var rep fdReport
	var found bool
	sc := bufio.NewScanner(strings.NewReader(stdout.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "fdload "); ok {
			require.NoError(t, json.Unmarshal([]byte(js), &rep))
			found = true
		}
	}
	require.True(t, found, "no report from the child: %s", stdout.String())
	t.Logf("child: %s", mustJSON(rep))

	require.Positive(t, rep.Ceiling, "some flows succeed under %d descriptors", rep.Limit)
	require.Greater(t, rep.FailedAt, rep.Ceiling, "the descriptors ran out within %v", rep.Batches)
	require.Positive(t, rep.Failed)
	for k := range rep.Outcomes {
		if k == string(client.OutcomeSuccess) {
			continue
		}
		assert.True(t, strings.HasPrefix(k, string(client.OutcomeSomethingWentWrong)+"/"), "a failure is the generic page: %s", k)
	}
	// The client's own sockets and the proxy's share the process's
	// descriptors: a failure is the proxy's answer (503
	// ERR_SOCKET_FAILURE), the client's failing to reach the proxy, or,
	// for the revocation checks (hard-fail), revocation that cannot be
	// checked; each says it is descriptors.
	exhaustion := []client.Cause{client.CauseProxyError, client.CauseProxyUnreachable, client.CauseProxyConnectFailed,
		client.CauseConnectionReset, client.CauseInterrupted, client.CauseProxyGatewayError, client.CauseRevocationOffline,
		client.CauseCDNUnreachable}
	for _, f := range rep.First {
		assert.Contains(t, exhaustion, f.Cause, "a proxy or connection failure: %+v", f)
		assert.NotEmpty(t, f.Remedy, "a remedy: %+v", f)
		assert.True(t, strings.Contains(f.Error, "too many open files") || strings.Contains(f.Error, "ERR_SOCKET_FAILURE 24"),
			"the error names the descriptors: %+v", f)
	}
	var socketFailure bool
	for _, p := range rep.Proxy {
		socketFailure = socketFailure || strings.Contains(p, "ERR_SOCKET_FAILURE")
	}
	if socketFailure {
		assert.True(t, slices.ContainsFunc(rep.Logs, func(l string) bool { return strings.Contains(l, "out of file descriptors") }),
			"the proxy logs its EMFILE: %v", rep.Logs)
	}
	assert.True(t, rep.Recovered, "the lab works again once the descriptors are free")
	assert.Zero(t, rep.Open, "every journal entry is complete after Shutdown")

	// The ceiling per descriptor, for the README: the flows' own
	// descriptors are the limit less the baseline; a flow takes at most
	// what the ceiling gives each, at least what the first failing batch
	// does.
	free := float64(int(rep.Limit) - rep.Baseline)
	hi, lo := free/float64(rep.Ceiling), free/float64(rep.FailedAt)
	t.Logf("ceiling: %d concurrent flows under %d descriptors (%d in use before), %d fail: %.1f to %.1f descriptors a flow; "+
		"at least %.0f flows per 256 descriptors, %.0f per 1,000",
		rep.Ceiling, rep.Limit, rep.Baseline, rep.FailedAt, lo, hi, 256/hi, 1000/hi)
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	t.Logf("this process: RLIMIT_NOFILE soft %d, hard %d: at least %.0f concurrent flows at the soft limit, %.0f at the hard",
		lim.Cur, lim.Max, float64(int(lim.Cur)-rep.Baseline)/hi, float64(int(lim.Max)-rep.Baseline)/hi)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// openFDs counts the process's open descriptors; -1 if it cannot.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // ReadDir's own
}

// fdLoadChild is TestFlowsUntilDescriptorsRunOut's child: it lowers its
// descriptor limit, runs growing batches of concurrent flows until one
// has errors, runs one more small batch to see the lab recover, and
// prints its report as a line "fdload {json}".
func fdLoadChild(t *testing.T) {
	const users = 2000
	var logs testtool.Buffer
	lab := ntlmLoadLab(t, users, harness.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	var rep fdReport
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	rep.Hard = lim.Max
	rep.Baseline = openFDs()
	if rep.Baseline < 0 {
		t.Skip("no /proc/self/fd")
	}
	require.Less(t, rep.Baseline, fdChildLimit/2, "descriptors in use before the flows")
	saved := lim
	lim.Cur = fdChildLimit
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	rep.Limit = lim.Cur

	next := 0 // the next user
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	batch := func(n int) []*client.Result {
		cs := loadClients(t, lab, next, n)
		next += n
		rep.Batches = append(rep.Batches, n)
		res := runAtOnce(ctx, cs)
		rep.After = append(rep.After, openFDs())
		return res
	}
	for n := 4; n <= fdChildLimit && rep.FailedAt == 0; n += max(2, n/8) {
		require.LessOrEqual(t, next+n, users)
		res := batch(n)
		var failed []*client.Result
		for _, r := range res {
			if !r.OK() {
				failed = append(failed, r)
			}
		}
		if len(failed) == 0 {
			rep.Ceiling = n
			continue
		}
		rep.FailedAt, rep.Failed, rep.Outcomes = n, len(failed), tally(res)
		seen := map[fdFailure]bool{}
		for _, r := range failed {
			f := fdFailure{Outcome: r.Outcome, Cause: r.Cause, Step: r.Step, Host: r.Host, Message: r.Message, Remedy: r.Remedy, Error: r.Error}
			k := f
			k.Error = "" // the addresses differ
			if !seen[k] && len(rep.First) < 8 {
				seen[k] = true
				rep.First = append(rep.First, f)
			}
		}
	}
	// The descriptors are free again: the limit back, a small batch.
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved))
	rep.Recovered = !slices.ContainsFunc(batch(8), func(r *client.Result) bool { return !r.OK() })

	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	lab.Proxy.Shutdown(sctx)
	scancel()
	proxySaid := map[string]bool{}
	for _, e := range lab.Journal().Entries() {
		switch e.Result {
		case proxy.ResultOK, proxy.ResultAuthRequired:
			continue
		case proxy.ResultOpen:
			rep.Open++
		}
		s := fmt.Sprintf("%s %d %s", e.Result, e.Status, e.Detail)
		if !proxySaid[s] {
			proxySaid[s] = true
			rep.Proxy = append(rep.Proxy, s)
		}
	}
	lab.Close()
	logSaid := map[string]bool{}
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct {
			Msg string `json:"msg"`
			Err string `json:"err"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		s := rec.Msg
		if rec.Err != "" {
			s += ": " + rec.Err
		}
		if !logSaid[rec.Msg] && len(rep.Logs) < 12 {
			logSaid[rec.Msg] = true
			rep.Logs = append(rep.Logs, s)
		}
	}
	fmt.Println("fdload " + mustJSON(rep))
}
