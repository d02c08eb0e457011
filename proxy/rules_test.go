package proxy

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/tlsversion"
	"github.com/egresslab/egresslab/proxy/fault"
)

func target(t *testing.T, hostport string, connect bool) Target {
	t.Helper()
	h, p, err := splitHostPort(hostport, 80)
	require.NoError(t, err)
	host, ip, err := normalizeHost(h)
	require.NoError(t, err)
	scheme := "http"
	if connect {
		scheme = "https"
	}
	return Target{Host: host, IP: ip, Port: p, Scheme: scheme, Connect: connect}
}

func TestRuleMatching(t *testing.T) {
	t.Parallel()
	rs, err := compileRules([]Rule{
		{Name: "sspr exact", Hosts: []string{"passwordreset.microsoftonline.com"}, Ports: []int{443}, Methods: []string{"CONNECT"}, Action: Allow},
		{Name: "msauth subdomains", Hosts: []string{"*.msauth.net"}, Action: Allow},
		{Name: "digicert domain", Hosts: []string{".digicert.com"}, Methods: []string{"HTTP"}, Action: Allow},
		{Name: "lab net", Hosts: []string{"127.0.0.0/24"}, Action: Deny},
		{Name: "get only", Hosts: []string{"get.example"}, Methods: []string{"GET"}, Schemes: []string{"http"}, Action: Allow},
		{Name: "everything else", Hosts: []string{"*"}, Action: Authenticate},
	})
	require.NoError(t, err)
	tests := []struct {
		target  string
		connect bool
		method  string
		want    string
	}{
		{"passwordreset.microsoftonline.com:443", true, "CONNECT", "sspr exact"},
		{"PasswordReset.MicrosoftOnline.com.:443", true, "CONNECT", "sspr exact"},
		{"passwordreset.microsoftonline.com:8443", true, "CONNECT", "everything else"},
		{"x.passwordreset.microsoftonline.com:443", true, "CONNECT", "everything else"},
		{"aadcdn.msauth.net:443", true, "CONNECT", "msauth subdomains"},
		{"msauth.net:443", true, "CONNECT", "everything else"}, // *. is strict
		{"ocsp.digicert.com:80", false, "GET", "digicert domain"},
		{"digicert.com:80", false, "POST", "digicert domain"}, // . includes the domain
		{"ocsp.digicert.com:443", true, "CONNECT", "everything else"},
		{"127.0.0.9:443", true, "CONNECT", "lab net"},
		{"0x7f.0.0.9:443", true, "CONNECT", "lab net"},
		{"get.example:80", false, "GET", "get only"},
		{"get.example:80", false, "POST", "everything else"},
	}
	for _, tc := range tests {
		c := rs.match(target(t, tc.target, tc.connect), reqFor(tc.method))
		require.NotNil(t, c, tc.target)
		assert.Equal(t, tc.want, c.rule.Name, "%s %s", tc.method, tc.target)
	}
}

func TestFirstMatchWins(t *testing.T) {
	t.Parallel()
	rs, err := compileRules([]Rule{
		{Name: "any first", Action: Deny},
		{Name: "exact second", Hosts: []string{"a.example"}, Action: Allow},
	})
	require.NoError(t, err)
	assert.Equal(t, "any first", rs.match(target(t, "a.example:80", false), reqFor("GET")).rule.Name)

	rs, err = compileRules([]Rule{{Hosts: []string{"a.example"}, Action: Allow}})
	require.NoError(t, err)
	assert.Nil(t, rs.match(target(t, "b.example:80", false), reqFor("GET")))
	assert.Equal(t, "rule 1", rs.rules[0].rule.Name)
}

// TestMatchAddrs: a name is matched on its name and on every address it
// resolves to; the first rule wins, and its addresses are what may be
// dialled.
func TestMatchAddrs(t *testing.T) {
	t.Parallel()
	rs, err := compileRules([]Rule{
		{Name: "no loopback", Hosts: []string{"127.0.0.0/8", "::1"}, Action: Deny},
		{Name: "portal", Hosts: []string{"portal.example"}, Action: Allow},
		{Name: "lab net tls", Hosts: []string{"198.18.0.0/24", "::ffff:198.18.1.0/120"}, Ports: []int{443}, Action: Allow},
		{Name: "one host", Hosts: []string{"198.18.0.9"}, Action: Authenticate},
	})
	require.NoError(t, err)
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		target string
		addrs  []netip.Addr
		want   string // "" for no rule
		dial   []netip.Addr
	}{
		{"portal.example:443", addrs("198.18.2.1", "198.18.0.5"), "portal", addrs("198.18.2.1", "198.18.0.5")},
		{"portal.example:443", addrs("198.18.2.1", "::1"), "no loopback", addrs("::1")},
		{"other.example:443", addrs("198.18.2.1", "198.18.0.5", "198.18.1.7", "198.18.0.9"), "lab net tls", addrs("198.18.0.5", "198.18.1.7", "198.18.0.9")},
		{"other.example:80", addrs("198.18.2.1", "198.18.0.5", "198.18.0.9"), "one host", addrs("198.18.0.9")},
		{"other.example:80", addrs("198.18.2.1"), "", addrs("198.18.2.1")},
		{"rebound.example:80", addrs("127.0.0.1", "::1"), "no loopback", addrs("127.0.0.1", "::1")}, // a name answered with loopback (DNS rebinding)
	}
	for _, tc := range tests {
		tg := target(t, tc.target, false)
		byName := rs.match(tg, reqFor("GET"))
		assert.True(t, rs.needsAddrs(byName), "a rule with address patterns comes first")
		c, dial := rs.matchAddrs(tg, reqFor("GET"), byName, tc.addrs)
		name := ""
		if c != nil {
			name = c.rule.Name
		}
		assert.Equal(t, tc.want, name, "%s %v", tc.target, tc.addrs)
		assert.Equal(t, tc.dial, dial, "%s %v", tc.target, tc.addrs)
	}

	// Without address patterns, or with the name's rule first, nothing
	// needs resolving.
	rs, err = compileRules([]Rule{{Hosts: []string{"a.example"}, Action: Allow}, {Hosts: []string{"10.0.0.0/8"}, Action: Deny}})
	require.NoError(t, err)
	assert.False(t, rs.needsAddrs(rs.match(target(t, "a.example:80", false), reqFor("GET"))))
	assert.True(t, rs.needsAddrs(rs.match(target(t, "b.example:80", false), reqFor("GET"))))
	rs, err = compileRules([]Rule{{Hosts: []string{".example"}, Action: Allow}})
	require.NoError(t, err)
	assert.False(t, rs.needsAddrs(nil))
}

func TestRuleValidation(t *testing.T) {
	t.Parallel()
	_, err := compileRules([]Rule{
		{Action: Allow},
		{Hosts: []string{"bad host"}, Action: Allow},
		{Ports: []int{0}, Action: Allow},
		{Methods: []string{"get"}, Action: Allow},
		{Schemes: []string{"ftp"}, Action: Allow},
		{Action: "maybe"},
		{},
		{Action: Fault},
		{Action: Allow, Fault: &fault.Spec{Kind: fault.Reset}},
		{Hosts: []string{"10.0.0.0/33"}, Action: Deny},
		{Action: Fault, Fault: &fault.Spec{Kind: "gremlins"}},
		{Action: Allow, TLS: &TLSPolicy{Min: "1.2"}},
		{Action: Intercept, TLS: &TLSPolicy{Min: "1.5", Max: "SSLv3"}, UpstreamTLS: &TLSPolicy{Min: "1.3", Max: "1.2"}},
		{Action: Intercept, TLS: &TLSPolicy{Max: "1.1", CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-SHA"}}},
		{Action: Intercept, TLS: &TLSPolicy{Min: "TLS 1.0", Max: "tlsv1.1", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"}},
			UpstreamTLS: &TLSPolicy{Max: "1.0"}},
		{Action: Deny, UpstreamTLS: &TLSPolicy{}},
	})
	require.Error(t, err)
	for _, want := range []string{
		`rules[1]: hosts[0]: bad host pattern "bad host"`,
		"rules[2]: ports[0]: 0 is not a port",
		`rules[3]: methods[0]: "get" is not an upper-case method name`,
		`rules[4]: schemes[0]: "ftp" (want http or https)`,
		`rules[5]: action: unknown action "maybe": want one of allow, deny, authenticate, fault, intercept`,
		"rules[6]: action: required",
		"rules[7]: fault: the fault action needs one",
		"rules[8]: fault: only the fault and intercept actions take one",
		`rules[9]: hosts[0]: bad CIDR prefix "10.0.0.0/33"`,
		"rules[10]: fault:",
		"rules[11]: tls: only intercept rules speak TLS themselves",
		`rules[12]: tls.min: unknown TLS version "1.5" (want 1.0, 1.1, 1.2 or 1.3)`,
		`rules[12]: tls.max: unknown TLS version "SSLv3"`,
		"rules[12]: upstreamTLS.min: 1.3 is above max 1.2",
		"rules[13]: tls.cipherSuites[0]: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 does not work with TLS 1.0-1.1",
		"rules[13]: tls.cipherSuites[1]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite, which cannot be chosen",
		`rules[13]: tls.cipherSuites[2]: unknown cipher suite "ECDHE-RSA-AES128-SHA" (want an IANA name as crypto/tls names it`,
		"rules[15]: upstreamTLS: only intercept rules speak TLS themselves",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "rules[0]")
	assert.NotContains(t, err.Error(), "rules[14]", "version spellings as vhost reads them; Go's insecure suites are allowed")
}

// TestRuleFieldErrors: each invalid value of a rule is a *FieldError with
// the value's path, so that a scenario file can point at its line.
func TestRuleFieldErrors(t *testing.T) {
	t.Parallel()
	r := Rule{Ports: []int{0}, Action: Intercept, UpstreamTLS: &TLSPolicy{Max: "2.0", CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", " TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}}}
	err := r.Validate()
	require.Error(t, err)
	var fields []string
	for _, e := range unjoin(err) {
		var fe *FieldError
		require.ErrorAs(t, e, &fe)
		fields = append(fields, fe.Field)
	}
	assert.Equal(t, []string{"ports[0]", "upstreamTLS.max", "upstreamTLS.cipherSuites[1]"}, fields, "%v", err)
}

// TestTLSPolicySettings: what a policy gives a tls.Config.
func TestTLSPolicySettings(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		tp       *TLSPolicy
		min, max uint16
		suites   []uint16
	}{
		"default":          {nil, tls.VersionTLS10, tls.VersionTLS13, tlsversion.LegacyCipherSuites},
		"empty":            {&TLSPolicy{}, tls.VersionTLS10, tls.VersionTLS13, tlsversion.LegacyCipherSuites},
		"1.2 and up":       {&TLSPolicy{Min: "1.2"}, tls.VersionTLS12, tls.VersionTLS13, nil},
		"1.0 only":         {&TLSPolicy{Max: "1.0"}, tls.VersionTLS10, tls.VersionTLS10, tlsversion.LegacyCipherSuites},
		"chosen suites":    {&TLSPolicy{Max: "1.2", CipherSuites: []string{"TLS_RSA_WITH_AES_128_CBC_SHA"}}, tls.VersionTLS10, tls.VersionTLS12, []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}},
		"1.3 only, Go's 3": {&TLSPolicy{Min: "1.3"}, tls.VersionTLS13, tls.VersionTLS13, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := tc.tp.settings()
			require.NoError(t, err)
			var cfg tls.Config
			s.apply(&cfg)
			assert.Equal(t, tc.min, cfg.MinVersion)
			assert.Equal(t, tc.max, cfg.MaxVersion)
			assert.Equal(t, tc.suites, cfg.CipherSuites)
		})
	}
	names := CipherSuiteNames()
	assert.Contains(t, names, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA")
	assert.Contains(t, names, "TLS_RSA_WITH_AES_128_CBC_SHA", "insecure ones too")
	assert.NotContains(t, names, "TLS_AES_128_GCM_SHA256", "not the TLS 1.3 suites")
	assert.IsIncreasing(t, names)
}

// BenchmarkMatch1000Rules matches against 1,000 rules of mixed kinds; the
// index keeps it to a few map look-ups.
func BenchmarkMatch1000Rules(b *testing.B) {
	var rules []Rule
	for i := range 1000 {
		var h string
		switch i % 4 {
		case 0:
			h = fmt.Sprintf("host%d.example", i)
		case 1:
			h = fmt.Sprintf("*.sub%d.example", i)
		case 2:
			h = fmt.Sprintf(".dom%d.example", i)
		case 3:
			h = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
		}
		rules = append(rules, Rule{Hosts: []string{h}, Ports: []int{443}, Action: Allow})
	}
	rules = append(rules, Rule{Name: "last", Action: Deny})
	rs, err := compileRules(rules)
	if err != nil {
		b.Fatal(err)
	}
	targets := []Target{
		{Host: "a.b.sub997.example", Port: 443, Scheme: "https", Connect: true},
		{Host: "passwordreset.microsoftonline.com", Port: 443, Scheme: "https", Connect: true},
		{Host: "10.3.200.7", IP: netip.MustParseAddr("10.3.200.7"), Port: 443, Scheme: "https", Connect: true},
	}
	i := 0
	q := reqFor("CONNECT")
	for b.Loop() {
		if rs.match(targets[i%len(targets)], q) == nil {
			b.Fatal("no match")
		}
		i++
	}
}

// BenchmarkMatchAddrs1000Rules decides on a name with two addresses
// against the same 1,000 rules: its name, then each address.
func BenchmarkMatchAddrs1000Rules(b *testing.B) {
	var rules []Rule
	for i := range 1000 {
		h := fmt.Sprintf("host%d.example", i)
		if i%2 == 1 {
			h = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
		}
		rules = append(rules, Rule{Hosts: []string{h}, Ports: []int{443}, Action: Allow})
	}
	rs, err := compileRules(rules)
	if err != nil {
		b.Fatal(err)
	}
	t := Target{Host: "cdn.example", Port: 443, Scheme: "https", Connect: true}
	addrs := []netip.Addr{netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("10.3.201.7")}
	q := reqFor("CONNECT")
	for b.Loop() {
		byName := rs.match(t, q)
		if c, _ := rs.matchAddrs(t, q, byName, addrs); c == nil {
			b.Fatal("no match")
		}
	}
}

// reqFor is a request with method and nothing else.
func reqFor(method string) *request { return &request{method: method} }

func TestConditionValidation(t *testing.T) {
	t.Parallel()
	_, err := compileRules([]Rule{
		{PortRanges: []string{"1025-65535", "443"}, Src: []string{"10.0.0.0/8", "::ffff:10.1.2.3"}, UserAgents: []string{"(?i)^curl/"},
			Headers: map[string][]string{"X-Forwarded-For": {"^10\\."}}, Not: &Conditions{Hosts: []string{".example.com", "*"}}, Action: Allow},
		{PortRanges: []string{"2-1", "0-80", "http", "80-"}, Action: Allow},
		{Src: []string{"10.0.0.0/33", "somewhere"}, Action: Allow},
		{UserAgents: []string{"(", ""}, Action: Allow},
		{Headers: map[string][]string{"Bad Name": {"x"}, "X-Empty": nil, "X-Re": {"a)"}}, Action: Allow},
		{Not: &Conditions{Hosts: []string{"10.0.0.0/8", "192.0.2.1"}, Ports: []int{70000}, UserAgents: []string{"["}}, Action: Deny},
		{HostRegexes: []string{"*.example"}, Not: &Conditions{HostRegexes: []string{"a{2,1}"}}, Action: Deny},
		{And: []Conditions{{}, {Hosts: []string{"10.0.0.0/8"}, PortRanges: []string{"x"}}}, Action: Deny},
	})
	require.Error(t, err)
	for _, want := range []string{
		`rules[1]: portRanges[0]: "2-1": the range ends before it begins`,
		`rules[1]: portRanges[1]: "0-80": ports are 1 to 65535`,
		`rules[1]: portRanges[2]: "http": want a port range such as 1025-65535`,
		`rules[1]: portRanges[3]: "80-": want a port range`,
		`rules[2]: src[0]: bad CIDR prefix "10.0.0.0/33"`,
		`rules[2]: src[1]: bad address "somewhere"`,
		`rules[3]: userAgents[0]: bad regular expression "(": error parsing regexp: missing closing ): ` + "`(`",
		`rules[3]: userAgents[1]: empty regular expression`,
		`rules[4]: headers["Bad Name"]: "Bad Name" is not a header name`,
		`rules[4]: headers["X-Empty"]: give at least one regular expression`,
		`rules[4]: headers["X-Re"][0]: bad regular expression "a)"`,
		`rules[5]: not.hosts[0]: "10.0.0.0/8" is an address pattern, which cannot be negated`,
		`rules[5]: not.hosts[1]: "192.0.2.1" is an address pattern`,
		"rules[5]: not.ports[0]: 70000 is not a port",
		`rules[5]: not.userAgents[0]: bad regular expression "["`,
		`rules[6]: hostRegexes[0]: bad regular expression "*.example": error parsing regexp: missing argument to repetition operator`,
		`rules[6]: not.hostRegexes[0]: bad regular expression "a{2,1}"`,
		"rules[7]: and[0]: an empty term: give at least one condition",
		`rules[7]: and[1].hosts[0]: "10.0.0.0/8" is an address pattern, which an and term cannot take`,
		`rules[7]: and[1].portRanges[0]: "x": want a port range`,
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.NotContains(t, err.Error(), "rules[0]")
	var fe *FieldError
	require.ErrorAs(t, (&Rule{Src: []string{"x"}, Action: Allow}).Validate(), &fe)
	assert.Equal(t, "src[0]", fe.Field)
}

// TestConditionMatching: every new condition, positive and negated,
// against requests that differ in one thing only.
func TestConditionMatching(t *testing.T) {
	t.Parallel()
	rs, err := compileRules([]Rule{
		{Name: "ranges", Hosts: []string{"r.example"}, Ports: []int{21}, PortRanges: []string{"8000-8999"}, Action: Allow},
		{Name: "src", Hosts: []string{"s.example"}, Src: []string{"192.0.2.0/24", "2001:db8::1"}, Action: Allow},
		{Name: "ua", Hosts: []string{"u.example"}, UserAgents: []string{"CryptoAPI", "(?i)^wget"}, Action: Allow},
		{Name: "regex", HostRegexes: []string{`^cdn[0-9]+\.`, `^192\.0\.2\.`}, Action: Allow},
		{Name: "regex and name", Hosts: []string{".r2.example"}, HostRegexes: []string{`^www\.`}, Action: Deny},
		{Name: "and", Hosts: []string{".and.example"}, And: []Conditions{{Hosts: []string{"*.b.and.example", "c.and.example"}}, {PortRanges: []string{"8000-8100"}}, {Ports: []int{8080}, Src: []string{"192.0.2.0/24"}}}, Action: Deny},
		{Name: "not regex", Methods: []string{"DELETE"}, Not: &Conditions{HostRegexes: []string{`\.example$`}}, Action: Deny},
		{Name: "not names", Hosts: []string{"*"}, Methods: []string{"PUT"}, Not: &Conditions{Hosts: []string{".example.com", "*.example.org", "exact.example.net"}}, Action: Deny},
		{Name: "not methods", Not: &Conditions{Methods: []string{"HTTP"}, Schemes: []string{"http"}}, Action: Deny},
		{Name: "rest", Action: Allow},
	})
	require.NoError(t, err)
	addr := netip.MustParseAddr
	for _, tc := range []struct {
		target string
		q      request
		want   string
	}{
		{"r.example:21", request{method: "GET"}, "ranges"},
		{"r.example:8000", request{method: "GET"}, "ranges"},
		{"r.example:8999", request{method: "GET"}, "ranges"},
		{"r.example:9000", request{method: "GET"}, "rest"},
		{"s.example:80", request{method: "GET", src: addr("192.0.2.77")}, "src"},
		{"s.example:80", request{method: "GET", src: addr("2001:db8::1")}, "src"},
		{"s.example:80", request{method: "GET", src: addr("198.51.100.1")}, "rest"},
		{"s.example:80", request{method: "GET"}, "rest"},
		{"u.example:80", request{method: "GET", header: http.Header{"User-Agent": {"Microsoft-CryptoAPI/10.0"}}}, "ua"},
		{"u.example:80", request{method: "GET", header: http.Header{"User-Agent": {"WGET/1.21"}}}, "ua"},
		{"u.example:80", request{method: "GET", header: http.Header{"User-Agent": {"curl/8"}}}, "rest"},
		{"u.example:80", request{method: "GET"}, "rest"},
		{"example.com:80", request{method: "PUT"}, "rest"},
		{"a.example.com:80", request{method: "PUT"}, "rest"},
		{"example.org:80", request{method: "PUT"}, "not names"},
		{"a.example.org:80", request{method: "PUT"}, "rest"},
		{"exact.example.net:80", request{method: "PUT"}, "rest"},
		{"a.exact.example.net:80", request{method: "PUT"}, "not names"},
		{"10.1.2.3:80", request{method: "PUT"}, "not names"},
		{"a.example.com:443", request{method: "CONNECT"}, "not methods"},
		{"cdn12.example:80", request{method: "GET"}, "regex"},
		{"x.cdn12.example:80", request{method: "GET"}, "rest"},
		{"192.0.2.9:80", request{method: "GET"}, "regex"},
		{"www.r2.example:80", request{method: "GET"}, "regex and name"},
		{"ftp.r2.example:80", request{method: "GET"}, "rest"},
		{"www.r3.example:80", request{method: "GET"}, "rest"},
		{"a.example:80", request{method: "DELETE"}, "rest"},
		{"a.example.org:80", request{method: "DELETE"}, "not regex"},
		{"x.b.and.example:8080", request{method: "GET", src: addr("192.0.2.1")}, "and"},
		{"c.and.example:8080", request{method: "GET", src: addr("192.0.2.1")}, "and"},
		{"b.and.example:8080", request{method: "GET", src: addr("192.0.2.1")}, "rest"},
		{"x.b.and.example:8081", request{method: "GET", src: addr("192.0.2.1")}, "rest"},
		{"x.b.and.example:8080", request{method: "GET", src: addr("192.0.3.1")}, "rest"},
	} {
		tg := target(t, tc.target, tc.q.method == "CONNECT")
		c := rs.match(tg, &tc.q)
		require.NotNil(t, c, tc.target)
		assert.Equal(t, tc.want, c.rule.Name, "%s %+v", tc.target, tc.q)
	}
}

// BenchmarkMatchSquidRules matches against 1,000 rules as a Squid
// configuration gives them: the BenchmarkMatch1000Rules hosts behind
// "deny CONNECT !SSL_ports", "deny !Safe_ports" with a range, a src
// rule and a User-Agent exemption, so that every request meets the new
// conditions first.
func BenchmarkMatchSquidRules(b *testing.B) {
	rules := []Rule{
		{Name: "SSL_ports", Methods: []string{"CONNECT"}, Not: &Conditions{Ports: []int{443}}, Action: Deny},
		{Name: "Safe_ports", Not: &Conditions{Ports: []int{80, 443}, PortRanges: []string{"1025-65535"}}, Action: Deny},
		{Name: "CryptoAPI", Hosts: []string{".digicert.com"}, UserAgents: []string{`^Microsoft-CryptoAPI/`}, Action: Allow},
		{Name: "guests", Src: []string{"192.0.2.0/24"}, Action: Deny},
	}
	for i := range 1000 {
		var h string
		switch i % 4 {
		case 0:
			h = fmt.Sprintf("host%d.example", i)
		case 1:
			h = fmt.Sprintf("*.sub%d.example", i)
		case 2:
			h = fmt.Sprintf(".dom%d.example", i)
		case 3:
			h = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
		}
		rules = append(rules, Rule{Hosts: []string{h}, Ports: []int{443}, Action: Allow})
	}
	rules = append(rules, Rule{Name: "last", Action: Deny})
	rs, err := compileRules(rules)
	if err != nil {
		b.Fatal(err)
	}
	targets := []Target{
		{Host: "a.b.sub997.example", Port: 443, Scheme: "https", Connect: true},
		{Host: "passwordreset.microsoftonline.com", Port: 443, Scheme: "https", Connect: true},
		{Host: "10.3.200.7", IP: netip.MustParseAddr("10.3.200.7"), Port: 443, Scheme: "https", Connect: true},
	}
	q := &request{method: "CONNECT", src: netip.MustParseAddr("10.1.2.3"),
		header: http.Header{"User-Agent": {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edge/18"}}}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if rs.match(targets[i%len(targets)], q) == nil {
			b.Fatal("no match")
		}
		i++
	}
}
