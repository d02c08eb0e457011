package scenarios_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/proxy/fault"
	"github.com/egresslab/egresslab/scenarios"
)

// catalogScenario parses a built-in scenario by name.
func catalogScenario(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	data, err := scenarios.CatalogFile(name)
	require.NoError(t, err)
	sc, err := scenarios.Parse("catalog:"+name, data)
	require.NoError(t, err)
	return sc
}

// TestBeforeSession: client.before authenticates a signed-in session
// first; the report's journal is the flow's alone, every decision of
// which passed on the session's surrogate. A session that cannot
// authenticate makes the scenario an error, not a failure of the flow.
func TestBeforeSession(t *testing.T) {
	t.Parallel()
	sc := catalogScenario(t, "surrogate-after-signed-in-user")
	r := scenarios.Run(context.Background(), sc, nil)
	require.Empty(t, r.Error)
	assert.True(t, r.Passed, "%v", r.Mismatches)
	require.NotEmpty(t, r.Journal)
	for _, e := range r.Journal {
		assert.True(t, e.Surrogate, "%+v: the session's own decisions are not the flow's", e)
		assert.Equal(t, `CONTOSO\alice`, e.User)
	}

	sc = catalogScenario(t, "surrogate-after-signed-in-user")
	sc.Client.Before.Ago = fault.Duration(sc.Lab.Proxy.Auth.SurrogateTTL)
	r = scenarios.Run(context.Background(), sc, nil)
	assert.False(t, r.Passed, "exactly the TTL later, the surrogate has expired")
	require.NotNil(t, r.Result)
	assert.Equal(t, "proxy-auth-required", string(r.Result.Cause))

	sc = catalogScenario(t, "surrogate-after-signed-in-user")
	sc.Client.Before.Credentials.Password = "wrong"
	r = scenarios.Run(context.Background(), sc, nil)
	assert.False(t, r.Passed)
	assert.Contains(t, r.Error, "client.before: the signed-in session never authenticated to the proxy (its run ended something-went-wrong, proxy-auth-required)")
}

// otherBackend is a backend that is not the in-process one.
type otherBackend struct{}

func (otherBackend) Exercise(context.Context, *scenarios.Scenario) (*scenarios.Observation, error) {
	panic("not reached: client.before is refused first")
}

// TestBeforeOnlyInProcess: a backend that cannot run the session first
// skips the scenario, saying why, instead of running the flow without it.
func TestBeforeOnlyInProcess(t *testing.T) {
	t.Parallel()
	r := scenarios.RunOn(context.Background(), catalogScenario(t, "surrogate-expired-before-sspr"), otherBackend{})
	assert.False(t, r.Passed)
	assert.Empty(t, r.Error)
	assert.Equal(t, "client.before: only the in-process backend runs a session before the flow and moves its proxy's clock", r.Unsupported)
	sum := scenarios.Summarize([]*scenarios.Report{r}, 0)
	assert.True(t, sum.OK(), "a scenario the backend cannot run does not fail the run")
	assert.Equal(t, 1, sum.Unsupported)
	assert.Contains(t, r.Line(), "SKIP  surrogate-expired-before-sspr: not on this backend: client.before")
	r = scenarios.RunOn(context.Background(), catalogScenario(t, "remedy-src-exempt-workstations"), otherBackend{})
	assert.Equal(t, "client.address: only the in-process backend chooses the workstation's address", r.Unsupported)
}

// TestReportShowsLineAndSurrogate: the text report names the deciding
// rule's configuration line, and marks decisions made on a surrogate.
func TestReportShowsLineAndSurrogate(t *testing.T) {
	t.Parallel()
	src := good + `lab:
  proxy:
    rules:
      - {name: SSL_ports, line: 42, methods: [CONNECT], not: {ports: [80]}, action: deny}
`
	sc, err := scenarios.Parse("s.yaml", []byte(src))
	require.NoError(t, err)
	sc.Client.Proxy.PerMachine = &client.ProxySetting{Server: "proxy.corp.example:3128"}
	r := scenarios.Run(context.Background(), sc, nil)
	require.False(t, r.Passed)
	var b strings.Builder
	require.NoError(t, scenarios.WriteText(&b, []*scenarios.Report{r}, scenarios.Summarize([]*scenarios.Report{r}, 0), false))
	assert.Contains(t, b.String(), `rule="SSL_ports" line=42 action=deny status=403 result=denied`)

	r = scenarios.Run(context.Background(), catalogScenario(t, "surrogate-after-signed-in-user"), nil)
	b.Reset()
	require.NoError(t, scenarios.WriteText(&b, []*scenarios.Report{r}, scenarios.Summarize([]*scenarios.Report{r}, 0), true))
	assert.Contains(t, b.String(), `rule="everyone authenticates" action=authenticate status=200 result=ok user=CONTOSO\alice surrogate`)
}
