package fault

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// MalformedResponse is what a [Malformed] fault writes in place of an HTTP
// response: a first line with no HTTP version and no status, as a broken
// inspecting product might send. Go's http.Client rejects it with
// `malformed HTTP response`; curl with "Received HTTP/0.9 when not allowed".
// Callers must not modify it.
var MalformedResponse = []byte("\x00\x00\x00\x00EGRESSLAB-FAULT-MALFORMED-RESPONSE\r\n\r\n")

// ResetConn resets c so that its peer reads ECONNRESET: it sets SO_LINGER
// to 0 on the underlying *net.TCPConn (reached through NetConn methods, as
// on a *tls.Conn, so that nothing such as a TLS close_notify is written
// first) and closes it. A connection that cannot send a reset is closed
// anyway and an error says so.
func ResetConn(c net.Conn) error {
	b := base(c)
	l, ok := b.(interface{ SetLinger(sec int) error })
	if !ok {
		_ = b.Close()
		return fmt.Errorf("reset: a %T cannot send a TCP reset; closed it instead", b)
	}
	if err := l.SetLinger(0); err != nil {
		_ = b.Close()
		return fmt.Errorf("reset: set SO_LINGER 0: %w", err)
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

// Hold keeps c open without reading or writing until its peer closes it
// (FIN or RST) or ctx is done, then closes c. It clears any read deadline
// on c first. On Linux it watches a TCP connection through the runtime
// poller and MSG_PEEK, so whatever the peer sends stays unread (and a close
// with unread data resets the peer, as a close by a stalled middlebox
// would); elsewhere, and for connections without a file descriptor, it
// reads and discards.
func Hold(ctx context.Context, c net.Conn) {
	b := base(c)
	defer b.Close()
	if ctx.Err() != nil {
		return
	}
	_ = b.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = b.SetReadDeadline(longAgo) })
	defer stop()
	waitPeerGone(b)
}

// longAgo is a deadline in the past: it wakes a blocked Read at once.
var longAgo = time.Unix(1, 0)

// base unwraps c through NetConn methods (as *tls.Conn has) down to the
// connection that owns the socket.
func base(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		n := u.NetConn()
		if n == nil || n == c {
			return c
		}
		c = n
	}
}

// discardUntilGone reads and discards from c until it fails: the peer
// closed, or a deadline or Close woke the read.
func discardUntilGone(c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
}

// statusResponse is what a Status fault answers inside a tunnel: a small
// HTTP/1.1 error response that closes the connection.
func statusResponse(code int) []byte {
	text := http.StatusText(code)
	body := fmt.Sprintf("%d %s (egresslab fault)\n", code, text)
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, text, len(body), body)
}
