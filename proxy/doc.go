// Package proxy is the lab's forward proxy, built on github.com/elazarl/goproxy:
// an ordered list of rules (first match wins, like Squid's http_access)
// matched on the normalised host, port, method and scheme; authentication
// with Basic, NTLM and Negotiate; per-rule faults (package proxy/fault);
// TLS interception with the lab's interception root; upstream chaining to
// a parent proxy; and a journal of every decision.
//
// Every request passes through [Proxy.ServeHTTP] first, which normalises
// the target, refuses tricks (a Host header that disagrees with the target,
// userinfo, chunked bodies), matches the rules, and answers 407 or 403
// itself on the client's kept-alive connection, so that NTLM's three legs
// share one connection. Then: CONNECT tunnels are relayed by this package
// on the splice path (io.Copy between the two TCP connections, bytes
// counted from its return values; it takes the connection itself, because
// goproxy's hijack drops bytes a client sent with its CONNECT); plain HTTP
// is forwarded by this package with a tuned transport (goproxy's handler
// cost about 15 µs of CPU a request and swallowed body errors); and
// interception is goproxy's MITM, with certificates from pki and every
// request inside checked against the tunnel's target. An intercept rule
// behaves as an inspection product does: it accepts TLS 1.0 to 1.3 from
// clients and offers the origin TLS 1.0 to 1.3, each side configurable
// ([Rule.TLS], [Rule.UpstreamTLS]); it refuses plain HTTP inside the
// tunnel, honours Connection: close, answers a failed upstream request
// with a Squid page, and ends with [Proxy.Close].
//
// Name patterns in rules match the name a client asked for; address
// patterns (IPs, CIDR prefixes) match IP-literal targets and, as Squid's
// dst does, every address a name resolves to. The proxy resolves a name
// once per request (with a [Resolver], answers cached for
// [DefaultDNSCacheTTL]) and dials only the addresses the deciding rule was
// checked against, so a name cannot be re-resolved to somewhere else
// between the check and the dial. A dialer given with [WithDialer] alone
// resolves names itself; address patterns then need [WithResolver].
//
// # The rule language and Squid's http_access
//
// A [Rule] is one http_access line: every condition it gives must hold
// (hosts, ports and port ranges, methods, schemes, the client's address,
// the User-Agent and other request headers), and each condition of its
// [Rule.Not] must fail, each on its own, as each "!acl" of a line does.
// Values within one condition are alternatives (a Squid ACL's values):
//
//	http_access deny CONNECT !SSL_ports    {methods: [CONNECT], not: {ports: [443]}, action: deny}
//	http_access deny !Safe_ports           {not: {ports: [80, 443], portRanges: ["1025-65535"]}, action: deny}
//	http_access allow localnet             {src: [10.0.0.0/8], action: allow}
//	http_access allow CryptoAPI            {userAgents: ["^Microsoft-CryptoAPI/"], action: allow}
//	http_access allow sspr_hosts           {hosts: [.microsoftonline.com], action: allow}
//	http_access deny cdn_regex             {hostRegexes: ['^cdn[0-9]+\.'], action: deny}
//	http_access allow authenticated        {action: authenticate}
//
// Two ACLs of one type on a line must both hold (Squid intersects them):
// the second goes in a term of [Rule.And], whose fields must all hold
// too. Negated ones, which must all fail, are simply joined in Not:
//
//	http_access allow sspr_hosts ms_hosts  {hosts: [...], and: [{hosts: [...]}], action: allow}
//	http_access deny !ports_a !ports_b     {not: {ports: [a..., b...]}, action: deny}
//
// Hosts in Not and in And terms are name patterns only: an address
// pattern there (Squid's "!dst") would need every name resolved before
// any rule is tried, which the index does not do; it is refused.
//
// Regular expressions ([Rule.HostRegexes], [Rule.UserAgents],
// [Rule.Headers]) are Go's RE2,
// searched in the header value as Squid's regex ACLs are (anchor with ^
// and $ to match whole); Squid's -i is "(?i)" at the start. RE2 differs
// from the POSIX extended expressions Squid compiles (regcomp with
// REG_EXTENDED): no backreferences; leftmost-first rather than
// leftmost-longest alternation (which changes what matches, not whether
// a search finds a match); \d, which POSIX leaves undefined (glibc reads
// the letter d); GNU's \< and \>, which RE2 refuses at load time;
// [[:alpha:]] classes, \w and \s work in both. A
// request without the header matches none of its expressions, so "not:
// {userAgents: [...]}" holds for it, as "!browser" does in Squid.
// Several values of one header are tried one by one (Squid joins a list
// header with commas before searching).
//
// [Rule.Src] is the client's address as the proxy's listener sees it
// (Squid's src; no ranges "a-b" yet, prefixes only). [Rule.Line] is the
// configuration line a rule came from, shown in the journal next to its
// name ([Entry.Line]).
//
// [Auth.SurrogateTTL] keeps IP surrogates: an address that has
// authenticated passes without credentials as that user until the TTL
// has run from its last authentication ([Entry.Surrogate] marks such
// requests; [WithClock] moves time in tests). [Auth.KerberosOnly] makes
// Negotiate refuse the NTLM that Windows sends inside it without a
// Kerberos ticket; Kerberos is not modelled, so nothing passes
// Negotiate there.
//
// The journal ([Proxy.Journal]) keeps the latest decisions in memory; a
// relayed tunnel is in it from its establishment, as [ResultOpen], and
// its entry is completed in place (result, duration, bytes) when it ends,
// so that [Journal.Entries] says what is under way now. The JSON-lines
// writer ([WithJournalWriter]) and the observer ([WithObserver]) get each
// decision once, final. [Proxy.Close] returns with every entry complete.
//
// Credentials are never logged or recorded: the journal holds the
// authenticated user name, never a password or an Authorization header.
package proxy
