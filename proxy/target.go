package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/egresslab/egresslab/internal/redact"
)

// Target is a request's destination after normalisation: what rules match.
type Target struct {
	// Host is a lower-case ASCII DNS name without a trailing dot, or the
	// canonical text of an IP address.
	Host string
	// IP is set when the host is an IP address (in any of its spellings).
	IP netip.Addr
	// Port is the destination port (defaults: 80 for http, 443 for https).
	Port int
	// Scheme is "https" for CONNECT tunnels and intercepted requests, and
	// the URL's scheme for plain HTTP.
	Scheme string
	// Connect reports a CONNECT request.
	Connect bool
}

// String returns host:port, with brackets for IPv6.
func (t Target) String() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// errBadTarget marks a request refused because its target is malformed or
// ambiguous; the proxy answers 400.
var errBadTarget = errors.New("bad request target")

func badTarget(format string, a ...any) error {
	for i, v := range a {
		if s, ok := v.(string); ok {
			a[i] = redact.Userinfo(s)
		}
	}
	return fmt.Errorf("%w: %s", errBadTarget, fmt.Sprintf(format, a...))
}

// hostProfile maps names as a resolver would (UTS #46, so full-width and
// other look-alike forms fold to ASCII) and checks DNS lengths.
var hostProfile = idna.New(idna.MapForLookup(), idna.VerifyDNSLength(true), idna.BidiRule())

// normalizeHost returns the canonical form of a host: an IP address in
// any spelling a resolver accepts (dotted, decimal, octal, hex, short
// forms, IPv6 forms that embed an IPv4 address) becomes the address as
// [canonicalAddr] gives it; a name becomes lower-case ASCII without a
// trailing dot. Anything else is refused.
//
// Answers for spellings that normalise are remembered (keep-alive clients
// name the same few hosts again and again, and the IDNA mapping costs
// about a microsecond); refusals are worked out every time. The answer
// depends on the spelling alone, so a remembered one is the same answer.
func normalizeHost(h string) (string, netip.Addr, error) {
	hostCache.RLock()
	n, ok := hostCache.m[h]
	hostCache.RUnlock()
	if ok {
		return n.host, n.ip, nil
	}
	host, ip, err := normalizeHostUncached(h)
	if err == nil && len(h) <= maxCachedHost {
		hostCache.Lock()
		if len(hostCache.m) >= maxCachedHosts {
			clear(hostCache.m) // bounded: a scan of many names starts over
		}
		hostCache.m[strings.Clone(h)] = normalized{host, ip}
		hostCache.Unlock()
	}
	return host, ip, err
}

// The bounds of normalizeHost's memory: how many spellings, and how long
// one may be.
const (
	maxCachedHosts = 4096
	maxCachedHost  = 255
)

type normalized struct {
	host string
	ip   netip.Addr
}

var hostCache = struct {
	sync.RWMutex
	m map[string]normalized
}{m: make(map[string]normalized)}

// normalizeHostUncached is normalizeHost without its memory.
func normalizeHostUncached(h string) (string, netip.Addr, error) {
	if h == "" {
		return "", netip.Addr{}, badTarget("empty host")
	}
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return "", netip.Addr{}, badTarget("unterminated IPv6 literal %q", h)
		}
		ip, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", netip.Addr{}, badTarget("bad IPv6 literal %q", h)
		}
		return literal(ip, h)
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "", netip.Addr{}, badTarget("IP address with a zone %q", h)
		}
		return literal(ip, h)
	}
	if ip, ok, err := parseInetAton(h); err != nil {
		return "", netip.Addr{}, err
	} else if ok {
		return literal(ip, h)
	}
	if strings.ContainsAny(h, "%@/\\ \t:;,?#[]") {
		return "", netip.Addr{}, badTarget("invalid character in host %q", h)
	}
	if !utf8.ValidString(h) {
		// The mapping would turn the bad bytes into U+FFFD, a name that
		// is refused once normalised.
		return "", netip.Addr{}, badTarget("host %q is not UTF-8", h)
	}
	// Map first, then take off the root label: look-alike dots (the
	// ideographic full stop, the full-width one) become dots only in the
	// mapping, so "blocked.example。" ends in a dot too.
	ascii, err := hostProfile.ToASCII(h)
	if err != nil || ascii == "" {
		return "", netip.Addr{}, badTarget("host %q is not a valid DNS name", h)
	}
	ascii = strings.TrimSuffix(strings.ToLower(ascii), ".")
	// One trailing dot names the root; any other empty label (a second
	// trailing dot, "a..b", a leading dot) is not a name, though some
	// resolvers drop it and look up the name without it: refused, so
	// that normalising reaches a fixed point.
	if ascii == "" || strings.HasPrefix(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") {
		return "", netip.Addr{}, badTarget("host %q has an empty label", h)
	}
	// A name that folds to an IP address (full-width digits, say) is that
	// address.
	if ip, err := netip.ParseAddr(ascii); err == nil {
		return literal(ip, h)
	}
	if ip, ok, err := parseInetAton(ascii); err != nil {
		return "", netip.Addr{}, err
	} else if ok {
		return literal(ip, h)
	}
	return ascii, netip.Addr{}, nil
}

// literal returns the canonical form of the IP literal h, which parsed as
// ip (see [canonicalAddr]), or the reason it is refused.
func literal(ip netip.Addr, h string) (string, netip.Addr, error) {
	c, err := canonicalAddr(ip)
	if err != nil {
		return "", netip.Addr{}, badTarget("host %q is %v", h, err)
	}
	return c.String(), c, nil
}

// IPv6 ranges whose addresses embed an IPv4 address.
var (
	v4Compatible = netip.MustParsePrefix("::/96")          // ::a.b.c.d, deprecated (RFC 4291 2.5.5.1)
	nat64        = netip.MustParsePrefix("64:ff9b::/96")   // NAT64's well-known prefix (RFC 6052)
	nat64Local   = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215)
	sixToFour    = netip.MustParsePrefix("2002::/16")      // 6to4 (RFC 3056)
	teredo       = netip.MustParsePrefix("2001::/32")      // Teredo (RFC 4380)
)

// canonicalAddr returns the address that rules decide on and the proxy
// dials for ip, an IP literal of a target or an address a name resolved
// to. IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, but not
// :: and ::1) and NAT64 well-known-prefix (64:ff9b::a.b.c.d) addresses
// are the IPv4 address they embed, since that is where they lead. It
// refuses, with the reason as a noun phrase ("an unspecified address"),
// the addresses that name no single host or hide an IPv4 address that
// rules cannot see: the unspecified ones (0.0.0.0/8 and ::, which reach
// the local host when dialled), 6to4 (2002::/16), Teredo (2001::/32),
// local-use NAT64 (64:ff9b:1::/48), and any address with a zone.
func canonicalAddr(ip netip.Addr) (netip.Addr, error) {
	if ip.Zone() != "" {
		return netip.Addr{}, errors.New("an address with a zone")
	}
	ip = ip.Unmap()
	if ip.Is6() {
		switch {
		case v4Compatible.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback(), nat64.Contains(ip):
			b := ip.As16()
			ip = netip.AddrFrom4([4]byte(b[12:]))
		case nat64Local.Contains(ip):
			return netip.Addr{}, errors.New("a local-use NAT64 address (64:ff9b:1::/48), whose IPv4 address depends on the translator")
		case sixToFour.Contains(ip):
			return netip.Addr{}, errors.New("a 6to4 address (2002::/16), which embeds an IPv4 address")
		case teredo.Contains(ip):
			return netip.Addr{}, errors.New("a Teredo address (2001::/32), which embeds IPv4 addresses")
		}
	}
	if ip.IsUnspecified() || (ip.Is4() && ip.As4()[0] == 0) {
		return netip.Addr{}, errors.New("an unspecified address")
	}
	return ip, nil
}

// parseInetAton parses the IPv4 forms inet_aton accepts: one to four
// parts, each decimal, octal (leading 0) or hex (0x), the last part
// filling the remaining bytes ("127.1", "2130706433", "0x7f.0.0.1",
// "0177.0.0.1"). It reports ok=false for something that is not numeric at
// all (a name), and an error for something numeric-looking that does not
// parse ("08.0.0.1", "1.2.3.256"), which a resolver might read either way.
func parseInetAton(s string) (netip.Addr, bool, error) {
	parts := strings.Split(s, ".")
	numeric := len(parts) <= 4
	for _, p := range parts {
		if p == "" || !isNumericPart(p) {
			numeric = false
			break
		}
	}
	if !numeric {
		// The last label of a DNS name is never all-numeric: "a.123" is
		// not a name either.
		if last := parts[len(parts)-1]; last != "" && isNumericPart(last) && len(parts) > 1 {
			return netip.Addr{}, false, badTarget("host %q ends in a numeric label", s)
		}
		return netip.Addr{}, false, nil
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := parseNumber(p)
		if err != nil {
			return netip.Addr{}, false, badTarget("ambiguous numeric host %q", s)
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false, badTarget("numeric host %q: part %d above 255", s, i+1)
		}
		n = n<<8 | v
	}
	rest := uint(8 * (4 - len(vals) + 1))
	last := vals[len(vals)-1]
	if last >= 1<<rest {
		return netip.Addr{}, false, badTarget("numeric host %q out of range", s)
	}
	n = n<<rest | last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, nil
}

func isNumericPart(p string) bool {
	q := strings.ToLower(p)
	if strings.HasPrefix(q, "0x") {
		q = q[2:]
		for _, c := range q {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range q {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func parseNumber(p string) (uint64, error) {
	q := strings.ToLower(p)
	switch {
	case strings.HasPrefix(q, "0x"):
		if len(q) == 2 {
			return 0, nil
		}
		return strconv.ParseUint(q[2:], 16, 32)
	case len(q) > 1 && q[0] == '0':
		return strconv.ParseUint(q[1:], 8, 32)
	}
	return strconv.ParseUint(q, 10, 32)
}

// parsePort parses a port strictly: digits only, 1 to 65535 ("0443" is 443).
func parsePort(p string) (int, error) {
	if p == "" {
		return 0, badTarget("empty port")
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, badTarget("port %q is not a number", p)
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, badTarget("port %q out of range", p)
	}
	return n, nil
}

// splitHostPort splits host:port, where the port may be absent (def).
func splitHostPort(hp string, def int) (string, int, error) {
	if strings.HasPrefix(hp, "[") {
		end := strings.Index(hp, "]")
		if end < 0 {
			return "", 0, badTarget("unterminated IPv6 literal %q", hp)
		}
		host, rest := hp[:end+1], hp[end+1:]
		if rest == "" {
			if def == 0 {
				return "", 0, badTarget("%q has no port", hp)
			}
			return host, def, nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", 0, badTarget("junk after IPv6 literal in %q", hp)
		}
		port, err := parsePort(rest[1:])
		return host, port, err
	}
	i := strings.LastIndex(hp, ":")
	if i < 0 {
		if def == 0 {
			return "", 0, badTarget("%q has no port", hp)
		}
		return hp, def, nil
	}
	if strings.Count(hp, ":") > 1 {
		return "", 0, badTarget("IPv6 address without brackets in %q", hp)
	}
	port, err := parsePort(hp[i+1:])
	return hp[:i], port, err
}

// requestTarget normalises and checks a proxy request's target. It refuses
// what a naive matcher would let through: a Host header that disagrees
// with an absolute-form target, userinfo, a missing or odd port, chunked
// request bodies (Go's server drops Content-Length from a request that also
// has Transfer-Encoding, so refusing chunked bodies is what keeps
// CL+TE smuggling out), and targets that are not absolute-form. The Host
// header is compared by checkHead, from the raw head.
func requestTarget(r *http.Request) (Target, error) {
	if len(r.TransferEncoding) > 0 {
		return Target{}, badTarget("Transfer-Encoding %v in a request: the lab proxy accepts Content-Length bodies only", r.TransferEncoding)
	}
	if r.Method == http.MethodConnect {
		// Authority form only: "host:port", nothing else.
		if r.RequestURI == "" || strings.ContainsAny(r.RequestURI, "/?#@") {
			return Target{}, badTarget("CONNECT target %q is not host:port", r.RequestURI)
		}
		h, port, err := splitHostPort(r.RequestURI, 0)
		if err != nil {
			return Target{}, err
		}
		host, ip, err := normalizeHost(h)
		if err != nil {
			return Target{}, err
		}
		// The Host header is checked from the raw head (checkHead): net/http
		// has replaced it with the target by now.
		return Target{Host: host, IP: ip, Port: port, Scheme: "https", Connect: true}, nil
	}
	if !strings.HasPrefix(strings.ToLower(r.RequestURI), "http://") {
		return Target{}, badTarget("request target %q is not an absolute http:// URL", r.RequestURI)
	}
	u := r.URL
	if u.User != nil {
		return Target{}, badTarget("userinfo in request target")
	}
	if u.Opaque != "" {
		return Target{}, badTarget("opaque request target")
	}
	h, port, err := splitHostPort(u.Host, 80)
	if err != nil {
		return Target{}, err
	}
	host, ip, err := normalizeHost(h)
	if err != nil {
		return Target{}, err
	}
	return Target{Host: host, IP: ip, Port: port, Scheme: "http"}, nil
}
