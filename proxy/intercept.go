package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// interceptWriter is the ResponseWriter goproxy gets for an intercepted
// CONNECT. goproxy's handler takes the connection with Hijack and ignores
// the bufio.ReadWriter, so the bytes net/http has already read past the
// CONNECT head (a ClientHello sent in the same write, RFC 2817 5.2) would
// be lost and the handshake would hang: its Hijack returns a connection
// that yields those bytes first.
// It also gives the tunnel's decision its connection, so that the
// requests inside can close the tunnel.
type interceptWriter struct {
	http.ResponseWriter
	d *decision
}

func (w interceptWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := &mitmConn{Conn: bare(conn)}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c.early = bytes.Clone(b)
	}
	w.d.conn = c // before goproxy starts the tunnel's goroutine
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// mitmConn is the client's connection of an intercepted tunnel, as
// goproxy reads and writes it.
type mitmConn struct {
	net.Conn
	early []byte // read before the CONNECT was handled; goproxy reads it first
	// ended: reads end, so that goproxy's request loop sees the end of
	// the connection, closes it (with a TLS close_notify) and returns.
	ended atomic.Bool
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
	return c.Conn.Read(b)
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
