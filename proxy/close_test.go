package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/egresslab/egresslab/proxy"
)

// TestCloseWaitsForTunnels: Close returns once the tunnels it ended are in
// the journal, so a test can read the journal right after it.
func TestCloseWaitsForTunnels(t *testing.T) {
	t.Parallel()
	p, err := proxy.New(proxy.WithDefault(proxy.Allow), proxy.WithDialer(echoDialer(t)))
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(p.Close)

	var tunnels []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", p.Listener.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write([]byte("CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n\r\nping"))
		require.NoError(t, err)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		got := make([]byte, 4)
		_, err = br.Read(got)
		require.NoError(t, err)
		require.Equal(t, "ping", string(got))
		tunnels = append(tunnels, c)
	}
	open := p.Journal().Entries()
	require.Len(t, open, len(tunnels), "tunnels under way are in the journal")
	for _, e := range open {
		assert.Equal(t, proxy.ResultOpen, e.Result)
		assert.Zero(t, e.BytesUp+e.BytesDown, "bytes are counted when the tunnel ends")
	}
	p.Close()
	entries := p.Journal().Entries()
	require.Len(t, entries, len(tunnels))
	for _, e := range entries {
		assert.Equal(t, "CONNECT", e.Method)
		assert.Equal(t, proxy.ResultOK, e.Result, "complete when Close returns")
		assert.Equal(t, int64(4), e.BytesUp)
		assert.Equal(t, int64(4), e.BytesDown)
	}
	// A closed proxy refuses new connections.
	_, err = net.Dial("tcp", p.Listener.Addr().String())
	assert.Error(t, err)
}

// TestShutdownLetsTunnelsEnd: Shutdown waits for the clients to close their
// tunnels, and the journal then says they ended normally.
func TestShutdownLetsTunnelsEnd(t *testing.T) {
	t.Parallel()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { target.Close() })
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, target.Addr().String())
	}
	p, err := proxy.New(proxy.WithDefault(proxy.Allow), proxy.WithDialer(dial))
	require.NoError(t, err)
	require.NoError(t, p.Start())
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	_, err = c.Write([]byte("CONNECT t.example:443 HTTP/1.1\r\nHost: t.example:443\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	done := make(chan struct{})
	go func() {
		p.Shutdown(context.Background())
		close(done)
	}()
	require.NoError(t, c.Close()) // the client lets go; Shutdown may return
	<-done
	entries := p.Journal().Entries()
	require.Len(t, entries, 1)
	assert.Equal(t, proxy.ResultOK, entries[0].Result)
	assert.Empty(t, entries[0].Detail, "ended by its client, not by the proxy")
}

// TestCloseWaitsForConnections: when Close returns, no goroutine of the
// proxy's connections is left, also after net/http's server answered
// a request itself and lingers on the connection before closing it (it
// does for half a second after an oversized head). Not parallel: goleak
// sees every goroutine.
func TestCloseWaitsForConnections(t *testing.T) {
	before := goleak.IgnoreCurrent()
	noDial := func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("the test dials nothing")
	}
	p, err := proxy.New(proxy.WithDialer(noDial))
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(p.Close)
	// An oversized head: net/http answers 431 while the client is still
	// sending, then waits before it closes.
	rawLenient(t, p.Listener.Addr().String(), "GET http://echo.example/ HTTP/1.1\r\nHost: echo.example\r\nX-Big: "+strings.Repeat("a", 1<<20+8192)+"\r\n\r\n")
	p.Close()
	require.Len(t, p.Journal().Entries(), 1, "refused by net/http's server")
	goleak.VerifyNone(t, before)
}
