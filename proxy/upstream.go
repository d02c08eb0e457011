package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// upstream sends the commonest plain-HTTP requests (a GET, HEAD, OPTIONS
// or TRACE without a body, no Upgrade, no parent proxy) on kept-alive
// connections of its own, in the handler's goroutine. http.Transport
// hands every request to a write goroutine and every response from a read
// goroutine, which cost about an eighth of the CPU of a forwarded request
// (BenchmarkKeepAliveRatio). Every other request goes through the
// transport. It keeps the transport's behaviour: the same request bytes
// (Request.Write is what the transport writes without a proxy), 1xx
// responses skipped, 101 handing over the connection, a response head
// limited to 10 MiB, a request retried on another connection when a
// kept-alive one turns out closed before any answer, cancellation with the
// client's request, the transport's idle limits, and its errors. It
// dials, and takes idle connections to, only the addresses the request
// was checked against.
type upstream struct {
	dial func(ctx context.Context, t Target, addrs []netip.Addr) (net.Conn, netip.Addr, error)

	mu    sync.Mutex
	idle  map[upKey][]*upConn // the most recently used last
	nidle int
}

// upKey names where an idle connection leads: the target's host:port and
// the address dialled for it (the zero Addr when the target was dialled
// as it is: an IP literal, or a name passed on unresolved).
type upKey struct {
	hostport string
	addr     netip.Addr
}

// The transport's settings, which the upstream client keeps too.
const (
	upMaxIdle        = 1024
	upMaxIdlePerHost = 256
	upIdleTimeout    = 90 * time.Second
	upMaxHead        = 10 << 20 // http.Transport's default MaxResponseHeaderBytes
)

// upConn is one upstream connection.
type upConn struct {
	conn     net.Conn
	key      upKey // where it leads
	br       *bufio.Reader
	bw       *bufio.Writer
	limit    int64 // what may still be read (the head's limit while reading one)
	nwrite   int64
	idleFrom time.Time
}

func (c *upConn) Read(b []byte) (int, error) {
	if c.limit <= 0 {
		return 0, fmt.Errorf("read limit of %d bytes exhausted", upMaxHead)
	}
	if int64(len(b)) > c.limit {
		b = b[:c.limit]
	}
	n, err := c.conn.Read(b)
	c.limit -= int64(n)
	return n, err
}

func (c *upConn) Write(b []byte) (int, error) {
	n, err := c.conn.Write(b)
	c.nwrite += int64(n)
	return n, err
}

// fastPath reports whether r can go through the upstream client.
func (u *upstream) fastPath(r *http.Request) bool {
	if r.Body != nil && r.Body != http.NoBody {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	_, up := r.Header["Upgrade"]
	return !up && r.URL.Scheme == "http" && r.URL.Host != ""
}

// idleTo returns an idle connection to hostport through one of addrs (in
// their order), or to hostport as it is without addrs; nil if there is
// none.
func (u *upstream) idleTo(hostport string, addrs []netip.Addr) *upConn {
	if len(addrs) == 0 {
		return u.get(upKey{hostport: hostport})
	}
	for _, a := range addrs {
		if c := u.get(upKey{hostport, a}); c != nil {
			return c
		}
	}
	return nil
}

func (u *upstream) get(key upKey) *upConn {
	u.mu.Lock()
	defer u.mu.Unlock()
	for l := u.idle[key]; len(l) > 0; l = u.idle[key] {
		c := l[len(l)-1]
		l[len(l)-1] = nil
		u.idle[key] = l[:len(l)-1]
		u.nidle--
		if time.Since(c.idleFrom) < upIdleTimeout {
			return c
		}
		c.conn.Close()
	}
	return nil
}

func (u *upstream) put(key upKey, c *upConn) {
	u.mu.Lock()
	if u.idle == nil {
		u.idle = make(map[upKey][]*upConn)
	}
	if l := u.idle[key]; len(l) < upMaxIdlePerHost && u.nidle < upMaxIdle {
		c.idleFrom = time.Now()
		u.idle[key] = append(l, c)
		u.nidle++
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	c.conn.Close()
}

// closeIdle closes the idle connections.
func (u *upstream) closeIdle() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, l := range u.idle {
		for _, c := range l {
			c.conn.Close()
		}
	}
	u.idle, u.nidle = nil, 0
}

// readFromServerError is http.Transport's error for a connection that
// failed before its answer began.
type readFromServerError struct{ err error }

func (e readFromServerError) Error() string {
	return fmt.Sprintf("net/http: Transport failed to read from server: %v", e.err)
}

func (e readFromServerError) Unwrap() error { return e.err }

// roundTrip sends r (fastPath(r) holds, r.URL.Host is t) to t through
// one of addrs (see decision.addrs) and reads the response head; the
// body reads from the connection, which goes back to the idle ones once
// the body was read to its end.
func (u *upstream) roundTrip(r *http.Request, t Target, addrs []netip.Addr) (*http.Response, error) {
	ctx := r.Context()
	hostport := r.URL.Host
	for {
		c := u.idleTo(hostport, addrs)
		reused := c != nil
		if c == nil {
			conn, addr, err := u.dial(ctx, t, addrs)
			if err != nil {
				if ctx.Err() != nil {
					return nil, context.Cause(ctx)
				}
				return nil, err
			}
			c = &upConn{conn: conn, key: upKey{hostport, addr}}
			c.br = bufio.NewReader(c)
			c.bw = bufio.NewWriter(c)
		}
		// Cancelling the client's request ends the exchange, as the
		// transport does, until the body is read.
		stop := context.AfterFunc(ctx, func() { c.conn.Close() })
		resp, err := u.exchange(c, r)
		if err == nil {
			if resp.StatusCode == http.StatusSwitchingProtocols && isProtocolSwitch(resp.Header) {
				stop()
				resp.Body = &switchedBody{Reader: c.br, c: c.conn}
				return resp, nil
			}
			c.limit = math.MaxInt64
			resp.Body = &upBody{ReadCloser: resp.Body, u: u, c: c, stop: stop, ctx: ctx, keep: !resp.Close && !r.Close, eof: resp.Body == http.NoBody}
			return resp, nil
		}
		stopped := stop()
		c.conn.Close()
		if !stopped || ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var rfs readFromServerError
		var nw nothingWritten
		if reused && (errors.As(err, &rfs) || errors.As(err, &nw)) {
			continue // closed while idle: another connection, as the transport retries
		}
		if nw, ok := err.(nothingWritten); ok {
			return nil, nw.err
		}
		return nil, err
	}
}

// nothingWritten marks a failure before any byte of the request was sent.
type nothingWritten struct{ err error }

func (e nothingWritten) Error() string { return e.err.Error() }
func (e nothingWritten) Unwrap() error { return e.err }

// exchange writes r on c and reads the response head, skipping 1xx
// informational responses (101 ends the head like any final status).
func (u *upstream) exchange(c *upConn, r *http.Request) (*http.Response, error) {
	start := c.nwrite
	err := r.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		if c.nwrite == start {
			return nil, nothingWritten{err}
		}
		return nil, fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", err)
	}
	c.limit = upMaxHead
	if _, err := c.br.Peek(1); err != nil {
		return nil, readFromServerError{err}
	}
	for {
		resp, err := http.ReadResponse(c.br, r)
		if err != nil {
			return nil, fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return resp, nil
	}
}

// isProtocolSwitch is net/http's test for a response that switches
// protocols (101 with Upgrade and "Connection: upgrade").
func isProtocolSwitch(h http.Header) bool {
	if h.Get("Upgrade") == "" {
		return false
	}
	for _, v := range h["Connection"] {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// upBody is a response body on an upstream connection: read to its end
// on a connection that stays open, it returns the connection to the idle
// ones; closed earlier, it closes the connection.
type upBody struct {
	io.ReadCloser
	u    *upstream
	c    *upConn
	stop func() bool
	ctx  context.Context
	keep bool
	eof  bool
	done bool
}

func (b *upBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("http: read on closed response body")
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil && b.ctx.Err() != nil {
		err = context.Cause(b.ctx)
	}
	return n, err
}

func (b *upBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	if b.stop() && b.eof && b.keep {
		if err := b.ReadCloser.Close(); err == nil {
			b.u.put(b.c.key, b.c)
			return nil
		}
	}
	// Closed before its end (net/http's body would drain the rest first),
	// or the connection cannot be used again.
	b.c.conn.Close()
	_ = b.ReadCloser.Close()
	return nil
}

// switchedBody is the connection after a 101: what upstream sends (bytes
// already buffered first), and what goes to it.
type switchedBody struct {
	*bufio.Reader
	c net.Conn
}

func (s *switchedBody) Write(b []byte) (int, error) { return s.c.Write(b) }
func (s *switchedBody) Close() error                { return s.c.Close() }
