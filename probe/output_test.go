package probe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
)

func TestProbeOutput(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Authenticate),
		proxy.WithAuth(proxy.Auth{Schemes: []string{"negotiate", "ntlm"}, Users: []proxy.User{{Name: "alice", Password: "Pr0xy-pw"}}})))
	run := func(p client.Profile) *probe.Report {
		p.Proxy = client.ProxySources{PerMachine: &client.ProxySetting{Server: lab.ProxyAddr}}
		p.Timeouts = client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}
		r, err := probe.Run(context.Background(), probe.Config{Profile: p, Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers})
		require.NoError(t, err)
		return r
	}
	for name, r := range map[string]*probe.Report{
		"temporary": run(client.Profile{}),
		"user":      run(client.Profile{Account: client.AccountUser, Credentials: &client.Credentials{Username: "alice", Password: "Pr0xy-pw"}}),
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, name == "user", r.Works, "verdicts: %+v", r.Verdicts)
			var js bytes.Buffer
			require.NoError(t, probe.WriteJSON(&js, r))
			require.NoError(t, probe.ValidateJSON(js.Bytes()), js.String())
			assert.NotContains(t, js.String(), "Pr0xy-pw")
			var back probe.Report
			require.NoError(t, json.Unmarshal(js.Bytes(), &back))
			assert.Equal(t, r.Cause, back.Cause)

			var txt bytes.Buffer
			require.NoError(t, probe.WriteText(&txt, r, probe.PlainMarks))
			assert.Contains(t, txt.String(), "passwordreset.microsoftonline.com:443")
			assert.NotContains(t, txt.String(), "Pr0xy-pw")
			var ju bytes.Buffer
			require.NoError(t, probe.WriteJUnit(&ju, r))
			if r.Works {
				assert.Contains(t, txt.String(), "would work for the user account")
				assert.Contains(t, ju.String(), `failures="0"`)
			} else {
				assert.Equal(t, client.CauseProxyAuthRequired, r.Cause)
				assert.True(t, strings.Contains(txt.String(), "FAIL proxy-auth-required"), txt.String())
				assert.Contains(t, ju.String(), `<failure message="proxy-auth-required"`)
			}
			if testing.Verbose() {
				t.Log("\n" + txt.String())
			}
		})
	}
}

func TestProbeSchema(t *testing.T) {
	t.Parallel()
	b, err := probe.Schema()
	require.NoError(t, err)
	assert.Contains(t, string(b), probe.SchemaID)
	assert.Contains(t, string(b), string(client.CauseRevocationOffline))
	require.Error(t, probe.ValidateJSON([]byte(`{"account":"nobody"}`)))
}
