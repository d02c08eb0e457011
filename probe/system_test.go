package probe_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/winproxy"
)

func TestProbeSystemSourcesRegistry(t *testing.T) {
	t.Parallel()
	userBlob := winproxy.ConnectionSettings{Version: 0x46, Flags: winproxy.Direct | winproxy.Proxy, Proxy: "user-proxy.contoso.com:8080", Bypass: "<local>"}.Encode()
	winhttp := winproxy.WinHTTPProxy{Proxy: "wh.contoso.com:3128"}.Encode()
	tests := map[string]struct {
		reg          probe.MapRegistry
		temporary    *client.ProxySetting // what defaultuser1 gets
		user         *client.ProxySetting // what the signed-in user gets
		tempSource   string
		winhttp      string
		noteContains string
	}{
		"per-user only: the temporary account goes direct": {
			reg: probe.MapRegistry{
				probe.KeyUser: {"ProxyEnable": uint32(1), "ProxyServer": "proxy.contoso.com:3128", "ProxyOverride": "<local>;*.contoso.com"},
			},
			user:       &client.ProxySetting{Server: "proxy.contoso.com:3128", Bypass: []string{"<local>", "*.contoso.com"}},
			tempSource: client.SourceNone,
		},
		"per-machine policy applies to every account": {
			reg: probe.MapRegistry{
				probe.KeyPolicy:  {"ProxySettingsPerUser": uint32(0)},
				probe.KeyMachine: {"ProxyEnable": uint32(1), "ProxyServer": "machine.contoso.com:8080"},
				probe.KeyUser:    {"ProxyEnable": uint32(1), "ProxyServer": "ignored.contoso.com:3128"},
			},
			temporary:    &client.ProxySetting{Server: "machine.contoso.com:8080"},
			user:         &client.ProxySetting{Server: "machine.contoso.com:8080"},
			tempSource:   client.SourcePerMachine,
			noteContains: "ProxySettingsPerUser=0",
		},
		"policy value 1 keeps per-user settings": {
			reg: probe.MapRegistry{
				probe.KeyPolicy:  {"ProxySettingsPerUser": uint32(1)},
				probe.KeyMachine: {"ProxyEnable": uint32(1), "ProxyServer": "machine.contoso.com:8080"},
			},
			tempSource: client.SourceNone,
		},
		"default profile template and the binary form": {
			reg: probe.MapRegistry{
				probe.KeyDefaultProfile:                 {"ProxyEnable": uint32(1), "ProxyServer": "template.contoso.com:3128"},
				probe.KeyUser + probe.KeyConnections:    {"DefaultConnectionSettings": userBlob},
				probe.KeyMachine + probe.KeyConnections: {"WinHttpSettings": winhttp},
			},
			temporary:  &client.ProxySetting{Server: "template.contoso.com:3128"},
			user:       &client.ProxySetting{Server: "user-proxy.contoso.com:8080", Bypass: []string{"<local>"}},
			tempSource: client.SourceDefaultProfile,
			winhttp:    "wh.contoso.com:3128",
		},
		"a PAC URL is noted, not used": {
			reg: probe.MapRegistry{
				`hkcu\software\microsoft\windows\currentversion\internet settings`: {"proxyenable": uint32(0), "AutoConfigURL": "http://wpad.contoso.com/proxy.pac"},
			},
			user:         &client.ProxySetting{},
			tempSource:   client.SourceNone,
			noteContains: "AutoConfigURL http://wpad.contoso.com/proxy.pac",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, notes := probe.SystemSources(tc.reg)
			temp := client.Profile{Account: client.AccountDefaultUser1, Proxy: src}
			got, source := temp.FlowProxy()
			assert.Equal(t, tc.temporary, got)
			assert.Equal(t, tc.tempSource, source)
			user := client.Profile{Account: client.AccountUser, Proxy: src}
			got, _ = user.FlowProxy()
			assert.Equal(t, tc.user, got)
			if tc.winhttp != "" {
				require.NotNil(t, src.WinHTTP)
				assert.Equal(t, tc.winhttp, src.WinHTTP.Server)
			} else {
				assert.Nil(t, src.WinHTTP)
			}
			if tc.noteContains != "" {
				assert.Contains(t, strings.Join(notes, "\n"), tc.noteContains)
			}
		})
	}
}

func TestProbeEnvSources(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := probe.EnvSources(env(map[string]string{"https_proxy": "http://proxy.corp.example:3128", "NO_PROXY": ".contoso.com,intranet,10.0.0.0/8"}))
	require.NoError(t, err)
	require.NotNil(t, s.PerMachine)
	assert.Equal(t, "http://proxy.corp.example:3128", s.PerMachine.Server)
	assert.Equal(t, []string{"*.contoso.com", "intranet"}, s.PerMachine.Bypass)

	s, err = probe.EnvSources(env(nil))
	require.NoError(t, err)
	assert.Nil(t, s.PerMachine)

	_, err = probe.EnvSources(env(map[string]string{"HTTPS_PROXY": "http://alice:s3cret@proxy:3128"}))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}
