package winproxy

import (
	"encoding/binary"
	"strings"
	"testing"
)

// blob builds a connection settings blob field by field, so tests never
// depend on bytes copied from a machine.
func blob(version, counter, flags uint32, strs ...string) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint32(b, counter)
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, s := range strs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func TestParseConnectionSettings(t *testing.T) {
	autoDetectData := make([]byte, 32) // what 0x46 blobs carry after the PAC URL
	for _, tc := range []struct {
		name string
		b    []byte
		want ConnectionSettings
	}{
		{"direct, empty strings", blob(0x46, 1, 1, "", "", ""), ConnectionSettings{Version: 0x46, Counter: 1, Flags: Direct}},
		{"proxy", blob(0x46, 7, 3, "proxy.corp.example:8080", "<local>;*.contoso.com", ""),
			ConnectionSettings{Version: 0x46, Counter: 7, Flags: Direct | Proxy, Proxy: "proxy.corp.example:8080", Bypass: "<local>;*.contoso.com"}},
		{"pac", blob(0x46, 2, 5, "", "", "http://pac.corp.example/proxy.pac"),
			ConnectionSettings{Version: 0x46, Counter: 2, Flags: Direct | AutoProxyURL, AutoConfigURL: "http://pac.corp.example/proxy.pac"}},
		{"auto-detect, old version", blob(0x3C, 0, 9, "", "", ""), ConnectionSettings{Version: 0x3C, Flags: Direct | AutoDetect}},
		{"trailing auto-detect data ignored", append(blob(0x46, 3, 0xF, "p:1", "b", "http://u/"), autoDetectData...),
			ConnectionSettings{Version: 0x46, Counter: 3, Flags: 0xF, Proxy: "p:1", Bypass: "b", AutoConfigURL: "http://u/"}},
		{"unknown version and flags", blob(0x99, 0xFFFFFFFF, 0x30, "", "", ""), ConnectionSettings{Version: 0x99, Counter: 0xFFFFFFFF, Flags: 0x30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConnectionSettings(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			again, err := ParseConnectionSettings(got.Encode())
			if err != nil || again != got {
				t.Fatalf("round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestEncodeLayout(t *testing.T) {
	c := ConnectionSettings{Version: 0x46, Counter: 5, Flags: Direct | Proxy, Proxy: "p:8080", Bypass: "<local>"}
	want := blob(0x46, 5, 3, "p:8080", "<local>", "")
	if got := c.Encode(); string(got) != string(want) {
		t.Fatalf("Encode = % x, want % x", got, want)
	}
}

func TestParseConnectionSettingsTruncated(t *testing.T) {
	full := blob(0x46, 1, 0xF, "proxy.corp.example:8080", "<local>", "http://pac/x.pac")
	for n := 0; n < len(full); n++ {
		_, err := ParseConnectionSettings(full[:n])
		if err == nil {
			t.Fatalf("%d of %d bytes: no error", n, len(full))
		}
		if !strings.HasPrefix(err.Error(), "connection settings: ") || !strings.Contains(err.Error(), "offset") {
			t.Fatalf("%d bytes: error %q does not name the offset", n, err)
		}
	}
	if _, err := ParseConnectionSettings(full); err != nil {
		t.Fatal(err)
	}
}

func TestParseConnectionSettingsErrors(t *testing.T) {
	long := blob(0x46, 1, 3)
	long = binary.LittleEndian.AppendUint32(long, 4096)
	long = append(long, make([]byte, 40)...) // 40 bytes left after the length
	huge := binary.LittleEndian.AppendUint32(blob(0x46, 1, 3, "p:1"), 70000)
	maxU := binary.LittleEndian.AppendUint32(blob(0x46, 1, 3, "", ""), 0xFFFFFFFF)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"nil", nil, "connection settings: version at offset 0 needs 4 bytes, 0 left"},
		{"short flags", blob(0x46, 1, 3)[:10], "connection settings: flags at offset 8 needs 4 bytes, 2 left"},
		{"proxy beyond buffer", long, "connection settings: proxy server length 4096 at offset 12 exceeds the 40 bytes left"},
		{"bypass over limit", huge, "connection settings: bypass list length 70000 at offset 19 is over the 65536-byte limit"},
		{"pac 0xFFFFFFFF", maxU, "connection settings: autoconfig URL length 4294967295 at offset 20 is over the 65536-byte limit"},
		{"no pac length", blob(0x46, 1, 3, "", ""), "connection settings: autoconfig URL length at offset 20 needs 4 bytes, 0 left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConnectionSettings(tc.b)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[Flags]string{
		0:                    "0",
		Direct:               "direct",
		Proxy:                "proxy",
		AutoProxyURL:         "auto-proxy-url",
		AutoDetect:           "auto-detect",
		Direct | Proxy:       "direct|proxy",
		0xF:                  "direct|proxy|auto-proxy-url|auto-detect",
		Direct | 0x10 | 0x40: "direct|0x50",
	} {
		if got := f.String(); got != want {
			t.Errorf("Flags(%#x) = %q, want %q", uint32(f), got, want)
		}
	}
}

func TestWinHTTPSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want WinHTTPProxy
	}{
		{"default (reset)", blob(0x18, 0, 1, "", ""), WinHTTPProxy{Direct: true}},
		{"proxy", blob(0x18, 2, 3, "proxy.corp.example:8080", "<local>;*.contoso.com"),
			WinHTTPProxy{Proxy: "proxy.corp.example:8080", Bypass: "<local>;*.contoso.com"}},
		{"proxy without bypass", blob(0x18, 2, 3, "p:3128", ""), WinHTTPProxy{Proxy: "p:3128"}},
		{"leftover strings with direct flag", blob(0x18, 4, 1, "old:1", "x"), WinHTTPProxy{Direct: true}},
		{"proxy flag, empty server", blob(0x18, 4, 3, "", "x"), WinHTTPProxy{Direct: true}},
		{"trailing bytes ignored", append(blob(0x18, 0, 3, "p:1", ""), 0, 0, 0, 0), WinHTTPProxy{Proxy: "p:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWinHTTPSettings(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			again, err := ParseWinHTTPSettings(got.Encode())
			if err != nil || again != got {
				t.Fatalf("round trip: %+v, %v", again, err)
			}
		})
	}
	if got, want := (WinHTTPProxy{Direct: true}).Encode(), blob(0x18, 0, 1, "", ""); string(got) != string(want) {
		t.Errorf("direct Encode = % x, want % x", got, want)
	}
	if got, want := (WinHTTPProxy{Proxy: "p:1", Bypass: "<local>"}).Encode(), blob(0x18, 0, 3, "p:1", "<local>"); string(got) != string(want) {
		t.Errorf("proxy Encode = % x, want % x", got, want)
	}
	full := blob(0x18, 0, 3, "p:1", "<local>")
	for n := 0; n < len(full); n++ {
		if _, err := ParseWinHTTPSettings(full[:n]); err == nil || !strings.HasPrefix(err.Error(), "winhttp settings: ") {
			t.Fatalf("%d bytes: error %v", n, err)
		}
	}
}

func TestEffective(t *testing.T) {
	for _, tc := range []struct {
		c    ConnectionSettings
		want Setting
		kind Kind
		str  string
	}{
		{ConnectionSettings{Flags: Direct}, Setting{}, KindDirect, "direct"},
		{ConnectionSettings{Flags: Direct, Proxy: "p:1"}, Setting{}, KindDirect, "direct"},
		{ConnectionSettings{Flags: Direct | Proxy, Proxy: "p:1", Bypass: "<local>"}, Setting{Proxy: "p:1", Bypass: "<local>"}, KindProxy, "proxy p:1 (bypass <local>)"},
		{ConnectionSettings{Flags: Proxy, Proxy: "http=a:1;https=b:2"}, Setting{Proxy: "b:2"}, KindProxy, "proxy b:2"},
		{ConnectionSettings{Flags: Proxy, Proxy: "http=a:1 HTTPS=b:2"}, Setting{Proxy: "b:2"}, KindProxy, "proxy b:2"},
		{ConnectionSettings{Flags: Proxy, Proxy: "http=a:1;ftp=c:3", Bypass: "x"}, Setting{}, KindDirect, "direct"},
		{ConnectionSettings{Flags: Proxy, Proxy: "http=a:1;d:4"}, Setting{Proxy: "d:4"}, KindProxy, "proxy d:4"},
		{ConnectionSettings{Flags: AutoProxyURL, AutoConfigURL: "http://pac/x.pac"}, Setting{PACURL: "http://pac/x.pac"}, KindPAC, "pac http://pac/x.pac"},
		{ConnectionSettings{Flags: Direct, AutoConfigURL: "http://pac/x.pac"}, Setting{}, KindDirect, "direct"},
		{ConnectionSettings{Flags: AutoDetect}, Setting{AutoDetect: true}, KindAutoDetect, "auto-detect"},
		{ConnectionSettings{Flags: 0xF, Proxy: "p:1", AutoConfigURL: "http://pac/x.pac"},
			Setting{AutoDetect: true, PACURL: "http://pac/x.pac", Proxy: "p:1"}, KindAutoDetect, "auto-detect, then pac http://pac/x.pac, then proxy p:1"},
	} {
		got := tc.c.Effective()
		if got != tc.want || got.Kind() != tc.kind || got.String() != tc.str {
			t.Errorf("%+v: got %+v %s %q, want %+v %s %q", tc.c, got, got.Kind(), got.String(), tc.want, tc.kind, tc.str)
		}
	}
}
