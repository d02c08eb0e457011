package proxy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

// holdTunnel CONNECTs through the proxy at addr, sends ping and reads it
// back from the echo upstream; the tunnel stays open.
func holdTunnel(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = io.WriteString(c, "ping")
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(br, got)
	require.NoError(t, err)
	require.Equal(t, "ping", string(got))
	return c
}

// TestJournalShowsOpenTunnels: a tunnel is in the journal from its
// establishment, as open; when it ends the same entry has its bytes and
// result, and only then do the writer and the observer get it, once.
func TestJournalShowsOpenTunnels(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lines bytes.Buffer
	observed := make(chan proxy.Entry, 4)
	p := startProxy(t, proxy.WithDefault(proxy.Allow), proxy.WithDialer(echoDialer(t)),
		proxy.WithJournalWriter(&syncWriter{w: &lines, mu: &mu}),
		proxy.WithObserver(func(e proxy.Entry) { observed <- e }))
	c := holdTunnel(t, p.Listener.Addr().String())

	es := p.Journal().Entries()
	require.Len(t, es, 1, "the tunnel is journaled while it is open")
	assert.Equal(t, "CONNECT", es[0].Method)
	assert.Equal(t, "echo.example:443", es[0].Target)
	assert.Equal(t, proxy.Allow, es[0].Action)
	assert.Equal(t, http.StatusOK, es[0].Status)
	assert.Equal(t, proxy.ResultOpen, es[0].Result)
	assert.Zero(t, es[0].Duration)
	assert.Zero(t, es[0].BytesUp+es[0].BytesDown)
	assert.Empty(t, observed, "the observer sees final entries only")
	mu.Lock()
	assert.Empty(t, lines.String(), "the writer sees final entries only")
	mu.Unlock()

	require.NoError(t, c.Close())
	var final proxy.Entry
	select {
	case final = <-observed:
	case <-time.After(10 * time.Second):
		t.Fatal("the tunnel's end was not observed")
	}
	assert.Equal(t, proxy.ResultOK, final.Result)
	es = p.Journal().Entries()
	require.Len(t, es, 1, "completed in place, not added")
	assert.Equal(t, final, es[0])
	assert.Equal(t, es[0].Time, final.Time)
	assert.Equal(t, int64(4), es[0].BytesUp)
	assert.Equal(t, int64(4), es[0].BytesDown)
	mu.Lock()
	var written proxy.Entry
	require.NoError(t, json.Unmarshal(lines.Bytes(), &written), "one line: %s", lines.String())
	mu.Unlock()
	assert.Equal(t, proxy.ResultOK, written.Result)
	assert.Empty(t, observed, "observed once")
}

// TestJournalOpenTunnelLeavesWindow: a tunnel whose open entry fell out of
// the in-memory window, or was forgotten by Reset, is kept anew, complete,
// when it ends.
func TestJournalOpenTunnelLeavesWindow(t *testing.T) {
	t.Parallel()
	for name, forget := range map[string]func(t *testing.T, p *proxy.Proxy){
		"window": func(t *testing.T, p *proxy.Proxy) {
			status, _ := raw(t, p.Listener.Addr().String(), crlf("GET http://denied.example/ HTTP/1.1\nHost: denied.example\n\n"))
			require.Equal(t, http.StatusForbidden, status)
		},
		"reset": func(t *testing.T, p *proxy.Proxy) { p.Journal().Reset() },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			observed := make(chan proxy.Entry, 4)
			p := startProxy(t, proxy.WithDialer(echoDialer(t)), proxy.WithJournalLimit(1),
				proxy.WithRules(proxy.Rule{Hosts: []string{"echo.example"}, Action: proxy.Allow}),
				proxy.WithObserver(func(e proxy.Entry) {
					if e.Method == http.MethodConnect {
						observed <- e
					}
				}))
			c := holdTunnel(t, p.Listener.Addr().String())
			forget(t, p)
			for _, e := range p.Journal().Entries() {
				require.NotEqual(t, http.MethodConnect, e.Method, "the open tunnel left the journal")
			}
			require.NoError(t, c.Close())
			select {
			case <-observed:
			case <-time.After(10 * time.Second):
				t.Fatal("the tunnel's end was not observed")
			}
			es := p.Journal().Entries()
			require.Len(t, es, 1)
			assert.Equal(t, http.MethodConnect, es[0].Method)
			assert.Equal(t, proxy.ResultOK, es[0].Result)
			assert.Equal(t, int64(4), es[0].BytesDown)
		})
	}
}

// TestJournalShowsStalledTunnels: a CONNECT that a stall fault accepted
// is a tunnel to its client, in the journal while the client holds it,
// and a fault once the client gives up.
func TestJournalShowsStalledTunnels(t *testing.T) {
	t.Parallel()
	observed := make(chan proxy.Entry, 4)
	p := startProxy(t, proxy.WithDialer(echoDialer(t)),
		proxy.WithRules(proxy.Rule{Name: "stall", Hosts: []string{"echo.example"}, Action: proxy.Fault, Fault: &fault.Spec{Kind: fault.Stall}}),
		proxy.WithObserver(func(e proxy.Entry) { observed <- e }))
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	es := p.Journal().Entries()
	require.Len(t, es, 1, "the stalled tunnel is journaled while it is held")
	assert.Equal(t, proxy.ResultOpen, es[0].Result)
	assert.Equal(t, "stall", es[0].Fault)
	assert.Empty(t, observed)

	require.NoError(t, c.Close())
	select {
	case e := <-observed:
		assert.Equal(t, proxy.ResultFault, e.Result)
	case <-time.After(10 * time.Second):
		t.Fatal("the stalled tunnel's end was not observed")
	}
	es = p.Journal().Entries()
	require.Len(t, es, 1)
	assert.Equal(t, proxy.ResultFault, es[0].Result)
}
