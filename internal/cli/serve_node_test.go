package cli

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/labserver"
)

// TestServeNodeBadInput: the node flags are checked before anything
// listens. (A services node binds its hosts' real ports, 443 and 80, on
// Docker networks: the container tests serve one, tag docker.)
func TestServeNodeBadInput(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown role":          {[]string{"serve", "--role", "dns"}, `--role "dns": want lab, services or proxy`},
		"host network on a lab": {[]string{"serve", "--host-network", "ocsp.digicert.com=127.0.0.0/8"}, "--host-network and --dns-network are for a services node"},
		"dns network on proxy":  {[]string{"serve", "--role", "proxy", "--dns-network", "127.0.0.0/8"}, "--host-network and --dns-network are for a services node"},
		"not a lab host":        {[]string{"serve", "--role", "services", "--host-network", "example.com=127.0.0.0/8"}, `--host-network "example.com=127.0.0.0/8": want HOST=CIDR, HOST one of the lab's hosts`},
		"no CIDR":               {[]string{"serve", "--role", "services", "--host-network", "ocsp.digicert.com"}, `--host-network "ocsp.digicert.com": want HOST=CIDR`},
		"bad CIDR":              {[]string{"serve", "--role", "services", "--host-network", "ocsp.digicert.com=10.0.0.1"}, `--host-network "10.0.0.1": want a CIDR prefix`},
		"no address in it":      {[]string{"serve", "--role", "services", "--host-network", "ocsp.digicert.com=127.255.255.254/32"}, "--host-network 127.255.255.254/32: this machine has no address in it"},
		"host twice":            {[]string{"serve", "--role", "services", "--host-network", "ocsp.digicert.com=127.0.0.0/8", "--host-network", "OCSP.digicert.com=127.0.0.0/8"}, "--host-network: ocsp.digicert.com given twice"},
		"proxy on services":     {[]string{"serve", "--role", "services", "--proxy-listen", "127.0.0.1:0"}, "--proxy-listen: a services node has no proxy"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(tc.args, func(string) string { return "" }, &out, &errb)
			assert.Equal(t, ExitUsage, code, "stderr: %s", errb.String())
			assert.Contains(t, errb.String(), tc.want)
			assert.Empty(t, out.String(), "nothing listened")
		})
	}
}

// TestServeProxyNode: a proxy node serves the scenario's proxy alone,
// says it is ready in the line the container backend waits for, and its
// admin API answers for the proxy, not for a service. (Nothing goes
// through it here: its upstream is the system's resolver, which only a
// container may use.)
func TestServeProxyNode(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testtool.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	o := serveOptions{proxyListen: "127.0.0.1:0", adminListen: "127.0.0.1:0", logLevel: "error", role: "proxy"}
	go func() {
		done <- runServe(ctx, o, []string{"proxy-auth-ntlm-defaultuser1"}, func(string) string { return "" }, &out, &testtool.Buffer{},
			func(_ *labserver.Server, admin string) { ready <- admin })
	}()
	var admin string
	select {
	case admin = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	c := &labserver.Client{BaseURL: "http://" + admin}
	st, err := c.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, labserver.RoleProxy, st.Role)
	assert.Empty(t, st.Hosts, "a proxy node has no hosts of its own")
	assert.NotEmpty(t, st.Proxy.Listen)
	_, err = c.Audit(ctx, "adele@contoso.com")
	var ae *labserver.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 404, ae.Status)
	assert.Contains(t, ae.Message, "a proxy node cannot answer for the service")
	_, err = c.SwitchScenario(ctx, "cdn-blocked")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 409, ae.Status, "a node serves one scenario")
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, out.String(), "egresslab serving proxy-auth-ntlm-defaultuser1 as its proxy node")
	assert.Contains(t, out.String(), labserver.NodeReady)
}

// TestNotOnListener: a services node's admin API closes connections that
// reach it on a host's network (here 127.0.0.2, the "host network") and
// serves the others (127.0.0.1, the "workstation").
func TestNotOnListener(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)
	ln := &notOnListener{Listener: raw, nets: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(raw.Addr().String())
	served := make(chan string, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served <- c.LocalAddr().String()
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", "127.0.0.2:"+port)
	require.NoError(t, err)
	_, err = c.Read(make([]byte, 1))
	assert.Error(t, err, "closed at once")
	c.Close()
	c, err = net.Dial("tcp", "127.0.0.1:"+port)
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "127.0.0.1:"+port, <-served, "only the other connection was handed on")
}
