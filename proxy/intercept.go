package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
)

// interceptWriter is the ResponseWriter goproxy gets for an intercepted
// CONNECT. goproxy's handler takes the connection with Hijack and ignores
// the bufio.ReadWriter, so the bytes net/http has already read past the
// CONNECT head (a ClientHello sent in the same write, RFC 2817 5.2) would
// be lost and the handshake would hang: its Hijack returns a connection
// that yields those bytes first. It also gives the tunnel's decision that
// connection, so that the requests inside can end the tunnel, and counts
// it for Close.
type interceptWriter struct {
	http.ResponseWriter
	d *decision
	p *Proxy
}

func (w interceptWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := &mitmConn{Conn: bare(conn), p: w.p}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c.early = bytes.Clone(b)
	}
	w.p.trackIntercepted(c)
	w.d.conn = c // before goproxy starts the tunnel's goroutine
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// trackIntercepted counts an intercepted tunnel in inflight until goproxy
// closes its connection (its request loop does so when it returns), so
// that Close can end it and wait for it. Once Close has ended the tunnels
// it closes a new one at once.
func (p *Proxy) trackIntercepted(c *mitmConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		_ = c.Conn.Close()
		return
	}
	if p.mitm == nil {
		p.mitm = map[*mitmConn]struct{}{}
	}
	p.mitm[c] = struct{}{}
	c.tracked = true
	p.inflight.Add(1) // a started proxy counts the CONNECT under way: inflight is above zero
}

// endIntercepted closes the client connections of the intercepted tunnels:
// goproxy's loops then fail to read and return.
func (p *Proxy) endIntercepted() {
	p.mu.Lock()
	p.ended = true
	conns := make([]*mitmConn, 0, len(p.mitm))
	for c := range p.mitm {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.endReads()
		_ = c.Conn.Close()
	}
}

// mitmConn is the client's connection of an intercepted tunnel, as
// goproxy reads and writes it.
type mitmConn struct {
	net.Conn
	p     *Proxy
	early []byte // read before the CONNECT was handled; goproxy reads it first
	// ended: reads end, so that goproxy's request loop sees the end of
	// the connection, closes it (with a TLS close_notify) and returns.
	ended   atomic.Bool
	tracked bool // counted in p.inflight, listed in p.mitm
	closed  sync.Once
}

// Close closes the connection; goproxy calls it when the tunnel's
// request loop returns, which is the tunnel's end.
func (c *mitmConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		if !c.tracked {
			return
		}
		c.p.mu.Lock()
		delete(c.p.mitm, c)
		c.p.mu.Unlock()
		c.p.inflight.Done()
	})
	return err
}

// endReads makes the tunnel end after the exchange under way.
func (c *mitmConn) endReads() { c.ended.Store(true) }

func (c *mitmConn) Read(b []byte) (int, error) {
	if c.ended.Load() {
		return 0, io.EOF
	}
	if len(c.early) > 0 {
		n := copy(b, c.early)
		c.early = c.early[n:]
		return n, nil
	}
	n, err := c.Conn.Read(b)
	if err != nil && c.ended.Load() {
		err = io.EOF // closed by Proxy.Close: the end, not a failure to log
	}
	return n, err
}

// closeTunnel ends the tunnel once this exchange's response is written:
// what is left of the request's body is read first (goproxy would read
// it next), so that closing does not meet unread data and reset the
// connection under the response; then goproxy's loop sees the end of the
// connection.
func (x *exchange) closeTunnel() {
	if x.d.conn == nil {
		return // not on a hijacked connection (goproxy's HTTP/2 path)
	}
	if x.body != nil {
		_, _ = io.Copy(io.Discard, x.body)
	}
	x.d.conn.endReads()
}

// interceptTLS is an intercept rule's TLS: what it accepts from the
// client, and the transport that speaks its policy to the origin.
type interceptTLS struct {
	client   tlsSettings
	upstream *http.Transport
}

// compileIntercepts prepares each intercept rule's TLS for a policy.
// Rules without an upstream policy share the default's transport.
func (p *Proxy) compileIntercepts(rs *ruleSet) (map[*Rule]*interceptTLS, error) {
	out := map[*Rule]*interceptTLS{}
	for _, c := range rs.rules {
		r := &c.rule
		if r.Action != Intercept {
			continue
		}
		client, err := r.TLS.settings() // nil: the default
		if err != nil {
			return nil, fmt.Errorf("rules[%d] (%s): tls: %w", c.index, r.Name, err) // Validate has passed: not reached
		}
		if kt := p.interceptor.CA().KeyType(); !client.fitsKey(kt) {
			return nil, fmt.Errorf("rules[%d] (%s): tls.cipherSuites: none of them authenticates with the interception root's %s key", c.index, r.Name, kt)
		}
		it := &interceptTLS{client: client}
		if r.UpstreamTLS == nil {
			it.upstream = p.defaultIntercept.upstream
		} else {
			s, err := r.UpstreamTLS.settings()
			if err != nil {
				return nil, fmt.Errorf("rules[%d] (%s): upstreamTLS: %w", c.index, r.Name, err)
			}
			it.upstream = p.newInterceptTransport(s)
		}
		out[r] = it
	}
	return out, nil
}

// interceptTLSOf returns the TLS of the rule that intercepts the tunnel
// of ctx (goproxy's UserData holds its decision, or the exchange).
func (p *Proxy) interceptTLSOf(ctx *goproxy.ProxyCtx) *interceptTLS {
	var d *decision
	switch u := ctx.UserData.(type) {
	case *decision:
		d = u
	case *exchange:
		d = u.d
	}
	if d != nil {
		if it, ok := d.pol.intercepts[d.rule]; ok {
			return it
		}
	}
	return p.defaultIntercept // not reached: ServeHTTP sends only intercept rules' tunnels to goproxy
}

// newInterceptTransport is the transport of the requests inside
// intercepted tunnels under one upstream policy. It dials as tunnels do
// (through the parent proxy, if any) and does the TLS handshake itself, so
// that the policy applies and a failed handshake is told from a failed
// connection.
func (p *Proxy) newInterceptTransport(s tlsSettings) *http.Transport {
	tr := &http.Transport{
		// A proxy passes bodies as they come: the transport must not ask
		// for gzip on its own and then decode it.
		DisableCompression: true,
		DialContext:        p.dial, // not used: every request inside is https
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return p.dialUpstreamTLS(ctx, addr, s)
		},
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	p.mu.Lock()
	p.transports = append(p.transports, tr)
	p.mu.Unlock()
	return tr
}

// upstreamHandshakeTimeout bounds the TLS handshake with an origin, as
// http.Transport's TLSHandshakeTimeout does.
const upstreamHandshakeTimeout = 10 * time.Second

// dialUpstreamTLS reaches addr and completes a TLS handshake with it
// under s, trusting the upstream roots.
func (p *Proxy) dialUpstreamTLS(ctx context.Context, addr string, s tlsSettings) (net.Conn, error) {
	// The addresses the tunnel was checked against, as transportDial
	// dials them.
	d, _ := ctx.Value(decisionKey{}).(*decision)
	if d == nil || addr != d.target.String() {
		return nil, fmt.Errorf("dial %s: not the target of a decision", addr)
	}
	conn, _, err := p.dialChecked(ctx, d.target, d.addrs)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cfg := &tls.Config{RootCAs: p.upstreamRoots, ServerName: host, NextProtos: []string{"http/1.1"}}
	s.apply(cfg)
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, upstreamHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, &upstreamTLSError{addr: addr, err: err}
	}
	return tc, nil
}

// upstreamTLSError is a failed TLS handshake with an origin: the proxy
// answers 502 with Squid's ERR_SECURE_CONNECT_FAIL.
type upstreamTLSError struct {
	addr string
	err  error
}

func (e *upstreamTLSError) Error() string {
	return "TLS handshake with " + e.addr + ": " + e.err.Error()
}
func (e *upstreamTLSError) Unwrap() error { return e.err }
