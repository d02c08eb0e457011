package proxy

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	first   int  // heads[first:] are still to be handed out
	broken  bool // lost track (an oversized head, a chunked body): no more heads
}

// rawHead is what a request's head said, before net/http tidied it. Of
// Host and Content-Length it keeps how many there were and the first
// value: a second one is refused whatever it says, or (Content-Length)
// not looked at.
type rawHead struct {
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

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.feed(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

func (c *sniffConn) feed(b []byte) {
	for len(b) > 0 && !c.broken {
		if c.skip > 0 {
			k := min(int64(len(b)), c.skip)
			c.skip -= k
			b = b[k:]
			continue
		}
		c.buf = append(c.buf, b...)
		b = nil
		for !c.broken {
			end, next := headEnd(c.buf, c.scanned)
			if end < 0 {
				c.scanned = len(c.buf)
				if len(c.buf) > maxHead {
					c.broken, c.buf = true, nil
				}
				break
			}
			c.scanned = 0
			h := parseHead(c.buf[:end]) // copies what it keeps
			rest := c.buf[next:]
			c.heads = append(c.heads, h)
			switch {
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
			if len(rest) > 0 && !c.broken {
				// What follows may be body, then more heads (moved to
				// the front of the same array: copy handles the overlap).
				k := min(int64(len(rest)), c.skip)
				c.skip -= k
				c.buf = append(c.buf, rest[k:]...)
			}
			if c.skip > 0 {
				break
			}
		}
	}
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
// Transfer-Encoding headers (names in any case, values trimmed, obs-fold
// lines joined to the value they continue). It works on the bytes in
// place and copies only the values it keeps.
func parseHead(b []byte) rawHead {
	var h rawHead
	b = bytes.TrimLeft(b, "\r\n")
	line, rest, more := bytes.Cut(b, []byte{'\n'})
	h.connect = bytes.HasPrefix(line, []byte("CONNECT "))
	// tracked: the last header line was one of the three, so an obs-fold
	// line continues it; fold: the value it continues, if one is kept.
	tracked := false
	var fold *string
	for more {
		line, rest, more = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && tracked {
			if fold != nil {
				*fold += " " + string(bytes.TrimSpace(line)) // obs-fold
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			tracked, fold = false, nil
			continue
		}
		name = bytes.TrimSpace(name)
		tracked, fold = true, nil
		switch {
		case headerIs(name, "host"):
			if h.nhosts++; h.nhosts == 1 {
				h.host = string(bytes.TrimSpace(value))
				fold = &h.host
			}
		case headerIs(name, "content-length"):
			if h.nlengths++; h.nlengths == 1 {
				h.length = string(bytes.TrimSpace(value))
				fold = &h.length
			}
		case headerIs(name, "transfer-encoding"):
			h.encoding = append(h.encoding, string(bytes.TrimSpace(value)))
			fold = &h.encoding[len(h.encoding)-1]
		default:
			tracked = false
		}
	}
	return h
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
		sc.stop()
		return sc.Conn
	}
	return c
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

// sniffListener wraps accepted TCP connections in sniffConns.
type sniffListener struct{ net.Listener }

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c}, nil
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
