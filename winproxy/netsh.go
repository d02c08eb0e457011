package winproxy

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The lines of `netsh winhttp show proxy` on an English system.
const (
	netshHeader = "Current WinHTTP proxy settings:"
	netshDirect = "Direct access (no proxy server)."
	netshProxy  = "Proxy Server(s)"
	netshBypass = "Bypass List"
	netshNone   = "(none)"
)

// ParseNetsh parses the output of `netsh winhttp show proxy` as saved from
// an English Windows, in one of two forms (indentation and blank lines as
// netsh prints them; leading, trailing and repeated blank lines, CRLF or LF
// and trailing spaces are accepted):
//
//	Current WinHTTP proxy settings:
//
//	    Direct access (no proxy server).
//
// or
//
//	Current WinHTTP proxy settings:
//
//	    Proxy Server(s) :  proxy.corp.example:8080
//	    Bypass List     :  <local>;*.contoso.com
//
// where the Bypass List may read "(none)" (Bypass "") or be absent. The
// file may be ANSI or UTF-8 (with or without a BOM), as `netsh ... > file`
// writes it from cmd.exe, or UTF-16LE with a BOM, as PowerShell 5's `>`
// writes it.
//
// Only English output is understood: netsh translates these lines, and a
// translated or otherwise unknown line is an error naming file and line,
// "FILE:LINE: ...". file is used only in errors.
func ParseNetsh(file string, data []byte) (WinHTTPProxy, error) {
	text, err := decodeText(data)
	if err != nil {
		return WinHTTPProxy{}, fmt.Errorf("%s: %w", file, err)
	}
	lines := strings.Split(text, "\n")
	bad := func(i int, why string) error {
		return fmt.Errorf("%s:%d: %s in %q (only English `netsh winhttp show proxy` output is understood)", file, i+1, why, shorten(lines[i]))
	}
	const (
		wantHeader = iota
		wantSetting
		wantBypass // after Proxy Server(s)
		done
	)
	state := wantHeader
	var p WinHTTPProxy
	for i, raw := range lines {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" {
			continue
		}
		switch state {
		case wantHeader:
			if line != netshHeader {
				return WinHTTPProxy{}, bad(i, fmt.Sprintf("want %q first", netshHeader))
			}
			state = wantSetting
		case wantSetting:
			if line == netshDirect {
				p = WinHTTPProxy{Direct: true}
				state = done
				continue
			}
			v, ok := netshValue(line, netshProxy)
			if !ok {
				return WinHTTPProxy{}, bad(i, fmt.Sprintf("want %q or %q", netshDirect, netshProxy+" :"))
			}
			if v == "" || v == netshNone {
				return WinHTTPProxy{}, bad(i, "no proxy server")
			}
			p.Proxy = v
			state = wantBypass
		case wantBypass:
			v, ok := netshValue(line, netshBypass)
			if !ok {
				return WinHTTPProxy{}, bad(i, fmt.Sprintf("want %q", netshBypass+" :"))
			}
			if v != netshNone {
				p.Bypass = v
			}
			state = done
		default:
			return WinHTTPProxy{}, bad(i, "unexpected line after the settings")
		}
	}
	switch state {
	case wantHeader:
		return WinHTTPProxy{}, fmt.Errorf("%s: empty: want the output of `netsh winhttp show proxy` (English only)", file)
	case wantSetting:
		return WinHTTPProxy{}, fmt.Errorf("%s:%d: the settings are missing after %q (English output only)", file, len(lines), netshHeader)
	}
	return p, nil
}

// netshValue returns the value of a "Label   :  value" line.
func netshValue(line, label string) (string, bool) {
	rest, ok := strings.CutPrefix(line, label)
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t")
	rest, ok = strings.CutPrefix(rest, ":")
	if !ok {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// decodeText turns a saved console output into a string: UTF-16LE with a
// BOM is decoded, a UTF-8 BOM dropped, other bytes kept as they are.
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		data = data[2:]
		if len(data)%2 != 0 {
			return "", fmt.Errorf("UTF-16LE text (it starts with FF FE) of an odd length, %d bytes after the mark", len(data))
		}
		u := make([]uint16, len(data)/2)
		for i := range u {
			u[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
		}
		return string(utf16.Decode(u)), nil
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return "", fmt.Errorf("UTF-16 big-endian text is not understood; save it as UTF-8, ANSI or UTF-16LE")
	}
	return string(bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})), nil
}

// shorten keeps error messages readable when a line is long or binary.
func shorten(s string) string {
	s = strings.TrimSuffix(s, "\r")
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Netsh returns p as `netsh winhttp show proxy` prints it on an English
// system (CRLF line ends), the form ParseNetsh reads.
func (p WinHTTPProxy) Netsh() []byte {
	var b strings.Builder
	b.WriteString("\r\n" + netshHeader + "\r\n\r\n")
	if p.Direct || p.Proxy == "" {
		b.WriteString("    " + netshDirect + "\r\n\r\n")
		return []byte(b.String())
	}
	bypass := p.Bypass
	if bypass == "" {
		bypass = netshNone
	}
	fmt.Fprintf(&b, "    %s :  %s\r\n    %-15s :  %s\r\n\r\n", netshProxy, p.Proxy, netshBypass, bypass)
	return []byte(b.String())
}
