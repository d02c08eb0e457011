package proxy

import (
	"strings"
	"testing"
)

// FuzzRuleMatch checks rule matching against arbitrary patterns and
// targets. Whatever the pattern list (one per line) and the target
// spelling, compileRules and match never panic, and a rule that fails to
// compile is reported, not half-installed. And the property the proxy's
// normalisation exists for: when the deny pattern is an exact host (a
// name or an address) and the target's spelling normalises to that same
// host, the target is denied, whatever the other rules behind it. Run it
// with go test -run '^$' -fuzz FuzzRuleMatch ./proxy.
func FuzzRuleMatch(f *testing.F) {
	for _, s := range [][3]string{
		{"blocked.example", "BLOCKED.example.", "*.example\n.blocked.example\n10.0.0.0/8"},
		{"blocked.example", "ｂｌｏｃｋｅｄ．example", "*"},
		{"blocked.example", "b\u200blocked.example", ""},
		{"10.1.2.3", "0x0a.1.0x0203", "10.0.0.0/8\n::ffff:10.0.0.0/104"},
		{"10.1.2.3", "[::ffff:10.1.2.3]", "*.x"},
		{"::1", "[0:0::1]", "::/0"},
		{"xn--bcher-kva.example", "bücher.example", "..\n*.\n/"},
		{"BLOCKED.EXAMPLE.", "blocked.example", "blocked.example\nblocked.example"},
		{"a.b", "a。b", "*.*.b\n[::1]\n1.2.3.4/33"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, deny, spelling, others string) {
		var hosts []string
		if others != "" {
			hosts = strings.Split(others, "\n")
		}
		rs, err := compileRules([]Rule{
			{Name: "deny", Hosts: []string{deny}, Action: Deny},
			{Name: "others", Hosts: hosts, Action: Allow},
		})
		denyOK := parseHostPatternOK(deny)
		if denyOK != (rs != nil && len(rs.rules) > 0 && rs.rules[0].rule.Name == "deny") {
			t.Fatalf("deny pattern %q: parses %v, but compiled rules %v (err %v)", deny, denyOK, names(rs), err)
		}
		if err == nil && len(rs.rules) != 2 {
			t.Fatalf("no error, but %d rules compiled", len(rs.rules))
		}

		host, ip, herr := normalizeHost(strings.TrimSuffix(strings.TrimPrefix(spelling, "["), "]"))
		if herr != nil {
			// Still matched without panicking, as a raw host would be.
			rs.match(Target{Host: spelling, Port: 443, Scheme: "https", Connect: true}, reqFor("CONNECT"))
			return
		}
		for _, tg := range []Target{
			{Host: host, IP: ip, Port: 443, Scheme: "https", Connect: true},
			{Host: host, IP: ip, Port: 80, Scheme: "http"},
		} {
			method := "GET"
			if tg.Connect {
				method = "CONNECT"
			}
			c := rs.match(tg, reqFor(method))
			if !denyOK || strings.HasPrefix(deny, "*") || strings.HasPrefix(deny, ".") || strings.Contains(deny, "/") {
				continue // not an exact-host pattern
			}
			dh, dip, _ := normalizeHost(deny)
			if dh != host || dip != ip {
				continue
			}
			if c == nil || c.rule.Name != "deny" || c.rule.Action != Deny {
				t.Fatalf("deny %q, spelling %q (normalised %q): matched %v, want the deny rule", deny, spelling, host, ruleName(c))
			}
		}
	})
}

func parseHostPatternOK(p string) bool {
	_, err := parseHostPattern(p)
	return err == nil
}

func names(rs *ruleSet) []string {
	if rs == nil {
		return nil
	}
	var out []string
	for _, c := range rs.rules {
		out = append(out, c.rule.Name)
	}
	return out
}

func ruleName(c *compiled) string {
	if c == nil {
		return "no rule"
	}
	return c.rule.Name
}
