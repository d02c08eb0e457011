package probe_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/winproxy"
)

func TestProbeSystemSourcesRegistry(t *testing.T) {
	t.Parallel()
	yes := true
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
			user:       &client.ProxySetting{Server: "user-proxy.contoso.com:8080", Bypass: []string{"<local>"}, AutoDetect: new(bool)},
			tempSource: client.SourceDefaultProfile,
			winhttp:    "wh.contoso.com:3128",
		},
		"a PAC URL in the text values": {
			reg: probe.MapRegistry{
				`hkcu\software\microsoft\windows\currentversion\internet settings`: {"proxyenable": uint32(0), "AutoConfigURL": "http://wpad.contoso.com/proxy.pac"},
			},
			user:       &client.ProxySetting{AutoConfigURL: "http://wpad.contoso.com/proxy.pac"},
			tempSource: client.SourceNone,
		},
		"a PAC URL and detection in the binary form": {
			reg: probe.MapRegistry{
				probe.KeyPolicy: {"ProxySettingsPerUser": uint32(0)},
				probe.KeyMachine + probe.KeyConnections: {"DefaultConnectionSettings": winproxy.ConnectionSettings{Version: 0x46,
					Flags: winproxy.Direct | winproxy.AutoProxyURL | winproxy.AutoDetect, AutoConfigURL: "http://pac.contoso.com/p.pac"}.Encode()},
			},
			temporary:    &client.ProxySetting{AutoConfigURL: "http://pac.contoso.com/p.pac", AutoDetect: &yes},
			user:         &client.ProxySetting{AutoConfigURL: "http://pac.contoso.com/p.pac", AutoDetect: &yes},
			tempSource:   client.SourcePerMachine,
			noteContains: "auto-detect, then pac http://pac.contoso.com/p.pac",
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

func TestProbeSystemDNSSuffix(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "corp.contoso.com", probe.SystemDNSSuffix(probe.MapRegistry{probe.KeyTCPIP: {"NV Domain": "corp.contoso.com"}}))
	assert.Empty(t, probe.SystemDNSSuffix(probe.MapRegistry{}))
}

// A probe as the signed-in user whose proxy is per-user warns that the
// temporary account would not get it.
func TestProbePerUserWarnsForUser(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)))
	src, _ := probe.SystemSources(probe.MapRegistry{probe.KeyUser: {"ProxyEnable": uint32(1), "ProxyServer": lab.ProxyAddr}})
	r, err := probe.Run(context.Background(), probe.Config{
		Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Account: client.AccountUser, Credentials: &client.Credentials{Username: "alice", Password: "x"}, Proxy: src,
			Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	require.NotEmpty(t, r.Documented)
	for _, d := range r.Documented {
		if d.Name == "per-user-proxy" {
			assert.Equal(t, "warn", d.Status)
			assert.Contains(t, d.Detail, "does not get it")
		}
	}
}
