package client_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
)

// TestBadProfiles: each mistake gives an error naming the field, from New,
// before any connection is made.
func TestBadProfiles(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		mod  func(*client.Profile)
		want string
	}{
		"unknown OS":      {func(p *client.Profile) { p.OS = "windows95" }, `os: unknown OS "windows95"`},
		"unknown account": {func(p *client.Profile) { p.Account = "guest" }, `account: unknown account "guest"`},
		"no user":         {func(p *client.Profile) { p.UserID = " " }, "userId: required"},
		"no new password": {func(p *client.Profile) { p.NewPassword = "" }, "newPassword: required"},
		"NTLM without a password": {func(p *client.Profile) {
			p.Credentials = &client.Credentials{Username: "alice", Schemes: []string{"ntlm"}}
		}, "credentials.password: required (ntlm cannot authenticate without one)"},
		"credentials without a user": {func(p *client.Profile) { p.Credentials = &client.Credentials{Password: "x"} }, "credentials.username: required"},
		"unknown scheme": {func(p *client.Profile) {
			p.Credentials = &client.Credentials{Username: "a", Password: "b", Schemes: []string{"kerberos"}}
		}, `credentials.schemes[0]: unknown scheme "kerberos"`},
		"proxy URL that does not parse": {func(p *client.Profile) { p.Proxy.PerUser = &client.ProxySetting{Server: "http://proxy:port:x"} }, "proxy.perUser.server:"},
		"proxy with a bad port":         {func(p *client.Profile) { p.Proxy.PerMachine = &client.ProxySetting{Server: "proxy:99999"} }, `proxy.perMachine.server: "proxy:99999": bad port`},
		"proxy over https":              {func(p *client.Profile) { p.Proxy.WinHTTP = &client.ProxySetting{Server: "https://proxy:443"} }, `proxy.winhttp.server: "https://proxy:443": proxy scheme "https" not supported`},
		"credentials in the proxy URL": {func(p *client.Profile) {
			p.Proxy.PerUser = &client.ProxySetting{Server: "http://bob:secret@proxy:3128"}
		}, "proxy.perUser.server: \"http://***@proxy:3128\": credentials do not belong in the proxy address"},
		"bad per-protocol form": {func(p *client.Profile) { p.Proxy.DefaultProfile = &client.ProxySetting{Server: "ftp=proxy:21"} }, "proxy.defaultProfile.server:"},
		"bad bypass pattern": {func(p *client.Profile) {
			p.Proxy.PerUser = &client.ProxySetting{Server: "proxy:8080", Bypass: []string{"[a-"}}
		}, "proxy.perUser.bypass[0]:"},
		"SSL 3.0 bit":           {func(p *client.Profile) { p.TLS.DefaultSecureProtocols = 0xA20 }, "tls.defaultSecureProtocols: 0xa20 enables SSL 2.0/3.0"},
		"unknown bit":           {func(p *client.Profile) { p.TLS.DefaultSecureProtocols = 0x801 }, "tls.defaultSecureProtocols: 0x801 has unknown bits 0x1"},
		"a gap in the mask":     {func(p *client.Profile) { p.TLS.DefaultSecureProtocols = 0x880 }, "tls.defaultSecureProtocols: 0x880 leaves a gap below TLS 1.2"},
		"TLS 1.3 on Windows 7":  {func(p *client.Profile) { p.OS = client.Windows7; p.TLS.DefaultSecureProtocols = 0x2800 }, "tls.defaultSecureProtocols: 0x2800 enables TLS 1.3, which windows7 does not have"},
		"TLS 1.3 on Windows 10": {func(p *client.Profile) { p.TLS.DefaultSecureProtocols = 0x2800 }, "tls.defaultSecureProtocols: 0x2800 enables TLS 1.3, which windows10 does not have"},
		"bypass with a port": {func(p *client.Profile) {
			p.Proxy.PerUser = &client.ProxySetting{Server: "proxy:8080", Bypass: []string{"*.contoso.com:443"}}
		}, `proxy.perUser.bypass[0]: "*.contoso.com:443": a bypass entry has no port`},
		"bypass with a scheme": {func(p *client.Profile) {
			p.Proxy.PerUser = &client.ProxySetting{Server: "proxy:8080", Bypass: []string{"a.example;https://b.example"}}
		}, `proxy.perUser.bypass[0]: "https://b.example": a bypass entry is a host name`},
		"client type with a newline": {func(p *client.Profile) { p.ClientType = "x\r\nInjected: 1" }, "clientType:"},
		"max 1.3 on Windows 8.1":     {func(p *client.Profile) { p.OS = client.Windows81; p.TLS.Max = "1.3" }, "tls.max: windows8.1 does not have TLS 1.3"},
		"unknown version":            {func(p *client.Profile) { p.TLS.Min = "1.4" }, `tls.min: unknown TLS version "1.4"`},
		"min above max":              {func(p *client.Profile) { p.TLS.Min = "1.3"; p.TLS.Max = "1.2" }, "tls: min TLS 1.3 is above max TLS 1.2"},
		"a suite in lower case": {func(p *client.Profile) { p.TLS.CipherSuites = []string{"tls_rsa_with_aes_128_cbc_sha"} },
			`tls.cipherSuites[0]: unknown cipher suite "tls_rsa_with_aes_128_cbc_sha": want one of`},
		"unknown cipher suite": {func(p *client.Profile) { p.TLS.CipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"} },
			`tls.cipherSuites[0]: unknown cipher suite "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265": want one of TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_GCM_SHA384, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA, TLS_RSA_WITH_AES_128_CBC_SHA (did you mean "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"?)`},
		"a suite Schannel has that Go does not": {func(p *client.Profile) { p.TLS.CipherSuites = []string{"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"} },
			`tls.cipherSuites[0]: unknown cipher suite "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": want one of`},
		"a TLS 1.3 suite": {func(p *client.Profile) { p.TLS.CipherSuites = []string{"TLS_AES_256_GCM_SHA384"} },
			`tls.cipherSuites[0]: "TLS_AES_256_GCM_SHA384" is a TLS 1.3 suite, which Go's TLS stack does not let a client choose`},
		"a suite twice": {func(p *client.Profile) {
			p.TLS.CipherSuites = []string{"TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"}
		}, "tls.cipherSuites[1]: TLS_RSA_WITH_AES_128_CBC_SHA is listed twice"},
		"cipher suites with TLS 1.3": {func(p *client.Profile) {
			p.OS = client.Windows11
			p.TLS.CipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
		}, `tls.cipherSuites: set, but the client offers TLS 1.3, whose suites Go's TLS stack does not let a client choose: set tls.max to "1.2" as well`},
		"unknown revocation":   {func(p *client.Profile) { p.Revocation = "sometimes" }, `revocation: unknown policy "sometimes"`},
		"unknown method":       {func(p *client.Profile) { p.Methods = []string{"email", "pigeon"} }, `methods[1]: unknown method "pigeon"`},
		"the app on Windows 7": {func(p *client.Profile) { p.OS = client.Windows7; p.Methods = []string{"appCode"} }, "methods[0]: the windows7 add-in cannot use the Authenticator app"},
		"negative timeout":     {func(p *client.Profile) { p.Timeouts.Request = -1 }, "timeouts: must not be negative"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := &vnet{hosts: map[string]string{}, dials: map[string]int{}}
			_, err := client.New(profile(tc.mod), client.WithDialer(n.workstation))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var fe *client.FieldError
			require.ErrorAs(t, err, &fe, "the error names the field")
			assert.True(t, strings.HasPrefix(tc.want, fe.Field), "field %q for %q", fe.Field, tc.want)
			assert.Empty(t, n.dials, "nothing connects")
		})
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]client.Option{
		"http portal":         client.WithPortalURL("http://passwordreset.microsoftonline.com"),
		"portal without host": client.WithPortalURL("https://"),
		"nil roots":           client.WithRoots(nil),
		"nil dialer":          client.WithDialer(nil),
		"zero poll":           client.WithPollInterval(0),
	} {
		_, err := client.New(profile(), o)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "S3cretPW", name)
	}
}

// TestProxyPasswordNeverInErrors: a password pasted into a proxy address
// does not come back in the error, however the address is broken.
func TestProxyPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	for _, server := range []string{"http://bob:S3cretPW@proxy:3128", "https://bob:S3cretPW@proxy:3128", "bob:S3cretPW@proxy:bad",
		"http://bob:S3cretPW@proxy:port:x", "http=bob:S3cretPW@proxy:1;https=proxy:2"} {
		_, err := client.New(profile(func(p *client.Profile) { p.Proxy.PerUser = &client.ProxySetting{Server: server} }))
		require.Error(t, err, server)
		assert.NotContains(t, err.Error(), "S3cretPW", server)
		assert.Contains(t, err.Error(), "proxy.perUser.server", server)
	}
}

// TestTLSVersions: each OS's default, the DefaultSecureProtocols mask and
// the explicit override.
func TestTLSVersions(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		os       client.OS
		tls      client.TLSSettings
		min, max uint16
	}{
		"Windows 7 default (KB3140245)": {client.Windows7, client.TLSSettings{}, tls.VersionTLS10, tls.VersionTLS10},
		"Windows 7 with 0xA00":          {client.Windows7, client.TLSSettings{DefaultSecureProtocols: 0xA00}, tls.VersionTLS11, tls.VersionTLS12},
		"Windows 7 with 0xA80":          {client.Windows7, client.TLSSettings{DefaultSecureProtocols: 0xA80}, tls.VersionTLS10, tls.VersionTLS12},
		"Windows 8.1 default":           {client.Windows81, client.TLSSettings{}, tls.VersionTLS10, tls.VersionTLS12},
		"Windows 8.1 without TLS 1.2":   {client.Windows81, client.TLSSettings{DefaultSecureProtocols: 0x280}, tls.VersionTLS10, tls.VersionTLS11},
		"Windows 10 default":            {client.Windows10, client.TLSSettings{}, tls.VersionTLS12, tls.VersionTLS12},
		"Windows 11 default":            {client.Windows11, client.TLSSettings{}, tls.VersionTLS12, tls.VersionTLS13},
		"Windows 11 with TLS 1.3 only":  {client.Windows11, client.TLSSettings{DefaultSecureProtocols: 0x2000}, tls.VersionTLS13, tls.VersionTLS13},
		"explicit override":             {client.Windows7, client.TLSSettings{DefaultSecureProtocols: 0x80, Min: "1.2", Max: "1.2"}, tls.VersionTLS12, tls.VersionTLS12},
	}
	for name, tc := range cases {
		p := profile(func(p *client.Profile) { p.OS, p.TLS = tc.os, tc.tls })
		lo, hi, err := p.TLSVersions()
		require.NoError(t, err, name)
		assert.Equal(t, tc.min, lo, name)
		assert.Equal(t, tc.max, hi, name)
	}
}

// TestProxyResolution: which settings apply to which account.
func TestProxyResolution(t *testing.T) {
	t.Parallel()
	perUser := &client.ProxySetting{Server: "user-proxy:8080"}
	machine := &client.ProxySetting{Server: "machine-proxy:8080"}
	template := &client.ProxySetting{Server: "template-proxy:8080"}
	winhttp := &client.ProxySetting{Server: "winhttp-proxy:8080"}
	cases := map[string]struct {
		account         client.Account
		sources         client.ProxySources
		flow, rev       *client.ProxySetting
		flowSrc, revSrc string
	}{
		"signed-in user, per-user settings":  {client.AccountUser, client.ProxySources{PerUser: perUser}, perUser, perUser, client.SourcePerUser, client.SourcePerUser},
		"defaultuser1 never sees them":       {client.AccountDefaultUser1, client.ProxySources{PerUser: perUser}, nil, nil, client.SourceNone, client.SourceNone},
		"defaultuser1 inherits the template": {client.AccountDefaultUser1, client.ProxySources{PerUser: perUser, DefaultProfile: template}, template, template, client.SourceDefaultProfile, client.SourceDefaultProfile},
		"the template is not the user's":     {client.AccountUser, client.ProxySources{DefaultProfile: template}, nil, nil, client.SourceNone, client.SourceNone},
		"per-machine policy applies to all":  {client.AccountDefaultUser1, client.ProxySources{PerUser: perUser, PerMachine: machine, DefaultProfile: template}, machine, machine, client.SourcePerMachine, client.SourcePerMachine},
		"per-machine for the user too":       {client.AccountUser, client.ProxySources{PerUser: perUser, PerMachine: machine}, machine, machine, client.SourcePerMachine, client.SourcePerMachine},
		"WinHTTP proxy for revocation only":  {client.AccountDefaultUser1, client.ProxySources{WinHTTP: winhttp}, nil, winhttp, client.SourceNone, client.SourceWinHTTP},
		"nothing set":                        {client.AccountUser, client.ProxySources{}, nil, nil, client.SourceNone, client.SourceNone},
	}
	for name, tc := range cases {
		p := profile(func(p *client.Profile) { p.Account, p.Proxy = tc.account, tc.sources })
		flow, src := p.FlowProxy()
		assert.Same(t, tc.flow, flow, name)
		assert.Equal(t, tc.flowSrc, src, name)
		rev, src := p.RevocationProxy()
		assert.Same(t, tc.rev, rev, name)
		assert.Equal(t, tc.revSrc, src, name)
	}
}

// TestCipherSuiteNames: Schannel's names are IANA's, Go implements each,
// and a Windows 11 policy with tls.max 1.2 is accepted.
func TestCipherSuiteNames(t *testing.T) {
	t.Parallel()
	names := client.CipherSuiteNames()
	require.Len(t, names, 12)
	known := map[string]bool{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		known[cs.Name] = true
	}
	for _, n := range names {
		assert.True(t, known[n], n)
	}
	p := client.Profile{OS: client.Windows11, Account: client.AccountUser, UserID: "adele@contoso.com", NewPassword: "x",
		TLS: client.TLSSettings{Max: "1.2", CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}}
	assert.NoError(t, p.Validate())
}
