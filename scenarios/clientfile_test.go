package scenarios_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/scenarios"
)

// TestLoadClient: a client file holds a scenario's client section at the
// top level, decoded strictly and validated as the section is, its
// errors naming the file, the line and the field.
func TestLoadClient(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "profile.yaml")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	p := write(t, `os: windows11
account: user
userId: adele@contoso.com
newPassword: Vq7#Lmz2!Rtx
proxy:
  perMachine: {server: proxy.corp.example:3128}
credentials: {username: alice, domain: CONTOSO, password: secret}
trustInterception: true
runs: 2
`)
	c, err := scenarios.LoadClient(p)
	require.NoError(t, err)
	assert.Equal(t, client.Windows11, c.OS)
	assert.Equal(t, "proxy.corp.example:3128", c.Proxy.PerMachine.Server)
	assert.Equal(t, "alice", c.Credentials.Username)
	assert.True(t, c.TrustInterception)
	assert.Equal(t, 2, c.Runs)

	tests := map[string]struct{ body, want string }{
		"unknown field": {"os: windows11\naccount: user\nuserId: a@contoso.com\nnewPassword: x\nacount: user\n", ":5: acount: unknown field; did you mean account?"},
		"bad value":     {"os: windows12\naccount: user\nuserId: a@contoso.com\nnewPassword: x\n", ":1: os:"},
		"bad runs":      {"os: windows11\naccount: user\nuserId: a@contoso.com\nnewPassword: x\nruns: 21\n", ":5: runs: 21: want 1 to 20"},
		"a scenario":    {"name: x\nclient:\n  os: windows11\n", ":1: name: unknown field"},
		"empty":         {"", ": empty document"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := write(t, tc.body)
			_, err := scenarios.LoadClient(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), p+tc.want)
		})
	}
	_, err = scenarios.LoadClient(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorContains(t, err, "missing.yaml")
}
