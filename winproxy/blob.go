// Package winproxy reads the proxy settings a help desk can collect from a
// Windows machine: the binary WinINet connection settings
// (DefaultConnectionSettings, SavedLegacySettings), the binary WinHTTP
// machine proxy (WinHttpSettings) and the text `netsh winhttp show proxy`
// prints. It turns a WinINet setting into what an account's browser-based
// sign-in will try first (Effective).
//
// None of these layouts is documented on a Microsoft page. Each type's doc
// comment names where its layout comes from and what is assumed.
package winproxy

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// MaxStringLen is the longest string field (proxy server, bypass list,
// autoconfig URL) the parsers accept, in bytes. Real values are a few
// hundred bytes; a longer length field means a corrupt or foreign blob.
const MaxStringLen = 64 << 10

// Flags are the PROXY_TYPE_* bits of a connection settings blob, as
// defined in wininet.h (and documented for INTERNET_PER_CONN_FLAGS on
// Microsoft Learn, INTERNET_PER_CONN_OPTION).
type Flags uint32

// The PROXY_TYPE_* values of wininet.h.
const (
	Direct       Flags = 0x1 // PROXY_TYPE_DIRECT: connect directly (Windows sets it in practice always)
	Proxy        Flags = 0x2 // PROXY_TYPE_PROXY: use the proxy server (ProxyEnable=1)
	AutoProxyURL Flags = 0x4 // PROXY_TYPE_AUTO_PROXY_URL: use the autoconfig (PAC) URL
	AutoDetect   Flags = 0x8 // PROXY_TYPE_AUTO_DETECT: detect a PAC file with WPAD
)

var flagNames = []struct {
	f    Flags
	name string
}{{Direct, "direct"}, {Proxy, "proxy"}, {AutoProxyURL, "auto-proxy-url"}, {AutoDetect, "auto-detect"}}

// String names the set bits joined by "|", in the order direct, proxy,
// auto-proxy-url, auto-detect, e.g. "direct|proxy"; unknown bits follow
// in hex ("direct|0x10"); no bit at all is "0".
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(parts, "|")
}

// ConnectionSettings is a WinINet connection settings blob: the REG_BINARY
// values DefaultConnectionSettings and SavedLegacySettings under
// HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections
// (the same under HKU\<profile>; under HKLM with the per-machine policy,
// a location assumed, not from a Microsoft page).
//
// The layout is not from a Microsoft page. It is the one public
// configuration scripts write, the one ReactOS's proxreg.h describes (as
// DOMAIN.md reports), and the one the .NET Framework's reference source
// reads (System.Net ProxyRegBlob, _ProxyRegBlob.cs: struct size at least
// 60, settings version, flags, proxy, bypass, then autoconfig URL,
// auto-detect flags and last known good URL); integers are little-endian:
//
//	offset 0   DWORD  Version: the writer's structure size, 0x46 on current
//	                  Windows, 0x3C (IE 5, "IE50StrucSize" in .NET) seen on
//	                  older ones; any value is accepted and reported
//	offset 4   DWORD  Counter: incremented on each change
//	offset 8   DWORD  Flags (PROXY_TYPE_*)
//	offset 12  DWORD  n, then n bytes: proxy server (ProxyServer), ANSI
//	           DWORD  n, then n bytes: bypass list (ProxyOverride), ANSI
//	           DWORD  n, then n bytes: autoconfig URL (AutoConfigURL), ANSI
//	           then auto-detect data (a DWORD of flags, the last known good
//	           PAC URL, times): ignored, and not written by Encode
//
// Strings are kept as the bytes stored (the machine's ANSI code page, ASCII
// in practice), without a terminating NUL.
type ConnectionSettings struct {
	Version, Counter uint32
	Flags            Flags
	Proxy, Bypass    string
	AutoConfigURL    string
}

// blobReader reads length-prefixed fields from a settings blob, bounding
// every read by what is left.
type blobReader struct {
	what string // "connection settings", "winhttp settings"
	b    []byte
	off  int
}

func (r *blobReader) uint32(field string) (uint32, error) {
	if left := len(r.b) - r.off; left < 4 {
		return 0, fmt.Errorf("%s: %s at offset %d needs 4 bytes, %d left", r.what, field, r.off, left)
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

func (r *blobReader) string(field string) (string, error) {
	at := r.off
	n, err := r.uint32(field + " length")
	if err != nil {
		return "", err
	}
	left := len(r.b) - r.off
	switch {
	case n > MaxStringLen:
		return "", fmt.Errorf("%s: %s length %d at offset %d is over the %d-byte limit", r.what, field, n, at, MaxStringLen)
	case int(n) > left:
		return "", fmt.Errorf("%s: %s length %d at offset %d exceeds the %d bytes left", r.what, field, n, at, left)
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

// ParseConnectionSettings parses a DefaultConnectionSettings or
// SavedLegacySettings value (the raw REG_BINARY bytes). It needs the three
// header DWORDs and the three length-prefixed strings; bytes after the
// autoconfig URL are ignored. An error names the field and its offset, e.g.
// "connection settings: proxy server length 4096 at offset 12 exceeds the
// 40 bytes left"; a string length over MaxStringLen is an error too.
func ParseConnectionSettings(b []byte) (ConnectionSettings, error) {
	r := &blobReader{what: "connection settings", b: b}
	var c ConnectionSettings
	var err error
	var flags uint32
	if c.Version, err = r.uint32("version"); err != nil {
		return ConnectionSettings{}, err
	}
	if c.Counter, err = r.uint32("change counter"); err != nil {
		return ConnectionSettings{}, err
	}
	if flags, err = r.uint32("flags"); err != nil {
		return ConnectionSettings{}, err
	}
	c.Flags = Flags(flags)
	if c.Proxy, err = r.string("proxy server"); err != nil {
		return ConnectionSettings{}, err
	}
	if c.Bypass, err = r.string("bypass list"); err != nil {
		return ConnectionSettings{}, err
	}
	if c.AutoConfigURL, err = r.string("autoconfig URL"); err != nil {
		return ConnectionSettings{}, err
	}
	return c, nil
}

// Encode returns the blob in the layout ParseConnectionSettings reads:
// header, then the three length-prefixed strings, and nothing after them
// (no auto-detect data; WinINet writes its own on its next change). The
// Version is written as is: set it (0x46 for current Windows) before
// writing the blob back to a registry.
func (c ConnectionSettings) Encode() []byte {
	b := make([]byte, 0, 24+len(c.Proxy)+len(c.Bypass)+len(c.AutoConfigURL))
	b = binary.LittleEndian.AppendUint32(b, c.Version)
	b = binary.LittleEndian.AppendUint32(b, c.Counter)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.Flags))
	for _, s := range []string{c.Proxy, c.Bypass, c.AutoConfigURL} {
		b = appendString(b, s)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// WinHTTPVersion is the first DWORD of the WinHttpSettings blobs Windows
// writes (netsh winhttp set/reset proxy), and the one Encode writes.
const WinHTTPVersion = 0x18

// WinHTTPProxy is the machine's WinHTTP proxy, which CryptoAPI uses to
// fetch revocation lists: what `netsh winhttp set proxy` writes and `netsh
// winhttp show proxy` prints. Direct is true when no proxy is set (then
// Proxy and Bypass are empty). Proxy is the proxy server string and Bypass
// the bypass list, both as stored ("<local>;*.contoso.com"), "" for none.
type WinHTTPProxy struct {
	Direct        bool
	Proxy, Bypass string
}

// ParseWinHTTPSettings parses the REG_BINARY value WinHttpSettings under
// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections
// (and its WOW6432Node twin).
//
// Layout: the WinINet header (see ConnectionSettings) followed by only two
// length-prefixed ANSI strings, proxy server and bypass list: no autoconfig
// URL. Sources: the source of proxycfg.exe (WinHTTP 5.1's configuration
// tool, a Microsoft sample of 2000 that includes proxreg.h), whose
// WriteProxySettings writes exactly dwStructSize, dwCurrentSettingsVersion,
// dwFlags, proxy, bypass, and whose reader clears the auto-detect and
// auto-proxy-URL flags because WinHTTP supports neither; and the default value
// 18 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 (version
// 0x18, counter 0, flags direct, two empty strings) reproduced in public
// scripts. Version 0x18 and flags 1 (direct) or 3 (direct|proxy) for a
// proxy are what current Windows is reported to write; that netsh (rather
// than proxycfg) writes this same layout is assumed from those reports.
// Any version and any extra trailing bytes are accepted.
//
// Direct is set when the proxy flag is clear or the proxy string is empty;
// the strings are then dropped, as netsh shows "Direct access". Errors are
// those of ParseConnectionSettings, prefixed "winhttp settings".
func ParseWinHTTPSettings(b []byte) (WinHTTPProxy, error) {
	r := &blobReader{what: "winhttp settings", b: b}
	var flags uint32
	var err error
	if _, err = r.uint32("version"); err != nil {
		return WinHTTPProxy{}, err
	}
	if _, err = r.uint32("change counter"); err != nil {
		return WinHTTPProxy{}, err
	}
	if flags, err = r.uint32("flags"); err != nil {
		return WinHTTPProxy{}, err
	}
	var p WinHTTPProxy
	if p.Proxy, err = r.string("proxy server"); err != nil {
		return WinHTTPProxy{}, err
	}
	if p.Bypass, err = r.string("bypass list"); err != nil {
		return WinHTTPProxy{}, err
	}
	if Flags(flags)&Proxy == 0 || p.Proxy == "" {
		return WinHTTPProxy{Direct: true}, nil
	}
	return p, nil
}

// Encode returns the WinHttpSettings blob for p: version WinHTTPVersion,
// counter 0, flags 1 (direct, with empty strings) or 3 (direct|proxy),
// proxy, bypass. A non-Direct p with an empty Proxy encodes as direct.
func (p WinHTTPProxy) Encode() []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, WinHTTPVersion)
	b = binary.LittleEndian.AppendUint32(b, 0)
	if p.Direct || p.Proxy == "" {
		b = binary.LittleEndian.AppendUint32(b, uint32(Direct))
		b = appendString(b, "")
		return appendString(b, "")
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(Direct|Proxy))
	b = appendString(b, p.Proxy)
	return appendString(b, p.Bypass)
}
