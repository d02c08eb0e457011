package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/vhost"
)

const portal = "passwordreset.microsoftonline.com"

// network is the test's virtual network: a resolver (names to fixed
// addresses, never the system's) and a dialer that maps "name:port" and
// "ip:port" to loopback listeners, with every lookup and dial counted. It
// dials nothing it does not map: an unmapped name fails as a DNS failure
// would, an unmapped address as a refused connection, so nothing ever
// leaves the machine.
type network struct {
	mu      sync.Mutex
	names   map[string][]netip.Addr // what the resolver answers
	addrs   map[string]string       // "name:port" or "ip:port" -> listener
	dials   map[string]int          // by the address the dialer got
	lookups map[string]int
	next    netip.Addr // the last virtual address handed out
}

func newNetwork() *network {
	return &network{names: map[string][]netip.Addr{}, addrs: map[string]string{}, dials: map[string]int{},
		lookups: map[string]int{}, next: netip.MustParseAddr("198.18.0.0")}
}

// add maps hostport to the listener at addr. A name gets a virtual
// address from 198.18.0.0/15 (RFC 2544, never routed) the first time, and
// "address:port" is mapped too.
func (n *network) add(hostport, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addrs[hostport] = addr
	host, port, _ := net.SplitHostPort(hostport)
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	if _, ok := n.names[host]; !ok {
		n.next = n.next.Next()
		n.names[host] = []netip.Addr{n.next}
	}
	for _, a := range n.names[host] {
		n.addrs[net.JoinHostPort(a.String(), port)] = addr
	}
}

// answer makes the resolver answer host with addrs (none: a failure).
func (n *network) answer(host string, addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.names[host] = nil
	for _, a := range addrs {
		n.names[host] = append(n.names[host], netip.MustParseAddr(a))
	}
}

// LookupNetIP answers names from the network's table; it makes n a
// proxy.Resolver.
func (n *network) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lookups[host]++
	if len(n.names[host]) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return slices.Clone(n.names[host]), nil
}

func (n *network) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	n.dials[addr]++
	to, ok := n.addrs[addr]
	n.mu.Unlock()
	if !ok {
		host, _, _ := net.SplitHostPort(addr)
		if _, err := netip.ParseAddr(host); err == nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// dialed returns every address dialled so far.
func (n *network) dialed() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Sorted(maps.Keys(n.dials))
}

// upstream is the proxy's view of the network: the network as its
// resolver and as its dialer.
func (n *network) upstream() proxy.Option {
	return func(p *proxy.Proxy) error {
		if err := proxy.WithResolver(n)(p); err != nil {
			return err
		}
		return proxy.WithDialer(n.dial)(p)
	}
}

// dialsTo counts the dials to hostport: to it as it is, and for a name
// to each of the name's addresses at its port.
func (n *network) dialsTo(hostport string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := n.dials[hostport]
	host, port, _ := net.SplitHostPort(hostport)
	for _, a := range n.names[host] {
		total += n.dials[net.JoinHostPort(a.String(), port)]
	}
	return total
}

// dialsOf counts the dials to exactly addr.
func (n *network) dialsOf(addr string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials[addr]
}

// addrOf returns the first address the resolver answers for host.
func (n *network) addrOf(host string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.names[host][0].String()
}

// lookupsOf counts the resolver's answers for host.
func (n *network) lookupsOf(host string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookups[host]
}

// upstreams is a plain-HTTP origin and a TLS origin for the portal.
type upstreams struct {
	auth  *pki.Authority
	plain *httptest.Server
	tls   *vhost.Server
}

func newUpstreams(t testing.TB, net *network) *upstreams {
	t.Helper()
	auth, err := pki.New()
	require.NoError(t, err)
	u := &upstreams{auth: auth}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" && r.Header.Get("Upgrade") == "websocket" {
			// Enough of a WebSocket upgrade to test the proxy: 101, then
			// echo what the client sends.
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_, _ = io.Copy(c, brw)
			return
		}
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", "1048576")
			_, _ = w.Write(make([]byte, 1<<20))
			return
		}
		_, _ = io.WriteString(w, "hello from "+r.Host+r.URL.Path)
	})
	u.plain = httptest.NewServer(h)
	t.Cleanup(u.plain.Close)
	leaf, err := auth.Issue(pki.Request{Hosts: []string{portal, "ajax.aspnetcdn.com"}})
	require.NoError(t, err)
	u.tls, err = vhost.New(h, vhost.WithHost(portal), vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	t.Cleanup(u.tls.Close)
	for _, host := range []string{"allowed.example", "blocked.example", "127.0.0.2", portal, "ajax.aspnetcdn.com", "ocsp.digicert.com"} {
		net.add(host+":80", u.plain.Listener.Addr().String())
		net.add(host+":443", u.tls.Addr())
	}
	return u
}

// startProxy starts a proxy on loopback and closes it with the test.
func startProxy(t testing.TB, opts ...proxy.Option) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(opts...)
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(p.Close)
	return p
}

// raw sends request bytes on a new connection and returns the first
// response's status (0 if the proxy closed without answering).
func raw(t testing.TB, proxyAddr, request string) (int, http.Header) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, request)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// entries waits until the proxy has journaled n entries, none of them a
// tunnel still open (a tunnel's entry is complete when it closes), and
// returns them.
func entries(t testing.TB, p *proxy.Proxy, n int) []proxy.Entry {
	t.Helper()
	done := func() bool {
		es := p.Journal().Entries()
		return len(es) >= n && !slices.ContainsFunc(es, func(e proxy.Entry) bool { return e.Result == proxy.ResultOpen })
	}
	require.Eventually(t, done, 10*time.Second, time.Millisecond, "want %d complete journal entries", n)
	return p.Journal().Entries()
}

// echoDialer starts an echo server on loopback and returns a dialer that
// reaches it whatever the address asked for.
func echoDialer(t testing.TB) proxy.DialFunc {
	t.Helper()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { echo.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, echo.Addr().String())
	}
}

// rawAll sends pipelined requests on one connection and returns the status
// of every response until the proxy closes the connection.
func rawAll(t testing.TB, proxyAddr, requests string) []int {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, requests)
	require.NoError(t, err)
	br := bufio.NewReader(c)
	var out []int
	for range strings.Count(requests, " HTTP/1.") {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return out
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
