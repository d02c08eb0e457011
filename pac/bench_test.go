package pac

import (
	"context"
	"net/netip"
	"testing"

	"github.com/dop251/goja"
)

// typicalPAC is a 30-line PAC file of the usual shape: bypasses for
// plain names and internal domains, a subnet test, per-site exceptions.
const typicalPAC = `// corp.example proxy configuration
var internal = [".corp.example", ".lab.example", ".local"];
var directSites = ["*.windowsupdate.com", "*.microsoft.com", "login.microsoftonline.com"];

function FindProxyForURL(url, host) {
  host = host.toLowerCase();
  if (isPlainHostName(host)) return "DIRECT";
  for (var i = 0; i < internal.length; i++) {
    if (dnsDomainIs(host, internal[i])) return "DIRECT";
  }
  if (localHostOrDomainIs(host, "intranet.corp.example")) return "DIRECT";
  for (var j = 0; j < directSites.length; j++) {
    if (shExpMatch(host, directSites[j])) return "DIRECT";
  }
  if (shExpMatch(url, "ftp:*")) return "PROXY ftp-proxy.corp.example:2121";
  if (isInNet(host, "10.0.0.0", "255.0.0.0") ||
      isInNet(host, "172.16.0.0", "255.240.0.0") ||
      isInNet(host, "192.168.0.0", "255.255.0.0")) {
    return "DIRECT";
  }
  if (isInNet(myIpAddress(), "10.20.0.0", "255.255.0.0")) {
    return "PROXY proxy-b.corp.example:8080; PROXY proxy-a.corp.example:8080; DIRECT";
  }
  if (weekdayRange("SAT", "SUN")) {
    return "PROXY weekend.corp.example:8080; DIRECT";
  }
  if (dnsDomainLevels(host) > 5) return "PROXY strict.corp.example:8080";
  return "PROXY proxy-a.corp.example:8080; PROXY proxy-b.corp.example:8080; DIRECT";
}
`

func BenchmarkFindProxy(b *testing.B) {
	r := newStub(map[string][]string{"www.example.com": {"93.184.215.14"}})
	s, err := Compile("typical.pac", []byte(typicalPAC), WithResolver(r), WithMyIP(netip.MustParseAddr("10.20.1.5")))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ps, err := s.FindProxy(ctx, "https://www.example.com/index.html")
		if err != nil || len(ps) != 3 {
			b.Fatal(ps, err)
		}
	}
}

// BenchmarkNewRuntime is the part of a call that a pool of runtimes
// would save: a fresh goja runtime with the helpers bound.
func BenchmarkNewRuntime(b *testing.B) {
	s, err := Compile("typical.pac", []byte(typicalPAC))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rt := goja.New()
		s.bind(rt, &resolver{})
	}
}
