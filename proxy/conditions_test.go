package proxy_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	ntlmproxy "github.com/launchdarkly/go-ntlm-proxy-auth"
	"github.com/launchdarkly/go-ntlmssp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

// rawFrom sends request bytes on a new connection from the loopback
// address src (127.0.0.2 works on Linux without set-up) and returns the
// first response's status.
func rawFrom(t *testing.T, src, proxyAddr, request string) int {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", proxyAddr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, request)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// get1 is a plain-HTTP GET of url through the proxy with extra header
// lines.
func get1(host string, headers ...string) string {
	h := ""
	for _, l := range headers {
		h += l + "\n"
	}
	return crlf("GET http://" + host + "/ HTTP/1.1\nHost: " + host + "\n" + h + "\n")
}

// lastEntry waits for n complete entries and returns the last.
func lastEntry(t *testing.T, p *proxy.Proxy, n int) proxy.Entry {
	t.Helper()
	es := entries(t, p, n)
	return es[n-1]
}

// TestSrcRule decides on the client's address: the same request from
// 127.0.0.1 and from 127.0.0.2, which a src rule denies.
func TestSrcRule(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow), proxy.WithRules(
		proxy.Rule{Name: "second workstation", Src: []string{"127.0.0.2/32"}, Action: proxy.Deny},
		proxy.Rule{Name: "not the lab's net", Not: &proxy.Conditions{Src: []string{"127.0.0.0/8", "::1"}}, Action: proxy.Deny},
	))
	addr := p.Listener.Addr().String()
	assert.Equal(t, 200, rawFrom(t, "127.0.0.1", addr, get1("allowed.example")))
	assert.Equal(t, "default", lastEntry(t, p, 1).Rule)
	assert.Equal(t, 403, rawFrom(t, "127.0.0.2", addr, get1("allowed.example")))
	e := lastEntry(t, p, 2)
	assert.Equal(t, "second workstation", e.Rule)
	assert.True(t, strings.HasPrefix(e.Client, "127.0.0.2:"), e.Client)
	assert.Equal(t, 200, rawFrom(t, "127.0.0.3", addr, get1("allowed.example")), "within 127.0.0.0/8: the negated src does not hold")
}

// TestConnectNotSSLPorts is Squid's "http_access deny CONNECT !SSL_ports"
// and "http_access deny !Safe_ports", with port ranges, and the journal
// naming the rule and its line.
func TestConnectNotSSLPorts(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	netw.add("allowed.example:8443", "127.0.0.1:1") // never dialled
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithRules(
		proxy.Rule{Line: 40, Not: &proxy.Conditions{Ports: []int{80, 443}, PortRanges: []string{"1025-65535"}}, Action: proxy.Deny},
		proxy.Rule{Name: "SSL_ports", Line: 41, Methods: []string{"CONNECT"}, Not: &proxy.Conditions{Ports: []int{443}}, Action: proxy.Deny},
		proxy.Rule{Line: 50, Action: proxy.Allow},
	))
	addr := p.Listener.Addr().String()
	status, _ := raw(t, addr, crlf("CONNECT allowed.example:8443 HTTP/1.1\nHost: allowed.example:8443\n\n"))
	assert.Equal(t, 403, status)
	e := lastEntry(t, p, 1)
	assert.Equal(t, "SSL_ports", e.Rule)
	assert.Equal(t, 41, e.Line)

	status, _ = raw(t, addr, crlf("CONNECT allowed.example:25 HTTP/1.1\nHost: allowed.example:25\n\n"))
	assert.Equal(t, 403, status)
	e = lastEntry(t, p, 2)
	assert.Equal(t, "rule 1", e.Rule, "port 25 is in no safe port")
	assert.Equal(t, 40, e.Line)

	status, _ = raw(t, addr, get1("allowed.example"))
	assert.Equal(t, 200, status)
	e = lastEntry(t, p, 3)
	assert.Equal(t, "rule 3", e.Rule)
	assert.Equal(t, 50, e.Line)

	js, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"line":50`)
	assert.Zero(t, netw.dialsTo("allowed.example:8443"))
}

// TestUserAgentExemption is the documented workaround: revocation
// fetches by Microsoft-CryptoAPI pass without authentication, everything
// else authenticates.
func TestUserAgentExemption(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: "alice", Password: "S3cret!pw"}}}),
		proxy.WithRules(
			proxy.Rule{Name: "CryptoAPI", Hosts: []string{".digicert.com"}, UserAgents: []string{`^Microsoft-CryptoAPI/`}, Action: proxy.Allow},
			proxy.Rule{Name: "tagged", Headers: map[string][]string{"x-lab-tag": {`(?i)^EXEMPT$`}}, Action: proxy.Allow},
			proxy.Rule{Name: "users", Action: proxy.Authenticate},
		))
	addr := p.Listener.Addr().String()
	for _, tc := range []struct {
		name    string
		host    string
		headers []string
		want    int
		rule    string
	}{
		{"CryptoAPI to the OCSP host", "ocsp.digicert.com", []string{"User-Agent: Microsoft-CryptoAPI/10.0"}, 200, "CryptoAPI"},
		{"a browser to the OCSP host", "ocsp.digicert.com", []string{"User-Agent: Mozilla/5.0"}, 407, "users"},
		{"no user agent", "ocsp.digicert.com", nil, 407, "users"},
		{"case matters without (?i)", "ocsp.digicert.com", []string{"User-Agent: microsoft-cryptoapi/10.0"}, 407, "users"},
		{"searched, not matched whole: ^ anchors", "ocsp.digicert.com", []string{"User-Agent: x Microsoft-CryptoAPI/10.0"}, 407, "users"},
		{"CryptoAPI elsewhere", "allowed.example", []string{"User-Agent: Microsoft-CryptoAPI/10.0"}, 407, "users"},
		{"a header rule, case-insensitive by (?i)", "allowed.example", []string{"X-Lab-Tag: exempt"}, 200, "tagged"},
	} {
		before := len(p.Journal().Entries())
		status, _ := raw(t, addr, get1(tc.host, tc.headers...))
		assert.Equal(t, tc.want, status, tc.name)
		assert.Equal(t, tc.rule, lastEntry(t, p, before+1).Rule, tc.name)
	}
}

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSurrogates: once 127.0.0.1 has authenticated, its requests without
// credentials pass as that user until the TTL runs out; 127.0.0.2 never
// authenticated and is challenged throughout.
func TestSurrogates(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	clk := &clock{now: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithClock(clk.Now),
		proxy.WithAuth(proxy.Auth{SurrogateTTL: fault.Duration(15 * time.Minute), Users: []proxy.User{{Name: "alice", Password: "S3cret!pw"}}}),
		proxy.WithDefault(proxy.Authenticate))
	addr := p.Listener.Addr().String()
	creds := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:S3cret!pw"))
	n := 0
	step := func(src string, want int, headers ...string) proxy.Entry {
		t.Helper()
		assert.Equal(t, want, rawFrom(t, src, addr, get1("allowed.example", headers...)))
		n++
		return lastEntry(t, p, n)
	}
	assert.Equal(t, proxy.ResultAuthRequired, step("127.0.0.1", 407).Result, "no surrogate yet")
	e := step("127.0.0.1", 200, creds)
	assert.Equal(t, "alice", e.User)
	assert.False(t, e.Surrogate)

	clk.Add(14 * time.Minute)
	e = step("127.0.0.1", 200)
	assert.Equal(t, "alice", e.User)
	assert.True(t, e.Surrogate, "passed on the surrogate")
	js, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"surrogate":true`)
	assert.NotContains(t, string(js), "S3cret")
	assert.Equal(t, 407, step("127.0.0.2", 407).Status, "another address has no surrogate")
	assert.Equal(t, 407, step("127.0.0.1", 407, "Proxy-Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("alice:wrong"))).Status,
		"credentials sent are checked, surrogate or not")

	clk.Add(time.Minute) // 15 minutes after it authenticated: expired
	e = step("127.0.0.1", 407)
	assert.False(t, e.Surrogate)
	assert.Empty(t, e.User)
}

// TestSurrogatesOff: without a TTL nothing is remembered.
func TestSurrogatesOff(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: "alice", Password: "S3cret!pw"}}}),
		proxy.WithDefault(proxy.Authenticate))
	addr := p.Listener.Addr().String()
	creds := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:S3cret!pw"))
	assert.Equal(t, 200, rawFrom(t, "127.0.0.1", addr, get1("allowed.example", creds)))
	assert.Equal(t, 407, rawFrom(t, "127.0.0.1", addr, get1("allowed.example")))

	_, err := proxy.New(proxy.WithClock(nil))
	assert.ErrorContains(t, err, "nil clock")
}

// TestKerberosOnly: a Negotiate that accepts Kerberos only answers NTLM
// inside Negotiate, raw or in SPNEGO, with 407 again and no challenge;
// any other token too, since Kerberos is not modelled.
func TestKerberosOnly(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Schemes: []string{proxy.SchemeNegotiate}, KerberosOnly: true, Domain: "CONTOSO",
			Users: []proxy.User{{Name: "alice", Domain: "CONTOSO", Password: "Passw0rd!"}}}),
		proxy.WithDefault(proxy.Authenticate))
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(c)
	send := func(auth string) *http.Response {
		req := &http.Request{Method: "CONNECT", URL: &url.URL{Opaque: portal + ":443"}, Host: portal + ":443", Header: http.Header{}}
		if auth != "" {
			req.Header.Set("Proxy-Authorization", auth)
		}
		require.NoError(t, req.Write(c))
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := send("")
	assert.Equal(t, 407, resp.StatusCode)
	assert.Equal(t, []string{"Negotiate"}, resp.Header.Values("Proxy-Authenticate"))
	neg, err := ntlmssp.NewNegotiateMessage("CONTOSO", "")
	require.NoError(t, err)
	resp = send("Negotiate " + base64.StdEncoding.EncodeToString(neg))
	assert.Equal(t, 407, resp.StatusCode, "NTLM inside Negotiate is refused")
	assert.Equal(t, []string{"Negotiate"}, resp.Header.Values("Proxy-Authenticate"), "a fresh challenge, no NTLM CHALLENGE")
	resp = send("Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==")
	assert.Equal(t, 407, resp.StatusCode, "a Kerberos token: not modelled, refused")
	es := entries(t, p, 3)
	assert.Equal(t, "no credentials", es[0].Detail)
	assert.Equal(t, "NTLM inside Negotiate refused: Negotiate accepts Kerberos only here", es[1].Detail)
	assert.Contains(t, es[2].Detail, "Kerberos is not modelled")

	_, err = proxy.New(proxy.WithAuth(proxy.Auth{Schemes: []string{proxy.SchemeNTLM}, KerberosOnly: true, Users: []proxy.User{{Name: "a", Password: "b"}}}))
	assert.ErrorContains(t, err, "kerberosOnly: needs negotiate among the schemes")
}

// TestRuleRoundTrip: a rule with every new field survives JSON (the
// served lab's API) and YAML (scenario files) unchanged.
func TestRuleRoundTrip(t *testing.T) {
	t.Parallel()
	r := proxy.Rule{Name: "squid", Line: 42, Hosts: []string{".example.com"}, HostRegexes: []string{`^cdn[0-9]+\.`},
		Ports: []int{443}, PortRanges: []string{"1025-65535"}, Methods: []string{"CONNECT"}, Schemes: []string{"https"},
		Src: []string{"10.0.0.0/8"}, UserAgents: []string{"(?i)^Microsoft-CryptoAPI/"}, Headers: map[string][]string{"X-Client": {"^lab$"}},
		Not: &proxy.Conditions{Hosts: []string{"a.example.com"}, Ports: []int{8443}, Src: []string{"10.9.0.0/16"}, UserAgents: []string{"curl"}},
		And: []proxy.Conditions{{Hosts: []string{"*.example.com"}}, {PortRanges: []string{"400-500"}}}, Action: proxy.Deny}
	require.NoError(t, r.Validate())
	js, err := json.Marshal(r)
	require.NoError(t, err)
	var back proxy.Rule
	require.NoError(t, json.Unmarshal(js, &back))
	assert.Equal(t, r, back, string(js))
	y, err := yaml.Marshal(r)
	require.NoError(t, err)
	back = proxy.Rule{}
	require.NoError(t, yaml.Unmarshal(y, &back))
	assert.Equal(t, r, back, string(y))
}

// TestKerberosOnlyBesideNTLM: KerberosOnly is about Negotiate alone; a
// proxy that also offers NTLM still accepts NTLM under its own name.
func TestKerberosOnlyBesideNTLM(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Schemes: []string{proxy.SchemeNegotiate, proxy.SchemeNTLM}, KerberosOnly: true, Domain: "CONTOSO",
			Users: []proxy.User{{Name: "alice", Domain: "CONTOSO", Password: "Passw0rd!"}}}),
		proxy.WithDefault(proxy.Authenticate))
	addr := p.Listener.Addr().String()
	dial := ntlmproxy.WrapDialContext((&net.Dialer{}).DialContext, addr, "alice", "Passw0rd!", "CONTOSO")
	c := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: u.auth.Pool()}}, Timeout: 10 * time.Second}
	status, body, err := get(t, c, "https://"+portal+"/ntlm")
	require.NoError(t, err)
	assert.Equal(t, 200, status)
	assert.Equal(t, "hello from "+portal+"/ntlm", body)
	c.CloseIdleConnections()

	neg, err := ntlmssp.NewNegotiateMessage("CONTOSO", "")
	require.NoError(t, err)
	status, hdr := raw(t, addr, crlf("CONNECT "+portal+":443 HTTP/1.1\nHost: "+portal+":443\nProxy-Authorization: Negotiate "+base64.StdEncoding.EncodeToString(neg)+"\n\n"))
	assert.Equal(t, 407, status, "NTLM inside Negotiate is still refused")
	assert.Equal(t, []string{"Negotiate", "NTLM"}, hdr.Values("Proxy-Authenticate"))
}
