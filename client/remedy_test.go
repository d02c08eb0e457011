package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
)

// TestRemediesWork runs the flow through each documented remedy and the
// proxy authentication schemes, and checks the proxy's journal agrees.
func TestRemediesWork(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		lab     []labOption
		profile func(*client.Profile)
		opts    func(t *testing.T, l *lab) []client.Option
		source  string
		scheme  string // the proxy auth scheme used, if any
		user    string // the user the proxy journal names
		direct  bool   // nothing goes through the proxy
	}{
		"per-machine proxy plus an auth exemption for the SSPR hosts": {
			lab: []labOption{withProxy(allow(sspr...), authenticate())},
			profile: func(p *client.Profile) {
				p.Account = client.AccountDefaultUser1
				p.Proxy.PerMachine = viaProxy()
			},
			source: client.SourcePerMachine,
		},
		"Default user profile template with the proxy": {
			lab: []labOption{withProxy(allow(sspr...))},
			profile: func(p *client.Profile) {
				p.Account = client.AccountDefaultUser1
				p.Proxy.PerUser = &client.ProxySetting{Server: "proxy.elsewhere.example:8080"}
				p.Proxy.DefaultProfile = viaProxy()
			},
			source: client.SourceDefaultProfile,
		},
		"signed-in user with Basic credentials": {
			lab:     []labOption{withProxy(authenticate())},
			profile: func(p *client.Profile) { p.Proxy.PerUser = viaProxy(); p.Credentials = creds() },
			source:  client.SourcePerUser, scheme: client.SchemeBasic, user: `CONTOSO\alice`,
		},
		"signed-in user with NTLM credentials": {
			lab:     []labOption{withProxy(authenticate()), withAuthSchemes(proxy.SchemeNTLM, proxy.SchemeBasic)},
			profile: func(p *client.Profile) { p.Proxy.PerUser = viaProxy(); p.Credentials = creds() },
			source:  client.SourcePerUser, scheme: client.SchemeNTLM, user: `CONTOSO\alice`,
		},
		"signed-in user answers Negotiate with NTLM inside": {
			lab:     []labOption{withProxy(authenticate()), withAuthSchemes(proxy.SchemeNegotiate, proxy.SchemeNTLM)},
			profile: func(p *client.Profile) { p.Proxy.PerUser = viaProxy(); p.Credentials = creds() },
			source:  client.SourcePerUser, scheme: client.SchemeNegotiate, user: `CONTOSO\alice`,
		},
		"DefaultSecureProtocols 0xA00 gives Windows 7 TLS 1.2": {
			profile: func(p *client.Profile) {
				p.OS = client.Windows7
				p.TLS.DefaultSecureProtocols = 0xA00
			},
			source: client.SourceNone,
		},
		"inspection exclusions for the three hosts": {
			lab:     []labOption{withProxy(allow(sspr...), intercept("*"))},
			profile: func(p *client.Profile) { p.Proxy.PerUser = viaProxy() },
			source:  client.SourcePerUser,
		},
		"inspection with its root deployed on the workstation": {
			lab:     []labOption{withProxy(allow(mock.OCSPHost), intercept("*"))},
			profile: func(p *client.Profile) { p.Proxy.PerUser = viaProxy() },
			opts:    trustInterception,
			source:  client.SourcePerUser,
		},
		"bypass list sends the SSPR hosts direct": {
			lab: []labOption{withProxy(deny("*")), withDirect()},
			profile: func(p *client.Profile) {
				p.Proxy.PerUser = &client.ProxySetting{Server: proxyAddr, Bypass: []string{"*.microsoftonline.com", "ajax.aspnetcdn.com", "*.digicert.com", "<local>"}}
			},
			source: client.SourcePerUser, direct: true,
		},
		"per-protocol proxy server": {
			lab: []labOption{withProxy(allow(sspr...))},
			profile: func(p *client.Profile) {
				p.Proxy.PerUser = &client.ProxySetting{Server: "http=" + proxyAddr + ";https=" + proxyAddr}
			},
			source: client.SourcePerUser,
		},
		"WinHTTP proxy carries the OCSP fetch": {
			lab: []labOption{withProxy(allow(mock.OCSPHost)), withDirect()},
			profile: func(p *client.Profile) {
				p.Proxy.WinHTTP = viaProxy()
			},
			source: client.SourceNone,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tc.lab...)
			var opts []client.Option
			if tc.opts != nil {
				opts = tc.opts(t, l)
			}
			res := l.run(t, profile(tc.profile), opts...)
			assertSuccess(t, res)
			assert.Equal(t, tc.source, res.ProxySource)
			assert.Equal(t, tc.scheme, res.ProxyAuth)
			if l.proxy == nil {
				return
			}
			entries := l.proxy.Journal().Entries()
			if tc.direct {
				assert.Empty(t, entries)
				return
			}
			require.NotEmpty(t, entries)
			for _, e := range entries {
				if e.Result == proxy.ResultOK && tc.user != "" {
					assert.Equal(t, tc.user, e.User, "%+v", e)
				}
			}
		})
	}
}

// TestProxyJournalSeesTheFlow checks which hosts went through the proxy.
func TestProxyJournalSeesTheFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t, withProxy(allow(sspr...)))
	res := l.run(t, profile(func(p *client.Profile) { p.Proxy.PerUser = viaProxy() }))
	assertSuccess(t, res)
	// A tunnel is journaled when it ends: Shutdown returns once the
	// client has let go of its tunnels.
	l.proxy.Shutdown(context.Background())
	seen := map[string]string{}
	for _, e := range l.proxy.Journal().Entries() {
		seen[e.Target] = e.Method
	}
	assert.Equal(t, map[string]string{
		mock.PortalHost + ":443": "CONNECT",
		mock.CDNHost + ":443":    "CONNECT",
		mock.OCSPHost + ":80":    "GET",
	}, seen)
}

// TestSoftFailRevocation: an unreachable responder is a warning under
// soft-fail, as on Windows, and the flow goes on.
func TestSoftFailRevocation(t *testing.T) {
	t.Parallel()
	l := newLab(t, withProxy(allow(mock.PortalHost, mock.CDNHost)))
	res := l.run(t, profile(func(p *client.Profile) {
		p.Proxy.PerUser = viaProxy()
		p.Revocation = client.RevocationSoftFail
	}))
	assertSuccess(t, res)
	require.Len(t, res.Warnings, 4, "portal and CDN certificates and, for each, the issuing CA's")
	assert.True(t, strings.HasPrefix(res.Warnings[0], "soft-fail: revocation of the certificate of "+mock.PortalHost))
	assert.True(t, strings.HasPrefix(res.Warnings[1], `soft-fail: revocation of the issuing CA certificate "`+pki.IssuingName+`" in the chain of `+mock.PortalHost), res.Warnings[1])
}

// TestRevocationOff: no OCSP fetch at all.
func TestRevocationOff(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	res := l.run(t, profile(func(p *client.Profile) { p.Revocation = client.RevocationOff }))
	assertSuccess(t, res)
	assert.Zero(t, l.net.dialsTo(mock.OCSPHost+":80"))
}
