package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/proxy"
)

// TestObsFoldRefused: a folded header line after an unknown header is
// refused, so that the head checker and net/http never read a head
// differently. Before, the checker read " Content-Length: N" as a header
// of its own and skipped the next head as a body, which paired each later
// request with the head after it: a request whose Host header lies was
// then checked against the next, honest head and forwarded.
func TestObsFoldRefused(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	lie := crlf("GET http://allowed.example/lie HTTP/1.1\nHost: other.example\n\n")
	honest := crlf("GET http://allowed.example/honest HTTP/1.1\nHost: allowed.example\n\n")
	first := crlf(fmt.Sprintf("GET http://allowed.example/first HTTP/1.1\nHost: allowed.example\nX-Pad: a\n Content-Length: %d\n\n", len(lie)))
	statuses := rawAll(t, p.Listener.Addr().String(), first+lie+honest)
	assert.Equal(t, []int{400}, statuses, "the folded head is refused and the connection closed")
	assert.Empty(t, netw.dialed(), "nothing is forwarded")
	es := p.Journal().Entries()
	require.Len(t, es, 1)
	assert.Equal(t, proxy.ResultBadRequest, es[0].Result)
	assert.Contains(t, es[0].Detail, "obs-fold")
}

// TestNetHTTPRefusalsJournaled: requests that net/http's server refuses
// before any handler runs get Squid's page and a journal entry, like
// every other refusal.
func TestNetHTTPRefusalsJournaled(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	for name, tc := range map[string]struct {
		req    string
		status int
		method string
		target string
	}{
		"two content-lengths": {"POST http://allowed.example/ HTTP/1.1\nHost: allowed.example\nContent-Length: 1\nContent-Length: 2\n\nab", 400, "POST", "http://allowed.example/"},
		"bad port":            {"CONNECT allowed.example:443abc HTTP/1.1\nHost: allowed.example:443abc\n\n", 400, "CONNECT", "allowed.example:443abc"},
		"control character":   {"GET http://allowed.example/\x01 HTTP/1.1\nHost: allowed.example\n\n", 400, "GET", "http://allowed.example/\x01"},
		"http/0.9":            {"GET http://allowed.example/\n\n", 400, "GET", "http://allowed.example/"},
		"unknown coding":      {"POST http://allowed.example/ HTTP/1.1\nHost: allowed.example\nTransfer-Encoding: gzip\n\n", 501, "POST", "http://allowed.example/"},
		"oversized head":      {"GET http://allowed.example/ HTTP/1.1\nHost: allowed.example\nX-Big: " + strings.Repeat("a", 1<<20+8192) + "\n\n", 431, "GET", "http://allowed.example/"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
			status, h := rawLenient(t, p.Listener.Addr().String(), crlf(tc.req))
			if status != 0 { // an oversized head may be reset before its answer is read
				assert.Equal(t, tc.status, status)
				assert.NotEmpty(t, h.Get("X-Squid-Error"), "Squid's page, not net/http's text")
			}
			p.Close()
			es := p.Journal().Entries()
			require.Len(t, es, 1, "the refusal is journaled (status %d)", status)
			e := es[0]
			assert.Equal(t, proxy.ResultBadRequest, e.Result)
			assert.Equal(t, tc.status, e.Status)
			assert.Equal(t, tc.method, e.Method)
			assert.Equal(t, tc.target, e.Target)
			assert.Contains(t, e.Detail, "refused by the HTTP server")
			assert.NotEmpty(t, e.Client)
		})
	}
}

// rawLenient is raw for requests the proxy may reset while they are
// still being sent: it writes and reads at once, and gives 0 when no
// answer could be read.
func rawLenient(t *testing.T, addr, req string) (int, http.Header) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.WriteString(c, req)
	}()
	defer wg.Wait()
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil {
		c.Close()
		return 0, nil
	}
	resp.Body.Close()
	c.Close()
	return resp.StatusCode, resp.Header
}

// TestMalformedTargetsRedacted: a refused target that only looks like it
// has userinfo never puts the credential in the journal or its writer.
func TestMalformedTargetsRedacted(t *testing.T) {
	t.Parallel()
	var buf testtool.Buffer
	p := startProxy(t, proxy.WithDialer(newNetwork().dial), proxy.WithDefault(proxy.Allow), proxy.WithJournalWriter(&buf))
	for _, req := range []string{
		"GET //user:S3cret@allowed.example/ HTTP/1.1\nHost: allowed.example\n\n",
		"GET http:/user:S3cret@allowed.example/ HTTP/1.1\nHost: allowed.example\n\n",
		"GET http:user:S3cret@allowed.example/ HTTP/1.1\nHost: allowed.example\n\n",
	} {
		status, _ := raw(t, p.Listener.Addr().String(), crlf(req))
		assert.Equal(t, http.StatusBadRequest, status, req)
	}
	p.Close()
	es := p.Journal().Entries()
	require.Len(t, es, 3)
	for _, e := range es {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "S3cret")
	}
	assert.NotContains(t, buf.String(), "S3cret")
}

// TestIPv6HostHeader: a request to an IPv6 literal on port 80 goes
// upstream with the bracketed Host header RFC 9110 7.2 requires.
func TestIPv6HostHeader(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	netw.add("[::1]:80", u.plain.Listener.Addr().String())
	netw.add("[::1]:8080", u.plain.Listener.Addr().String())
	p := startProxy(t, proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow))
	for target, want := range map[string]string{
		"http://[::1]/x":      "hello from [::1]/x",
		"http://[::1]:80/x":   "hello from [::1]/x",
		"http://[::1]:8080/x": "hello from [::1]:8080/x",
	} {
		c, err := net.Dial("tcp", p.Listener.Addr().String())
		require.NoError(t, err)
		host := strings.TrimPrefix(strings.Split(target, "/x")[0], "http://")
		_, err = io.WriteString(c, crlf("GET "+target+" HTTP/1.1\nHost: "+host+"\n\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufioReader(c), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		c.Close()
		assert.Equal(t, want, string(body), target)
	}
}
