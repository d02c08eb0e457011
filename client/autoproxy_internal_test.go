package client

import (
	"context"
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pac"
)

// pacRoute is a route with src as the PAC file in force.
func pacRoute(t *testing.T, src string) *route {
	t.Helper()
	s, err := pac.Compile("t.pac", []byte(src))
	require.NoError(t, err)
	rt := newRouteFor(nil)
	rt.script, rt.auto = s, &AutoProxy{Method: AutoProxyAutoConfigURL, URL: "http://pac/"}
	return rt
}

// The URL the script sees for an IPv6 literal keeps its brackets, on the
// default port too.
func TestTunnelURLOfAnIPv6Literal(t *testing.T) {
	for addr, want := range map[string]string{"[2001:db8::1]:8443": "https://[2001:db8::1]:8443/", "[2001:db8::1]:443": "https://[2001:db8::1]/", "h.example:443": "https://h.example/"} {
		rt := pacRoute(t, `function FindProxyForURL(u, h) { if (u != "`+want+`") throw new Error("url " + u); return "DIRECT"; }`)
		refuse := func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		}
		_, err := newNetClient(refuse, rt, nil, nil, time.Second, time.Second).tunnel(context.Background(), addr)
		var ape *AutoProxyError
		assert.False(t, errors.As(err, &ape), "%s: %v", addr, err)
		assert.Empty(t, rt.auto.Errors, addr)
	}
}

// A proxy that answered is not a bad proxy: only one that could not be
// connected to is skipped afterwards.
func TestAnsweringProxyIsNotMarkedBad(t *testing.T) {
	rt := pacRoute(t, `function FindProxyForURL(u, h) { return "PROXY a.example:1; PROXY b.example:1; DIRECT"; }`)
	var tried []string
	attempt := func(answer error) func(*url.URL) error {
		return func(p *url.URL) error {
			if p == nil {
				tried = append(tried, "DIRECT")
				return nil
			}
			tried = append(tried, p.Host)
			if p.Host == "a.example:1" {
				return &DialError{Addr: p.Host, ToProxy: true, Err: syscall.ECONNREFUSED}
			}
			return answer
		}
	}
	refused := errors.New("proxy answered 407")
	err := rt.try(context.Background(), "https", "portal.example", "https://portal.example/", attempt(refused))
	assert.Same(t, refused, err, "the proxy's own answer, not a FailoverError")
	assert.Equal(t, []string{"a.example:1", "b.example:1"}, tried)
	tried = nil
	require.NoError(t, rt.try(context.Background(), "https", "portal.example", "https://portal.example/", attempt(nil)))
	assert.Equal(t, []string{"b.example:1"}, tried, "a is skipped, b answered and stays")
	assert.Len(t, rt.auto.Failed, 1)
}
