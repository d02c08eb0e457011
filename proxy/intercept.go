package proxy

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
)

// interceptWriter is the ResponseWriter goproxy gets for an intercepted
// CONNECT. goproxy's handler takes the connection with Hijack and ignores
// the bufio.ReadWriter, so the bytes net/http has already read past the
// CONNECT head (a ClientHello sent in the same write, RFC 2817 5.2) would
// be lost and the handshake would hang: its Hijack returns a connection
// that yields those bytes first.
type interceptWriter struct {
	http.ResponseWriter
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
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// mitmConn is the client's connection of an intercepted tunnel, as
// goproxy reads and writes it.
type mitmConn struct {
	net.Conn
	early []byte // read before the CONNECT was handled; goproxy reads it first
}

func (c *mitmConn) Read(b []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(b, c.early)
		c.early = c.early[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
