package proxy

import (
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Conditions are the conditions of a rule's Not, each field of which
// must fail for the rule to match, or of one of its And terms, each
// field of which must hold. The fields mean what the [Rule] fields of
// the same names mean, with one limit: Hosts takes name patterns only
// ("example.com", "*.example.com", ".example.com", "*"), since an
// address pattern there would need every name resolved before the rules
// are tried.
type Conditions struct {
	// Hosts: name patterns, as Rule.Hosts.
	Hosts []string `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	// HostRegexes: regular expressions, as Rule.HostRegexes.
	HostRegexes []string `json:"hostRegexes,omitempty" yaml:"hostRegexes,omitempty"`
	// Ports and PortRanges: one condition, as in a Rule.
	Ports      []int    `json:"ports,omitempty" yaml:"ports,omitempty"`
	PortRanges []string `json:"portRanges,omitempty" yaml:"portRanges,omitempty"`
	// Methods, as Rule.Methods.
	Methods []string `json:"methods,omitempty" yaml:"methods,omitempty"`
	// Schemes, as Rule.Schemes.
	Schemes []string `json:"schemes,omitempty" yaml:"schemes,omitempty"`
	// Src: client addresses and prefixes, as Rule.Src.
	Src []string `json:"src,omitempty" yaml:"src,omitempty"`
	// UserAgents: regular expressions, as Rule.UserAgents.
	UserAgents []string `json:"userAgents,omitempty" yaml:"userAgents,omitempty"`
	// Headers: regular expressions by header name, as Rule.Headers.
	Headers map[string][]string `json:"headers,omitempty" yaml:"headers,omitempty"`
}

// conditions are the rule's own conditions.
func (r *Rule) conditions() Conditions {
	return Conditions{Hosts: r.Hosts, HostRegexes: r.HostRegexes, Ports: r.Ports, PortRanges: r.PortRanges, Methods: r.Methods, Schemes: r.Schemes,
		Src: r.Src, UserAgents: r.UserAgents, Headers: r.Headers}
}

// empty reports whether no condition is given.
func (c *Conditions) empty() bool {
	return len(c.Hosts) == 0 && len(c.HostRegexes) == 0 && len(c.Ports) == 0 && len(c.PortRanges) == 0 && len(c.Methods) == 0 &&
		len(c.Schemes) == 0 && len(c.Src) == 0 && len(c.UserAgents) == 0 && len(c.Headers) == 0
}

// validate checks the conditions; prefix comes before each field's
// path. A Not or an And term (namesOnly) takes name patterns only in
// Hosts; what says which, in the error.
func (c *Conditions) validate(prefix string, namesOnly bool, what string) []error {
	var errs []error
	for i, h := range c.Hosts {
		p, err := parseHostPattern(h)
		switch {
		case err != nil:
			errs = append(errs, &FieldError{fmt.Sprintf("%shosts[%d]", prefix, i), err})
		case namesOnly && p.kind == patPrefix:
			errs = append(errs, fieldError(fmt.Sprintf("%shosts[%d]", prefix, i),
				"%q is an address pattern, which %s (only names: example.com, *.example.com, .example.com)", h, what))
		}
	}
	for i, re := range c.HostRegexes {
		if _, err := compileRegexp(re); err != nil {
			errs = append(errs, &FieldError{fmt.Sprintf("%shostRegexes[%d]", prefix, i), err})
		}
	}
	for i, p := range c.Ports {
		if p < 1 || p > 65535 {
			errs = append(errs, fieldError(fmt.Sprintf("%sports[%d]", prefix, i), "%d is not a port", p))
		}
	}
	for i, s := range c.PortRanges {
		if _, err := parsePortRange(s); err != nil {
			errs = append(errs, &FieldError{fmt.Sprintf("%sportRanges[%d]", prefix, i), err})
		}
	}
	for i, m := range c.Methods {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " \t") {
			errs = append(errs, fieldError(fmt.Sprintf("%smethods[%d]", prefix, i), "%q is not an upper-case method name (CONNECT, HTTP, GET, ...)", m))
		}
	}
	for i, s := range c.Schemes {
		if s != "http" && s != "https" {
			errs = append(errs, fieldError(fmt.Sprintf("%sschemes[%d]", prefix, i), "%q (want http or https)", s))
		}
	}
	for i, s := range c.Src {
		if _, err := parseSrc(s); err != nil {
			errs = append(errs, &FieldError{fmt.Sprintf("%ssrc[%d]", prefix, i), err})
		}
	}
	for i, re := range c.UserAgents {
		if _, err := compileRegexp(re); err != nil {
			errs = append(errs, &FieldError{fmt.Sprintf("%suserAgents[%d]", prefix, i), err})
		}
	}
	for _, name := range sortedKeys(c.Headers) {
		field := fmt.Sprintf("%sheaders[%q]", prefix, name)
		if !validHeaderName(name) {
			errs = append(errs, fieldError(field, "%q is not a header name", name))
			continue
		}
		if len(c.Headers[name]) == 0 {
			errs = append(errs, fieldError(field, "give at least one regular expression"))
		}
		for i, re := range c.Headers[name] {
			if _, err := compileRegexp(re); err != nil {
				errs = append(errs, &FieldError{fmt.Sprintf("%s[%d]", field, i), err})
			}
		}
	}
	return errs
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validHeaderName reports whether name is an HTTP field name (a token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi int }

// parsePortRange reads "1025-65535" or "443".
func parsePortRange(s string) (portRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case errA != nil || errB != nil:
		return portRange{}, fmt.Errorf("%q: want a port range such as 1025-65535", s)
	case a < 1 || a > 65535 || b < 1 || b > 65535:
		return portRange{}, fmt.Errorf("%q: ports are 1 to 65535", s)
	case a > b:
		return portRange{}, fmt.Errorf("%q: the range ends before it begins", s)
	}
	return portRange{a, b}, nil
}

// parseSrc reads a client address or prefix, unmapped.
func parseSrc(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR prefix %q: %v", s, err)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q: want an IP address or a CIDR prefix (10.0.0.0/8)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// compileRegexp compiles a regular expression of a rule (Go's RE2).
func compileRegexp(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, fmt.Errorf("empty regular expression (it would match every value)")
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression %q: %v", s, err)
	}
	return re, nil
}

// request is what a rule may look at beyond the target.
type request struct {
	method string
	// src is the client's address (unmapped); invalid when unknown,
	// which no src condition matches.
	src    netip.Addr
	header http.Header
	// from is the index of the first rule that may match: the one after
	// the Continue rule that passed the request on; 0 for every rule.
	from int
}

// newRequest is the request to match for r.
func newRequest(r *http.Request, needSrc bool) request {
	q := request{method: r.Method, header: r.Header}
	if needSrc {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			q.src = ap.Addr().Unmap()
		}
	}
	return q
}

// headerCond is one header's compiled condition.
type headerCond struct {
	name string // canonical
	res  []*regexp.Regexp
}

// condSet is compiled conditions. Positive conditions hold when every
// field given holds; a negated set (a rule's Not) holds when no field
// given holds.
type condSet struct {
	names      []hostPattern // a Not or an And term only: name patterns
	hostRes    []*regexp.Regexp
	ports      []int
	ranges     []portRange
	methods    []string
	schemes    []string
	src        []netip.Prefix
	userAgents []*regexp.Regexp
	headers    []headerCond
}

// compileConditions compiles validated conditions; hosts are left to the
// rule index unless withHosts.
func compileConditions(c Conditions, withHosts bool) *condSet {
	cs := &condSet{ports: c.Ports, methods: c.Methods, schemes: c.Schemes}
	if withHosts {
		for _, h := range c.Hosts {
			p, _ := parseHostPattern(h)
			cs.names = append(cs.names, p)
		}
	}
	for _, s := range c.HostRegexes {
		re, _ := compileRegexp(s)
		cs.hostRes = append(cs.hostRes, re)
	}
	for _, s := range c.PortRanges {
		pr, _ := parsePortRange(s)
		cs.ranges = append(cs.ranges, pr)
	}
	for _, s := range c.Src {
		p, _ := parseSrc(s)
		cs.src = append(cs.src, p)
	}
	for _, s := range c.UserAgents {
		re, _ := compileRegexp(s)
		cs.userAgents = append(cs.userAgents, re)
	}
	for _, name := range sortedKeys(c.Headers) {
		hc := headerCond{name: http.CanonicalHeaderKey(name)}
		for _, s := range c.Headers[name] {
			re, _ := compileRegexp(s)
			hc.res = append(hc.res, re)
		}
		cs.headers = append(cs.headers, hc)
	}
	return cs
}

// portIn reports whether port is among ports or within ranges.
func portIn(port int, ports []int, ranges []portRange) bool {
	if slices.Contains(ports, port) {
		return true
	}
	for _, r := range ranges {
		if port >= r.lo && port <= r.hi {
			return true
		}
	}
	return false
}

// methodIn reports whether method is among methods ("HTTP" is any but
// CONNECT).
func methodIn(method string, methods []string) bool {
	for _, m := range methods {
		if m == method || (m == "HTTP" && method != "CONNECT") {
			return true
		}
	}
	return false
}

// srcIn reports whether the client's address is within one of prefixes.
func srcIn(src netip.Addr, prefixes []netip.Prefix) bool {
	if !src.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// found reports whether one of res is found in one of values.
func found(values []string, res []*regexp.Regexp) bool {
	for _, v := range values {
		for _, re := range res {
			if re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// foundIn reports whether one of res is found in s.
func foundIn(s string, res []*regexp.Regexp) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// nameIn reports whether the target's name matches one of the name
// patterns (an IP-literal target matches none but "*").
func nameIn(t *Target, patterns []hostPattern) bool {
	for _, p := range patterns {
		switch p.kind {
		case patAny:
			return true
		case patExact:
			if !t.IP.IsValid() && t.Host == p.name {
				return true
			}
		case patSubdomain, patDomain:
			if t.IP.IsValid() {
				continue
			}
			h := t.Host
			if p.kind == patDomain && h == p.name {
				return true
			}
			if len(h) > len(p.name) && h[len(h)-len(p.name)-1] == '.' && h[len(h)-len(p.name):] == p.name {
				return true
			}
		}
	}
	return false
}

// all reports whether every condition given in cs holds for the request
// (a rule's own hosts are not in cs: the index has matched them).
func (cs *condSet) all(t *Target, q *request) bool {
	if len(cs.names) > 0 && !nameIn(t, cs.names) {
		return false
	}
	if len(cs.hostRes) > 0 && !foundIn(t.Host, cs.hostRes) {
		return false
	}
	if (len(cs.ports) > 0 || len(cs.ranges) > 0) && !portIn(t.Port, cs.ports, cs.ranges) {
		return false
	}
	if len(cs.schemes) > 0 && !slices.Contains(cs.schemes, t.Scheme) {
		return false
	}
	if len(cs.methods) > 0 && !methodIn(q.method, cs.methods) {
		return false
	}
	if len(cs.src) > 0 && !srcIn(q.src, cs.src) {
		return false
	}
	if len(cs.userAgents) > 0 && !found(q.header["User-Agent"], cs.userAgents) {
		return false
	}
	for _, h := range cs.headers {
		if !found(q.header[h.name], h.res) {
			return false
		}
	}
	return true
}

// none reports whether no condition given in cs holds for the request:
// each is negated on its own.
func (cs *condSet) none(t *Target, q *request) bool {
	if len(cs.names) > 0 && nameIn(t, cs.names) {
		return false
	}
	if len(cs.hostRes) > 0 && foundIn(t.Host, cs.hostRes) {
		return false
	}
	if (len(cs.ports) > 0 || len(cs.ranges) > 0) && portIn(t.Port, cs.ports, cs.ranges) {
		return false
	}
	if len(cs.schemes) > 0 && slices.Contains(cs.schemes, t.Scheme) {
		return false
	}
	if len(cs.methods) > 0 && methodIn(q.method, cs.methods) {
		return false
	}
	if len(cs.src) > 0 && srcIn(q.src, cs.src) {
		return false
	}
	if len(cs.userAgents) > 0 && found(q.header["User-Agent"], cs.userAgents) {
		return false
	}
	for _, h := range cs.headers {
		if found(q.header[h.name], h.res) {
			return false
		}
	}
	return true
}
