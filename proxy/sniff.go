package proxy

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// sniffConn records the head of every request read on a client
// connection, because net/http hides what a proxy must check: for an
// absolute-form or CONNECT request it takes the host from the target and
// drops the Host header, and it drops Content-Length from a request that
// also has Transfer-Encoding. Heads are parsed as bytes stream in
// (bodies with Content-Length are skipped) and handed to the handlers in
// order. Tunnels unwrap the connection, so relaying stays on the splice
// path.
type sniffConn struct {
	net.Conn

	mu      sync.Mutex
	buf     []byte // the head being read (its array is reused head after head)
	scanned int    // how much of buf was searched for the head's end
	skip    int64  // body bytes still to pass over
	heads   []rawHead
	first   int    // heads[first:] are still to be handed out
	broken  bool   // lost track (an oversized head, a chunked body): no more heads
	lost    string // the request line of an oversized head
	// held are bytes read but not yet fed nor passed on (they may start
	// "Proxy-Connection:"); pend were fed and wait for net/http.
	held, pend []byte
	// connectPending: a CONNECT head was read and not yet answered. An
	// atomic, so that Write, on every answer, takes no lock.
	connectPending atomic.Bool

	// refused is called when net/http refuses a request itself, before
	// any handler runs (see Write).
	refused func(c *sniffConn, status int, reason, line string)
}

// rawHead is what a request's head said, before net/http tidied it. Of
// Host and Content-Length it keeps how many there were and the first
// value: a second one is refused whatever it says, or (Content-Length)
// not looked at.
type rawHead struct {
	line     string // the request line, at most maxLine bytes
	folded   bool   // a header line was folded (obs-fold)
	host     string // the first Host header's value
	nhosts   int
	length   string // the first Content-Length value
	nlengths int
	encoding []string // Transfer-Encoding values
	connect  bool
}

// keptBuf bounds the head buffer a connection keeps between heads.
const keptBuf = 64 << 10

// maxHead bounds a head, as net/http's default MaxHeaderBytes does.
const maxHead = 1<<20 + 4096

// maxLine bounds the request line kept for the journal.
const maxLine = 1024

// Read passes the client's bytes to net/http, sniffing each head as it
// streams in and renaming Proxy-Connection (see renameProxyConnection).
// The common case reads straight into p; a head that ends in what may be
// the start of "Proxy-Connection:" keeps those few bytes back until the
// next read tells.
func (c *sniffConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.pend) > 0 {
		n := copy(p, c.pend)
		c.pend = c.pend[n:]
		c.mu.Unlock()
		return n, nil
	}
	held := c.held
	c.held = nil
	c.mu.Unlock()
	if len(held) == 0 {
		n, err := c.Conn.Read(p)
		if n == 0 {
			return n, err
		}
		c.mu.Lock()
		keep := c.feed(p[:n], err != nil)
		if keep > 0 {
			c.held = append(c.held, p[n-keep:n]...)
		}
		c.mu.Unlock()
		if n -= keep; n == 0 {
			return c.Read(p) // all kept back: read on
		}
		return n, err
	}
	buf := make([]byte, len(held)+4096)
	copy(buf, held)
	m, err := c.Conn.Read(buf[len(held):])
	buf = buf[:len(held)+m]
	c.mu.Lock()
	keep := c.feed(buf, err != nil)
	c.held = append(c.held, buf[len(buf)-keep:]...)
	buf = buf[:len(buf)-keep]
	n := copy(p, buf)
	c.pend = append(c.pend, buf[n:]...)
	c.mu.Unlock()
	if n == 0 && err == nil {
		return c.Read(p)
	}
	if len(c.pend) > 0 {
		err = nil // the error comes again on the next read
	}
	return n, err
}

// feed sniffs b, the bytes just read. It returns how many bytes at its
// end to keep back: a head's last line may be the start of
// "Proxy-Connection:" (never when final, the last bytes there are).
func (c *sniffConn) feed(b []byte, final bool) int {
	for len(b) > 0 && !c.broken {
		if c.skip > 0 {
			k := min(int64(len(b)), c.skip)
			c.skip -= k
			b = b[k:]
			continue
		}
		// The head so far: earlier bytes in c.buf, then b. Most heads
		// arrive whole, and are read in b without a copy.
		old := len(c.buf)
		head := b
		if old > 0 {
			c.buf = append(c.buf, b...)
			head = c.buf
		}
		end, next := headEnd(head, c.scanned)
		limit := len(head)
		if end >= 0 {
			limit = next
		}
		keep := c.renameProxyConnection(head, old, limit, b, end < 0 && !final)
		if end < 0 {
			if old == 0 {
				c.buf = append(c.buf, b...)
			}
			c.buf = c.buf[:len(c.buf)-keep]
			c.scanned = len(c.buf)
			if len(c.buf) > maxHead {
				c.lost = requestLine(c.buf)
				c.broken, c.buf = true, nil
			}
			return keep
		}
		c.scanned = 0
		h := parseHead(head[:end]) // copies what it keeps
		c.heads = append(c.heads, h)
		if h.connect {
			c.connectPending.Store(true)
		}
		switch {
		case h.folded:
			// net/http would read the folded line as part of the
			// header before it: refused, and no length read from it.
			c.broken = true
		case len(h.encoding) > 0:
			c.broken = true // a chunked body: the request is refused anyway
		case h.nlengths > 0:
			n, err := strconv.ParseInt(strings.TrimSpace(h.length), 10, 64)
			if err != nil || n < 0 {
				c.broken = true
			} else {
				c.skip = n
			}
		}
		if c.broken || cap(c.buf) > keptBuf {
			c.buf = nil
		} else {
			c.buf = c.buf[:0]
		}
		b = b[next-old:]
	}
	return 0
}

// proxyConnection is the header HTTP/1.0 proxy clients (WinINet, curl
// --proxy1.0) send to ask the proxy to keep the connection, and
// asConnection is what net/http reads instead: the same number of bytes,
// so nothing else in the stream moves.
const (
	proxyConnection = "proxy-connection:"
	asConnection    = "Connection:      "
)

// renameProxyConnection renames each "Proxy-Connection:" header that
// starts in head[old:limit] (a request's head; old is where b, the new
// bytes, starts in it) to "Connection:", in head and in b alike, so that
// net/http honours it as proxies do: an HTTP/1.0 client's keep-alive
// keeps the connection (NTLM and Negotiate need that), and a close
// closes it. Only heads whose first line is an HTTP/1.x request line are
// touched, and nothing that follows a CONNECT head until the proxy has
// answered it (it may be the tunnel's first bytes). When mayKeep, it
// returns how many bytes at the end of head to keep back because they
// may be the start of the header's name.
func (c *sniffConn) renameProxyConnection(head []byte, old, limit int, b []byte, mayKeep bool) int {
	if c.connectPending.Load() {
		return 0
	}
	start := 0
	for start < len(head) && (head[start] == '\r' || head[start] == '\n') {
		start++
	}
	lineEnd := bytes.IndexByte(head[start:], '\n')
	if lineEnd < 0 {
		return 0
	}
	lineEnd += start
	if line := bytes.TrimRight(head[start:lineEnd], "\r"); !bytes.HasSuffix(line, []byte(" HTTP/1.0")) && !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
		return 0
	}
	from := max(old, lineEnd+1)
	for i := from; i < limit; i++ {
		if head[i-1] != '\n' || (head[i] != 'p' && head[i] != 'P') {
			continue
		}
		n := min(len(proxyConnection), limit-i)
		if !bytes.EqualFold(head[i:i+n], []byte(proxyConnection[:n])) {
			continue
		}
		if n < len(proxyConnection) {
			if mayKeep {
				return limit - i
			}
			return 0
		}
		copy(head[i:], asConnection)
		if old > 0 {
			copy(b[i-old:], asConnection)
		}
	}
	return 0
}

// headEnd finds the empty line that ends a head, with CRLF or bare LF
// line ends as net/http accepts them; it returns the head's end and the
// start of what follows, or -1. Empty lines before a request line are
// allowed and skipped. The search resumes near from, where the last one
// stopped, so a head that arrives in small pieces costs linear time.
func headEnd(b []byte, from int) (int, int) {
	start := 0
	for start < len(b) && (b[start] == '\r' || b[start] == '\n') {
		start++
	}
	for i := max(start, from-3); i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return i, j + 1
		}
	}
	return -1, -1
}

// parseHead reads a head's request line and its Host, Content-Length and
// Transfer-Encoding headers (names in any case, values trimmed). A header
// line that starts with a space or tab (obs-fold, RFC 9112 5.2) marks the
// head folded, and the proxy refuses it: net/http would join it to the
// header before, whatever that is, and a checker that reads it otherwise
// sees another head. It works on the bytes in place and copies only the
// values it keeps.
func parseHead(b []byte) rawHead {
	var h rawHead
	b = bytes.TrimLeft(b, "\r\n")
	line, rest, more := bytes.Cut(b, []byte{'\n'})
	h.line = requestLine(line)
	h.connect = bytes.HasPrefix(line, []byte("CONNECT "))
	for more {
		line, rest, more = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			h.folded = true
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		switch {
		case headerIs(name, "host"):
			if h.nhosts++; h.nhosts == 1 {
				h.host = string(bytes.TrimSpace(value))
			}
		case headerIs(name, "content-length"):
			if h.nlengths++; h.nlengths == 1 {
				h.length = string(bytes.TrimSpace(value))
			}
		case headerIs(name, "transfer-encoding"):
			h.encoding = append(h.encoding, string(bytes.TrimSpace(value)))
		}
	}
	return h
}

// requestLine copies the first line of a head, without its line end, cut
// to maxLine bytes.
func requestLine(b []byte) string {
	b = bytes.TrimLeft(b, "\r\n")
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimRight(b, "\r")
	if len(b) > maxLine {
		b = b[:maxLine]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// netHTTPErrorHeaders follow the status line of every answer net/http's
// server writes itself when it refuses a request before any handler runs
// (net/http server.go, conn.serve): 400 with or without a reason, 431 for
// an oversized head, 501 for an unknown transfer coding. A handler's
// answer never has them in this order (net/http sorts header names).
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// netHTTPRefusal recognises such an answer: its status and the reason
// net/http gave ("400 Bad Request: missing required Host header").
func netHTTPRefusal(b []byte) (int, string, bool) {
	if len(b) < 16 || len(b) > 4096 || (b[9] != '4' && b[9] != '5') || !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) {
		return 0, "", false
	}
	end := bytes.Index(b, []byte(netHTTPErrorHeaders))
	if end < 0 || bytes.IndexByte(b[:end], '\n') >= 0 {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(b[9:12]))
	if err != nil {
		return 0, "", false
	}
	return status, string(b[9:end]), true
}

// Write passes the proxy's answers on, except one that net/http's server
// writes itself to refuse a request no handler saw (two Content-Lengths,
// a bad port, an oversized head, control characters, HTTP/0.9): that one
// becomes Squid's page, and the refusal is journaled like every other.
func (c *sniffConn) Write(b []byte) (int, error) {
	c.connectPending.Store(false) // answered: what comes next is a request
	if c.refused == nil {
		return c.Conn.Write(b)
	}
	status, reason, ok := netHTTPRefusal(b)
	if !ok {
		return c.Conn.Write(b)
	}
	c.mu.Lock()
	line := c.lost
	switch {
	case c.first < len(c.heads):
		line = c.heads[c.first].line
	case len(c.buf) > 0:
		line = requestLine(c.buf)
	}
	c.mu.Unlock()
	// Journaled before the answer goes out, so that the entry is there by
	// the time the client reads it.
	c.refused(c, status, reason, line)
	refusalPage(status, reason).writeRaw(c.Conn)
	return len(b), nil
}

// headerIs reports whether name lower-cases (strings.ToLower) to want, a
// lower-case ASCII name: in ASCII by folding, otherwise by ToLower itself.
func headerIs(name []byte, want string) bool {
	if len(name) != len(want) {
		for _, c := range name {
			if c >= 0x80 {
				return strings.ToLower(string(name)) == want
			}
		}
		return false
	}
	for i, c := range name {
		if c >= 0x80 {
			return strings.ToLower(string(name)) == want
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// CloseWrite half-closes the connection, so that net/http can end an
// answer before it closes (it looks for this method).
func (c *sniffConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// stop ends sniffing: the connection is becoming a tunnel.
func (c *sniffConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broken, c.buf, c.heads, c.first = true, nil, nil, 0
}

// bare returns the connection under a sniffConn, for relaying on the
// splice path and for resetting it.
func bare(c net.Conn) net.Conn {
	if sc, ok := c.(*sniffConn); ok {
		sc.mu.Lock()
		rest := append(sc.pend, sc.held...)
		sc.pend, sc.held = nil, nil
		sc.mu.Unlock()
		sc.stop()
		if len(rest) > 0 {
			// Bytes read past the head that net/http has not seen yet
			// go first (off the splice path, for this connection only).
			return &prefixConn{Conn: sc.Conn, prefix: rest}
		}
		return sc.Conn
	}
	return c
}

// prefixConn reads prefix before the connection's own bytes.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// stopSniffing stops sniffing the request's connection, if it is sniffed.
func stopSniffing(r *http.Request) {
	if sc, ok := r.Context().Value(connKey{}).(*sniffConn); ok {
		sc.stop()
	}
}

// next returns the head of the request now being handled.
func (c *sniffConn) next() (rawHead, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == len(c.heads) {
		return rawHead{}, false
	}
	h := c.heads[c.first]
	c.heads[c.first] = rawHead{}
	if c.first++; c.first == len(c.heads) {
		c.heads, c.first = c.heads[:0], 0 // keep the array for the next heads
	}
	return h, true
}

// sniffListener wraps accepted TCP connections in sniffConns that
// report net/http's own refusals to refused.
type sniffListener struct {
	net.Listener
	refused func(c *sniffConn, status int, reason, line string)
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, refused: l.refused}, nil
}

type connKey struct{}

// connOf returns the client connection a request came on, when the proxy
// serves it itself (nil when it is a handler in another server).
func connOf(r *http.Request) net.Conn {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	return c
}

func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// checkHead compares what the request's head said with the target net/http
// parsed from it. It returns nil when the proxy is served by a server that
// does not sniff (a caller's own), and an error when they disagree or the
// head could not be read.
func checkHead(r *http.Request, t Target) error {
	sc, ok := r.Context().Value(connKey{}).(*sniffConn)
	if !ok {
		return nil
	}
	h, ok := sc.next()
	if !ok {
		return badTarget("the request's head could not be checked")
	}
	if h.folded {
		return badTarget("a folded header line (obs-fold, RFC 9112 5.2)")
	}
	if len(h.encoding) > 0 {
		if h.nlengths > 0 {
			return badTarget("both Content-Length and Transfer-Encoding (request smuggling)")
		}
		return badTarget("Transfer-Encoding %q in a request: the lab proxy accepts Content-Length bodies only", h.encoding)
	}
	if h.nhosts > 1 {
		return badTarget("more than one Host header")
	}
	if h.nhosts == 1 {
		def := 80
		if t.Connect {
			def = t.Port
		}
		hh, hp, err := splitHostPort(h.host, def)
		if err != nil {
			return badTarget("Host header %q: %v", h.host, err)
		}
		nh, _, err := normalizeHost(hh)
		if err != nil || nh != t.Host || hp != t.Port {
			return badTarget("Host header %q disagrees with the request target %s", h.host, t)
		}
	}
	return nil
}
