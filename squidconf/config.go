package squidconf

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Pos is where an element was read: a file and a 1-based line number. For a
// directive continued over several lines (a trailing backslash) it is the
// directive's first line.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// String is "file:line".
func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Config is what a squid.conf says about access: its ACLs, its http_access
// lines in order, its auth_param schemes and its http_ports, with the
// position of every element, and every other directive it holds, listed
// as not imported. It is a faithful model of the file, not a policy: the
// translation into proxy rules is a separate step.
//
// Squid's semantics that a translation must keep (squid-cache.org/Doc/config/http_access):
// the http_access lines are tried in order and the first whose terms all
// match decides; when none matches, the answer is the opposite of the last
// line's action; with no http_access line at all Squid denies everything
// (its "DEFAULT_IF_NONE: deny all").
type Config struct {
	// File is the configuration file that was read (the top of the
	// include chain).
	File string `json:"file"`
	// ACLs are the ACLs by name, the predefined ones included.
	ACLs map[string]*ACL `json:"acls"`
	// ACLOrder is the ACLs' names in the order they were first defined,
	// the predefined ones first.
	ACLOrder []string `json:"aclOrder"`
	// Access is the http_access lines in order.
	Access []AccessLine `json:"access"`
	// AuthParams are the auth_param schemes by name ("basic", "digest",
	// "ntlm", "negotiate"), each with its parameters in order.
	AuthParams map[string]*AuthScheme `json:"authParams"`
	// AuthOrder is the schemes in the order of their first auth_param
	// line: the order Squid offers them in a 407's Proxy-Authenticate
	// headers.
	AuthOrder []string `json:"authOrder"`
	// HTTPPorts are the http_port lines in order.
	HTTPPorts []HTTPPort `json:"httpPorts"`
	// NotImported is every directive this package does not model, in
	// order, with the reason: a Squid directive outside access control,
	// one unknown to Squid, or a line Squid itself skips.
	NotImported []Directive `json:"notImported"`
	// Warnings are what Squid warns about and then ignores, which does not
	// change what the configuration means (a dstdomain value that a
	// wildcard before it already covers).
	Warnings []Directive `json:"warnings,omitempty"`
	// QuotedValues is the state of configuration_includes_quoted_values at
	// the end of the file (off by default: a quoted ACL value names a
	// file of values).
	QuotedValues bool `json:"quotedValues"`
}

// ACL is one named ACL: the values of every acl line with its name, in
// order (squid-cache.org/Doc/config/acl: "acl aclname acltype argument ...";
// several lines with the same name and type add their values to one ACL).
type ACL struct {
	Name string `json:"name"`
	// Type is the ACL type as written ("dstdomain", "ssl::server_name").
	Type string `json:"type"`
	// Values are the values in order, those read from files included.
	Values []Value `json:"values"`
	// Flags are the ACL options given on its lines ("-n",
	// "--client-requested"), in order, without repeats. The regular
	// expression flags -i and +i are not here: they are kept per value, in
	// [Value.IgnoreCase], as Squid applies them to the values after them.
	Flags []string `json:"flags,omitempty"`
	// Line is where the ACL was first defined; Lines is every acl line
	// that added to it. A predefined ACL has no position until a line of
	// the file adds to it.
	Line  Pos   `json:"line"`
	Lines []Pos `json:"lines"`
	// Predefined says Squid defines the ACL itself (all, manager,
	// localhost, to_localhost, to_linklocal, CONNECT).
	Predefined bool `json:"predefined,omitempty"`
	// Modelled says the type is one this package parses values of (see
	// [ModelledTypes]); for any other type the values are kept as text,
	// and a translation must refuse every http_access line that uses it.
	Modelled bool `json:"modelled"`
}

// Value is one value of an ACL, as Squid reads it.
type Value struct {
	// Text is the value as read (lower-cased for dstdomain and
	// ssl::server_name, as Squid compares them).
	Text string `json:"text"`
	// IgnoreCase is set for a regular expression (dstdom_regex, browser,
	// ...) or a proxy_auth user name after a -i flag, until a +i.
	IgnoreCase bool `json:"ignoreCase,omitempty"`
	// Pos is where the value was read: the acl line, or the line of a file
	// of values.
	Pos Pos `json:"pos"`
	// Addr is the parsed form of a dst or src value, nil for others.
	Addr *AddrRange `json:"addr,omitempty"`
	// Ports is the parsed form of a port value, nil for others.
	Ports *PortRange `json:"ports,omitempty"`
}

// AddrKind says what a dst or src value is.
type AddrKind string

// The kinds of address value (squid-cache.org/Doc/config/acl: "acl aclname
// src ip-address/mask ...", "addr1-addr2/mask", "all", and Squid's own
// src/acl/Ip.cc for "ipv4", "ipv6" and the spellings of "all").
const (
	// AddrAll is "all" (and its old spellings 0/0, 0.0.0.0/0, ...): every
	// address.
	AddrAll AddrKind = "all"
	// AddrIPv4 is "ipv4": every IPv4 address.
	AddrIPv4 AddrKind = "ipv4"
	// AddrIPv6 is "ipv6": the IPv6 unicast space as Squid defines it.
	AddrIPv6 AddrKind = "ipv6"
	// AddrRangeKind is an address, a prefix or a range: From..To.
	AddrRangeKind AddrKind = "range"
	// AddrName is a host name: Squid resolves it once, when it reads the
	// configuration, with the system resolver; this package does not.
	AddrName AddrKind = "name"
)

// AddrRange is a parsed dst or src value. For AddrRangeKind, From and To
// are the first and last address matched: "10.0.0.0/8" is 10.0.0.0 to
// 10.255.255.255, "10.0.0.1-10.0.0.9" those two and what lies between, and
// a range with a mask ("10.0.0.0-10.0.9.0/24") applies the mask to both
// ends as Squid does. Name is set for AddrName.
type AddrRange struct {
	Kind AddrKind   `json:"kind"`
	From netip.Addr `json:"from,omitzero"`
	To   netip.Addr `json:"to,omitzero"`
	Name string     `json:"name,omitempty"`
}

// Contains reports whether the value matches address a.
func (r AddrRange) Contains(a netip.Addr) bool {
	a = a.Unmap()
	switch r.Kind {
	case AddrAll:
		return true
	case AddrIPv4:
		return a.Is4()
	case AddrIPv6:
		if !a.Is6() {
			return false
		}
		for _, p := range ipv6Unicast {
			if p.Contains(a) {
				return true
			}
		}
		return false
	case AddrRangeKind:
		return a.BitLen() == r.From.BitLen() && a.Compare(r.From) >= 0 && a.Compare(r.To) <= 0
	}
	return false
}

// ipv6Unicast is what Squid's "ipv6" value matches (src/acl/Ip.cc).
var ipv6Unicast = []netip.Prefix{
	netip.MustParsePrefix("1000::/4"),
	netip.MustParsePrefix("2000::/3"),
	netip.MustParsePrefix("4000::/2"),
	netip.MustParsePrefix("8000::/2"),
	netip.MustParsePrefix("c000::/3"),
	netip.MustParsePrefix("e000::/4"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// PortRange is a parsed port value: "443" is 443..443, "1025-65535" is
// 1025..65535 (squid-cache.org/Doc/config/acl: "acl aclname port 80 70 21
// 0-1024 ...").
type PortRange struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Contains reports whether port p is in the range.
func (r PortRange) Contains(p int) bool { return p >= r.From && p <= r.To }

// AccessLine is one http_access line: the action and the ACL names it
// tests, all of which must match (squid-cache.org/Doc/config/http_access:
// "http_access allow|deny [!]aclname ...").
type AccessLine struct {
	Pos Pos `json:"pos"`
	// Action is "allow" or "deny".
	Action string `json:"action"`
	// Terms are the ACLs in order; every one names an ACL defined before
	// the line, as Squid requires.
	Terms []Term `json:"terms"`
}

// Term is one ACL name on an http_access line, negated by a leading "!".
type Term struct {
	Name    string `json:"name"`
	Negated bool   `json:"negated,omitempty"`
}

// String is the term as written: "!name" or "name".
func (t Term) String() string {
	if t.Negated {
		return "!" + t.Name
	}
	return t.Name
}

// AuthScheme is the auth_param lines of one scheme
// (squid-cache.org/Doc/config/auth_param: "auth_param scheme parameter
// [setting]").
type AuthScheme struct {
	// Scheme is "basic", "digest", "ntlm" or "negotiate".
	Scheme string `json:"scheme"`
	// Line is the scheme's first auth_param line.
	Line Pos `json:"line"`
	// Params are the scheme's parameters in order.
	Params []AuthParam `json:"params"`
}

// Param returns the last value given for a parameter ("realm",
// "program"), and whether there was one.
func (s *AuthScheme) Param(name string) (string, bool) {
	for i := len(s.Params) - 1; i >= 0; i-- {
		if s.Params[i].Name == name {
			return s.Params[i].Value, true
		}
	}
	return "", false
}

// AuthParam is one auth_param parameter: its name ("program", "realm",
// "children") and the rest of the line, as written.
type AuthParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Pos   Pos    `json:"pos"`
}

// HTTPPort is one http_port line (squid-cache.org/Doc/config/http_port:
// "http_port [hostname:]port [mode] [options]").
type HTTPPort struct {
	Pos Pos `json:"pos"`
	// Host is the address or name to listen on, "" for every address.
	Host string `json:"host,omitempty"`
	Port int    `json:"port"`
	// Options are the mode and options after the port, as written
	// ("intercept", "name=corp").
	Options []string `json:"options,omitempty"`
}

// Directive is a directive that is not imported, and why.
type Directive struct {
	Pos Pos `json:"pos"`
	// Name is the directive's first word.
	Name string `json:"name"`
	// Text is the whole directive, continuation lines joined.
	Text string `json:"text"`
	// Reason says why it is not imported.
	Reason string `json:"reason"`
}

// String is "file:line: text (reason)".
func (d Directive) String() string {
	return fmt.Sprintf("%s: %s (%s)", d.Pos, d.Text, d.Reason)
}
