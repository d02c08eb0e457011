package squidconf

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// aclTypes are the ACL types Squid 5.7 and 6.14 know (the RegisterMaker
// calls of src/acl and src/auth), and the old names Squid renames.
var aclTypes = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`adaptation_service all-of annotate_client
		annotate_transaction any-of arp at_step browser ca_cert client_connection_mark
		clientside_mark connections_encrypted dst dst_as dstdom_regex dstdomain eui64
		ext_user ext_user_regex external has hier_code http_status ident ident_regex
		localip localport max_user_ip maxconn method myportname note peername
		peername_regex port proto proxy_auth proxy_auth_regex random referer_regex
		rep_header rep_mime_type req_header req_mime_type server_cert_fingerprint
		snmp_community squid_error src src_as srcdom_regex srcdomain ssl::server_name
		ssl::server_name_regex ssl_error tag time transaction_initiator url_regex
		urllogin urlpath_regex user_cert`) {
		aclTypes[t] = true
	}
}

// ModelledTypes are the ACL types whose values this package parses and
// checks: dstdomain, dstdom_regex, dst, src, port, method, proto, browser,
// proxy_auth and ssl::server_name (squid-cache.org/Doc/config/acl).
var ModelledTypes = []string{"dstdomain", "dstdom_regex", "dst", "src", "port", "method", "proto", "browser", "proxy_auth", "ssl::server_name"}

// regexTypes hold regular expressions, with the -i and +i flags
// (src/acl/RegexData.cc).
var regexTypes = map[string]bool{
	"dstdom_regex": true, "srcdom_regex": true, "url_regex": true, "urlpath_regex": true,
	"browser": true, "referer_regex": true, "urllogin": true, "peername_regex": true,
	"ident_regex": true, "proxy_auth_regex": true, "ext_user_regex": true,
	"ssl::server_name_regex": true,
}

// typeOptions are the options each modelled type accepts, by the ACL
// classes' options() and supportedFlags() in src/acl.
var typeOptions = map[string][]string{
	"dstdomain":        {"-n"},
	"dst":              {"-n"},
	"dstdom_regex":     {"-n", "-i", "+i"},
	"browser":          {"-i", "+i"},
	"proxy_auth":       {"-i", "+i"},
	"ssl::server_name": {"--client-requested", "--server-provided", "--consensus"},
	"src":              nil,
	"port":             nil,
	"method":           nil,
	"proto":            nil,
}

// protocols are Squid's protocol names for proto (src/anyp/ProtocolType.h).
var protocols = strings.Fields("NONE HTTP FTP HTTPS COAP COAPS GOPHER WAIS CACHE_OBJECT ICP HTCP URN WHOIS ICY TLS SSL AUTHORITY_FORM")

// aclNameMax is Squid's ACL_NAME_SZ less the NUL.
const aclNameMax = 63

// predefine adds the ACLs Squid defines before reading the file
// (src/cf.data.pre, NAME: acl, the DEFAULT lines; squid-cache.org/Doc/config/acl:
// "ACLs all, manager, localhost, to_localhost, to_linklocal, and CONNECT are
// predefined"; to_linklocal since Squid 6). The ssl::cert* ACLs of a Squid
// built with OpenSSL are not: Debian's squid is built with GnuTLS.
func (r *reader) predefine() {
	for _, d := range []string{
		"all src all",
		"manager url_regex -i ^cache_object:// +i ^[^:]+://[^/]+/squid-internal-mgr/",
		"localhost src 127.0.0.1/32 ::1",
		"to_localhost dst 127.0.0.0/8 0.0.0.0/32 ::1/128 ::/128",
		"to_linklocal dst 169.254.0.0/16 fe80::/10",
		"CONNECT method CONNECT",
	} {
		if strings.HasPrefix(d, "to_linklocal ") && r.o.version < 6 {
			continue
		}
		if err := r.acl(Pos{}, d); err != nil {
			panic("squidconf: predefined ACL: " + err.Error())
		}
		name := strings.Fields(d)[0]
		a := r.cfg.ACLs[name]
		a.Predefined = true
		a.Lines = nil
	}
}

// acl reads one acl line (squid-cache.org/Doc/config/acl; src/acl/Acl.cc,
// ACL::ParseAclLine).
func (r *reader) acl(pos Pos, rest string) error {
	const d = "acl"
	t := &tokens{s: rest, quoted: r.cfg.QuotedValues}
	nameTok, ok, err := t.next()
	if err != nil {
		return r.wrap(pos, d, "name", err)
	}
	if !ok {
		return r.errorf(pos, d, "name", "missing ACL name")
	}
	name := nameTok.text
	if len(name) > aclNameMax {
		return r.errorf(pos, d, "name", "ACL name %q longer than %d characters", name, aclNameMax)
	}
	typTok, ok, err := t.next()
	if err != nil {
		return r.wrap(pos, d, "type", err)
	}
	if !ok {
		return r.errorf(pos, d, "type", "missing ACL type for %q", name)
	}
	typ := typTok.text
	switch {
	case typ == "myip":
		typ = "localip"
	case typ == "myport":
		typ = "localport"
	case typ == "clientside_mark":
		typ = "client_connection_mark"
	case typ == "proto" && name == "manager":
		return r.notImported(pos, d, "acl "+rest, "Squid ignores it: ACL 'manager' is built in")
	}
	if !aclTypes[typ] {
		return r.errorf(pos, d, "type", "invalid ACL type %q", typ)
	}
	a := r.cfg.ACLs[name]
	if a == nil {
		a = &ACL{Name: name, Type: typ, Line: pos, Modelled: slices.Contains(ModelledTypes, typ)}
		if typ == "proxy_auth" || typ == "proxy_auth_regex" || typ == "max_user_ip" {
			if !r.authConfigured() {
				return r.errorf(pos, d, "type", "%s needs an auth_param scheme with a program configured before this line (Squid refuses it)", typ)
			}
		}
	} else if a.Type != typ {
		where := "predefined by Squid"
		if len(a.Lines) > 0 {
			where = "defined at " + a.Lines[0].String()
		}
		return r.errorf(pos, d, "type", "ACL %q is %s (%s), not %s: the lines of one ACL must agree on its type", name, a.Type, where, typ)
	}
	flags, err := r.aclOptions(t, typ)
	if err != nil {
		return r.wrap(pos, d, "options", err)
	}
	values, err := r.aclValues(pos, t, name, typ, flags)
	if err != nil {
		return err
	}
	if r.cfg.ACLs[name] == nil {
		r.cfg.ACLs[name] = a
		r.cfg.ACLOrder = append(r.cfg.ACLOrder, name)
		if len(values) == 0 && pos != (Pos{}) {
			r.cfg.Warnings = append(r.cfg.Warnings, Directive{Pos: pos, Name: d, Text: "acl " + rest,
				Reason: "empty ACL: Squid warns; it matches nothing until a later line adds values"})
		}
	}
	if a.Line == (Pos{}) {
		a.Line = pos
	}
	a.Lines = append(a.Lines, pos)
	for _, f := range flags {
		if f != "-i" && f != "+i" && !slices.Contains(a.Flags, f) {
			a.Flags = append(a.Flags, f)
		}
	}
	a.Values = append(a.Values, values...)
	return nil
}

// aclOptions reads the options at the start of the values
// (src/acl/Options.cc): words starting with '-' or '+' until "--" or the
// first other word; "-abc" is -a -b -c.
func (r *reader) aclOptions(t *tokens, typ string) ([]string, error) {
	allowed, modelled := typeOptions[typ]
	if !modelled && regexTypes[typ] {
		allowed, modelled = []string{"-i", "+i"}, true
	}
	var out []string
	for {
		w := t.peek()
		if w == "" || (w[0] != '-' && w[0] != '+') {
			return out, nil
		}
		t.next()
		if w == "--" {
			return out, nil
		}
		base, _, _ := strings.Cut(w, "=")
		if len(base) < 2 {
			return nil, fmt.Errorf("truncated ACL flag %q", w)
		}
		var names []string
		switch {
		case strings.HasPrefix(w, "--") || len(base) == 2:
			names = []string{w}
		default:
			for _, c := range base[1:] {
				names = append(names, string(w[0])+string(c))
			}
			if len(base) < len(w) {
				names[len(names)-1] += w[len(base):]
			}
		}
		for _, n := range names {
			nb, _, _ := strings.Cut(n, "=")
			if modelled && !slices.Contains(allowed, nb) {
				return nil, fmt.Errorf("unsupported option %q for %s", n, typ)
			}
			out = append(out, n)
		}
	}
}

// aclValues reads the values of one acl line, with those of the files it
// names.
func (r *reader) aclValues(pos Pos, t *tokens, name, typ string, flags []string) ([]Value, error) {
	const d = "acl"
	regex := regexTypes[typ]
	ignoreCase := false
	for _, f := range flags {
		switch f {
		case "-i":
			ignoreCase = true
		case "+i":
			ignoreCase = false
		}
	}
	var out []Value
	add := func(text string, vpos Pos) error {
		if regex || typ == "proxy_auth" {
			switch text {
			case "-i":
				ignoreCase = true
				return nil
			case "+i":
				ignoreCase = false
				return nil
			}
		}
		v, err := parseValue(typ, text, ignoreCase)
		if err != nil {
			return r.wrap(vpos, d, "value "+strconv.Quote(text), err)
		}
		v.Pos = vpos
		if _, mask, ok := strings.Cut(text, "/"); ok && strings.Contains(mask, ".") && (typ == "dst" || typ == "src") {
			r.cfg.Warnings = append(r.cfg.Warnings, Directive{Pos: vpos, Name: d, Text: text,
				Reason: "netmasks are deprecated (Squid warns): use a prefix length"})
		}
		if typ == "dstdomain" || typ == "ssl::server_name" {
			ix := r.domains[name]
			if ix == nil {
				ix = &domainIndex{}
				r.domains[name] = ix
			}
			warn, err := ix.add(v)
			if err != nil {
				return r.wrap(vpos, d, "value "+strconv.Quote(text), err)
			}
			if warn != "" {
				r.cfg.Warnings = append(r.cfg.Warnings, Directive{Pos: vpos, Name: d, Text: text, Reason: warn})
			}
		}
		out = append(out, v)
		return nil
	}
	for {
		var (
			tok token
			ok  bool
			err error
		)
		if regex {
			tok, ok, err = t.nextRegex()
		} else {
			tok, ok, err = t.next()
		}
		if err != nil {
			return nil, r.wrap(pos, d, "values", err)
		}
		if !ok {
			return out, nil
		}
		if !tok.file {
			if err := add(tok.text, pos); err != nil {
				return nil, err
			}
			continue
		}
		path := resolve(pos.File, tok.text)
		data, err := r.readFile(path)
		if err != nil {
			return nil, r.wrap(pos, d, "file "+strconv.Quote(tok.text), err)
		}
		lines, err := fileValues(data, r.cfg.QuotedValues)
		if err != nil {
			return nil, r.errorf(pos, d, "file "+strconv.Quote(tok.text), "%v", err)
		}
		for _, l := range lines {
			if err := add(l.text, Pos{File: path, Line: l.line}); err != nil {
				return nil, err
			}
		}
		if !r.cfg.QuotedValues && t.skip() {
			return nil, r.errorf(pos, d, "values", "values after the file %q on the same line: Squid ignores them (put them on an acl line of their own)", tok.text)
		}
	}
}

// parseValue checks and parses one value of a modelled type; a value of
// another type is kept as text.
func parseValue(typ, text string, ignoreCase bool) (Value, error) {
	v := Value{Text: text}
	switch {
	case regexTypes[typ]:
		v.IgnoreCase = ignoreCase
		if _, err := regexp.CompilePOSIX(text); err != nil {
			return v, fmt.Errorf("not a POSIX extended regular expression that Go compiles (Squid would skip it): %v", err)
		}
	case typ == "dstdomain" || typ == "ssl::server_name":
		v.Text = strings.ToLower(text)
	case typ == "dst" || typ == "src":
		a, err := parseAddr(text)
		if err != nil {
			return v, err
		}
		v.Addr = &a
	case typ == "port":
		p, err := parsePorts(text)
		if err != nil {
			return v, err
		}
		v.Ports = &p
	case typ == "proto":
		i := slices.IndexFunc(protocols, func(p string) bool { return strings.EqualFold(p, text) })
		if i < 0 {
			return v, fmt.Errorf("unknown protocol (Squid ignores it with a warning); Squid knows %s", strings.Join(protocols, " "))
		}
		v.Text = protocols[i]
	case typ == "proxy_auth":
		v.IgnoreCase = ignoreCase
	}
	return v, nil
}

// parsePorts reads "N" or "N-M" (src/acl/IntRange.cc).
func parsePorts(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 0 || a > 65535 {
		return PortRange{}, fmt.Errorf("not a port (0-65535) or port range (1025-65535)")
	}
	b := a
	if isRange {
		b, err = strconv.Atoi(hi)
		if err != nil || b < 0 || b > 65535 {
			return PortRange{}, fmt.Errorf("not a port range (1025-65535)")
		}
	}
	if b < a {
		return PortRange{}, fmt.Errorf("port range ends before it starts")
	}
	return PortRange{From: a, To: b}, nil
}

// parseAddr reads a dst or src value as src/acl/Ip.cc's FactoryParse does:
// "all" and its old spellings, "ipv4", "ipv6", addr, addr/bits,
// addr/dotted-mask, addr1-addr2, addr1-addr2/mask, or a host name. The
// mask applies to both ends of a range, and an address with host bits set
// under its mask is taken as its network, as in Squid.
func parseAddr(s string) (AddrRange, error) {
	switch s {
	case "all", "0/0", "0.0.0.0/0", "0.0.0.0/0.0.0.0", "0.0.0.0-255.255.255.255", "0.0.0.0-0.0.0.0/0":
		return AddrRange{Kind: AddrAll}, nil
	case "ipv4":
		return AddrRange{Kind: AddrIPv4}, nil
	case "ipv6":
		return AddrRange{Kind: AddrIPv6}, nil
	}
	body, mask, hasMask := strings.Cut(s, "/")
	a1, a2, isRange := strings.Cut(body, "-")
	from, err := netip.ParseAddr(a1)
	if err != nil || from.Zone() != "" {
		if !hasMask && !isRange && validHostName(s) {
			return AddrRange{Kind: AddrName, Name: strings.ToLower(s)}, nil
		}
		return AddrRange{}, fmt.Errorf("not an address, prefix, range or host name")
	}
	from = from.Unmap()
	to := from
	if isRange {
		to, err = netip.ParseAddr(a2)
		if err != nil || to.Zone() != "" {
			return AddrRange{}, fmt.Errorf("range end %q is not an address", a2)
		}
		to = to.Unmap()
		if to.BitLen() != from.BitLen() {
			return AddrRange{}, fmt.Errorf("range mixes IPv4 and IPv6")
		}
	}
	bits := from.BitLen()
	if hasMask {
		bits, err = parseMask(mask, from.Is4())
		if err != nil {
			return AddrRange{}, err
		}
	}
	lo := netip.PrefixFrom(from, bits).Masked().Addr()
	hi := lastAddr(netip.PrefixFrom(to, bits).Masked())
	if hi.Less(lo) {
		return AddrRange{}, fmt.Errorf("range ends before it starts")
	}
	return AddrRange{Kind: AddrRangeKind, From: lo, To: hi}, nil
}

// parseMask reads a mask: a bit count, or for IPv4 a dotted mask whose
// ones are contiguous.
func parseMask(m string, v4 bool) (int, error) {
	max := 128
	if v4 {
		max = 32
	}
	if n, err := strconv.Atoi(m); err == nil && !strings.HasPrefix(m, "+") && !strings.HasPrefix(m, "-") {
		if n < 0 || n > max {
			return 0, fmt.Errorf("mask /%s out of range 0-%d", m, max)
		}
		return n, nil
	}
	if !v4 {
		return 0, fmt.Errorf("IPv6 mask %q is not a bit count", m)
	}
	a, err := netip.ParseAddr(m)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("mask %q is neither a bit count nor a dotted mask", m)
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("mask %q has non-contiguous bits, which this reader does not model", m)
	}
	return n, nil
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	if !p.IsValid() {
		return p.Addr()
	}
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// validHostName accepts a DNS name of letters, digits, '-', '_' and dots
// whose last label is not all digits (10.0.0.300 is a wrong address, not
// a name).
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// authConfigured reports whether an auth_param scheme has a program, which
// Squid needs before a proxy_auth ACL (src/auth/Acl.cc: "no authentication
// schemes are fully configured").
func (r *reader) authConfigured() bool {
	for _, s := range r.cfg.AuthParams {
		if _, ok := s.Param("program"); ok {
			return true
		}
	}
	return false
}
