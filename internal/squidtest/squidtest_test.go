//go:build unix && squid

package squidtest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/squidtest"
	"github.com/egresslab/egresslab/squidconf"
)

// origin is a loopback origin that answers 200 "origin" to everything.
func origin(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin")
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	return srv, port
}

const allowList = `
acl SSL_ports port 443
acl Safe_ports port 80 443 1025-65535
acl allowed dstdomain .allowed.test
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow allowed
http_access deny all
`

func TestSquidAllowList(t *testing.T) {
	t.Parallel()
	_, port := origin(t)
	sq := squidtest.Start(t,
		squidtest.WithPolicy(allowList),
		squidtest.WithACLDebug(),
		squidtest.WithHost("www.allowed.test", "127.0.0.1"),
		squidtest.WithHost("www.denied.test", "127.0.0.1"),
	)
	t.Logf("squid accepted connections after %v", sq.Started)
	c := sq.Client()

	mark := sq.LogMark()
	resp, err := c.Get("http://www.allowed.test:" + port + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "origin", string(body))
	assert.Equal(t, 3, sq.MatchedAccessLine(mark), "http_access allow allowed")

	mark = sq.LogMark()
	resp, err = c.Get("http://www.denied.test:" + port + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("X-Squid-Error"), "ERR_ACCESS_DENIED"), resp.Header.Get("X-Squid-Error"))
	assert.Equal(t, 4, sq.MatchedAccessLine(mark), "http_access deny all")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mark = sq.LogMark()
	resp, err = sq.Connect(ctx, "www.allowed.test:"+port, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "CONNECT to a port that is not an SSL port")
	assert.True(t, strings.HasPrefix(resp.Header.Get("X-Squid-Error"), "ERR_ACCESS_DENIED"))
	assert.Equal(t, 2, sq.MatchedAccessLine(mark), "http_access deny CONNECT !SSL_ports")
}

const basicAuth = `
auth_param basic program ` + squidtest.BasicNCSAAuth + ` passwd
auth_param basic realm egresslab test
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
`

func TestSquidBasicAuth(t *testing.T) {
	t.Parallel()
	_, port := origin(t)
	sq := squidtest.Start(t,
		squidtest.WithPolicy(basicAuth),
		squidtest.WithFile("passwd", []byte(squidtest.HTPasswd("alice", "s3cret-password"))),
		squidtest.WithHost("www.allowed.test", "127.0.0.1"),
	)
	target := "http://www.allowed.test:" + port + "/"

	resp, err := sq.Client().Get(target)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
	assert.Equal(t, `Basic realm="egresslab test"`, resp.Header.Get("Proxy-Authenticate"))
	assert.True(t, strings.HasPrefix(resp.Header.Get("X-Squid-Error"), "ERR_CACHE_ACCESS_DENIED"), resp.Header.Get("X-Squid-Error"))

	for name, tc := range map[string]struct {
		user, password string
		want           int
	}{
		"right password": {"alice", "s3cret-password", http.StatusOK},
		"wrong password": {"alice", "wrong", http.StatusProxyAuthRequired},
		"unknown user":   {"bob", "s3cret-password", http.StatusProxyAuthRequired},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, target, nil)
			require.NoError(t, err)
			req.Header.Set("Proxy-Authorization", "Basic "+basic(tc.user, tc.password))
			resp, err := sq.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.want, resp.StatusCode)
		})
	}

	// A CONNECT without credentials is challenged too.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err = sq.Connect(ctx, "www.allowed.test:443", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
	assert.Equal(t, `Basic realm="egresslab test"`, resp.Header.Get("Proxy-Authenticate"))
}

func basic(user, password string) string {
	return encodeBase64(user + ":" + password)
}

func TestSquidHostsOnlyLoopback(t *testing.T) {
	t.Parallel()
	if os.Getenv("CI") != "true" && squidMissing() {
		t.Skip("squid not installed")
	}
	// A non-loopback address is refused before Squid starts; the test's
	// own failure is what is checked, through a fake testing.TB.
	ft := &fatalTB{TB: t}
	func() {
		defer func() { recover() }()
		squidtest.Start(ft, squidtest.WithPolicy("http_access deny all\n"), squidtest.WithHost("x.test", "10.0.0.1"))
	}()
	assert.Contains(t, ft.msg, "not a loopback address")
}

// TestPoliciesRead: the policies these tests give real Squid read as
// expected with squidconf, so that what Squid decides can be laid beside
// what the reader says the policy is.
func TestPoliciesRead(t *testing.T) {
	t.Parallel()
	cfg, err := squidconf.ReadBytes(filepath.Join(t.TempDir(), "squid.conf"), []byte(allowList), squidconf.WithStrict())
	require.NoError(t, err)
	assert.Equal(t, "port", cfg.ACLs["Safe_ports"].Type)
	assert.Equal(t, squidconf.PortRange{From: 1025, To: 65535}, *cfg.ACLs["Safe_ports"].Values[2].Ports)
	assert.Equal(t, []string{".allowed.test"}, []string{cfg.ACLs["allowed"].Values[0].Text})
	require.Len(t, cfg.Access, 4)
	assert.Equal(t, []squidconf.Term{{Name: "CONNECT"}, {Name: "SSL_ports", Negated: true}}, cfg.Access[1].Terms)
	assert.Equal(t, 6, cfg.Access[1].Pos.Line)
	assert.Equal(t, "deny", cfg.Access[3].Action)

	cfg, err = squidconf.ReadBytes(filepath.Join(t.TempDir(), "squid.conf"), []byte(basicAuth), squidconf.WithStrict())
	require.NoError(t, err)
	assert.Equal(t, []string{"basic"}, cfg.AuthOrder)
	realm, _ := cfg.AuthParams["basic"].Param("realm")
	assert.Equal(t, "egresslab test", realm)
	assert.Equal(t, "proxy_auth", cfg.ACLs["authed"].Type)
	assert.Equal(t, "REQUIRED", cfg.ACLs["authed"].Values[0].Text)
	require.Len(t, cfg.Access, 2)
}

func TestSquidVersion(t *testing.T) {
	t.Parallel()
	v, major := squidtest.Version(t)
	t.Logf("squid %s", v)
	assert.GreaterOrEqual(t, major, 5, "the reader follows Squid 5 and 6")
}
