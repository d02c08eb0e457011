package winproxy

import "testing"

// FuzzConnectionSettings: any bytes parse or fail without a panic; what
// parses encodes to a blob that parses to the same value. The WinHTTP
// parser runs on the same bytes with the same property.
func FuzzConnectionSettings(f *testing.F) {
	f.Add(blob(0x46, 1, 1, "", "", ""))
	f.Add(blob(0x46, 9, 0xF, "http=a:1;https=b:2", "<local>;*.contoso.com", "http://pac/x.pac"))
	f.Add(append(blob(0x3C, 0, 3, "p:8080", "", ""), make([]byte, 28)...))
	f.Add(blob(0x18, 0, 3, "p:8080", "<local>"))
	f.Add(blob(0x46, 1, 3, "p")[:14])
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseConnectionSettings(b); err == nil {
			again, err := ParseConnectionSettings(c.Encode())
			if err != nil || again != c {
				t.Fatalf("round trip of %+v: %+v, %v", c, again, err)
			}
			_ = c.Effective().String()
			_ = c.Flags.String()
		}
		if p, err := ParseWinHTTPSettings(b); err == nil {
			again, err := ParseWinHTTPSettings(p.Encode())
			if err != nil || again != p {
				t.Fatalf("winhttp round trip of %+v: %+v, %v", p, again, err)
			}
		}
	})
}

// FuzzNetsh: any file parses or fails without a panic; what parses prints
// (WinHTTPProxy.Netsh) as text that parses to the same value.
func FuzzNetsh(f *testing.F) {
	f.Add([]byte(netshDirectOut))
	f.Add([]byte(netshProxyOut))
	f.Add([]byte(netshNoneOut))
	f.Add([]byte(netshGermanOut))
	f.Add(utf16LE(netshProxyOut))
	f.Add([]byte{0xFF, 0xFE, 'C'})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseNetsh("fuzz", data)
		if err != nil {
			return
		}
		again, err := ParseNetsh("again", p.Netsh())
		if err != nil || again != p {
			t.Fatalf("round trip of %+v: %+v, %v\n%q", p, again, err, p.Netsh())
		}
	})
}
