package winproxy_test

import (
	"fmt"

	"github.com/egresslab/egresslab/winproxy"
)

// A help desk exported the signed-in user's DefaultConnectionSettings and
// saved `netsh winhttp show proxy`; the blob here is built, not copied.
func Example() {
	blob := winproxy.ConnectionSettings{
		Version: 0x46, Counter: 12, Flags: winproxy.Direct | winproxy.Proxy | winproxy.AutoDetect,
		Proxy: "http=proxy.corp.example:8080;https=proxy.corp.example:8443", Bypass: "<local>;*.contoso.com",
	}.Encode()

	c, err := winproxy.ParseConnectionSettings(blob)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("version %#x, flags %s\n", c.Version, c.Flags)
	fmt.Println(c.Effective().Kind(), "-", c.Effective())

	netsh := "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n"
	w, err := winproxy.ParseNetsh("winhttp.txt", []byte(netsh))
	fmt.Printf("winhttp direct: %v %v\n", w.Direct, err)

	_, err = winproxy.ParseConnectionSettings(blob[:20])
	fmt.Println(err)
	// Output:
	// version 0x46, flags direct|proxy|auto-detect
	// auto-detect - auto-detect, then proxy proxy.corp.example:8443 (bypass <local>;*.contoso.com)
	// winhttp direct: true <nil>
	// connection settings: proxy server length 58 at offset 12 exceeds the 4 bytes left
}
