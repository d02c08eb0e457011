package proxy_test

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// TestContinueAndChallenge: the Continue action authenticates and goes on
// to the later rules (Squid's "http_access deny !authenticated"), and the
// Challenge action answers 407 even to valid credentials (Squid's deny on
// a line whose last ACL is proxy_auth).
func TestContinueAndChallenge(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	u := newUpstreams(t, netw)
	for _, h := range []string{"exempt.example", "other.example", "nowhere.example"} {
		netw.add(h+":80", u.plain.Listener.Addr().String())
	}
	p := startProxy(t, proxy.WithDialer(netw.dial),
		proxy.WithAuth(proxy.Auth{Realm: "Contoso proxy", Users: []proxy.User{{Name: "alice", Password: "S3cret!pw"}}}),
		proxy.WithRules(
			proxy.Rule{Name: "exempt", Line: 1, Hosts: []string{"exempt.example"}, Action: proxy.Allow},
			proxy.Rule{Name: "deny !auth", Line: 2, Action: proxy.Continue},
			proxy.Rule{Name: "deny blocked auth", Line: 3, Hosts: []string{"blocked.example"}, Action: proxy.Challenge},
			proxy.Rule{Name: "deny other", Line: 4, Hosts: []string{"other.example"}, Action: proxy.Deny},
			proxy.Rule{Name: "allow", Line: 5, Hosts: []string{"allowed.example"}, Action: proxy.Allow},
		))
	base := p.URL[len("http://"):]
	creds := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:S3cret!pw")) + "\n"
	wrong := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong")) + "\n"
	for _, c := range []struct {
		host, header string
		want         int
		line         int
	}{
		{"exempt.example", "", 200, 1},
		{"allowed.example", "", 407, 2},
		{"allowed.example", wrong, 407, 2},
		{"allowed.example", creds, 200, 5},
		{"other.example", creds, 403, 4},
		{"blocked.example", creds, 407, 3},
		{"blocked.example", "", 407, 2},
		{"nowhere.example", creds, 403, 0},
	} {
		n := len(p.Journal().Entries())
		status, hdr := raw(t, base, crlf("GET http://"+c.host+"/ HTTP/1.1\nHost: "+c.host+"\n"+c.header+"\n"))
		assert.Equal(t, c.want, status, "%s %q", c.host, c.header)
		if status == 407 {
			assert.Equal(t, `Basic realm="Contoso proxy"`, hdr.Get("Proxy-Authenticate"))
		}
		es := entries(t, p, n+1)
		require.Len(t, es, n+1)
		assert.Equal(t, c.line, es[n].Line, "%s %q: the deciding rule's line", c.host, c.header)
		if c.header == creds {
			assert.Equal(t, "alice", es[n].User)
		}
	}
}

func TestContinueValidates(t *testing.T) {
	t.Parallel()
	_, err := proxy.New(proxy.WithRules(proxy.Rule{Action: proxy.Continue}))
	require.Error(t, err, "continue needs accounts")
	assert.Contains(t, err.Error(), "requires authentication")
	_, err = proxy.New(proxy.WithDefault(proxy.Continue))
	require.Error(t, err, "the default cannot continue")
	r := proxy.Rule{Action: proxy.Challenge}
	assert.NoError(t, r.Validate())
}
