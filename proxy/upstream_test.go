package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// rawServer answers each request head on a connection with answer(n),
// n counting the requests of the whole server from 1; close says whether
// to close the connection after that answer, and closed (if not nil) is
// told once it is closed.
func rawServer(t *testing.T, closed chan<- struct{}, answer func(n int64) (resp string, close bool)) string {
	var n atomic.Int64
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.Body.Close()
			resp, done := answer(n.Add(1))
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
			if done {
				c.Close()
				if closed != nil {
					closed <- struct{}{}
				}
				return
			}
		}
	})
}

// The proxy's own upstream client keeps what the transport did: 1xx
// answers are not passed on, a kept-alive connection the origin closed
// while idle is replaced without the client noticing, and HEAD answers
// carry no body.
func TestUpstreamKeepAlive(t *testing.T) {
	t.Parallel()
	closed := make(chan struct{}, 1)
	origin := rawServer(t, closed, func(n int64) (string, bool) {
		if n == 1 {
			return "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", true
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo", false
	})
	p := startProxy(t, proxy.WithDefault(proxy.Allow))
	pu, _ := url.Parse(p.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	t.Cleanup(c.CloseIdleConnections)
	for i, want := range []string{"one", "two", "two"} {
		resp, err := c.Get("http://" + origin + "/")
		require.NoError(t, err, i)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err, i)
		assert.Equal(t, http.StatusOK, resp.StatusCode, i)
		assert.Equal(t, want, string(b), i)
		if i == 0 {
			<-closed // the proxy's idle connection is now closed at the origin
		}
	}
	resp, err := c.Head("http://" + origin + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	for _, e := range p.Journal().Entries() {
		assert.Equal(t, proxy.ResultOK, e.Result, e.Detail)
	}
}

// A client that gives up on a silent origin ends the proxy's request.
func TestUpstreamCancelledWithTheClient(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	origin := serveTCP(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			arrived <- struct{}{}
		}
		_, _ = io.Copy(io.Discard, c) // silent until the proxy lets go
	})
	p := startProxy(t, proxy.WithDefault(proxy.Allow))
	pu, _ := url.Parse(p.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+origin+"/", nil)
	require.NoError(t, err)
	go func() {
		<-arrived // the request reached the origin, which says nothing
		cancel()
	}()
	_, err = c.Do(req)
	require.Error(t, err)
	p.Close() // returns once the request it was serving is journaled
	entries := p.Journal().Entries()
	require.Len(t, entries, 1)
	e := entries[0]
	assert.Equal(t, proxy.ResultUpstreamError, e.Result)
	assert.True(t, strings.Contains(e.Detail, "context canceled"), e.Detail)
}
