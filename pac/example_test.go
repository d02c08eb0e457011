package pac_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/egresslab/egresslab/pac"
)

// lab answers names from a table, as the lab's resolver would; a real
// caller may pass net.DefaultResolver instead.
type lab map[string]netip.Addr

func (l lab) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := l[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, fmt.Errorf("%s: no such host", host)
}

func Example() {
	src := []byte(`
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
  return "PROXY proxy.corp.example:3128; SOCKS socks.corp.example; DIRECT";
}`)
	s, err := pac.Compile("corp.pac", src,
		pac.WithResolver(lab{"intranet.corp.example": netip.MustParseAddr("10.1.2.3")}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range []string{"http://intranet.corp.example/", "https://login.microsoftonline.com/common/oauth2"} {
		proxies, err := s.FindProxy(context.Background(), u)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(u)
		for _, p := range proxies {
			fmt.Println("  " + p.String())
		}
	}
	// Output:
	// http://intranet.corp.example/
	//   DIRECT
	// https://login.microsoftonline.com/common/oauth2
	//   PROXY proxy.corp.example:3128
	//   SOCKS socks.corp.example:1080
	//   DIRECT
}
