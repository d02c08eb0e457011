package proxy

import (
	"bufio"
	"bytes"
	"net/textproto"
	"testing"

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
