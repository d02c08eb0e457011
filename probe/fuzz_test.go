package probe_test

import (
	"strings"
	"testing"

	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/winproxy"
)

func FuzzParseConnectTo(f *testing.F) {
	for _, s := range []string{"a.example:443=127.0.0.1:8443", "a:80:b:81", "nonsense", "[::1]:443=[::1]:8443", "=:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := probe.ParseConnectTo([]string{s})
		if err != nil {
			return
		}
		for k := range m {
			if k != strings.ToLower(k) {
				t.Fatalf("key %q is not lower case", k)
			}
		}
	})
}

// FuzzSystemSources: whatever the binary values hold, reading them never
// panics.
func FuzzSystemSources(f *testing.F) {
	f.Add(winproxy.ConnectionSettings{Version: 0x46, Flags: winproxy.Proxy, Proxy: "p:1"}.Encode(), winproxy.WinHTTPProxy{Proxy: "w:2"}.Encode())
	f.Add([]byte{}, []byte{0xff})
	f.Fuzz(func(t *testing.T, conn, winhttp []byte) {
		reg := probe.MapRegistry{
			probe.KeyPolicy:                         {"ProxySettingsPerUser": uint32(0)},
			probe.KeyMachine + probe.KeyConnections: {"DefaultConnectionSettings": conn, "WinHttpSettings": winhttp},
			probe.KeyUser + probe.KeyConnections:    {"DefaultConnectionSettings": conn},
		}
		probe.SystemSources(reg)
	})
}
