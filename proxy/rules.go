package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/egresslab/egresslab/internal/enum"
	"github.com/egresslab/egresslab/proxy/fault"
)

// Action is what a rule does with a request it matches.
type Action string

// The actions.
const (
	// Allow forwards the request.
	Allow Action = "allow"
	// Deny answers 403 with Squid's ERR_ACCESS_DENIED.
	Deny Action = "deny"
	// Authenticate requires credentials (407 until they are valid), then
	// forwards: Allow with Auth set.
	Authenticate Action = "authenticate"
	// Fault forwards (or not) with the rule's fault.
	Fault Action = "fault"
	// Intercept terminates TLS with a certificate from the interception
	// root and forwards the requests inside, applying the rule's fault to
	// them if it has one (an antivirus that breaks downloads).
	Intercept Action = "intercept"
	// Continue requires credentials (407 until they are valid), then goes
	// on to the rules after it: the request is decided by the first later
	// rule that matches (or the default). It is what Squid does with a
	// proxy_auth ACL inside an http_access line that then does not match:
	// "http_access deny !authenticated" challenges a client without valid
	// credentials and lets an authenticated one on to the next line.
	Continue Action = "continue"
	// Challenge requires credentials, then answers 407 with the
	// challenges anyway (ERR_CACHE_ACCESS_DENIED): Squid's answer to a
	// request denied by an http_access line whose last ACL is proxy_auth
	// ("http_access deny blocked_sites authenticated"), which asks the
	// user for other credentials instead of refusing with 403.
	Challenge Action = "challenge"
)

// Rule is one line of the proxy's access list.
type Rule struct {
	// Name identifies the rule in the journal; defaults to "rule N".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Line is the line of the configuration the rule came from (a
	// squid.conf http_access line), shown in the journal; 0 for none.
	Line int `json:"line,omitempty" yaml:"line,omitempty"`
	// Hosts match the normalised target host: "example.com" exactly,
	// "*.example.com" its subdomains, ".example.com" the domain and its
	// subdomains (Squid's dstdomain), an IP address, a CIDR prefix
	// ("10.0.0.0/8"), or "*" for any host. Empty means any host. Names
	// match the name a client asked for; addresses and prefixes (address
	// patterns) match an IP-literal target and every address a name
	// resolves to, as Squid's dst does: the rule matches a name when any
	// of its addresses matches.
	Hosts []string `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	// HostRegexes match the normalised target host (Squid's
	// dstdom_regex): regular expressions (RE2) searched in the name, or
	// in the address text of an IP-literal target (no reverse lookup, as
	// Squid's -n); "(?i)" is Squid's -i, although names are lower case
	// already. With Hosts, both must hold.
	HostRegexes []string `json:"hostRegexes,omitempty" yaml:"hostRegexes,omitempty"`
	// Ports match the target port; empty means any (unless PortRanges
	// are given).
	Ports []int `json:"ports,omitempty" yaml:"ports,omitempty"`
	// PortRanges match a target port within one of them: "1025-65535"
	// (both ends included) or a single "443". Ports and PortRanges are
	// one condition (Squid's port ACL): the port must be in either.
	PortRanges []string `json:"portRanges,omitempty" yaml:"portRanges,omitempty"`
	// Methods match "CONNECT", "HTTP" (any method but CONNECT) or a method
	// name ("GET"); empty means any.
	Methods []string `json:"methods,omitempty" yaml:"methods,omitempty"`
	// Schemes match "https" (CONNECT tunnels, intercepted requests) or
	// "http"; empty means any.
	Schemes []string `json:"schemes,omitempty" yaml:"schemes,omitempty"`
	// Src match the client's address (Squid's src): an IP address or a
	// CIDR prefix ("10.0.0.0/8"); empty means any client.
	Src []string `json:"src,omitempty" yaml:"src,omitempty"`
	// UserAgents match the request's User-Agent header (Squid's browser
	// ACL): regular expressions (Go's RE2 syntax) searched in the header,
	// not matched whole; "(?i)" at the start is Squid's -i. The rule
	// holds when any of them matches; a request without the header
	// matches none.
	UserAgents []string `json:"userAgents,omitempty" yaml:"userAgents,omitempty"`
	// Headers match request headers by name (Squid's req_header): each
	// header named must have a value in which one of its regular
	// expressions is found; a request without the header does not match.
	Headers map[string][]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Not holds conditions that must each fail: the rule matches when
	// all of its own conditions hold and none of those in Not does. Each
	// field of Not is negated on its own, as each "!acl" of a Squid
	// http_access line: "http_access deny CONNECT !SSL_ports" is
	// {methods: [CONNECT], not: {ports: [443]}, action: deny}.
	Not *Conditions `json:"not,omitempty" yaml:"not,omitempty"`
	// And holds further terms, each of which must hold too, for a Squid
	// line that names two ACLs of one type (which Squid intersects):
	// "http_access allow sspr_hosts microsoft_hosts" is {hosts: [...],
	// and: [{hosts: [...]}], action: allow}.
	And []Conditions `json:"and,omitempty" yaml:"and,omitempty"`
	// Action is what to do; Authenticate is Allow with Auth; Continue and
	// Challenge require credentials whether Auth is set or not.
	Action Action `json:"action" yaml:"action"`
	// Auth requires the client to authenticate before the action applies.
	Auth bool `json:"auth,omitempty" yaml:"auth,omitempty"`
	// Fault is the fault for the Fault action, and optionally for
	// Intercept.
	Fault *fault.Spec `json:"fault,omitempty" yaml:"fault,omitempty"`
	// TLS is what an intercept rule accepts from the client (Squid's
	// https_port options). Default: TLS 1.0 to 1.3 with the ECDHE
	// suites, CBC ones included, as inspection products accept.
	TLS *TLSPolicy `json:"tls,omitempty" yaml:"tls,omitempty"`
	// UpstreamTLS is what an intercept rule offers the origin (Squid's
	// tls_outgoing_options). Default: TLS 1.0 to 1.3, so that it follows
	// whatever the origin speaks; pin it to model an appliance that
	// speaks only old TLS towards the service.
	UpstreamTLS *TLSPolicy `json:"upstreamTLS,omitempty" yaml:"upstreamTLS,omitempty"`
}

// needsAuth reports whether the rule requires credentials.
func (r *Rule) needsAuth() bool {
	return r.Auth || r.Action == Authenticate || r.Action == Continue || r.Action == Challenge
}

// FieldError is an invalid value in a [Rule] or a [TLSPolicy]: Field is
// its path in the value ("hosts[0]", "tls.min"), as in a scenario file.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldError(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}

// Validate checks a rule: nil, or each invalid value as a *FieldError,
// joined with errors.Join when there are several.
func (r *Rule) Validate() error {
	own := r.conditions()
	errs := own.validate("", false, "")
	if r.Not != nil {
		errs = append(errs, r.Not.validate("not.", true, "cannot be negated")...)
	}
	for i := range r.And {
		if r.And[i].empty() {
			errs = append(errs, fieldError(fmt.Sprintf("and[%d]", i), "an empty term: give at least one condition"))
		}
		errs = append(errs, r.And[i].validate(fmt.Sprintf("and[%d].", i), true, "an and term cannot take")...)
	}
	switch r.Action {
	case Allow, Deny, Authenticate, Continue, Challenge:
		if r.Fault != nil {
			errs = append(errs, fieldError("fault", "only the fault and intercept actions take one"))
		}
	case Fault:
		if r.Fault == nil {
			errs = append(errs, fieldError("fault", "the fault action needs one"))
		}
	case Intercept:
		if f := r.Fault; f != nil && f.Kind != fault.CloseAfter && f.Kind != fault.Latency && f.Kind != fault.Bandwidth {
			errs = append(errs, fieldError("fault", "an intercept rule shapes the responses inside the tunnel: close-after, latency or bandwidth, not %s", f.Kind))
		}
	case "":
		errs = append(errs, fieldError("action", "required (allow, deny, authenticate, fault or intercept)"))
	default:
		// Continue and Challenge are valid but not suggested: they are
		// what a squid.conf's translation needs (squidconf.Translate),
		// not what a scenario's author writes.
		errs = append(errs, fieldError("action", "unknown action %v", enum.Error(r.Action, []Action{Allow, Deny, Authenticate, Fault, Intercept})))
	}
	if r.Fault != nil {
		if err := r.Fault.Validate(); err != nil {
			errs = append(errs, &FieldError{"fault", err})
		}
	}
	for _, f := range []struct {
		name string
		tp   *TLSPolicy
	}{{"tls", r.TLS}, {"upstreamTLS", r.UpstreamTLS}} {
		if f.tp == nil {
			continue
		}
		if r.Action != Intercept {
			errs = append(errs, fieldError(f.name, "only intercept rules speak TLS themselves"))
			continue
		}
		if err := f.tp.Validate(); err != nil {
			for _, e := range unjoin(err) {
				if fe, ok := e.(*FieldError); ok {
					e = &FieldError{f.name + "." + fe.Field, fe.Err}
				} else {
					e = &FieldError{f.name, e}
				}
				errs = append(errs, e)
			}
		}
	}
	return errors.Join(errs...)
}

// unjoin returns the errors err joins, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// hostPattern is a parsed entry of Rule.Hosts.
type hostPattern struct {
	kind   patternKind
	name   string // exact name, or the suffix without its leading dot
	prefix netip.Prefix
}

type patternKind int

const (
	patAny       patternKind = iota
	patExact                 // example.com
	patSubdomain             // *.example.com
	patDomain                // .example.com: the domain and its subdomains
	patPrefix                // 10.0.0.0/8, or an address as a full-length prefix
)

func parseHostPattern(p string) (hostPattern, error) {
	switch {
	case p == "*":
		return hostPattern{kind: patAny}, nil
	case strings.Contains(p, "/"):
		pre, err := netip.ParsePrefix(p)
		if err != nil {
			return hostPattern{}, fmt.Errorf("bad CIDR prefix %q: %v", p, err)
		}
		if a := pre.Addr(); a.Is4In6() && pre.Bits() >= 96 {
			// Addresses are matched unmapped: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
			pre = netip.PrefixFrom(a.Unmap(), pre.Bits()-96)
		}
		return hostPattern{kind: patPrefix, prefix: pre.Masked()}, nil
	case strings.HasPrefix(p, "*."):
		n, _, err := normalizeHost(p[2:])
		if err != nil {
			return hostPattern{}, fmt.Errorf("bad host pattern %q: %v", p, err)
		}
		return hostPattern{kind: patSubdomain, name: n}, nil
	case strings.HasPrefix(p, "."):
		n, _, err := normalizeHost(p[1:])
		if err != nil {
			return hostPattern{}, fmt.Errorf("bad host pattern %q: %v", p, err)
		}
		return hostPattern{kind: patDomain, name: n}, nil
	}
	n, ip, err := normalizeHost(p)
	if err != nil {
		return hostPattern{}, fmt.Errorf("bad host pattern %q: %v", p, err)
	}
	if ip.IsValid() {
		return hostPattern{kind: patPrefix, prefix: netip.PrefixFrom(ip, ip.BitLen())}, nil
	}
	return hostPattern{kind: patExact, name: n}, nil
}

// compiled is one rule ready for matching.
type compiled struct {
	index    int
	rule     Rule
	ports    []int
	methods  []string
	schemes  []string
	prefixes []netip.Prefix // its address patterns
	// extra are the rule's other conditions (port ranges, with its ports
	// then, src, headers), nil when it has none, so that the common
	// rules cost nothing more to match; not is its Not, nil for none.
	extra *condSet
	not   *condSet
	and   []*condSet
}

// ruleSet is an index over the rules, so that matching costs a few map
// look-ups however many rules there are: rules by exact host, by domain
// suffix (one look-up per label), by CIDR prefix (one look-up per prefix
// length in use), and the any-host rules. The first matching rule is the
// lowest-numbered candidate that matches fully.
type ruleSet struct {
	rules    []*compiled
	exact    map[string][]*compiled       // host -> rules naming it exactly
	sub      map[string][]*compiled       // "*.d": keyed by d, for strict subdomains
	domain   map[string][]*compiled       // ".d": keyed by d, for d and subdomains
	cidr     map[netip.Prefix][]*compiled // masked prefix -> rules
	cidrBits []int                        // prefix lengths in use (IPv4 and IPv6 alike)
	anyHost  []*compiled                  // rules for any host
	// needSrc is whether a rule looks at the client's address.
	needSrc bool
	// firstAddr is the lowest-numbered rule with an address pattern, or
	// nil: a name needs resolving to be matched only if such a rule comes
	// before the rule its name matches.
	firstAddr *compiled
}

func compileRules(rules []Rule) (*ruleSet, error) {
	rs := &ruleSet{exact: map[string][]*compiled{}, sub: map[string][]*compiled{}, domain: map[string][]*compiled{}, cidr: map[netip.Prefix][]*compiled{}}
	var errs []error
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("rules[%d]: %w", i, e))
			}
			continue
		}
		if r.Name == "" {
			r.Name = fmt.Sprintf("rule %d", i+1)
		}
		c := &compiled{index: i, rule: r, ports: r.Ports, methods: r.Methods, schemes: r.Schemes}
		if len(r.HostRegexes) > 0 || len(r.PortRanges) > 0 || len(r.Src) > 0 || len(r.UserAgents) > 0 || len(r.Headers) > 0 {
			c.extra = compileConditions(Conditions{HostRegexes: r.HostRegexes, Ports: r.Ports, PortRanges: r.PortRanges, Src: r.Src, UserAgents: r.UserAgents, Headers: r.Headers}, false)
			c.ports = nil // checked with the ranges
		}
		if r.Not != nil && !r.Not.empty() {
			c.not = compileConditions(*r.Not, true)
		}
		for _, term := range r.And {
			c.and = append(c.and, compileConditions(term, true))
			if len(term.Src) > 0 {
				rs.needSrc = true
			}
		}
		if len(r.Src) > 0 || (r.Not != nil && len(r.Not.Src) > 0) {
			rs.needSrc = true
		}
		if len(r.Hosts) == 0 {
			rs.anyHost = appendOnce(rs.anyHost, c)
		}
		for _, h := range r.Hosts {
			p, _ := parseHostPattern(h)
			switch p.kind {
			case patAny:
				rs.anyHost = appendOnce(rs.anyHost, c)
			case patExact:
				rs.exact[p.name] = appendOnce(rs.exact[p.name], c)
			case patSubdomain:
				rs.sub[p.name] = appendOnce(rs.sub[p.name], c)
			case patDomain:
				rs.domain[p.name] = appendOnce(rs.domain[p.name], c)
			case patPrefix:
				rs.cidr[p.prefix] = appendOnce(rs.cidr[p.prefix], c)
				if !slices.Contains(rs.cidrBits, p.prefix.Bits()) {
					rs.cidrBits = append(rs.cidrBits, p.prefix.Bits())
				}
				c.prefixes = append(c.prefixes, p.prefix)
				if rs.firstAddr == nil {
					rs.firstAddr = c
				}
			}
		}
		rs.rules = append(rs.rules, c)
	}
	return rs, errors.Join(errs...)
}

func appendOnce(list []*compiled, c *compiled) []*compiled {
	if len(list) > 0 && list[len(list)-1] == c {
		return list
	}
	return append(list, c)
}

// match returns the first rule matching t with method, or nil: for a
// name, the first rule whose name patterns match it (see matchAddrs for
// its addresses); for an IP literal, the first whose address patterns do.
func (rs *ruleSet) match(t Target, q *request) *compiled {
	var best *compiled
	best = first(rs.exact[t.Host], best, &t, q)
	best = first(rs.domain[t.Host], best, &t, q)
	if t.IP.IsValid() {
		best = rs.matchAddr(t.IP, best, &t, q)
	} else {
		for i := 0; i < len(t.Host); i++ {
			if t.Host[i] == '.' {
				suffix := t.Host[i+1:]
				best = first(rs.sub[suffix], best, &t, q)
				best = first(rs.domain[suffix], best, &t, q)
			}
		}
	}
	return first(rs.anyHost, best, &t, q)
}

// first returns the first rule of list, which is in rule order, that
// comes before best (any rule when best is nil) and matches the rest of
// t and method; else best. It is inlined, so that the many empty lists
// of a match cost no call.
func first(list []*compiled, best *compiled, t *Target, q *request) *compiled {
	if len(list) == 0 {
		return best
	}
	return firstOf(list, best, t, q)
}

// firstOf is first for a list that is not empty.
func firstOf(list []*compiled, best *compiled, t *Target, q *request) *compiled {
	for _, c := range list {
		if best != nil && c.index >= best.index {
			break
		}
		if c.index < q.from {
			continue // a Continue rule at or after it passed the request on
		}
		if c.matchesRest(t, q) {
			return c
		}
	}
	return best
}

// matchAddr returns the first rule before best (any rule when best is
// nil) whose address patterns match ip, with the rest of t and method;
// else best.
func (rs *ruleSet) matchAddr(ip netip.Addr, best *compiled, t *Target, q *request) *compiled {
	for _, bits := range rs.cidrBits {
		if p, err := ip.Prefix(bits); err == nil {
			best = first(rs.cidr[p], best, t, q)
		}
	}
	return best
}

// needsAddrs reports whether the addresses of a name could change what
// its name matched (byName, nil for no rule): whether a rule with
// address patterns comes before it.
func (rs *ruleSet) needsAddrs(byName *compiled) bool {
	return rs.firstAddr != nil && (byName == nil || rs.firstAddr.index < byName.index)
}

// matchAddrs decides on a name target t that resolved to addrs, as
// Squid's dst does: the first rule is byName (the rule its name matched,
// or nil) unless an earlier rule matches any of addrs through its address
// patterns. It returns that rule and the addresses the proxy may dial:
// all of addrs for a rule matched by name, else those the rule matched,
// in the order of addrs (which is not modified).
func (rs *ruleSet) matchAddrs(t Target, q *request, byName *compiled, addrs []netip.Addr) (*compiled, []netip.Addr) {
	best := byName
	for _, a := range addrs {
		best = rs.matchAddr(a, best, &t, q)
	}
	if best == byName {
		return best, addrs
	}
	var via []netip.Addr
	for _, a := range addrs {
		if best.matchesAddr(a) {
			via = append(via, a)
		}
	}
	if len(via) == len(addrs) {
		return best, addrs
	}
	return best, via
}

// matchesAddr reports whether one of c's address patterns holds ip.
func (c *compiled) matchesAddr(ip netip.Addr) bool {
	for _, p := range c.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// matchesRest reports whether the request meets the rule's conditions
// other than its hosts, which the index has matched.
func (c *compiled) matchesRest(t *Target, q *request) bool {
	if len(c.ports) > 0 && !slices.Contains(c.ports, t.Port) {
		return false
	}
	if len(c.schemes) > 0 && !slices.Contains(c.schemes, t.Scheme) {
		return false
	}
	if len(c.methods) > 0 && !methodIn(q.method, c.methods) {
		return false
	}
	if c.extra != nil && !c.extra.all(t, q) {
		return false
	}
	for _, term := range c.and {
		if !term.all(t, q) {
			return false
		}
	}
	return c.not == nil || c.not.none(t, q)
}
