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
