package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Resolver answers a name with its addresses, as [net.Resolver.LookupNetIP]
// does (a *net.Resolver is one): network is "ip", host a lower-case ASCII
// name without a trailing dot. An error that is not a *net.DNSError is
// reported as one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DefaultDNSCacheTTL is how long the proxy keeps a name's addresses
// unless WithDNSCache says otherwise.
const DefaultDNSCacheTTL = 30 * time.Second

// WithResolver sets how the proxy resolves the names of targets: it asks
// r once per request (or its cache, see WithDNSCache), decides on the
// name and on every address (Squid's dst: an address pattern matches a
// name when any of its addresses matches), and then dials only the
// addresses that led to the rule, "ip:port", in r's order, the next when
// one fails. A failed lookup is Squid's ERR_DNS_FAIL (503, journaled as
// upstream-error); an answer with an address that names no single host
// or hides an IPv4 address (0.0.0.0/8, ::, 6to4, Teredo, local-use
// NAT64) is refused with 403 (journaled as denied). Without WithResolver
// and WithDialer the proxy uses net.DefaultResolver; WithDialer without
// WithResolver makes the dialer resolve names instead (see WithDialer).
func WithResolver(r Resolver) Option {
	return func(p *Proxy) error {
		if r == nil {
			return errors.New("nil resolver")
		}
		p.resolver = r
		return nil
	}
}

// WithDNSCache sets how long the proxy keeps the addresses of a name it
// resolved (default DefaultDNSCacheTTL; 0 asks the resolver every time).
// Failed lookups are never kept. The cache holds at most 4,096 names. It
// is safe because what is dialled is always the answer the rules were
// checked against, cached or not.
func WithDNSCache(ttl time.Duration) Option {
	return func(p *Proxy) error {
		if ttl < 0 {
			return fmt.Errorf("DNS cache TTL %v is negative", ttl)
		}
		p.dns.ttl = ttl
		return nil
	}
}

// maxCachedNames bounds the DNS cache; a full cache starts over.
const maxCachedNames = 4096

// dnsCache keeps positive answers, already canonical and checked, for
// ttl. Cached slices are never modified.
type dnsCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.RWMutex
	m   map[string]dnsAnswer
}

type dnsAnswer struct {
	addrs   []netip.Addr
	expires time.Time
}

func (c *dnsCache) get(host string) ([]netip.Addr, bool) {
	if c.ttl == 0 {
		return nil, false
	}
	c.mu.RLock()
	a, ok := c.m[host]
	c.mu.RUnlock()
	if !ok || !c.now().Before(a.expires) {
		return nil, false
	}
	return a.addrs, true
}

func (c *dnsCache) put(host string, addrs []netip.Addr) {
	if c.ttl == 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]dnsAnswer)
	}
	if len(c.m) >= maxCachedNames {
		for h, a := range c.m {
			if !now.Before(a.expires) {
				delete(c.m, h)
			}
		}
		if len(c.m) >= maxCachedNames {
			clear(c.m)
		}
	}
	c.m[host] = dnsAnswer{addrs: addrs, expires: now.Add(c.ttl)}
}

// resolveTimeout bounds a lookup.
const resolveTimeout = 30 * time.Second

// refusedAnswer is a name's answer with an address the proxy will not
// dial, whatever the rules say.
type refusedAnswer struct {
	host   string
	addr   netip.Addr
	reason error
}

func (e *refusedAnswer) Error() string {
	return fmt.Sprintf("%s resolves to %s, %v: refused", e.host, e.addr, e.reason)
}

// resolve returns the addresses of the name host, canonical (see
// [canonicalAddr]) and without repeats, in the resolver's order: from the
// cache, or from the resolver. Errors are a *net.DNSError, or a
// *refusedAnswer when an address is refused (then nothing is dialled).
func (p *Proxy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if addrs, ok := p.dns.get(host); ok {
		return addrs, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	answer, err := p.resolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(answer) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) {
			err = &net.DNSError{Err: err.Error(), Name: host, UnwrapErr: err}
		}
		return nil, err
	}
	addrs := make([]netip.Addr, 0, len(answer))
	for _, a := range answer {
		c, err := canonicalAddr(a)
		if err != nil {
			return nil, &refusedAnswer{host: host, addr: a, reason: err}
		}
		if !slices.Contains(addrs, c) {
			addrs = append(addrs, c)
		}
	}
	p.dns.put(host, addrs)
	return addrs, nil
}

// dialChecked reaches t: with addrs (the checked addresses of a name),
// each "ip:port" in turn until one connects; without, t itself (an IP
// literal, or a name the dialer or the parent proxy resolves). Through
// the parent proxy if there is one. It returns the address it reached
// (the zero Addr without addrs) and, when all fail, the first error.
func (p *Proxy) dialChecked(ctx context.Context, t Target, addrs []netip.Addr) (net.Conn, netip.Addr, error) {
	if len(addrs) == 0 {
		if !t.IP.IsValid() && p.resolveNames {
			return nil, netip.Addr{}, fmt.Errorf("%s: the name was not resolved and checked against the rules", t)
		}
		c, err := p.dialUpstream(ctx, t.String())
		return c, netip.Addr{}, err
	}
	var firstErr error
	for _, a := range addrs {
		c, err := p.dialUpstream(ctx, netip.AddrPortFrom(a, uint16(t.Port)).String())
		if err == nil {
			return c, a, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, netip.Addr{}, firstErr
}

// transportDial is the DialContext of the proxy's transport (plain HTTP
// it does not forward itself, and the requests inside intercepted
// tunnels): it dials the checked addresses of the decision in ctx, or the
// parent proxy when the transport talks to it by name. (The transport
// keeps idle connections by scheme and host:port, so a request may reuse
// one dialled for an earlier allowed request to the same host:port.)
func (p *Proxy) transportDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if p.parent != nil && !p.resolveNames {
		return p.dial(ctx, network, addr) // the parent's address: the transport speaks to it as a proxy
	}
	d, _ := ctx.Value(decisionKey{}).(*decision)
	if d == nil || addr != d.target.String() {
		return nil, fmt.Errorf("dial %s: not the target of a decision", addr)
	}
	c, _, err := p.dialChecked(ctx, d.target, d.addrs)
	return c, err
}
