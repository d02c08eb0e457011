package pac

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// MaxResultLen bounds, in bytes, the string a PAC script may return and
// that ParseResult accepts (64 KiB; a real answer is a few dozen bytes).
const MaxResultLen = 64 << 10

// Proxy is one entry of a PAC result, in the order the client tries them.
type Proxy struct {
	// Kind is "DIRECT", or one of the proxy kinds: "PROXY" and "SOCKS" from
	// Netscape's format, "HTTP", "HTTPS", "SOCKS4" and "SOCKS5" as Chromium
	// accepts them. It is always upper case.
	Kind string
	// Host is "host:port" ("[v6]:port" for an IPv6 address), host in lower
	// case; empty for DIRECT.
	Host string
}

// Direct is the entry that means "connect without a proxy".
var Direct = Proxy{Kind: "DIRECT"}

// defaultPorts are the ports Chromium assumes when an entry names a host
// without one (net/base/proxy_server.cc, GetDefaultPortForScheme): 80 for
// an HTTP proxy, 443 for HTTPS, 1080 for SOCKS.
var defaultPorts = map[string]string{
	"PROXY":  "80",
	"HTTP":   "80",
	"HTTPS":  "443",
	"SOCKS":  "1080",
	"SOCKS4": "1080",
	"SOCKS5": "1080",
}

// String formats p as it appears in a PAC result: "DIRECT" or
// "KIND host:port". ParseResult reads it back as p.
func (p Proxy) String() string {
	if p.Host == "" {
		return p.Kind
	}
	return p.Kind + " " + p.Host
}

// Format joins proxies as a PAC result, "PROXY a:1; DIRECT".
func Format(proxies []Proxy) string {
	parts := make([]string, len(proxies))
	for i, p := range proxies {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// ParseResult reads the string FindProxyForURL returned: entries separated
// by ";", each "DIRECT" or "KIND host[:port]" with KIND one of PROXY, SOCKS,
// HTTP, HTTPS, SOCKS4, SOCKS5 (any case). Blanks (spaces, tabs) around
// and between the words are tolerated and empty entries (";;", a trailing
// ";") are skipped, as in Netscape's examples and Chromium's parser. A
// missing port is the kind's default (80, 443 or 1080, as Chromium does);
// an IPv6 host must be in brackets.
//
// Unlike Chromium, which skips entries it cannot read and falls back to
// DIRECT when nothing is left, ParseResult is strict: an unknown kind, a
// DIRECT with an argument, a proxy without a host, a bad host or port,
// more than MaxResultLen bytes or no entry at all is an error that quotes
// the entry, so that a broken PAC file is reported rather than hidden.
func ParseResult(s string) ([]Proxy, error) {
	if len(s) > MaxResultLen {
		return nil, fmt.Errorf("pac result is %d bytes, more than %d", len(s), MaxResultLen)
	}
	var out []Proxy
	for i, elem := range strings.Split(s, ";") {
		fields := strings.Fields(elem)
		if len(fields) == 0 {
			continue
		}
		p, err := parseEntry(fields)
		if err != nil {
			return nil, fmt.Errorf("pac result entry %d %q: %w", i+1, strings.TrimSpace(elem), err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pac result %q lists no proxy and no DIRECT", s)
	}
	return out, nil
}

func parseEntry(fields []string) (Proxy, error) {
	kind := strings.ToUpper(fields[0])
	if kind == "DIRECT" {
		if len(fields) != 1 {
			return Proxy{}, errors.New("DIRECT takes no host")
		}
		return Direct, nil
	}
	def, ok := defaultPorts[kind]
	if !ok {
		return Proxy{}, fmt.Errorf("unknown kind %q (want DIRECT, PROXY, SOCKS, HTTP, HTTPS, SOCKS4 or SOCKS5)", fields[0])
	}
	switch {
	case len(fields) == 1:
		return Proxy{}, fmt.Errorf("%s without a host", kind)
	case len(fields) > 2:
		return Proxy{}, fmt.Errorf("%s takes one host:port, got %d words", kind, len(fields)-1)
	}
	hp, err := parseHostPort(fields[1], def)
	if err != nil {
		return Proxy{}, err
	}
	return Proxy{Kind: kind, Host: hp}, nil
}

// parseHostPort checks "host[:port]" and returns it canonical:
// lower-case host, decimal port without leading zeros, IPv6 in brackets.
func parseHostPort(s, defPort string) (string, error) {
	host, port := s, defPort
	switch {
	case strings.Contains(s, "://"):
		return "", fmt.Errorf("host %q: a proxy is host:port, not a URL", s)
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", fmt.Errorf("host %q: missing ]", s)
		}
		host = s[1:end]
		switch rest := s[end+1:]; {
		case rest == "":
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
		default:
			return "", fmt.Errorf("host %q: junk after ]", s)
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("host %q: not an IPv6 address in brackets", s)
		}
		host = a.String()
	case strings.Count(s, ":") > 1:
		return "", fmt.Errorf("host %q: an IPv6 address must be in brackets", s)
	default:
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
		}
		host = strings.ToLower(host)
		if err := checkHostName(host); err != nil {
			return "", fmt.Errorf("host %q: %w", s, err)
		}
	}
	n, err := parsePort(port)
	if err != nil {
		return "", fmt.Errorf("host %q: %w", s, err)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("port %q is not 1-65535", s)
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q is not a number", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not 1-65535", s)
	}
	return n, nil
}

// checkHostName accepts a DNS name (letters, digits, '-', '_', dots
// between non-empty labels, one trailing dot allowed) or an IPv4 address.
func checkHostName(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if len(h) > 253+1 {
		return errors.New("host name longer than 253 bytes")
	}
	name := strings.TrimSuffix(h, ".")
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return errors.New("empty label in host name")
		}
		if len(label) > 63 {
			return errors.New("label longer than 63 bytes")
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return fmt.Errorf("character %q not allowed in a host name", c)
			}
		}
	}
	return nil
}
