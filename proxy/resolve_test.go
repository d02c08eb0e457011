package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// TestAddressRulesDecideNames: a rule denying loopback denies every name
// with a loopback address, among others or spelled as IPv6 that embeds
// it, and nothing is dialled; the names it does not cover go to their
// address, not to their name.
func TestAddressRulesDecideNames(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	answers := map[string][]string{
		"localhost":      {"127.0.0.1", "::1"},
		"ip6-localhost":  {"::1"},
		"rebind.example": {"198.18.7.7", "127.0.0.1"},
		"nat64.example":  {"64:ff9b::7f00:1"},
		"compat.example": {"::127.0.0.1"},
		"mapped.example": {"::ffff:127.0.0.1"},
	}
	for host, addrs := range answers {
		// Mapped by name and by address, so that a proxy that dialled
		// them would get through.
		netw.add(host+":80", u.plain.Listener.Addr().String())
		netw.add(host+":443", u.tls.Addr())
		netw.answer(host, addrs...)
		for _, a := range addrs {
			netw.add(net.JoinHostPort(a, "80"), u.plain.Listener.Addr().String())
			netw.add(net.JoinHostPort(a, "443"), u.tls.Addr())
		}
	}
	p := startProxy(t, netw.upstream(), proxy.WithDefault(proxy.Allow),
		proxy.WithRules(proxy.Rule{Name: "no loopback", Hosts: []string{"127.0.0.0/8", "::1"}, Action: proxy.Deny}))
	addr := p.Listener.Addr().String()
	for host := range answers {
		status, hdr := raw(t, addr, crlf("CONNECT "+host+":443 HTTP/1.1\nHost: "+host+":443\n\n"))
		assert.Equal(t, 403, status, "CONNECT %s", host)
		assert.Equal(t, "ERR_ACCESS_DENIED 0", hdr.Get("X-Squid-Error"))
		status, _ = raw(t, addr, crlf("GET http://"+host+"/ HTTP/1.1\nHost: "+host+"\n\n"))
		assert.Equal(t, 403, status, "GET %s", host)
		assert.Zero(t, netw.dialsTo(host+":443")+netw.dialsTo(host+":80"), "%s was dialled", host)
		assert.Equal(t, 1, netw.lookupsOf(host), "the second request's answer comes from the cache")
	}
	for _, a := range []string{"127.0.0.1", "::1", "198.18.7.7"} {
		assert.Zero(t, netw.dialsOf(net.JoinHostPort(a, "443"))+netw.dialsOf(net.JoinHostPort(a, "80")), a)
	}
	for _, e := range p.Journal().Entries() {
		assert.Equal(t, "no loopback", e.Rule, e.Target)
		assert.Equal(t, proxy.ResultDenied, e.Result, e.Target)
	}

	// A name the rule does not cover goes upstream, to its address.
	status, _ := raw(t, addr, crlf("GET http://allowed.example/ HTTP/1.1\nHost: allowed.example\n\n"))
	assert.Equal(t, 200, status)
	assert.Equal(t, 1, netw.dialsOf(netw.addrOf("allowed.example")+":80"))
	assert.Zero(t, netw.dialsOf("allowed.example:80"), "the dialer gets the checked address, not the name")
}

// TestMixedAnswersDialTheMatchingAddresses: under a rule that allows a
// prefix, a name with addresses in and out of it is dialled only at those
// in it; a rule matched by the name dials all of them, in order, until
// one connects.
func TestMixedAnswersDialTheMatchingAddresses(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	for _, a := range []string{"198.18.1.1", "198.18.0.51"} {
		netw.add(a+":80", u.plain.Listener.Addr().String())
		netw.add(a+":443", u.tls.Addr())
	}
	netw.answer("mixed.example", "198.18.1.1", "198.18.0.51")
	netw.answer("byname.example", "198.18.0.60", "198.18.0.51") // .60 refuses connections
	p := startProxy(t, netw.upstream(),
		proxy.WithRules(
			proxy.Rule{Name: "by name", Hosts: []string{"byname.example"}, Action: proxy.Allow},
			proxy.Rule{Name: "lab net", Hosts: []string{"198.18.0.0/24"}, Action: proxy.Allow},
		))
	addr := p.Listener.Addr().String()

	status, _ := raw(t, addr, crlf("GET http://mixed.example/ HTTP/1.1\nHost: mixed.example\n\n"))
	assert.Equal(t, 200, status)
	status, _ = raw(t, addr, crlf("CONNECT mixed.example:443 HTTP/1.1\nHost: mixed.example:443\n\n"))
	assert.Equal(t, 200, status)
	assert.Equal(t, 1, netw.dialsOf("198.18.0.51:80"))
	assert.Equal(t, 1, netw.dialsOf("198.18.0.51:443"))
	assert.Zero(t, netw.dialsOf("198.18.1.1:80")+netw.dialsOf("198.18.1.1:443"), "outside the allowed prefix")

	status, _ = raw(t, addr, crlf("GET http://byname.example/ HTTP/1.1\nHost: byname.example\n\n"))
	assert.Equal(t, 200, status)
	assert.Equal(t, 1, netw.dialsOf("198.18.0.60:80"), "the first address first")
	assert.Equal(t, 2, netw.dialsOf("198.18.0.51:80"), "then the next")

	rules := map[string]string{}
	for _, e := range entries(t, p, 3) {
		rules[e.Method+" "+e.Target] = e.Rule
	}
	assert.Equal(t, map[string]string{"GET mixed.example:80": "lab net", "CONNECT mixed.example:443": "lab net",
		"GET byname.example:80": "by name"}, rules)
}

// TestAddressRulesNeedAResolver: a dialer that resolves names itself hides
// the addresses, so New refuses address patterns without WithResolver.
func TestAddressRulesNeedAResolver(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	rules := proxy.WithRules(
		proxy.Rule{Hosts: []string{"example.com"}, Action: proxy.Allow},
		proxy.Rule{Name: "no private", Hosts: []string{"10.0.0.0/8"}, Action: proxy.Deny},
	)
	_, err := proxy.New(proxy.WithDialer(netw.dial), rules)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rules[1] (no private)")
	assert.Contains(t, err.Error(), "WithResolver")
	_, err = proxy.New(proxy.WithDialer(netw.dial), proxy.WithRules(proxy.Rule{Hosts: []string{"::1"}, Action: proxy.Deny}))
	assert.ErrorContains(t, err, "rules[0]")

	_, err = proxy.New(proxy.WithDialer(netw.dial), proxy.WithResolver(netw), rules)
	assert.NoError(t, err)
	_, err = proxy.New(rules) // the defaults: net.DefaultResolver and a net.Dialer
	assert.NoError(t, err)
	_, err = proxy.New(proxy.WithDialer(netw.dial), proxy.WithRules(proxy.Rule{Hosts: []string{"example.com"}, Action: proxy.Allow}))
	assert.NoError(t, err, "name patterns need no resolver")
	_, err = proxy.New(proxy.WithResolver(nil))
	assert.ErrorContains(t, err, "nil resolver")
	_, err = proxy.New(proxy.WithDNSCache(-time.Second))
	assert.ErrorContains(t, err, "negative")
}

// TestDNSCache: a cached answer is used without asking again; failures
// are not kept; WithDNSCache(0) asks every time.
func TestDNSCache(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	netw.answer("gone.example")
	cached := startProxy(t, netw.upstream(), proxy.WithDefault(proxy.Allow))
	uncached := startProxy(t, netw.upstream(), proxy.WithDefault(proxy.Allow), proxy.WithDNSCache(0))
	for _, p := range []*proxy.Proxy{cached, uncached} {
		addr := p.Listener.Addr().String()
		for range 2 {
			status, _ := raw(t, addr, crlf("GET http://allowed.example/ HTTP/1.1\nHost: allowed.example\n\n"))
			require.Equal(t, 200, status)
			status, _ = raw(t, addr, crlf("CONNECT "+portal+":443 HTTP/1.1\nHost: "+portal+":443\n\n"))
			require.Equal(t, 200, status)
			status, _ = raw(t, addr, crlf("GET http://gone.example/ HTTP/1.1\nHost: gone.example\n\n"))
			require.Equal(t, 503, status)
		}
	}
	assert.Equal(t, 1+2, netw.lookupsOf("allowed.example"), "once for the cache, twice without")
	assert.Equal(t, 1+2, netw.lookupsOf(portal))
	assert.Equal(t, 2+2, netw.lookupsOf("gone.example"), "failures are not cached")
}

// TestResolutionFailure: a name that does not resolve is Squid's
// ERR_DNS_FAIL, journaled as an upstream error, and is never dialled by
// name; a failed lookup matches no address pattern.
func TestResolutionFailure(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	netw.add("nx.example:80", u.plain.Listener.Addr().String()) // the dialer would reach it by name
	netw.add("nx.example:443", u.tls.Addr())
	netw.answer("nx.example")
	p := startProxy(t, netw.upstream(), proxy.WithDefault(proxy.Allow),
		proxy.WithRules(proxy.Rule{Name: "no private", Hosts: []string{"10.0.0.0/8"}, Action: proxy.Deny}))
	addr := p.Listener.Addr().String()
	for _, req := range []string{"GET http://nx.example/ HTTP/1.1\nHost: nx.example\n\n", "CONNECT nx.example:443 HTTP/1.1\nHost: nx.example:443\n\n"} {
		status, hdr := raw(t, addr, crlf(req))
		assert.Equal(t, 503, status, req)
		assert.Equal(t, "ERR_DNS_FAIL 0", hdr.Get("X-Squid-Error"), req)
	}
	assert.Zero(t, netw.dialsTo("nx.example:80")+netw.dialsTo("nx.example:443"))
	assert.Equal(t, 2, netw.lookupsOf("nx.example"), "once per request, though both matching and dialling need it")
	for _, e := range entries(t, p, 2) {
		assert.Equal(t, proxy.ResultUpstreamError, e.Result)
		assert.Equal(t, 503, e.Status)
		assert.Equal(t, "default", e.Rule)
		assert.Contains(t, e.Detail, "no such host")
	}
}

// stubResolver answers every name with one fixed answer or error.
type stubResolver struct {
	addrs []netip.Addr
	err   error
}

func (s stubResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return s.addrs, s.err
}

// A resolver's own error is reported as a DNS failure.
func TestResolverErrorIsDNSFailure(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	netw.add("a.example:443", u.tls.Addr()) // the dialer would reach it by name
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithResolver(stubResolver{err: errors.New("resolver on fire")}), proxy.WithDefault(proxy.Allow))
	status, hdr := raw(t, p.Listener.Addr().String(), crlf("CONNECT a.example:443 HTTP/1.1\nHost: a.example:443\n\n"))
	assert.Equal(t, 503, status)
	assert.Equal(t, "ERR_DNS_FAIL 0", hdr.Get("X-Squid-Error"))
	p = startProxy(t, proxy.WithDialer(netw.dial), proxy.WithResolver(stubResolver{}), proxy.WithDefault(proxy.Allow))
	status, _ = raw(t, p.Listener.Addr().String(), crlf("CONNECT a.example:443 HTTP/1.1\nHost: a.example:443\n\n"))
	assert.Equal(t, 503, status, "an empty answer")
}

// TestRefusedAnswers: a name that resolves to an address that names no
// single host, or hides an IPv4 address, is refused whatever the rules
// say; one that resolves to NAT64 or IPv4-compatible IPv6 is dialled at
// the IPv4 address it embeds.
func TestRefusedAnswers(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	refused := map[string]string{
		"sinkhole.example": "0.0.0.0",
		"zero6.example":    "::",
		"this-net.example": "0.1.2.3",
		"6to4.example":     "2002:7f00:1::1",
		"teredo.example":   "2001:0:4136:e378:8000:63bf:80ff:fffe",
		"nat64l.example":   "64:ff9b:1::7f00:1",
	}
	for host, a := range refused {
		netw.add(host+":80", u.plain.Listener.Addr().String())
		netw.answer(host, "198.18.0.99", a)
		netw.add(net.JoinHostPort(a, "80"), u.plain.Listener.Addr().String())
	}
	netw.add("198.18.0.99:80", u.plain.Listener.Addr().String())
	netw.add("198.18.0.42:80", u.plain.Listener.Addr().String())
	netw.add("embedded.example:80", u.plain.Listener.Addr().String())
	netw.answer("embedded.example", "64:ff9b::c612:2a", "::198.18.0.42")
	p := startProxy(t, netw.upstream(), proxy.WithDefault(proxy.Allow))
	addr := p.Listener.Addr().String()
	for host := range refused {
		status, hdr := raw(t, addr, crlf("GET http://"+host+"/ HTTP/1.1\nHost: "+host+"\n\n"))
		assert.Equal(t, 403, status, host)
		assert.Equal(t, "ERR_ACCESS_DENIED 0", hdr.Get("X-Squid-Error"), host)
		assert.Zero(t, netw.dialsTo(host+":80"), host)
	}
	assert.Zero(t, netw.dialsOf("198.18.0.99:80"), "the good address of a refused answer is not dialled either")
	for _, e := range entries(t, p, len(refused)) {
		assert.Equal(t, proxy.ResultDenied, e.Result)
		assert.Contains(t, e.Detail, "refused")
	}

	status, _ := raw(t, addr, crlf("GET http://embedded.example/ HTTP/1.1\nHost: embedded.example\n\n"))
	assert.Equal(t, 200, status)
	assert.Equal(t, 1, netw.dialsOf("198.18.0.42:80"), "both answers are 198.18.0.42")
	assert.Zero(t, netw.dialsOf("[64:ff9b::c612:2a]:80")+netw.dialsOf("[::c612:2a]:80"))
}

// TestTransportDialsCheckedAddresses: the requests the proxy's transport
// sends (plain HTTP with a body, requests inside an intercepted tunnel)
// go to the checked address too.
func TestTransportDialsCheckedAddresses(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	ic, err := u.auth.Interception()
	require.NoError(t, err)
	p := startProxy(t, netw.upstream(), proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(u.auth.Pool()),
		proxy.WithRules(
			proxy.Rule{Name: "inspect portal", Hosts: []string{portal}, Action: proxy.Intercept},
			proxy.Rule{Name: "lab net", Hosts: []string{"198.18.0.0/15"}, Action: proxy.Allow},
		))
	pu, _ := url.Parse(p.URL)
	trusting := x509.NewCertPool()
	trusting.AppendCertsFromPEM(ic.CA().CertPEM())
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: trusting}}}
	t.Cleanup(c.CloseIdleConnections)

	resp, err := c.Post("http://allowed.example/form", "text/plain", strings.NewReader("a=1"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 1, netw.dialsOf(netw.addrOf("allowed.example")+":80"))

	status, body, err := get(t, c, "https://"+portal+"/inspected")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello from "+portal+"/inspected", body)
	assert.Equal(t, 1, netw.dialsOf(netw.addrOf(portal)+":443"))
	assert.Zero(t, netw.dialsOf("allowed.example:80")+netw.dialsOf(portal+":443"), "never by name")
}

// TestParentWithAddressRules: with address patterns, the child resolves
// and decides, then asks its parent for the checked address, plain HTTP
// included; without them, names go to the parent unresolved.
func TestParentWithAddressRules(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	parent := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	netw.add("parent.corp:3128", parent.Listener.Addr().String())
	child := startProxy(t, netw.upstream(), proxy.WithParent("http://parent.corp:3128"),
		proxy.WithRules(proxy.Rule{Name: "lab net", Hosts: []string{"198.18.0.0/15"}, Action: proxy.Allow}))

	status, _, err := get(t, client(u, child.URL, nil), "https://"+portal+"/chained")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	status, body, err := get(t, client(u, child.URL, nil), "http://allowed.example/chained")
	require.NoError(t, err)
	assert.Equal(t, 200, status, body)
	resp, err := client(u, child.URL, nil).Post("http://allowed.example/form", "text/plain", strings.NewReader("a=1"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	child.Close() // ends the tunnels its idle connections hold, which journals them
	var targets []string
	for _, e := range entries(t, parent, 3) {
		targets = append(targets, e.Method+" "+e.Target)
	}
	plain := "CONNECT " + netw.addrOf("allowed.example") + ":80"
	assert.ElementsMatch(t, []string{"CONNECT " + netw.addrOf(portal) + ":443", plain, plain}, targets)

	byName := startProxy(t, netw.upstream(), proxy.WithParent("http://parent.corp:3128"), proxy.WithDefault(proxy.Allow))
	parent.Journal().Reset()
	status, _, err = get(t, client(u, byName.URL, nil), "https://"+portal+"/by-name")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "CONNECT "+portal+":443", entries(t, parent, 1)[0].Method+" "+entries(t, parent, 1)[0].Target)
	assert.Equal(t, 1, netw.lookupsOf(portal), "only the child with address rules resolved it")
}
