package pac

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// evalExpr evaluates a JavaScript expression in a fresh runtime of a
// script compiled with opts, with the helpers bound, and returns what it
// exports to.
func evalExpr(t *testing.T, expr string, opts ...Option) any {
	t.Helper()
	s, err := Compile("helpers.pac", []byte(`function FindProxyForURL(url, host) { return "DIRECT"; }`), opts...)
	if err != nil {
		t.Fatal(err)
	}
	var got any
	err = s.run(context.Background(), func(rt *goja.Runtime) error {
		v, err := rt.RunString(expr)
		if err != nil {
			return err
		}
		got = v.Export()
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return got
}

type exprCase struct {
	expr string
	want any
}

func runExprs(t *testing.T, cases []exprCase, opts ...Option) {
	t.Helper()
	for _, c := range cases {
		got := evalExpr(t, c.expr, opts...)
		if n, ok := got.(int64); ok {
			got = int(n)
		}
		if got != c.want {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
	}
}

// netscapeNames are the addresses Netscape's examples assume.
func netscapeNames() *stubResolver {
	return newStub(map[string][]string{
		"home.netscape.com":   {"198.95.249.79"},
		"www.netscape.com":    {"198.95.249.79"},
		"mirror.netscape.com": {"198.95.1.2"},
		"v6only.example":      {"2001:db8::1"},
		"dual.example":        {"2001:db8::2", "192.0.2.7"},
		"intranet.corp":       {"10.1.2.3"},
	})
}

// The examples of Netscape's spec for the host-name helpers.
func TestHostnameHelpers(t *testing.T) {
	runExprs(t, []exprCase{
		{`isPlainHostName("www")`, true},
		{`isPlainHostName("www.netscape.com")`, false},
		{`dnsDomainIs("www.netscape.com", ".netscape.com")`, true},
		{`dnsDomainIs("www", ".netscape.com")`, false},
		{`dnsDomainIs("www.mcom.com", ".netscape.com")`, false},
		{`localHostOrDomainIs("www.netscape.com", "www.netscape.com")`, true},
		{`localHostOrDomainIs("www", "www.netscape.com")`, true},
		{`localHostOrDomainIs("www.mcom.com", "www.netscape.com")`, false},
		{`localHostOrDomainIs("home.netscape.com", "www.netscape.com")`, false},
		{`dnsDomainLevels("www")`, 0},
		{`dnsDomainLevels("www.netscape.com")`, 2},
		{`shExpMatch("http://home.netscape.com/people/ari/index.html", "*/ari/*")`, true},
		{`shExpMatch("http://home.netscape.com/people/montulli/index.html", "*/ari/*")`, false},
		{`shExpMatch("www.netscape.com", "*.netscape.com")`, true},
		{`shExpMatch("netscape.com", "*.netscape.com")`, false},
		{`shExpMatch("www.netscape.com", "www.netscape.co?")`, true},
		{`shExpMatch("www.netscape.co", "www.netscape.co?")`, false},
		{`shExpMatch("wwwxnetscape.com", "www.netscape.com")`, false}, // "." is literal
		{`shExpMatch("a", "[a]")`, false},                             // brackets are literal
		{`shExpMatch("[a]", "[a]")`, true},
		{`shExpMatch("", "*")`, true},
		{`shExpMatch("abc", "a*b*c*")`, true},
		{`shExpMatch("aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "a*a*a*a*a*a*a*a*a*a*c")`, false},
		{`getClientVersion()`, "1.0"},
		{`typeof alert("x")`, "undefined"},
	})
}

// The examples of Netscape's spec for the DNS helpers, with the address
// the spec gives for home.netscape.com, and Microsoft's Ex helpers.
func TestDNSHelpers(t *testing.T) {
	r := netscapeNames()
	runExprs(t, []exprCase{
		{`dnsResolve("home.netscape.com")`, "198.95.249.79"},
		{`dnsResolve("HOME.netscape.com.")`, "198.95.249.79"},
		{`dnsResolve("nowhere.example")`, nil},
		{`dnsResolve("v6only.example")`, nil},
		{`dnsResolve("dual.example")`, "192.0.2.7"},
		{`dnsResolve("192.0.2.1")`, "192.0.2.1"},
		{`isResolvable("www.netscape.com")`, true},
		{`isResolvable("bogus.domain.foobar")`, false},
		{`isResolvable("v6only.example")`, false},
		{`isResolvableEx("v6only.example")`, true},
		{`isResolvableEx("bogus.domain.foobar")`, false},
		{`isInNet("home.netscape.com", "198.95.249.79", "255.255.255.255")`, true},
		{`isInNet("mirror.netscape.com", "198.95.249.79", "255.255.255.255")`, false},
		{`isInNet("mirror.netscape.com", "198.95.0.0", "255.255.0.0")`, true},
		{`isInNet("intranet.corp", "198.95.0.0", "255.255.0.0")`, false},
		{`isInNet("10.20.30.40", "10.0.0.0", "255.0.0.0")`, true},
		{`isInNet("10.20.30.40", "10.0.0.0", "255.0.255.0")`, false},
		{`isInNet("nowhere.example", "0.0.0.0", "0.0.0.0")`, false},
		{`isInNet("10.1.1.1", "10.0.0.0", "bad")`, false},
		{`isInNet("v6only.example", "0.0.0.0", "0.0.0.0")`, false},
		{`dnsResolveEx("dual.example")`, "2001:db8::2;192.0.2.7"},
		{`dnsResolveEx("nowhere.example")`, ""},
		{`isInNetEx("home.netscape.com", "198.95.249.79/32")`, true},
		{`isInNetEx("mirror.netscape.com", "198.95.0.0/16")`, true},
		{`isInNetEx("mirror.netscape.com", "198.95.249.0/24")`, false},
		{`isInNetEx("dual.example", "2001:db8::/32")`, true},
		{`isInNetEx("3ffe:8311:ffff:f70f:0:5efe:172.30.252.42", "3ffe:8311:ffff::/48")`, true},
		{`isInNetEx("192.0.2.7", "::ffff:192.0.2.0/120")`, true},
		{`isInNetEx("dual.example", "bad")`, false},
		{`sortIpAddressList("10.2.3.9;2001:4898:28:3:201:2ff:feea:fc14;::1;127.0.0.1;::9")`,
			"::1;::9;2001:4898:28:3:201:2ff:feea:fc14;10.2.3.9;127.0.0.1"},
		{`sortIpAddressList("3ffe:8311:ffff:f70f:0:5efe:172.30.252.42;157.59.139.22;fe80::5efe:157.59.139.22")`,
			"3ffe:8311:ffff:f70f:0:5efe:ac1e:fc2a;fe80::5efe:9d3b:8b16;157.59.139.22"},
		{`sortIpAddressList("10.0.0.1;bogus")`, false},
		{`sortIpAddressList("")`, false},
		{`myIpAddress()`, "127.0.0.1"},
		{`myIpAddressEx()`, "127.0.0.1"},
	}, WithResolver(r))
	// One lookup per name per evaluation, asked with network "ip".
	r2 := netscapeNames()
	evalExpr(t, `dnsResolve("www.netscape.com") + isResolvable("www.netscape.com") + isInNet("www.netscape.com", "1.2.3.4", "0.0.0.0")`, WithResolver(r2))
	if n := r2.count("ip www.netscape.com"); n != 1 {
		t.Errorf("www.netscape.com looked up %d times in one evaluation, want 1", n)
	}

	// Without a resolver, names never resolve and literals still work.
	runExprs(t, []exprCase{
		{`dnsResolve("home.netscape.com")`, nil},
		{`isResolvable("home.netscape.com")`, false},
		{`isInNet("198.95.249.79", "198.95.0.0", "255.255.0.0")`, true},
		{`isInNetEx("2001:db8::1", "2001:db8::/32")`, true},
	})

	runExprs(t, []exprCase{
		{`myIpAddress()`, "192.0.2.10"},
		{`myIpAddressEx()`, "192.0.2.10"},
	}, WithMyIP(netip.MustParseAddr("192.0.2.10")))
	runExprs(t, []exprCase{
		{`myIpAddress()`, "127.0.0.1"},
		{`myIpAddressEx()`, "2001:db8::10"},
	}, WithMyIP(netip.MustParseAddr("2001:db8::10")))
}

// local is five hours ahead of GMT, so that local and GMT answers differ.
var local = time.FixedZone("LOCAL", 5*3600)

func at(s string) func() time.Time {
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, local)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return tm }
}

// The examples of Netscape's spec for the time helpers, each at a time
// where it holds and one where it does not, in local time and GMT.
func TestTimeHelpers(t *testing.T) {
	type tc struct {
		now  string // local time, UTC+5
		expr string
		want bool
	}
	cases := []tc{
		// 2026-12-24 is a Thursday; 12-26 a Saturday; 12-28 a Monday.
		{"2026-12-24 12:00:00", `weekdayRange("MON", "FRI")`, true},
		{"2026-12-26 12:00:00", `weekdayRange("MON", "FRI")`, false},
		{"2026-12-26 02:00:00", `weekdayRange("MON", "FRI", "GMT")`, true}, // Friday 21:00 GMT
		{"2026-12-26 12:00:00", `weekdayRange("MON", "FRI", "GMT")`, false},
		{"2026-12-26 12:00:00", `weekdayRange("SAT")`, true},
		{"2026-12-26 02:00:00", `weekdayRange("SAT", "GMT")`, false},
		{"2026-12-27 02:00:00", `weekdayRange("SAT", "GMT")`, true},
		{"2026-12-27 12:00:00", `weekdayRange("FRI", "MON")`, true},
		{"2026-12-28 12:00:00", `weekdayRange("FRI", "MON")`, true},
		{"2026-12-24 12:00:00", `weekdayRange("FRI", "MON")`, false},
		{"2026-12-24 12:00:00", `weekdayRange("mon", "fri")`, false},
		{"2026-12-24 12:00:00", `weekdayRange()`, false},

		{"2026-12-01 12:00:00", `dateRange(1)`, true},
		{"2026-12-02 12:00:00", `dateRange(1)`, false},
		{"2026-12-01 02:00:00", `dateRange(1, "GMT")`, false}, // 30 Nov GMT
		{"2026-12-01 12:00:00", `dateRange(1, "GMT")`, true},
		{"2026-12-15 12:00:00", `dateRange(1, 15)`, true},
		{"2026-12-16 12:00:00", `dateRange(1, 15)`, false},
		{"2026-12-24 12:00:00", `dateRange(24, "DEC")`, true},
		{"2026-11-24 12:00:00", `dateRange(24, "DEC")`, false},
		{"1995-12-24 12:00:00", `dateRange(24, "DEC", 1995)`, true},
		{"2026-12-24 12:00:00", `dateRange(24, "DEC", 1995)`, false},
		{"2026-02-10 12:00:00", `dateRange("JAN", "MAR")`, true},
		{"2026-04-01 12:00:00", `dateRange("JAN", "MAR")`, false},
		{"2026-06-01 00:00:00", `dateRange(1, "JUN", 15, "AUG")`, true},
		{"2026-08-15 23:59:59", `dateRange(1, "JUN", 15, "AUG")`, true},
		{"2026-08-16 00:00:00", `dateRange(1, "JUN", 15, "AUG")`, false},
		{"1995-07-04 12:00:00", `dateRange(1, "JUN", 1995, 15, "AUG", 1995)`, true},
		{"1996-07-04 12:00:00", `dateRange(1, "JUN", 1995, 15, "AUG", 1995)`, false},
		{"1996-01-10 12:00:00", `dateRange("OCT", 1995, "MAR", 1996)`, true},
		{"1996-04-10 12:00:00", `dateRange("OCT", 1995, "MAR", 1996)`, false},
		{"1995-06-10 12:00:00", `dateRange(1995)`, true},
		{"1996-06-10 12:00:00", `dateRange(1995)`, false},
		{"1996-06-10 12:00:00", `dateRange(1995, 1997)`, true},
		{"1998-01-01 00:00:00", `dateRange(1995, 1997)`, false},
		// Wrapping around the year or the month, and not with years.
		{"2026-01-10 12:00:00", `dateRange("DEC", "JAN")`, true},
		{"2026-06-10 12:00:00", `dateRange("DEC", "JAN")`, false},
		{"2026-12-30 12:00:00", `dateRange(25, 5)`, true},
		{"2026-12-10 12:00:00", `dateRange(25, 5)`, false},
		{"2026-01-03 12:00:00", `dateRange(20, "DEC", 6, "JAN")`, true},
		{"1996-06-10 12:00:00", `dateRange(1997, 1995)`, false},
		{"2026-06-10 12:00:00", `dateRange("JUN", "GMT")`, true},
		{"2026-06-10 12:00:00", `dateRange(10, 2026)`, false}, // day with year: no such form
		{"2026-06-10 12:00:00", `dateRange("XYZ")`, false},
		{"2026-06-10 12:00:00", `dateRange(1, 2, 3)`, false},

		{"2026-12-24 12:59:59", `timeRange(12)`, true},
		{"2026-12-24 13:00:00", `timeRange(12)`, false},
		{"2026-12-24 12:30:00", `timeRange(12, 13)`, true},
		{"2026-12-24 11:59:59", `timeRange(12, 13)`, false},
		{"2026-12-24 17:30:00", `timeRange(12, "GMT")`, true}, // 12:30 GMT
		{"2026-12-24 12:30:00", `timeRange(12, "GMT")`, false},
		{"2026-12-24 09:00:00", `timeRange(9, 17)`, true},
		{"2026-12-24 17:59:59", `timeRange(9, 17)`, true},
		{"2026-12-24 18:00:00", `timeRange(9, 17)`, false},
		{"2026-12-24 08:30:00", `timeRange(8, 30, 17, 00)`, true},
		{"2026-12-24 08:29:59", `timeRange(8, 30, 17, 00)`, false},
		{"2026-12-24 17:01:00", `timeRange(8, 30, 17, 00)`, false},
		{"2026-12-24 00:00:30", `timeRange(0, 0, 0, 0, 0, 30)`, true},
		{"2026-12-24 00:00:31", `timeRange(0, 0, 0, 0, 0, 30)`, false},
		{"2026-12-24 23:00:00", `timeRange(22, 6)`, true}, // wraps around midnight
		{"2026-12-24 05:00:00", `timeRange(22, 6)`, true},
		{"2026-12-24 12:00:00", `timeRange(22, 6)`, false},
		{"2026-12-24 12:00:00", `timeRange(24)`, false},
		{"2026-12-24 12:00:00", `timeRange(1, 2, 3)`, false},
		{"2026-12-24 12:00:00", `timeRange("x")`, false},
	}
	for _, c := range cases {
		got := evalExpr(t, c.expr, WithClock(at(c.now)))
		if got != c.want {
			t.Errorf("at %s (UTC+5): %s = %v, want %v", c.now, c.expr, got, c.want)
		}
	}
}

func TestScriptDateUsesClock(t *testing.T) {
	got := evalExpr(t, `new Date().getUTCFullYear()`, WithClock(at("1995-06-10 12:00:00")))
	if got != int64(1995) {
		t.Errorf("Date year = %v, want 1995", got)
	}
}
