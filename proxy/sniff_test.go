package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"golang.org/x/net/http/httpguts"
)

// FuzzHeadView checks that the head checker reads Host, Content-Length
// and Transfer-Encoding as net/http does (its headers come from
// net/textproto's ReadMIMEHeader): whenever the checker accepts a head
// that net/http reads, both see the same values. A head net/http cannot
// read is refused by net/http itself; a folded one by the checker.
func FuzzHeadView(f *testing.F) {
	for _, s := range []string{
		"Host: a\r\nX-Pad: a\r\n Content-Length: 119\r\n",
		"Host: a\r\nContent-Length: 3\r\n",
		"host: a\r\nhost: b\r\n",
		"Content-Length : 3\r\n",
		"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
		"X: y\n\tContent-Length: 9\n",
		"Host:\ta \r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, headers string) {
		full := []byte("GET http://a/ HTTP/1.1\r\n" + headers + "\r\n\r\n")
		end, _ := headEnd(full, 0)
		if end < 0 {
			return
		}
		h := parseHead(full[:end])
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(full)))
		if _, err := tp.ReadLine(); err != nil {
			return
		}
		mh, err := tp.ReadMIMEHeader()
		if err != nil || h.folded {
			return
		}
		for k, vs := range mh { // net/http's server refuses these itself
			if !httpguts.ValidHeaderFieldName(k) {
				return
			}
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldValue(v) {
					return
				}
			}
		}
		check := func(name string, n int, first string) {
			vs := mh[name]
			if len(vs) != n {
				t.Fatalf("%q: %s: the checker counts %d, net/http %d (%q)", headers, name, n, len(vs), vs)
			}
			if n > 0 && vs[0] != first {
				t.Fatalf("%q: %s: the checker reads %q, net/http %q", headers, name, first, vs[0])
			}
		}
		check("Host", h.nhosts, h.host)
		check("Content-Length", h.nlengths, h.length)
		first := ""
		if len(h.encoding) > 0 {
			first = h.encoding[0]
		}
		check("Transfer-Encoding", len(h.encoding), first)
	})
}

// chunkConn is a client connection that delivers the bytes in the given
// pieces, one per Read, so that every place a header name can be split
// between two reads is tried.
type chunkConn struct {
	net.Conn
	chunks [][]byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// TestProxyConnectionRenamed: Proxy-Connection reaches net/http as
// Connection, the same number of bytes, wherever the reads split it;
// bodies, tunnels' first bytes and lines that are not requests are left
// alone, and the heads the checker records stay the same.
func TestProxyConnectionRenamed(t *testing.T) {
	t.Parallel()
	stream := "GET http://a/ HTTP/1.0\r\nHost: a\r\nProxy-Connection: Keep-Alive\r\n\r\n" +
		"POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\nPROXY-CONNECTION: close\r\n\r\n" +
		"\nProxy-Connection: in the body!\n" +
		"CONNECT a:443 HTTP/1.0\r\nproxy-connection: keep-alive\r\n\r\n" +
		"GET / HTTP/1.1\r\nProxy-Connection: tunnel\r\n\r\n"
	want := strings.NewReplacer(
		"Proxy-Connection: Keep-Alive", "Connection:       Keep-Alive",
		"PROXY-CONNECTION: close", "Connection:       close",
		"proxy-connection: keep-alive", "Connection:       keep-alive",
	).Replace(stream)
	for cut := 1; cut < len(stream); cut++ {
		for _, size := range []int{1, 7, 4096} {
			c := &sniffConn{Conn: &chunkConn{chunks: [][]byte{[]byte(stream[:cut]), []byte(stream[cut:])}}}
			var got []byte
			buf := make([]byte, size)
			for {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			require.Equal(t, want, string(got), "cut at %d, reads of %d", cut, size)
			var hosts []string
			for _, h := range c.heads {
				hosts = append(hosts, h.host)
			}
			require.Equal(t, []string{"a", "a", "", ""}, hosts, "cut at %d, reads of %d", cut, size)
		}
	}
}
