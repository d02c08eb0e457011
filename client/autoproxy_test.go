package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
)

// pacHost is where the tests' PAC files are served, on port 80.
const pacHost = "pac.corp.example"

// servePAC serves body as a PAC file at http://name/ (any path) on the
// lab's network and lets the workstation reach it directly. It returns
// how many times it was fetched.
func servePAC(t *testing.T, l *lab, name, body string) *int {
	t.Helper()
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n++
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	l.net.add(name+":80", srv.Listener.Addr().String())
	l.net.allowDirect(name + ":80")
	return &n
}

func autoConfig(url string) *client.ProxySetting { return &client.ProxySetting{AutoConfigURL: url} }

func off() *bool { b := false; return &b }

func TestPACSendsSSPRDirectWhileFirewallBlocks(t *testing.T) {
	l := newLab(t, withProxy(allow()))
	l.net.direct = false
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) {
		if (dnsDomainIs(host, ".microsoftonline.com")) return "DIRECT";
		return "PROXY `+proxyAddr+`";
	}`)
	res := l.run(t, profile(func(p *client.Profile) {
		p.Account = client.AccountDefaultUser1
		p.Proxy.DefaultProfile = autoConfig("http://" + pacHost + "/proxy.pac")
	}))
	assert.Equal(t, client.CauseDirectEgressBlocked, res.Cause, res.String())
	assert.Equal(t, client.StepPage, res.Step)
	require.NotNil(t, res.AutoProxy)
	assert.Equal(t, client.AutoProxyAutoConfigURL, res.AutoProxy.Method)
	assert.Equal(t, "http://"+pacHost+"/proxy.pac", res.AutoProxy.URL)
	assert.Empty(t, res.AutoProxy.Errors)
	assert.Empty(t, res.Proxy)
	assert.Equal(t, client.SourceDefaultProfile, res.ProxySource)
}

func TestPACFailoverToTheNextProxy(t *testing.T) {
	l := newLab(t, withProxy(allow()))
	l.net.direct = false
	// A proxy that does not answer: a port that was just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l.net.add("dead.corp.example:3128", ln.Addr().String())
	require.NoError(t, ln.Close())
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) {
		return "PROXY dead.corp.example:3128; PROXY `+proxyAddr+`; DIRECT";
	}`)
	res := l.run(t, profile(func(p *client.Profile) { p.Proxy.PerUser = autoConfig("http://" + pacHost + "/") }))
	require.True(t, res.OK(), res.String())
	require.NotNil(t, res.AutoProxy)
	assert.Equal(t, "PROXY "+proxyAddr, res.AutoProxy.Used)
	assert.Equal(t, proxyAddr, res.Proxy)
	require.Len(t, res.AutoProxy.Failed, 1)
	assert.Contains(t, res.AutoProxy.Failed[0], "PROXY dead.corp.example:3128: connect to proxy")
	// WinHTTP's bad-proxy list: the dead proxy is tried once, then skipped.
	assert.Equal(t, 1, l.net.dialsTo("dead.corp.example:3128"))
}

func TestPACFailoverOffTheCorporateNetwork(t *testing.T) {
	// At home: the corporate proxy's name does not resolve, and the
	// connection is direct.
	l := newLab(t)
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { return "PROXY `+proxyAddr+`; DIRECT"; }`)
	res := l.run(t, profile(func(p *client.Profile) { p.Proxy.PerUser = autoConfig("http://" + pacHost + "/") }))
	require.True(t, res.OK(), res.String())
	assert.Equal(t, "DIRECT", res.AutoProxy.Used)
	assert.Empty(t, res.Proxy)
	require.Len(t, res.AutoProxy.Failed, 1)
	assert.Contains(t, res.AutoProxy.Failed[0], "no such host")
}

func TestPACEveryEntryFails(t *testing.T) {
	l := newLab(t)
	l.net.direct = false
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { return "PROXY `+proxyAddr+`; DIRECT"; }`)
	res := l.run(t, profile(func(p *client.Profile) { p.Proxy.PerUser = autoConfig("http://" + pacHost + "/") }))
	assert.Equal(t, client.CauseDirectEgressBlocked, res.Cause, res.String())
	var fe *client.FailoverError
	require.ErrorAs(t, res.Err, &fe)
	assert.Equal(t, []string{"PROXY " + proxyAddr, "DIRECT"}, fe.Tried)
	assert.Contains(t, res.Error, "every entry of the PAC result failed")
}

func TestPACUnavailable(t *testing.T) {
	t.Run("fallback direct is blocked", func(t *testing.T) {
		l := newLab(t, withProxy(allow()))
		l.net.direct = false
		n := servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { return "PROXY `+proxyAddr+`"; }`)
		// The PAC host sits behind a VPN that is not up at the sign-in
		// screen: the firewall does not let the workstation reach it.
		l.net.allow = nil
		res := l.run(t, profile(func(p *client.Profile) {
			p.Account = client.AccountDefaultUser1
			p.Proxy.DefaultProfile = autoConfig("http://" + pacHost + "/proxy.pac")
		}))
		assert.Equal(t, client.CausePACUnavailable, res.Cause, res.String())
		assert.Equal(t, client.Remedy(client.CausePACUnavailable), res.Remedy)
		assert.Zero(t, *n)
		require.NotNil(t, res.AutoProxy)
		assert.Equal(t, "DIRECT", res.AutoProxy.Fallback)
		require.Len(t, res.AutoProxy.Errors, 1)
		assert.Contains(t, res.AutoProxy.Errors[0], "GET http://"+pacHost+"/proxy.pac")
		var ape *client.AutoProxyError
		require.ErrorAs(t, res.Err, &ape)
		assert.False(t, ape.Script)
	})
	t.Run("fallback to the static proxy works", func(t *testing.T) {
		l := newLab(t, withProxy(allow()))
		l.net.direct = false
		res := l.run(t, profile(func(p *client.Profile) {
			p.Proxy.PerUser = &client.ProxySetting{AutoConfigURL: "http://" + pacHost + "/proxy.pac", Server: proxyAddr}
		}))
		require.True(t, res.OK(), res.String())
		assert.Equal(t, proxyAddr, res.Proxy)
		assert.Equal(t, "PROXY "+proxyAddr, res.AutoProxy.Fallback)
		require.Len(t, res.AutoProxy.Errors, 1)
		assert.Contains(t, res.AutoProxy.Errors[0], "no such host")
	})
}

func TestPACScriptErrors(t *testing.T) {
	for name, script := range map[string]string{
		"throws":       `function FindProxyForURL(url, host) { return undefinedHelper(host); }`,
		"loops":        `function FindProxyForURL(url, host) { for (;;) {} }`,
		"syntax":       `function FindProxyForURL(url, host) { return "DIRECT" `,
		"no function":  `var proxy = "PROXY a:1";`,
		"bad answer":   `function FindProxyForURL(url, host) { return "PROXIES a:1"; }`,
		"only socks":   `function FindProxyForURL(url, host) { return "SOCKS a:1080"; }`,
		"not a string": `function FindProxyForURL(url, host) { return 42; }`,
	} {
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			l.net.direct = false
			servePAC(t, l, pacHost, script)
			res := l.run(t, profile(func(p *client.Profile) {
				p.Account = client.AccountDefaultUser1
				p.Proxy.DefaultProfile = autoConfig("http://" + pacHost + "/x.pac")
			}))
			assert.Equal(t, client.CausePACScriptError, res.Cause, res.String())
			assert.Equal(t, client.Remedy(client.CausePACScriptError), res.Remedy)
			require.NotNil(t, res.AutoProxy)
			require.NotEmpty(t, res.AutoProxy.Errors)
			assert.Equal(t, "DIRECT", res.AutoProxy.Fallback)
			var ape *client.AutoProxyError
			require.ErrorAs(t, res.Err, &ape)
			assert.True(t, ape.Script)
		})
	}
	t.Run("a failing script with direct egress still works", func(t *testing.T) {
		l := newLab(t)
		servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { throw new Error("broken"); }`)
		res := l.run(t, profile(func(p *client.Profile) { p.Proxy.PerUser = autoConfig("http://" + pacHost + "/") }))
		require.True(t, res.OK(), res.String())
		require.NotEmpty(t, res.AutoProxy.Errors)
		assert.Contains(t, res.AutoProxy.Errors[0], "broken")
	})
}

func TestWPADFindsAnAuthenticatingProxy(t *testing.T) {
	l := newLab(t, withProxy(authenticate()))
	l.net.direct = false
	n := servePAC(t, l, "wpad.corp.example", `function FindProxyForURL(url, host) { return "PROXY `+proxyAddr+`"; }`)
	temp := func(p *client.Profile) {
		p.Account = client.AccountDefaultUser1
		p.DNSSuffix = "eu.corp.example" // devolves to wpad.corp.example
	}
	res := l.run(t, profile(temp))
	assert.Equal(t, client.CauseProxyAuthRequired, res.Cause, res.String())
	require.NotNil(t, res.AutoProxy)
	assert.Equal(t, client.AutoProxyWPAD, res.AutoProxy.Method)
	assert.Equal(t, "http://wpad.corp.example/wpad.dat", res.AutoProxy.URL)
	assert.Equal(t, proxyAddr, res.Proxy)
	assert.Equal(t, client.SourceNone, res.ProxySource)
	assert.Equal(t, 1, *n)

	// The signed-in user answers the proxy's challenge.
	res = l.run(t, profile(func(p *client.Profile) {
		p.DNSSuffix = "corp.example"
		p.Credentials = creds()
	}))
	require.True(t, res.OK(), res.String())
	assert.Equal(t, client.AutoProxyWPAD, res.AutoProxy.Method)

	// Automatic detection off: nothing is looked for, and the
	// connection is direct.
	res = l.run(t, profile(temp, func(p *client.Profile) { p.Proxy.DefaultProfile = &client.ProxySetting{AutoDetect: off()} }))
	assert.Equal(t, client.CauseDirectEgressBlocked, res.Cause, res.String())
	assert.Nil(t, res.AutoProxy)
	assert.Equal(t, 2, *n)
}

func TestWPADFindsNothing(t *testing.T) {
	l := newLab(t)
	res := l.run(t, profile(func(p *client.Profile) { p.DNSSuffix = "corp.example" }))
	require.True(t, res.OK(), res.String())
	require.NotNil(t, res.AutoProxy)
	assert.Empty(t, res.AutoProxy.Method)
	assert.Equal(t, "DIRECT", res.AutoProxy.Fallback)
	require.Len(t, res.AutoProxy.Errors, 1)
	assert.True(t, strings.HasPrefix(res.AutoProxy.Errors[0], "wpad: "), res.AutoProxy.Errors[0])
}

func TestAutoProxyValidation(t *testing.T) {
	for _, tc := range []struct {
		mod   func(*client.Profile)
		field string
	}{
		{func(p *client.Profile) { p.Proxy.PerUser = autoConfig("file:///C:/proxy.pac") }, "proxy.perUser.autoConfigURL"},
		{func(p *client.Profile) { p.Proxy.PerMachine = autoConfig("ftp://pac/") }, "proxy.perMachine.autoConfigURL"},
		{func(p *client.Profile) { p.Proxy.DefaultProfile = autoConfig("http:///x.pac") }, "proxy.defaultProfile.autoConfigURL"},
		{func(p *client.Profile) { p.Proxy.PerUser = autoConfig("http://u:secret@pac/") }, "proxy.perUser.autoConfigURL"},
		{func(p *client.Profile) { p.DNSSuffix = "localdomain" }, "dnsSuffix"},
		{func(p *client.Profile) { p.Proxy.WinHTTP = autoConfig("http://pac/") }, "proxy.winhttp"},
		{func(p *client.Profile) { p.Proxy.WinHTTP = &client.ProxySetting{AutoDetect: off()} }, "proxy.winhttp"},
		{func(p *client.Profile) { p.DNSSuffix = "bad..name" }, "dnsSuffix"},
	} {
		p := profile(tc.mod)
		err := p.Validate()
		var fe *client.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, tc.field, fe.Field)
		assert.NotContains(t, err.Error(), "secret")
	}
}

// A script that fails for one URL puts only that URL on the fallback: a
// later failure elsewhere keeps its own cause.
func TestScriptFailureForOneHostDoesNotBlameAnother(t *testing.T) {
	l := newLab(t)
	l.net.direct = false
	for _, h := range []string{mock.PortalHost + ":443", mock.OCSPHost + ":80", mock.CRL3Host + ":80", mock.CRL4Host + ":80"} {
		l.net.allowDirect(h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l.net.add("dead.corp.example:3128", ln.Addr().String())
	require.NoError(t, ln.Close())
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) {
		if (host == "`+mock.PortalHost+`") throw new Error("bug in the portal branch");
		if (host == "`+mock.CDNHost+`") return "PROXY dead.corp.example:3128";
		return "DIRECT"; }`)
	res := l.run(t, profile(func(p *client.Profile) { p.Proxy.PerUser = autoConfig("http://" + pacHost + "/") }))
	assert.Equal(t, client.CauseProxyUnreachable, res.Cause, res.String())
	assert.Equal(t, client.StepCDN, res.Step)
	assert.NotContains(t, res.Error, "fell back")
	require.NotEmpty(t, res.AutoProxy.Errors)
	assert.Contains(t, res.AutoProxy.Errors[0], "bug in the portal branch")
}

// A proxy that answers after a failover ends the request with its own
// answer, and is not a failed entry.
func TestFailoverToAProxyThatRefuses(t *testing.T) {
	l := newLab(t, withProxy(authenticate()))
	l.net.direct = false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l.net.add("dead.corp.example:3128", ln.Addr().String())
	require.NoError(t, ln.Close())
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { return "PROXY dead.corp.example:3128; PROXY `+proxyAddr+`; DIRECT"; }`)
	res := l.run(t, profile(func(p *client.Profile) {
		p.Account = client.AccountDefaultUser1
		p.Proxy.DefaultProfile = autoConfig("http://" + pacHost + "/")
	}))
	assert.Equal(t, client.CauseProxyAuthRequired, res.Cause, res.String())
	require.Len(t, res.AutoProxy.Failed, 1, "only the dead proxy failed to connect")
	assert.Equal(t, "PROXY "+proxyAddr, res.AutoProxy.Used)
	var fe *client.FailoverError
	assert.False(t, errors.As(res.Err, &fe), "DIRECT was never tried: not every entry failed")
}

// A broken WPAD file does not stop the autoConfigURL, which is tried
// next.
func TestBrokenWPADFileThenAutoConfigURL(t *testing.T) {
	l := newLab(t, withProxy(allow()))
	l.net.direct = false
	servePAC(t, l, "wpad.corp.example", `function FindProxyForURL(url, host) { return "PROXY `)
	n := servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { return "PROXY `+proxyAddr+`"; }`)
	res := l.run(t, profile(func(p *client.Profile) {
		p.DNSSuffix = "corp.example"
		p.Proxy.PerUser = autoConfig("http://" + pacHost + "/")
	}))
	require.True(t, res.OK(), res.String())
	assert.Equal(t, client.AutoProxyAutoConfigURL, res.AutoProxy.Method)
	assert.Equal(t, 1, *n)
	require.NotEmpty(t, res.AutoProxy.Errors)
	assert.True(t, strings.HasPrefix(res.AutoProxy.Errors[0], "wpad: "), res.AutoProxy.Errors[0])
}

// A fallback proxy that refuses keeps its own cause: fixing the PAC file
// would not be the remedy.
func TestFallbackProxyRefusalKeepsItsCause(t *testing.T) {
	l := newLab(t, withProxy(deny()))
	l.net.direct = false
	servePAC(t, l, pacHost, `function FindProxyForURL(url, host) { throw new Error("broken"); }`)
	res := l.run(t, profile(func(p *client.Profile) {
		p.Proxy.PerUser = &client.ProxySetting{AutoConfigURL: "http://" + pacHost + "/", Server: proxyAddr}
	}))
	assert.Equal(t, client.CauseProxyDenied, res.Cause, res.String())
	assert.Equal(t, "PROXY "+proxyAddr, res.AutoProxy.Fallback)
}

// Without WithResolver nothing is looked up: WPAD finds nothing, and
// says why.
func TestNoResolverNoWPAD(t *testing.T) {
	var dials []string
	refuse := func(_ context.Context, _, addr string) (net.Conn, error) {
		dials = append(dials, addr)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	c, err := client.New(profile(func(p *client.Profile) { p.DNSSuffix = "corp.example" }), client.WithDialer(refuse))
	require.NoError(t, err)
	res := c.Run(context.Background())
	require.NotNil(t, res.AutoProxy)
	assert.Equal(t, []string{"wpad: no resolver (client.WithResolver): WPAD looks nothing up"}, res.AutoProxy.Errors)
	assert.NotContains(t, dials, "wpad.corp.example:80")
}
