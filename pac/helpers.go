package pac

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the PAC helper functions in Go. Each follows Netscape's
// "Navigator Proxy Auto-Config File Format" (1996) and, for the *Ex
// functions, Microsoft's "IPv6-aware proxy helper API definitions"
// (learn.microsoft.com/windows/win32/winhttp). Where the prose leaves a
// detail open, the comment says what Mozilla's and Chromium's
// implementations (which descend from Netscape's own) do and what is
// done here.

// isPlainHostName: true when host has no dot ("www" but not
// "www.netscape.com").
func isPlainHostName(host string) bool { return !strings.Contains(host, ".") }

// dnsDomainIs: true when host ends with domain, a plain string suffix
// test as in Netscape's reference code (so dnsDomainIs("www", ".netscape.com")
// is false and the comparison is case-sensitive; browsers pass the host in
// lower case).
func dnsDomainIs(host, domain string) bool { return strings.HasSuffix(host, domain) }

// localHostOrDomainIs: true when host equals hostdom, or host has no
// domain part and is the first label of hostdom.
func localHostOrDomainIs(host, hostdom string) bool {
	if host == hostdom {
		return true
	}
	return !strings.Contains(host, ".") && strings.HasPrefix(hostdom, host+".")
}

// dnsDomainLevels: the number of dots in host.
func dnsDomainLevels(host string) int { return strings.Count(host, ".") }

// shExpMatch: a shell expression match of the whole string: "*" any run
// of characters (also none), "?" exactly one character, everything else
// literal (no brackets, no escapes, as in Netscape's and Mozilla's code,
// which turn the pattern into an anchored regular expression).
func shExpMatch(str, pattern string) bool {
	s, p := []rune(str), []rune(pattern)
	// Iterative glob with single backtrack point: linear in practice and
	// never exponential.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]) && p[pi] != '*':
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ipLiteral parses host as an IP address (IPv6 possibly in brackets),
// unmapping IPv4-mapped IPv6.
func ipLiteral(host string) (netip.Addr, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(h)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// resolver is one evaluation's view of the name service: a Resolver (or
// none), the evaluation's context, a per-lookup timeout and a cache, so
// that a script asking about the same name twice asks once.
type resolver struct {
	ctx     context.Context
	r       Resolver
	timeout time.Duration
	cache   map[string][]netip.Addr
}

// maxLookups bounds the distinct names one evaluation may look up.
const maxLookups = 32

// lookup answers host's addresses (IPv4 unmapped), nil when it does not
// resolve, when there is no resolver, or past maxLookups names.
func (r *resolver) lookup(host string) []netip.Addr {
	if a, ok := ipLiteral(host); ok {
		return []netip.Addr{a}
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if r.r == nil || name == "" || checkHostName(name) != nil {
		return nil
	}
	if addrs, ok := r.cache[name]; ok {
		return addrs
	}
	if len(r.cache) >= maxLookups {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	addrs, err := r.r.LookupNetIP(ctx, "ip", name)
	var out []netip.Addr
	if err == nil {
		for _, a := range addrs {
			if a.IsValid() {
				out = append(out, a.Unmap().WithZone(""))
			}
		}
	}
	if r.cache == nil {
		r.cache = map[string][]netip.Addr{}
	}
	r.cache[name] = out
	return out
}

// dnsResolve: the first IPv4 address of host, dotted, or "" (null in the
// script) when it has none; Netscape's and Microsoft's dnsResolve are
// IPv4-only.
func (r *resolver) dnsResolve(host string) (string, bool) {
	for _, a := range r.lookup(host) {
		if a.Is4() {
			return a.String(), true
		}
	}
	return "", false
}

// dnsResolveEx: all of host's addresses, IPv6 and IPv4, ";"-separated in
// the resolver's order (Microsoft: the order of getaddrinfo), "" when it
// does not resolve.
func (r *resolver) dnsResolveEx(host string) string {
	addrs := r.lookup(host)
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ";")
}

// isResolvable: true when host has an IPv4 address (Microsoft: "the
// legacy function only returns TRUE if the host resolves to an IPv4
// address").
func (r *resolver) isResolvable(host string) bool {
	_, ok := r.dnsResolve(host)
	return ok
}

// isResolvableEx: true when host has any address, IPv6 or IPv4.
func (r *resolver) isResolvableEx(host string) bool { return len(r.lookup(host)) > 0 }

// isInNet: true when host's IPv4 address (host itself when it is an IPv4
// literal, else its dnsResolve answer) ANDed with mask equals pattern
// ANDed with mask; pattern and mask are dotted IPv4 (the mask need not be
// contiguous, as in Netscape's code). Anything unparsable is false.
func (r *resolver) isInNet(host, pattern, mask string) bool {
	p, err1 := netip.ParseAddr(pattern)
	m, err2 := netip.ParseAddr(mask)
	if err1 != nil || err2 != nil || !p.Is4() || !m.Is4() {
		return false
	}
	ip, ok := r.dnsResolve(host)
	if !ok {
		return false
	}
	h := netip.MustParseAddr(ip).As4()
	pb, mb := p.As4(), m.As4()
	for i := range 4 {
		if h[i]&mb[i] != pb[i]&mb[i] {
			return false
		}
	}
	return true
}

// isInNetEx: true when host (an address, or a name resolved with
// dnsResolveEx) has an address in prefix, "198.95.0.0/16" or
// "3ffe:8311:ffff::/48" (Microsoft's isInNetEx). A bad prefix is false.
func (r *resolver) isInNetEx(host, prefix string) bool {
	pf, err := netip.ParsePrefix(prefix)
	if err != nil {
		return false
	}
	pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-unmapBits(pf))
	for _, a := range r.lookup(host) {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// unmapBits is how many bits a prefix loses when its IPv4-mapped address
// is unmapped (96), else 0.
func unmapBits(pf netip.Prefix) int {
	if pf.Addr().Is4In6() && pf.Bits() >= 96 {
		return 96
	}
	return 0
}

// sortIpAddressList: the ";"-separated list sorted IPv6 first, then IPv4
// (Microsoft: "IPv6 addresses followed by IPv4 addresses"), each family in
// ascending address order (the order within a family is assumed; the
// doc does not say). ok is false (the script sees false) for an empty
// list or one with something that is not an address.
func sortIpAddressList(list string) (string, bool) {
	if strings.TrimSpace(list) == "" {
		return "", false
	}
	var addrs []netip.Addr
	for _, s := range strings.Split(list, ";") {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return "", false
		}
		addrs = append(addrs, a)
	}
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int {
		a6, b6 := !a.Unmap().Is4(), !b.Unmap().Is4()
		switch {
		case a6 && !b6:
			return -1
		case !a6 && b6:
			return 1
		}
		return a.Compare(b)
	})
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ";"), true
}

// Date and time helpers. Each takes its arguments as strings (what the
// script passed, converted with JavaScript's ToString) and an optional
// last "GMT", which makes it use UTC instead of local time; local time is
// the location of the clock's answer (time.Local for time.Now).

var weekdays = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

var months = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

// splitGMT removes a last "GMT" argument and picks the time to use.
func splitGMT(args []string, now time.Time) ([]string, time.Time) {
	if n := len(args); n > 0 && args[n-1] == "GMT" {
		return args[:n-1], now.UTC()
	}
	return args, now
}

// inRange is lo <= v <= hi, wrapping around when lo > hi (so FRI..MON is
// Friday, Saturday, Sunday and Monday, and 22..6 o'clock is the night).
func inRange(v, lo, hi int) bool {
	if lo <= hi {
		return lo <= v && v <= hi
	}
	return v >= lo || v <= hi
}

// weekdayRange(wd1[, wd2][, "GMT"]): wd are SUN MON TUE WED THU FRI SAT
// (upper case, as in the spec and browsers); one day is that day, two
// are an inclusive range, wrapping around the week when wd1 comes after
// wd2 (Netscape: "weekdayRange("FRI", "MON")" is true Friday through
// Monday; "order matters"). Anything else is false.
func weekdayRange(args []string, now time.Time) bool {
	args, t := splitGMT(args, now)
	if len(args) < 1 || len(args) > 2 {
		return false
	}
	d1 := slices.Index(weekdays, args[0])
	d2 := d1
	if len(args) == 2 {
		d2 = slices.Index(weekdays, args[1])
	}
	if d1 < 0 || d2 < 0 {
		return false
	}
	return inRange(int(t.Weekday()), d1, d2)
}

// dateField says which part of a date an argument of dateRange names.
type dateField int

const (
	fieldDay   dateField = iota // 1-31
	fieldMonth                  // JAN-DEC
	fieldYear                   // a four-digit year (any number >= 32)
)

type dateArg struct {
	field dateField
	value int // day 1-31, month 0-11, year
}

// classifyDateArg reads one dateRange argument: a month name, a day
// number (1-31) or a year (a number of 32 or more, as Mozilla's code
// tells a year from a day).
func classifyDateArg(s string) (dateArg, bool) {
	if m := slices.Index(months, s); m >= 0 {
		return dateArg{fieldMonth, m}, true
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil || n < 1:
		return dateArg{}, false
	case n <= 31:
		return dateArg{fieldDay, n}, true
	default:
		return dateArg{fieldYear, n}, true
	}
}

// dateKey orders a date on the given fields: year, then month, then day.
func dateKey(fields []dateArg) int {
	var y, m, d int
	for _, f := range fields {
		switch f.field {
		case fieldYear:
			y = f.value
		case fieldMonth:
			m = f.value + 1
		case fieldDay:
			d = f.value
		}
	}
	return y*10000 + m*100 + d
}

// nowFields is t restricted to the same fields as spec.
func nowFields(spec []dateArg, t time.Time) []dateArg {
	out := make([]dateArg, len(spec))
	for i, f := range spec {
		out[i].field = f.field
		switch f.field {
		case fieldYear:
			out[i].value = t.Year()
		case fieldMonth:
			out[i].value = int(t.Month()) - 1
		case fieldDay:
			out[i].value = t.Day()
		}
	}
	return out
}

// validSpec: fields strictly in the order day, month, year and not day
// with year alone, i.e. one of Netscape's forms: day, month, year,
// day month, month year, day month year.
func validSpec(spec []dateArg) bool {
	for i := 1; i < len(spec); i++ {
		if spec[i].field <= spec[i-1].field {
			return false
		}
	}
	return !(len(spec) == 2 && spec[0].field == fieldDay && spec[1].field == fieldYear)
}

func sameFields(a, b []dateArg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].field != b[i].field {
			return false
		}
	}
	return true
}

// dateRange accepts every form of Netscape's spec, with an optional last
// "GMT":
//
//	dateRange(day)                  dateRange(day1, day2)
//	dateRange(month)                dateRange(month1, month2)
//	dateRange(year)                 dateRange(year1, year2)
//	dateRange(day, month)           dateRange(day1, month1, day2, month2)
//	dateRange(month, year)          dateRange(month1, year1, month2, year2)
//	dateRange(day, month, year)     dateRange(day1, month1, year1, day2, month2, year2)
//
// A single date (one to three arguments in the order day, month, year)
// is true on that day, month or year; two dates of the same form are an
// inclusive range compared on the fields given, wrapping around the year
// (or month) when the first comes after the second and no year is given
// ("DEC", "JAN" is December and January); with years, a backwards range
// is empty. Anything else is false.
func dateRange(args []string, now time.Time) bool {
	args, t := splitGMT(args, now)
	if len(args) < 1 || len(args) > 6 {
		return false
	}
	parsed := make([]dateArg, len(args))
	for i, a := range args {
		d, ok := classifyDateArg(a)
		if !ok {
			return false
		}
		parsed[i] = d
	}
	if len(parsed) <= 3 && validSpec(parsed) {
		return dateKey(parsed) == dateKey(nowFields(parsed, t))
	}
	if len(parsed)%2 != 0 {
		return false
	}
	lo, hi := parsed[:len(parsed)/2], parsed[len(parsed)/2:]
	if !validSpec(lo) || !sameFields(lo, hi) {
		return false
	}
	v, a, b := dateKey(nowFields(lo, t)), dateKey(lo), dateKey(hi)
	if lo[len(lo)-1].field == fieldYear && a > b {
		return false
	}
	return inRange(v, a, b)
}

// timeRange accepts Netscape's forms, with an optional last "GMT":
//
//	timeRange(hour)
//	timeRange(hour1, hour2)
//	timeRange(hour1, min1, hour2, min2)
//	timeRange(hour1, min1, sec1, hour2, min2, sec2)
//
// hours 0-23, minutes and seconds 0-59. The range is inclusive at the
// precision given, as in Netscape's and Mozilla's code: timeRange(9, 17)
// is 09:00:00 to 17:59:59, timeRange(8, 30, 17, 0) 08:30:00 to 17:00:59,
// timeRange(12) the hour from noon. A range whose start comes after its
// end wraps around midnight (22, 6 is the night); Netscape's text does
// not say, this follows weekdayRange (assumed). Anything else is false.
func timeRange(args []string, now time.Time) bool {
	args, t := splitGMT(args, now)
	n := make([]int, len(args))
	for i, a := range args {
		v, err := strconv.Atoi(a)
		if err != nil || v < 0 {
			return false
		}
		n[i] = v
	}
	sec := func(h, m, s int) (int, bool) {
		return h*3600 + m*60 + s, h <= 23 && m <= 59 && s <= 59
	}
	var lo, hi int
	var ok1, ok2 bool
	switch len(n) {
	case 1:
		lo, ok1 = sec(n[0], 0, 0)
		hi, ok2 = sec(n[0], 59, 59)
	case 2:
		lo, ok1 = sec(n[0], 0, 0)
		hi, ok2 = sec(n[1], 59, 59)
	case 4:
		lo, ok1 = sec(n[0], n[1], 0)
		if n[3] > 59 {
			return false
		}
		hi, ok2 = sec(n[2], n[3], 59)
	case 6:
		lo, ok1 = sec(n[0], n[1], n[2])
		hi, ok2 = sec(n[3], n[4], n[5])
	default:
		return false
	}
	if !ok1 || !ok2 {
		return false
	}
	v := t.Hour()*3600 + t.Minute()*60 + t.Second()
	return inRange(v, lo, hi)
}
