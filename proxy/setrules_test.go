package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// TestSetRules: new rules apply to the next request, on the same
// kept-alive connection too; a bad set is refused whole, naming the rule,
// and the rules in force stay.
func TestSetRules(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := startProxy(t, netw.upstream(), proxy.WithDefault(proxy.Allow))
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(c)
	get := func() int {
		_, err := io.WriteString(c, "GET http://allowed.example/x HTTP/1.1\r\nHost: allowed.example\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get())

	require.NoError(t, p.SetRules(proxy.Allow, proxy.Rule{Name: "no allowed", Hosts: []string{"allowed.example"}, Action: proxy.Deny}))
	assert.Equal(t, http.StatusForbidden, get(), "the next request on the same connection meets the new rules")
	rules, def := p.Rules()
	require.Len(t, rules, 1)
	assert.Equal(t, "no allowed", rules[0].Name)
	assert.Equal(t, proxy.Allow, def)

	err = p.SetRules(proxy.Allow, proxy.Rule{Hosts: []string{"a..b"}, Action: proxy.Deny}, proxy.Rule{Action: proxy.Authenticate})
	require.Error(t, err)
	assert.ErrorContains(t, err, "rules[0]")
	assert.ErrorContains(t, p.SetRules("maybe"), `default action "maybe"`)
	assert.Equal(t, http.StatusForbidden, get(), "a refused set leaves the rules in force")
	es := p.Journal().Entries()
	require.Len(t, es, 3)
	assert.Equal(t, "no allowed", es[2].Rule)
}
