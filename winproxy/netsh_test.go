package winproxy

import (
	"strings"
	"testing"
	"unicode/utf16"
)

const (
	netshDirectOut = "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n"
	netshProxyOut  = "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  proxy.corp.example:8080\r\n    Bypass List     :  <local>;*.contoso.com\r\n\r\n"
	netshNoneOut   = "Current WinHTTP proxy settings:\n\n    Proxy Server(s) :  proxy.corp.example:8080\n    Bypass List     :  (none)\n"
	netshGermanOut = "\r\nAktuelle WinHTTP-Proxyeinstellungen:\r\n\r\n    Direkter Zugriff (kein Proxyserver).\r\n\r\n"
)

// utf16LE encodes s as PowerShell 5's `>` writes a file: UTF-16LE with a BOM.
func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestParseNetsh(t *testing.T) {
	proxy := WinHTTPProxy{Proxy: "proxy.corp.example:8080", Bypass: "<local>;*.contoso.com"}
	for _, tc := range []struct {
		name string
		data []byte
		want WinHTTPProxy
	}{
		{"direct", []byte(netshDirectOut), WinHTTPProxy{Direct: true}},
		{"direct, LF, no blank lines", []byte("Current WinHTTP proxy settings:\n    Direct access (no proxy server)."), WinHTTPProxy{Direct: true}},
		{"proxy with bypass", []byte(netshProxyOut), proxy},
		{"bypass (none)", []byte(netshNoneOut), WinHTTPProxy{Proxy: "proxy.corp.example:8080"}},
		{"no bypass line", []byte("Current WinHTTP proxy settings:\n    Proxy Server(s) :  p:1\n"), WinHTTPProxy{Proxy: "p:1"}},
		{"per-protocol proxy", []byte("Current WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  http=a:1;https=b:2  \r\n    Bypass List     :  (none)\r\n"), WinHTTPProxy{Proxy: "http=a:1;https=b:2"}},
		{"UTF-8 BOM", append([]byte{0xEF, 0xBB, 0xBF}, netshProxyOut...), proxy},
		{"UTF-16LE with BOM", utf16LE(netshProxyOut), proxy},
		{"UTF-16LE direct", utf16LE(netshDirectOut), WinHTTPProxy{Direct: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNetsh("netsh.txt", tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			again, err := ParseNetsh("again", got.Netsh())
			if err != nil || again != got {
				t.Fatalf("Netsh round trip: %+v, %v\n%s", again, err, got.Netsh())
			}
		})
	}
}

func TestParseNetshErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string // prefix of the error
	}{
		{"German", []byte(netshGermanOut), `pc1.txt:2: want "Current WinHTTP proxy settings:" first in "Aktuelle WinHTTP-Proxyeinstellungen:" (only English`},
		{"German UTF-16", utf16LE(netshGermanOut), `pc1.txt:2: want "Current WinHTTP proxy settings:" first`},
		{"garbage", []byte{0x00, 0x01, 0x02, 0xFF, 0x80}, `pc1.txt:1: want "Current WinHTTP proxy settings:" first`},
		{"empty", nil, "pc1.txt: empty"},
		{"blank only", []byte("\r\n\r\n  \r\n"), "pc1.txt: empty"},
		{"header only", []byte("Current WinHTTP proxy settings:\r\n\r\n"), "pc1.txt:3: the settings are missing"},
		{"unknown setting line", []byte("Current WinHTTP proxy settings:\n    Auto-detect: yes\n"), `pc1.txt:2: want "Direct access (no proxy server)." or "Proxy Server(s) :"`},
		{"extra line after direct", []byte(netshDirectOut + "    Bypass List     :  (none)\r\n"), "pc1.txt:6: unexpected line after the settings"},
		{"extra line after bypass", []byte(netshProxyOut + "Ok.\r\n"), "pc1.txt:7: unexpected line"},
		{"empty proxy", []byte("Current WinHTTP proxy settings:\n    Proxy Server(s) :  \n"), "pc1.txt:2: no proxy server"},
		{"German bypass line", []byte("Current WinHTTP proxy settings:\n    Proxy Server(s) :  p:1\n    Umgehungsliste  :  (keine)\n"), `pc1.txt:3: want "Bypass List :"`},
		{"odd UTF-16", []byte{0xFF, 0xFE, 'C'}, "pc1.txt: UTF-16LE text"},
		{"UTF-16BE", []byte{0xFE, 0xFF, 0, 'C'}, "pc1.txt: UTF-16 big-endian"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNetsh("pc1.txt", tc.data)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestNetshLongLineShortened(t *testing.T) {
	_, err := ParseNetsh("f", []byte(strings.Repeat("é", 100)))
	if err == nil || !strings.Contains(err.Error(), "…") || strings.Contains(err.Error(), "\\x") {
		t.Fatalf("error %v", err)
	}
}
