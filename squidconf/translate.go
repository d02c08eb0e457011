package squidconf

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/egresslab/egresslab/proxy"
)

// Policy is a squid.conf's access policy as the lab's proxy runs it.
type Policy struct {
	// Schemes are the auth_param schemes the proxy offers, in Squid's
	// order, as proxy.Auth.Schemes names them ("basic", "ntlm",
	// "negotiate"); empty when the configuration has none.
	Schemes []string `json:"schemes,omitempty"`
	// Realm is the basic scheme's realm, if set.
	Realm string `json:"realm,omitempty"`
	// Rules are the http_access lines in order, then the rule for Squid's
	// implicit default (the opposite of the last line's action; deny all
	// when there is no line), named so and with Line 0. Each line is one
	// rule, named "http_access <file>:<line> <action> <acls>" with Line
	// set to its line number, except a line that authenticates before
	// further ACLs ("http_access allow authenticated sspr"): it is two
	// rules with the same Line, an authentication that goes on
	// (proxy.Continue) and the line's own test; and a last line that
	// allows with a negated proxy_auth, which is followed by the
	// challenge Squid's implicit deny answers with (proxy.Challenge).
	// Every rule that needs credentials has Auth set: the proxy then
	// needs a proxy.Auth with Schemes and the accounts (squid.conf names
	// only the helper that checks them), and a resolver when a rule has
	// address patterns (dst).
	Rules []proxy.Rule `json:"rules"`
	// NotImported lists every directive not imported, with position and
	// reason (from Config.NotImported), for the CLI to print as warnings.
	NotImported []Directive `json:"notImported,omitempty"`
}

// DefaultRuleName is the name of the rule for Squid's implicit default,
// the last of [Policy.Rules].
const DefaultRuleName = "implicit default (the opposite of the last http_access line)"

// Translate turns cfg into the lab's policy. Its error lists every
// http_access line that uses an ACL the lab cannot express, each naming
// file, line and ACL: never a silent allow. With strict, a non-empty
// NotImported is an error too.
//
// What each ACL type becomes (squid-cache.org/Doc/config/acl):
//   - dstdomain and ssl::server_name: Hosts, with Squid's leading-dot
//     semantics (".example.com" is the domain and its subdomains); a
//     value that is an IP address (matched by Squid as text against an
//     IP-literal request) turns the ACL into HostRegexes, anchored.
//     ssl::server_name matches the CONNECT host (what Squid matches
//     without SslBump); its flags (--client-requested, ...) are refused;
//   - dstdom_regex: HostRegexes, -i as (?i); the lab does no reverse
//     lookups, as -n;
//   - dst: address patterns in Hosts, matched against the addresses a
//     name resolves to, as Squid does; the lab cannot negate one or
//     intersect two on a line, which is an error; a host name as a value
//     (resolved by Squid when it reads the file) is an error;
//   - src: Src; port: PortRanges; method: Methods; browser: UserAgents,
//     -i as (?i);
//   - proto: HTTP is the http scheme; the others (FTP, ...) match no
//     request the lab's proxy serves; HTTPS (an https:// URL sent to the
//     proxy, which Squid fetches itself and the lab cannot) is an error;
//   - proxy_auth REQUIRED: authentication where Squid checks it, in the
//     line's order: the ACLs before it are tested first, then a client
//     without valid credentials gets 407; one with them goes on with the
//     line, and on to the next line when the ACL is negated
//     (proxy.Continue). A deny line whose last ACL is proxy_auth answers
//     407 instead of 403, as Squid does (proxy.Challenge), and so does
//     the implicit deny after a last line that allows and that an
//     authenticated request fails on a negated proxy_auth
//     ("http_access allow sspr !authenticated"). proxy_auth
//     with user names is an error: the lab's rules do not look at who
//     authenticated;
//   - the predefined ACLs: all, localhost, to_localhost, to_linklocal,
//     CONNECT as their types say; manager (Squid's cache manager URLs,
//     a url_regex) matches nothing, since the lab's proxy has no cache
//     manager, so "http_access deny manager" lets a path
//     /squid-internal-mgr/ through to the origin where Squid refuses it;
//   - any other type is an error for every line that uses it.
func Translate(cfg *Config, strict bool) (*Policy, error) {
	p := &Policy{NotImported: slices.Clone(cfg.NotImported)}
	var errs []error
	if strict {
		for _, d := range cfg.NotImported {
			errs = append(errs, fmt.Errorf("%s: %s: not imported (%s)", d.Pos, d.Name, d.Reason))
		}
	}
	usesAuth := false
	for _, l := range cfg.Access {
		for _, tm := range l.Terms {
			if a := cfg.ACLs[tm.Name]; a != nil && a.Type == "proxy_auth" {
				usesAuth = true
			}
		}
	}
	for _, name := range cfg.AuthOrder {
		s := cfg.AuthParams[name]
		if s == nil {
			continue
		}
		if _, ok := s.Param("program"); !ok {
			continue // Squid does not offer a scheme without its helper
		}
		switch name {
		case "basic", "ntlm", "negotiate":
			p.Schemes = append(p.Schemes, name)
		default:
			if usesAuth {
				errs = append(errs, fmt.Errorf("%s: auth_param %s: the lab's proxy does not offer the %s scheme, which Squid would offer in its 407s", s.Line, name, name))
			}
		}
		if name == "basic" {
			p.Realm, _ = s.Param("realm")
		}
	}
	if usesAuth && len(p.Schemes) == 0 {
		errs = append(errs, fmt.Errorf("%s: proxy_auth is used but no auth_param scheme (with its program) is configured", cfg.File))
	}

	t := translator{cfg: cfg, atoms: map[string]*atom{}}
	for i, l := range cfg.Access {
		rules, err := t.line(l, i == len(cfg.Access)-1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Rules = append(p.Rules, rules...)
	}
	def := proxy.Deny
	if n := len(cfg.Access); n > 0 && cfg.Access[n-1].Action == "deny" {
		def = proxy.Allow
	}
	p.Rules = append(p.Rules, proxy.Rule{Name: DefaultRuleName, Action: def})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// atom is what one ACL means to the lab's rules.
type atom struct {
	// cond is the ACL as a condition, with one field set; nothing set
	// for always, never or auth.
	cond proxy.Conditions
	// kind names the field of cond that is set.
	kind string
	// always and never: the ACL matches every request (src all), or
	// none the lab's proxy serves (proto FTP, manager).
	always, never bool
	// auth is proxy_auth REQUIRED.
	auth bool
	// addr: cond.Hosts holds address patterns (dst).
	addr bool
	err  error
}

type translator struct {
	cfg   *Config
	atoms map[string]*atom
}

func (t *translator) atom(name string) *atom {
	if a, ok := t.atoms[name]; ok {
		return a
	}
	a := &atom{}
	acl := t.cfg.ACLs[name]
	if acl == nil {
		a.err = errors.New("not defined")
	} else {
		t.fill(a, acl)
	}
	t.atoms[name] = a
	return a
}

// where names an ACL with its position for an error.
func where(acl *ACL) string {
	if acl.Predefined && acl.Line.File == "" {
		return fmt.Sprintf("acl %s (%s, predefined by Squid)", acl.Name, acl.Type)
	}
	return fmt.Sprintf("acl %s (%s, %s)", acl.Name, acl.Type, acl.Line)
}

func (t *translator) fill(a *atom, acl *ACL) {
	t.fillType(a, acl)
	if a.err == nil && !a.always && !a.never && !a.auth && emptyConds(a.cond) {
		// An ACL without values (Squid warns "empty ACL") matches
		// nothing.
		a.never = true
	}
}

func (t *translator) fillType(a *atom, acl *ACL) {
	for _, f := range acl.Flags {
		if f != "-n" {
			a.err = fmt.Errorf("the flag %s is not modelled", f)
			return
		}
	}
	if !acl.Modelled && !(acl.Predefined && acl.Name == "manager") {
		a.err = fmt.Errorf("the ACL type %s is not modelled", acl.Type)
		return
	}
	switch acl.Type {
	case "url_regex": // the predefined manager
		a.never = true
	case "dstdomain", "ssl::server_name":
		a.kind = "hosts"
		var names, res []string
		literal := false
		for _, v := range acl.Values {
			n := strings.TrimLeft(v.Text, ".")
			if ip, err := netip.ParseAddr(strings.Trim(n, "[]")); err == nil {
				literal = true
				res = append(res, "^"+regexp.QuoteMeta(ip.Unmap().String())+"$")
				continue
			}
			names = append(names, v.Text)
			if strings.HasPrefix(v.Text, ".") {
				res = append(res, `(^|\.)`+regexp.QuoteMeta(n)+"$")
			} else {
				res = append(res, "^"+regexp.QuoteMeta(n)+"$")
			}
		}
		// A value the lab's host patterns read otherwise (a number such
		// as "0000000000", which the lab reads as an address as browsers
		// do) is matched as text, as Squid does.
		if r := (proxy.Rule{Hosts: names, Action: proxy.Allow}); !literal && r.Validate() != nil {
			literal = true
		}
		if literal {
			a.kind, a.cond.HostRegexes = "hostRegexes", res
		} else {
			a.cond.Hosts = names
		}
	case "dstdom_regex":
		a.kind = "hostRegexes"
		a.cond.HostRegexes, a.err = regexes(acl)
	case "browser":
		a.kind = "userAgents"
		a.cond.UserAgents, a.err = regexes(acl)
	case "dst", "src":
		var out []string
		for _, v := range acl.Values {
			if v.Addr == nil {
				continue
			}
			switch v.Addr.Kind {
			case AddrAll:
				a.always = true
			case AddrIPv4:
				out = append(out, "0.0.0.0/0")
			case AddrIPv6:
				for _, p := range ipv6Unicast {
					out = append(out, p.String())
				}
			case AddrRangeKind:
				for _, p := range rangePrefixes(v.Addr.From, v.Addr.To) {
					out = append(out, p.String())
				}
			case AddrName:
				a.err = fmt.Errorf("the host name %s (%s), which Squid resolves once when it reads the file, cannot be kept as an address", v.Text, v.Pos)
				return
			}
		}
		switch {
		case a.always:
			a.cond = proxy.Conditions{}
		case len(out) == 0:
			a.never = true
		case acl.Type == "dst":
			a.kind, a.addr, a.cond.Hosts = "hosts", true, out
		default:
			a.kind, a.cond.Src = "src", out
		}
	case "port":
		a.kind = "ports"
		for _, v := range acl.Values {
			if v.Ports == nil {
				continue
			}
			from, to := max(v.Ports.From, 1), min(v.Ports.To, 65535)
			if from > to {
				continue // port 0: no request has it
			}
			if from == to {
				a.cond.PortRanges = append(a.cond.PortRanges, strconv.Itoa(from))
			} else {
				a.cond.PortRanges = append(a.cond.PortRanges, fmt.Sprintf("%d-%d", from, to))
			}
		}
		if len(a.cond.PortRanges) == 0 {
			a.never = true
		}
	case "method":
		a.kind = "methods"
		for _, v := range acl.Values {
			if v.Text == "" || strings.ToUpper(v.Text) != v.Text || v.Text == "HTTP" {
				a.err = fmt.Errorf("the method %q (%s) is not one the lab's rules can name (upper case)", v.Text, v.Pos)
				return
			}
			a.cond.Methods = append(a.cond.Methods, v.Text)
		}
	case "proto":
		a.kind = "schemes"
		for _, v := range acl.Values {
			switch strings.ToUpper(v.Text) {
			case "HTTP":
				if !slices.Contains(a.cond.Schemes, "http") {
					a.cond.Schemes = append(a.cond.Schemes, "http")
				}
			case "HTTPS":
				a.err = fmt.Errorf("proto HTTPS (%s): an https:// URL sent to the proxy, which Squid fetches itself; the lab's proxy only tunnels HTTPS (CONNECT, which is not proto HTTPS)", v.Pos)
				return
			}
		}
		if len(a.cond.Schemes) == 0 {
			a.never = true
		}
	case "proxy_auth":
		for _, v := range acl.Values {
			if v.Text != "REQUIRED" {
				a.err = fmt.Errorf("the user name %q (%s): the lab's rules do not look at who authenticated, only whether (proxy_auth REQUIRED)", v.Text, v.Pos)
				return
			}
		}
		a.auth = true
	default:
		a.err = fmt.Errorf("the ACL type %s is not modelled", acl.Type)
	}
}

func regexes(acl *ACL) ([]string, error) {
	var out []string
	for _, v := range acl.Values {
		re := v.Text
		if v.IgnoreCase {
			re = "(?i)" + re
		}
		if _, err := regexp.Compile(re); err != nil {
			return nil, fmt.Errorf("the regular expression %q (%s) is not one Go's RE2 reads: %v", v.Text, v.Pos, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// rangePrefixes covers from..to with CIDR prefixes.
func rangePrefixes(from, to netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for from.IsValid() && from.Compare(to) <= 0 {
		bits := from.BitLen()
		// The largest prefix that starts at from and ends at or before to.
		for bits > 0 {
			p := netip.PrefixFrom(from, bits-1).Masked()
			if p.Addr() != from || lastAddr(p).Compare(to) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(from, bits)
		out = append(out, p)
		last := lastAddr(p)
		next := last.Next()
		if !next.IsValid() || next.BitLen() != from.BitLen() {
			break
		}
		from = next
	}
	return out
}

// line translates one http_access line; last says it is the last one.
func (t *translator) line(l AccessLine, last bool) ([]proxy.Rule, error) {
	var errs []string
	type term struct {
		a   *atom
		neg bool
	}
	var terms []term
	for _, tm := range l.Terms {
		a := t.atom(tm.Name)
		if a.err != nil {
			acl := t.cfg.ACLs[tm.Name]
			what := "acl " + tm.Name
			if acl != nil {
				what = where(acl)
			}
			errs = append(errs, fmt.Sprintf("%s: %v", what, a.err))
			continue
		}
		terms = append(terms, term{a, tm.Negated})
	}
	text := strings.TrimSpace("http_access " + l.Action + " " + termsText(l.Terms))
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s: the lab cannot express %s", l.Pos, text, strings.Join(errs, "; "))
	}
	name := fmt.Sprintf("%s (%s:%d)", text, filepath.Base(l.Pos.File), l.Pos.Line)
	build := func(ts []term) (proxy.Rule, error) {
		var r proxy.Rule
		var own, not proxy.Conditions
		never := false
		for _, tm := range ts {
			a := tm.a
			if tm.neg {
				switch {
				case a.never:
					continue // always true
				case a.always:
					never = true
					continue
				case a.addr:
					return r, fmt.Errorf("%s: %s: the lab cannot negate a dst ACL (!%s): its negations take names only", l.Pos, text, t.nameOf(a))
				}
				merge(&not, a.cond)
				continue
			}
			switch {
			case a.always:
				continue
			case a.never:
				never = true
				continue
			case a.addr:
				if own.Hosts != nil && isAddr(own.Hosts) {
					return r, fmt.Errorf("%s: %s: the lab cannot intersect two dst ACLs on one line (%s)", l.Pos, text, t.nameOf(a))
				}
				if own.Hosts != nil {
					r.And = append(r.And, proxy.Conditions{Hosts: own.Hosts})
				}
				own.Hosts = a.cond.Hosts
				continue
			}
			if has(own, a.kind) {
				r.And = append(r.And, a.cond)
			} else {
				merge(&own, a.cond)
			}
		}
		r.Hosts, r.HostRegexes, r.Ports, r.PortRanges, r.Methods, r.Schemes, r.Src, r.UserAgents, r.Headers =
			own.Hosts, own.HostRegexes, own.Ports, own.PortRanges, own.Methods, own.Schemes, own.Src, own.UserAgents, own.Headers
		if never {
			// A term no request the lab's proxy serves matches: the line
			// never matches.
			not = proxy.Conditions{Hosts: []string{"*"}}
		}
		if !emptyConds(not) {
			r.Not = &not
		}
		r.Name, r.Line = name, l.Pos.Line
		return r, nil
	}

	firstAuth, negAuth := -1, false
	// pre are the ACLs before the first proxy_auth, post those after it;
	// beforeNeg those before the first negated proxy_auth.
	var pre, post, beforeNeg []term
	for i, tm := range terms {
		if tm.a.auth {
			if firstAuth < 0 {
				firstAuth = i
			}
			negAuth = negAuth || tm.neg
			continue
		}
		if !negAuth {
			beforeNeg = append(beforeNeg, tm)
		}
		if firstAuth < 0 {
			pre = append(pre, tm)
		} else {
			post = append(post, tm)
		}
	}
	action := proxy.Allow
	if l.Action == "deny" {
		action = proxy.Deny
	}
	if firstAuth < 0 {
		r, err := build(terms)
		r.Action = action
		return []proxy.Rule{r}, err
	}
	lastIsAuth := len(terms) > 0 && terms[len(terms)-1].a.auth
	if action == proxy.Deny && lastIsAuth {
		// Squid answers 407 to a request denied by a line whose last ACL
		// is proxy_auth (client_side_request.cc, aclIsProxyAuth).
		action = proxy.Challenge
	}
	first, err := build(pre)
	if err != nil {
		return nil, err
	}
	if negAuth {
		// Once authenticated, a negated proxy_auth fails: the line never
		// matches an authenticated request.
		first.Action, first.Auth = proxy.Continue, true
		first.Name += ": authentication, then the next line"
		if !last || l.Action != "allow" {
			return []proxy.Rule{first}, nil
		}
		// The last line, and it allows: an authenticated request that
		// gets as far as the negated proxy_auth falls to Squid's
		// implicit deny with that ACL the last checked, and Squid
		// answers 407 (client_side_request.cc, aclIsProxyAuth of
		// AclMatchedName), not 403.
		challenge, err := build(beforeNeg)
		if err != nil {
			return nil, err
		}
		challenge.Action, challenge.Auth = proxy.Challenge, true
		challenge.Name += ": the implicit deny after its proxy_auth, with a challenge"
		return []proxy.Rule{first, challenge}, nil
	}
	if len(post) == 0 {
		first.Action, first.Auth = action, true
		return []proxy.Rule{first}, nil
	}
	first.Action, first.Auth = proxy.Continue, true
	first.Name += ": authentication"
	second, err := build(append(slices.Clone(pre), post...))
	if err != nil {
		return nil, err
	}
	second.Action, second.Auth = action, true
	return []proxy.Rule{first, second}, nil
}

func (t *translator) nameOf(a *atom) string {
	for n, x := range t.atoms {
		if x == a {
			return n
		}
	}
	return "?"
}

func termsText(ts []Term) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, " ")
}

func isAddr(hosts []string) bool {
	for _, h := range hosts {
		if _, err := netip.ParsePrefix(h); err == nil {
			return true
		}
	}
	return false
}

// has reports whether the field kind of c is set.
func has(c proxy.Conditions, kind string) bool {
	switch kind {
	case "hosts":
		return c.Hosts != nil
	case "hostRegexes":
		return c.HostRegexes != nil
	case "ports":
		return c.Ports != nil || c.PortRanges != nil
	case "methods":
		return c.Methods != nil
	case "schemes":
		return c.Schemes != nil
	case "src":
		return c.Src != nil
	case "userAgents":
		return c.UserAgents != nil
	}
	return false
}

// merge adds b's values to a's fields: within a field values are
// alternatives, so in a Not it is the union of negated ACLs of a type
// (!a !b is !(a or b)).
func merge(a *proxy.Conditions, b proxy.Conditions) {
	a.Hosts = append(a.Hosts, b.Hosts...)
	a.HostRegexes = append(a.HostRegexes, b.HostRegexes...)
	a.Ports = append(a.Ports, b.Ports...)
	a.PortRanges = append(a.PortRanges, b.PortRanges...)
	a.Methods = append(a.Methods, b.Methods...)
	a.Schemes = append(a.Schemes, b.Schemes...)
	a.Src = append(a.Src, b.Src...)
	a.UserAgents = append(a.UserAgents, b.UserAgents...)
}

func emptyConds(c proxy.Conditions) bool {
	return len(c.Hosts) == 0 && len(c.HostRegexes) == 0 && len(c.Ports) == 0 && len(c.PortRanges) == 0 && len(c.Methods) == 0 &&
		len(c.Schemes) == 0 && len(c.Src) == 0 && len(c.UserAgents) == 0 && len(c.Headers) == 0
}
