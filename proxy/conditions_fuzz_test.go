package proxy

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzNegation checks the new conditions against their negation: for a
// rule with one condition built from the fuzzer's values (a port range,
// a src prefix, a User-Agent expression, a header expression, a name
// pattern, a host expression), either the condition and its Not form are both refused, or
// both compile and, for any request, exactly one of the two rules
// matches. Run it with go test -run '^$' -fuzz FuzzNegation ./proxy.
func FuzzNegation(f *testing.F) {
	for _, s := range []struct {
		kind          uint8
		value, header string
		port          uint16
		src           string
	}{
		{0, "1025-65535", "", 8443, "127.0.0.1"},
		{0, "443", "", 443, "127.0.0.1"},
		{0, "2-1", "", 1, ""},
		{1, "10.0.0.0/8", "", 80, "10.1.2.3"},
		{1, "::ffff:10.0.0.0/104", "", 80, "10.1.2.3"},
		{1, "2001:db8::/32", "", 80, "::ffff:10.1.2.3"},
		{2, "^Microsoft-CryptoAPI/", "Microsoft-CryptoAPI/10.0", 80, ""},
		{2, "(?i)cryptoapi", "", 80, ""},
		{3, "a)", "x", 80, ""},
		{3, "^$", "", 80, ""},
		{4, ".example.com", "", 80, ""},
		{4, "*.example.com", "", 443, ""},
		{5, `^cdn[0-9]+\.`, "", 443, ""},
	} {
		f.Add(s.kind, s.value, s.header, s.port, s.src)
	}
	f.Fuzz(func(t *testing.T, kind uint8, value, header string, port uint16, src string) {
		var c Conditions
		switch kind % 6 {
		case 0:
			c.PortRanges = []string{value}
		case 1:
			c.Src = []string{value}
		case 2:
			c.UserAgents = []string{value}
		case 3:
			c.Headers = map[string][]string{"X-Fuzz": {value}}
		case 4:
			c.Hosts = []string{value}
		case 5:
			c.HostRegexes = []string{value}
		}
		pos := Rule{Name: "pos", Hosts: c.Hosts, HostRegexes: c.HostRegexes, PortRanges: c.PortRanges, Src: c.Src, UserAgents: c.UserAgents, Headers: c.Headers, Action: Allow}
		neg := Rule{Name: "neg", Not: &c, Action: Allow}
		rsPos, errPos := compileRules([]Rule{pos})
		rsNeg, errNeg := compileRules([]Rule{neg})
		if kind%6 == 4 {
			if p, err := parseHostPattern(value); err == nil && p.kind == patPrefix {
				if errNeg == nil {
					t.Fatalf("negated address pattern %q accepted", value)
				}
				return
			}
		}
		if (errPos == nil) != (errNeg == nil) {
			t.Fatalf("%q: positive error %v, negated error %v", value, errPos, errNeg)
		}
		if errPos != nil {
			return
		}
		host := "a.example.com"
		if kind%6 == 4 || kind%6 == 5 {
			// The fuzzer's header value as the target name.
			n, ip, err := normalizeHost(header)
			if err != nil || ip.IsValid() {
				return
			}
			host = n
		}
		tg := Target{Host: host, Port: int(port), Scheme: "http"}
		q := request{method: "GET", header: http.Header{"User-Agent": {header}, "X-Fuzz": {header}}}
		if a, err := netip.ParseAddr(src); err == nil {
			q.src = a.Unmap()
		}
		if port == 0 {
			tg.Port = 1
		}
		p, n := rsPos.match(tg, &q) != nil, rsNeg.match(tg, &q) != nil
		if p == n {
			t.Fatalf("%q on %+v %+v: the condition matched %v and its negation %v", value, tg, q, p, n)
		}
	})
}
