package squidconf

import (
	_ "embed"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

//go:embed directives.txt
var directivesTxt string

// knownDirectives are the directive names of Squid 5.7 and 6.14
// (directives.txt, from src/cf.data.pre).
var knownDirectives = map[string]bool{}

func init() {
	for _, l := range strings.Split(directivesTxt, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			knownDirectives[l] = true
		}
	}
}

// accessDirectives are Squid directives outside this reader's model that
// can change the answer to a request as seen by a client: another access
// list, a different client address for src, a helper's decision, another
// error page or scheme list, interception, forwarding through a peer
// (squid-cache.org/Doc/config/, each by name). They are listed as not
// imported with a reason that says so.
var accessDirectives = map[string]bool{}

func init() {
	for _, d := range strings.Fields(`follow_x_forwarded_for acl_uses_indirect_client
		http_reply_access adapted_http_access miss_access ssl_bump external_acl_type
		deny_info auth_schemes authenticate_ttl authenticate_ip_ttl url_rewrite_program
		url_rewrite_access https_port always_direct never_direct cache_peer
		cache_peer_access host_verify_strict on_unsupported_protocol
		http_upgrade_request_protocols proxy_protocol_access reply_body_max_size
		request_body_max_size`) {
		accessDirectives[d] = true
	}
}

// httpAccess reads one http_access line (squid-cache.org/Doc/config/http_access;
// src/acl/Gadgets.cc, aclParseAccessLine). A line without allow or deny,
// or without ACLs, is one Squid skips (with an error in cache.log): it is
// listed as not imported. An ACL not defined before the line is an error,
// as in Squid.
func (r *reader) httpAccess(pos Pos, rest string) error {
	const d = "http_access"
	t := &tokens{s: rest, quoted: r.cfg.QuotedValues}
	act, ok, err := t.next()
	if err != nil {
		return r.wrap(pos, d, "action", err)
	}
	if !ok {
		return r.notImported(pos, d, d+" "+rest, "missing 'allow' or 'deny': Squid skips the line")
	}
	if act.text != "allow" && act.text != "deny" {
		return r.notImported(pos, d, d+" "+rest, fmt.Sprintf("expecting 'allow' or 'deny', got %q: Squid skips the line", act.text))
	}
	line := AccessLine{Pos: pos, Action: act.text}
	addTerm := func(w string, tpos Pos) error {
		term := Term{Name: w}
		if strings.HasPrefix(w, "!") {
			term = Term{Name: w[1:], Negated: true}
		}
		if _, ok := r.cfg.ACLs[term.Name]; !ok {
			return r.errorf(tpos, d, "ACL "+strconv.Quote(term.Name), "not defined before this line (Squid: ACL not found)")
		}
		line.Terms = append(line.Terms, term)
		return nil
	}
	for {
		tok, ok, err := t.next()
		if err != nil {
			return r.wrap(pos, d, "ACLs", err)
		}
		if !ok {
			break
		}
		if !tok.file {
			if err := addTerm(tok.text, pos); err != nil {
				return err
			}
			continue
		}
		path := resolve(pos.File, tok.text)
		data, err := r.readFile(path)
		if err != nil {
			return r.wrap(pos, d, "file "+strconv.Quote(tok.text), err)
		}
		lines, err := fileValues(data, r.cfg.QuotedValues)
		if err != nil {
			return r.errorf(pos, d, "file "+strconv.Quote(tok.text), "%v", err)
		}
		for _, l := range lines {
			if err := addTerm(l.text, Pos{path, l.line}); err != nil {
				return err
			}
		}
		if !r.cfg.QuotedValues && t.skip() {
			return r.errorf(pos, d, "ACLs", "ACLs after the file %q on the same line: Squid ignores them", tok.text)
		}
	}
	if len(line.Terms) == 0 {
		return r.notImported(pos, d, d+" "+rest, "no ACLs on the line: Squid skips it")
	}
	r.cfg.Access = append(r.cfg.Access, line)
	return nil
}

// authSchemes are the schemes Squid builds (Debian's squid has all four).
var authSchemes = map[string]bool{"basic": true, "digest": true, "ntlm": true, "negotiate": true}

// authParam reads one auth_param line (squid-cache.org/Doc/config/auth_param):
// the scheme, the parameter's name, and the rest of the line as its value.
func (r *reader) authParam(pos Pos, rest string) error {
	const d = "auth_param"
	t := &tokens{s: rest}
	scheme, ok, _ := t.next()
	if !ok {
		return r.errorf(pos, d, "scheme", "missing scheme")
	}
	if !authSchemes[scheme.text] {
		return r.errorf(pos, d, "scheme", "unknown authentication scheme %q (Squid knows basic, digest, ntlm, negotiate)", scheme.text)
	}
	param, ok, _ := t.next()
	if !ok {
		return r.errorf(pos, d, "parameter", "missing parameter for %s", scheme.text)
	}
	value := t.rest()
	if param.text == "program" && value == "" {
		return r.errorf(pos, d, "program", "missing helper program for %s", scheme.text)
	}
	s := r.cfg.AuthParams[scheme.text]
	if s == nil {
		s = &AuthScheme{Scheme: scheme.text, Line: pos}
		r.cfg.AuthParams[scheme.text] = s
		r.cfg.AuthOrder = append(r.cfg.AuthOrder, scheme.text)
	}
	s.Params = append(s.Params, AuthParam{Name: param.text, Value: value, Pos: pos})
	return nil
}

// httpPort reads one http_port line (squid-cache.org/Doc/config/http_port):
// "port", "host:port" or "[ipv6]:port", then the mode and options.
func (r *reader) httpPort(pos Pos, rest string) error {
	const d = "http_port"
	t := &tokens{s: rest}
	addr, ok, _ := t.next()
	if !ok {
		return r.errorf(pos, d, "port", "missing port")
	}
	p := HTTPPort{Pos: pos}
	portText := addr.text
	switch {
	case strings.HasPrefix(addr.text, "["):
		i := strings.Index(addr.text, "]:")
		if i < 0 {
			return r.errorf(pos, d, "port", "%q: want [address]:port", addr.text)
		}
		h := addr.text[1:i]
		if _, err := netip.ParseAddr(h); err != nil {
			return r.errorf(pos, d, "address", "%q is not an IPv6 address", h)
		}
		p.Host, portText = h, addr.text[i+2:]
	case strings.Contains(addr.text, ":"):
		i := strings.LastIndex(addr.text, ":")
		p.Host, portText = addr.text[:i], addr.text[i+1:]
		if p.Host == "" {
			return r.errorf(pos, d, "address", "%q: empty address before the port", addr.text)
		}
	}
	n, err := strconv.Atoi(portText)
	if err != nil || n < 1 || n > 65535 {
		return r.errorf(pos, d, "port", "%q is not a port (1-65535)", portText)
	}
	p.Port = n
	for {
		o, ok, _ := t.next()
		if !ok {
			break
		}
		p.Options = append(p.Options, o.text)
	}
	r.cfg.HTTPPorts = append(r.cfg.HTTPPorts, p)
	return nil
}
