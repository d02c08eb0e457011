package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/idna"

	"github.com/egresslab/egresslab/proxy"
)

// resolverName is the name a lenient resolver would look up for a host
// spelling: it maps the spelling as UTS #46 lookup does (case, full-width
// forms, look-alike dots, ignored characters), ignores what that mapping
// rejects, and drops every trailing dot. It is deliberately more lenient
// than the proxy, so that the proxy is checked against the worst resolver
// it may sit in front of.
func resolverName(s string) string {
	a, _ := idna.Lookup.ToASCII(s)
	return strings.TrimRight(strings.ToLower(a), ".")
}

func deniedName(s string) bool {
	n := resolverName(s)
	return n == "blocked.example" || strings.HasSuffix(n, ".blocked.example")
}

// recordingDialer records every address the proxy dials and refuses them
// all: nothing leaves the process.
type recordingDialer struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDialer) dial(_ context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	return nil, errors.New("refused by the test's dialer")
}

func (d *recordingDialer) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.addrs
	d.addrs = nil
	return out
}

// FuzzTargetSpelling checks the property the proxy's normalisation
// exists for: whatever the spelling of a target, if a resolver would send
// it to the denied host (blocked.example or a subdomain), the proxy never
// dials it, over CONNECT or plain HTTP. Run it with
// go test -run '^$' -fuzz FuzzTargetSpelling ./proxy.
func FuzzTargetSpelling(f *testing.F) {
	for _, s := range []string{
		"blocked.example", "BLOCKED.example.", "blocked.example..", "sub.blocked.example..",
		"blocked.example。", "blocked.example。。", "blocked．example", "ｂｌｏｃｋｅｄ.example",
		"b\u200blocked.example", "blocked\u00ad.example", ".blocked.example", "sub..blocked.example",
		"allowed.example", "xn--blocked.example", "blocked.example.allowed.example",
	} {
		f.Add(s)
	}
	rec := &recordingDialer{}
	p, err := proxy.New(proxy.WithDialer(rec.dial), proxy.WithDefault(proxy.Allow),
		proxy.WithRules(proxy.Rule{Name: "block", Hosts: []string{"blocked.example", "*.blocked.example"}, Action: proxy.Deny}))
	if err != nil {
		f.Fatal(err)
	}
	if err := p.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(p.Close)
	addr := p.Listener.Addr().String()
	var mu sync.Mutex // one request at a time, so each dial belongs to its input
	f.Fuzz(func(t *testing.T, host string) {
		if strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(host) > 300 {
			t.Skip("not a request line net/http would read")
		}
		mu.Lock()
		defer mu.Unlock()
		rec.take()
		for _, req := range []string{
			"CONNECT " + host + ":443 HTTP/1.1\r\n\r\n",
			"GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			// The proxy dials before it answers, so the answer means the
			// dial (if any) is recorded.
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if err != nil {
				t.Fatalf("%q: no answer: %v", req, err)
			}
			resp.Body.Close()
		}
		for _, a := range rec.take() {
			h, _, _ := net.SplitHostPort(a)
			if deniedName(host) || deniedName(h) {
				t.Fatalf("spelling %q (a resolver looks up %q): the proxy dialled %s", host, resolverName(host), a)
			}
		}
	})
}
