package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

// trustInterception makes the workstation trust the interception root too,
// as when an antivirus installed it.
func trustInterception(t *testing.T, l *lab) []client.Option {
	pool := l.auth.Pool()
	ic, err := l.auth.Interception()
	require.NoError(t, err)
	pool.AddCert(ic.CA().Certificate())
	return []client.Option{client.WithRoots(pool)}
}

// sspr are the hosts the documented remedy lets through the proxy.
var sspr = []string{mock.PortalHost, mock.CDNHost, mock.OCSPHost}

func faultRule(hosts []string, spec fault.Spec) proxy.Rule {
	return proxy.Rule{Hosts: hosts, Action: proxy.Fault, Fault: &spec}
}

func userProxy(p *client.Profile) { p.Proxy.PerUser = viaProxy() }

func shortTimeouts(p *client.Profile) {
	p.Timeouts = client.Timeouts{Connect: 2 * time.Second, Request: 400 * time.Millisecond}
}

// TestDiagnosis drives each network cause through real listeners and the
// real proxy, and checks what the client makes of it: the outcome the
// user sees, the cause, the failed step and host, and the remedy.
func TestDiagnosis(t *testing.T) {
	t.Parallel()
	tls10 := vhost.Range{Min: 0x0301, Max: 0x0301}
	cases := map[string]struct {
		lab     []labOption
		profile []func(*client.Profile)
		outcome client.Outcome
		cause   client.Cause
		step    client.Step
		host    string
		remedy  string // when it is not Remedy(cause)
		opts    func(t *testing.T, l *lab) []client.Option
		check   func(t *testing.T, l *lab, res *client.Result)
	}{
		"authenticating proxy, defaultuser1 has no credentials": {
			lab: []labOption{withProxy(authenticate())},
			profile: []func(*client.Profile){func(p *client.Profile) {
				p.Account = client.AccountDefaultUser1
				p.Proxy.PerMachine = viaProxy()
				p.Credentials = creds() // the signed-in user's: not the temporary account's
			}},
			cause: client.CauseProxyAuthRequired, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				var pe *client.ProxyError
				require.ErrorAs(t, res.Err, &pe)
				assert.Equal(t, 407, pe.Status)
				assert.True(t, pe.NoCredentials)
				assert.Equal(t, []string{"basic"}, pe.Offered)
				assert.Equal(t, "ERR_CACHE_ACCESS_DENIED 0", pe.SquidError)
				assert.Equal(t, client.SourcePerMachine, res.ProxySource)
				assert.Equal(t, proxyAddr, res.Proxy)
			},
		},
		"authenticating proxy, wrong NTLM password": {
			lab: []labOption{withProxy(authenticate()), withAuthSchemes(proxy.SchemeNTLM)},
			profile: []func(*client.Profile){userProxy, func(p *client.Profile) {
				p.Credentials = creds()
				p.Credentials.Password = "not-the-password"
			}},
			cause: client.CauseProxyAuthRequired, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				var pe *client.ProxyError
				require.ErrorAs(t, res.Err, &pe)
				assert.Equal(t, "ntlm", pe.Scheme)
				assert.False(t, pe.NoCredentials)
			},
		},
		"authenticating proxy offers only schemes the client may not use": {
			lab:     []labOption{withProxy(authenticate())},
			profile: []func(*client.Profile){userProxy, func(p *client.Profile) { p.Credentials = creds(client.SchemeNTLM) }},
			cause:   client.CauseProxyAuthRequired, step: client.StepPage,
			check: func(t *testing.T, l *lab, res *client.Result) {
				var pe *client.ProxyError
				require.ErrorAs(t, res.Err, &pe)
				assert.Empty(t, pe.Scheme)
			},
		},
		"per-user proxy only, direct egress blocked": {
			lab: []labOption{withProxy(allow(sspr...))},
			profile: []func(*client.Profile){userProxy, func(p *client.Profile) {
				p.Account = client.AccountDefaultUser1
			}},
			cause: client.CauseDirectEgressBlocked, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				assert.Equal(t, client.SourceNone, res.ProxySource)
				assert.Zero(t, l.net.dialsTo(proxyAddr), "the temporary account never uses the signed-in user's proxy")
			},
		},
		"proxy denies the portal": {
			lab:     []labOption{withProxy(deny(mock.PortalHost), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseProxyDenied, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				var pe *client.ProxyError
				require.ErrorAs(t, res.Err, &pe)
				assert.Equal(t, "ERR_ACCESS_DENIED 0", pe.SquidError)
			},
		},
		"proxy denies the CDN": {
			lab:     []labOption{withProxy(deny(mock.CDNHost), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseProxyDenied, step: client.StepCDN, host: mock.CDNHost,
		},
		"proxy cannot reach upstream (502)": {
			lab:     []labOption{withProxy(faultRule([]string{mock.PortalHost}, fault.Spec{Kind: fault.Status, Status: 502}), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseProxyError, step: client.StepPage, host: mock.PortalHost,
		},
		"proxy address where nothing listens": {
			lab:     []labOption{withDeadProxy()},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseProxyUnreachable, step: client.StepPage, host: mock.PortalHost,
		},
		"inspection resets the connection": {
			lab:     []labOption{withProxy(faultRule([]string{mock.PortalHost}, fault.Spec{Kind: fault.Reset}), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseConnectionReset, step: client.StepPage, host: mock.PortalHost,
		},
		"inspection truncates the script": {
			lab: []labOption{withProxy(ruleWith(intercept(mock.CDNHost), func(r *proxy.Rule) {
				r.Fault = &fault.Spec{Kind: fault.CloseAfter, Bytes: 200}
			}), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			opts:    trustInterception,
			cause:   client.CauseInterrupted, step: client.StepCDN, host: mock.CDNHost,
		},
		"inspection re-signs with a root the client does not trust": {
			lab:     []labOption{withProxy(intercept(mock.PortalHost), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseInspection, step: client.StepPage, host: mock.PortalHost,
			check: inspectedBy,
		},
		"an old appliance offers the client only TLS 1.0": {
			lab:     []labOption{withProxy(oldAppliance(mock.PortalHost), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			opts:    trustInterception, // its root is deployed: the version alone fails
			cause:   client.CauseInspection, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				inspectedBy(t, l, res)
				a, ok := tlsalert.FromError(res.Err)
				require.True(t, ok)
				assert.Equal(t, tlsalert.ProtocolVersion, a, "the appliance refused the client's TLS 1.2")
				assert.NotContains(t, res.Remedy, "requires TLS 1.2")
			},
		},
		"an old appliance offers only TLS 1.0, and its root is not deployed": {
			lab:     []labOption{withProxy(oldAppliance(mock.CDNHost), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseInspection, step: client.StepCDN, host: mock.CDNHost,
			check: inspectedBy,
		},
		"proxy stalls": {
			lab:     []labOption{withProxy(faultRule([]string{mock.PortalHost}, fault.Spec{Kind: fault.Stall}), allow("*"))},
			profile: []func(*client.Profile){userProxy, shortTimeouts},
			cause:   client.CauseTimeout, step: client.StepPage, host: mock.PortalHost,
		},
		"proxy answers with something that is not TLS": {
			lab:     []labOption{withProxy(faultRule([]string{mock.PortalHost}, fault.Spec{Kind: fault.Malformed}), allow("*"))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseMalformedResponse, step: client.StepPage, host: mock.PortalHost,
		},
		"Windows 7 defaults (TLS 1.0) against the TLS 1.2+ service": {
			profile: []func(*client.Profile){func(p *client.Profile) { p.OS = client.Windows7 }},
			cause:   client.CauseTLSVersion, step: client.StepPage, host: mock.PortalHost,
		},
		"Windows 8.1 with TLS 1.2 switched off": {
			profile: []func(*client.Profile){func(p *client.Profile) {
				p.OS = client.Windows81
				p.TLS.DefaultSecureProtocols = client.ProtocolTLS10 | client.ProtocolTLS11
			}},
			cause: client.CauseTLSVersion, step: client.StepPage,
		},
		"a client whose cipher suites are all for RSA meets an ECDSA certificate": {
			profile: []func(*client.Profile){rsaSuitesOnly},
			cause:   client.CauseTLSHandshake, step: client.StepPage, host: mock.PortalHost,
			remedy: "The client's cipher suite policy has no suite for the key type of the server's certificate, so the server refused the handshake (alert handshake_failure, 40): add suites for it to the client's policy (Group Policy SSL Cipher Suite Order: TLS_ECDHE_ECDSA_* for an ECDSA certificate, TLS_ECDHE_RSA_* for an RSA one), or give the server a certificate of a key type the client's suites cover.",
			check: func(t *testing.T, _ *lab, res *client.Result) {
				var te *client.TLSError
				require.ErrorAs(t, res.Err, &te)
				a, ok := tlsalert.FromError(te.Err)
				require.True(t, ok, "%v", te.Err)
				assert.Equal(t, tlsalert.HandshakeFailure, a, "not a version refusal")
				assert.Equal(t, "ECDSA P-256", te.ServerKey)
				assert.True(t, te.NoSuiteForKey)
				assert.Empty(t, te.Inspection, "the lab's own CA issued it")
				assert.Contains(t, res.Error, "the server's certificate has an ECDSA P-256 key, and none of the client's cipher suites is for it (it offers TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)")
			},
		},
		"inspection with an ECDSA certificate meets a client whose suites are all for RSA": {
			lab:     []labOption{withProxy(intercept(mock.PortalHost), allow("*")), withLeafKey(pki.RSA2048)},
			profile: []func(*client.Profile){userProxy, rsaSuitesOnly},
			opts:    trustInterception, // its root is deployed: the suites alone fail
			cause:   client.CauseInspection, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				inspectedBy(t, l, res)
				a, ok := tlsalert.FromError(res.Err)
				require.True(t, ok)
				assert.Equal(t, tlsalert.HandshakeFailure, a, "the appliance refused the client's suites")
				assert.Contains(t, res.Error, "the server's certificate has an ECDSA P-256 key, and none of the client's cipher suites is for it")
			},
		},
		"a client whose cipher suites are all for ECDSA meets an RSA certificate, TLS 1.0": {
			lab: []labOption{withLeafKey(pki.RSA2048), withPortalRange(vhost.AllVersions())},
			profile: []func(*client.Profile){func(p *client.Profile) {
				p.OS = client.Windows7
				p.TLS.CipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"}
			}},
			cause: client.CauseTLSHandshake, step: client.StepPage, host: mock.PortalHost,
			check: func(t *testing.T, _ *lab, res *client.Result) {
				var te *client.TLSError
				require.ErrorAs(t, res.Err, &te)
				assert.Equal(t, "RSA 2048-bit", te.ServerKey)
				assert.True(t, te.NoSuiteForKey)
				assert.Contains(t, res.Remedy, "cipher suite policy has no suite for the key type")
			},
			remedy: "The client's cipher suite policy has no suite for the key type of the server's certificate, so the server refused the handshake (alert handshake_failure, 40): add suites for it to the client's policy (Group Policy SSL Cipher Suite Order: TLS_ECDHE_ECDSA_* for an ECDSA certificate, TLS_ECDHE_RSA_* for an RSA one), or give the server a certificate of a key type the client's suites cover.",
		},
		"a TLS 1.0 client whose only suite is TLS 1.2's": {
			lab: []labOption{withPortalRange(vhost.AllVersions())},
			profile: []func(*client.Profile){func(p *client.Profile) {
				p.OS = client.Windows7
				p.TLS.CipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
			}},
			cause: client.CauseTLSHandshake, step: client.StepPage, host: mock.PortalHost,
			remedy: "The server found nothing in common with the client's TLS offer (alert handshake_failure, 40: no cipher suite, curve or signature algorithm): compare the client's cipher suite policy (Group Policy SSL Cipher Suite Order) with what the server, or the device that answers for it, accepts.",
			check: func(t *testing.T, _ *lab, res *client.Result) {
				var te *client.TLSError
				require.ErrorAs(t, res.Err, &te)
				assert.Equal(t, "ECDSA P-256", te.ServerKey)
				assert.False(t, te.NoSuiteForKey, "the suite is for ECDSA; it is TLS 1.2's, and the client offers TLS 1.0")
			},
		},
		"Windows 10 against a TLS 1.0-only server": {
			lab:   []labOption{withPortalRange(tls10)},
			cause: client.CauseTLSVersion, step: client.StepPage,
			remedy: "The server, or a device on the path that answers for it, offers only TLS versions older than the client accepts: upgrade it or take the SSPR hosts out of its path.",
			check: func(t *testing.T, l *lab, res *client.Result) {
				// A Go server reads supported_versions and refuses.
				a, ok := tlsalert.FromError(res.Err)
				require.True(t, ok)
				assert.Equal(t, tlsalert.ProtocolVersion, a)
			},
		},
		"TLS 1.3 only, self-signed certificate": {
			lab:     []labOption{withPortalCert(pki.SelfSigned)},
			profile: []func(*client.Profile){func(p *client.Profile) { p.OS, p.TLS.Min = client.Windows11, "1.3" }},
			cause:   client.CauseCertUntrusted, step: client.StepPage,
		},
		"the script was tampered with": {
			lab:   []labOption{withTamperedScript()},
			cause: client.CauseCDNUnreachable, step: client.StepCDN, host: mock.CDNHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				assert.Contains(t, res.Error, "integrity check failed")
			},
		},
		"expired certificate":                {lab: []labOption{withPortalCert(pki.Expired)}, cause: client.CauseCertExpired, step: client.StepPage},
		"certificate not yet valid":          {lab: []labOption{withPortalCert(pki.NotYetValid)}, cause: client.CauseCertNotYetValid, step: client.StepPage},
		"certificate for another host":       {lab: []labOption{withPortalCert(pki.WrongHost)}, cause: client.CauseCertHostname, step: client.StepPage},
		"self-signed certificate":            {lab: []labOption{withPortalCert(pki.SelfSigned)}, cause: client.CauseCertUntrusted, step: client.StepPage},
		"certificate from an untrusted root": {lab: []labOption{withCDNCert(pki.UntrustedRoot)}, cause: client.CauseCertUntrusted, step: client.StepCDN, host: mock.CDNHost},
		"revoked portal certificate": {
			lab:   []labOption{withPortalCert(pki.Revoked)},
			cause: client.CauseCertRevoked, step: client.StepRevocation, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				var re *client.RevocationError
				require.ErrorAs(t, res.Err, &re)
				assert.True(t, re.Revoked)
				assert.Equal(t, "http://ocsp.digicert.com", re.Responder)
			},
		},
		"revoked certificate, soft-fail is no excuse": {
			lab:     []labOption{withCDNCert(pki.Revoked)},
			profile: []func(*client.Profile){func(p *client.Profile) { p.Revocation = client.RevocationSoftFail }},
			cause:   client.CauseCertRevoked, step: client.StepRevocation, host: mock.CDNHost,
		},
		"OCSP host blocked, hard-fail": {
			lab:     []labOption{withProxy(allow(mock.PortalHost, mock.CDNHost))},
			profile: []func(*client.Profile){userProxy},
			cause:   client.CauseRevocationOffline, step: client.StepRevocation, host: mock.PortalHost,
			check: func(t *testing.T, l *lab, res *client.Result) {
				var pe *client.ProxyError
				require.ErrorAs(t, res.Err, &pe, "the revocation error carries the proxy's refusal")
				assert.Equal(t, "GET", pe.Method)
				assert.Equal(t, mock.OCSPHost+":80", pe.Target)
			},
		},
		"DNS failure": {
			profile: []func(*client.Profile){func(p *client.Profile) {}},
			cause:   client.CauseDNSFailure, step: client.StepPage,
			check: nil,
		},
		"service error at begin": {
			cause: client.CauseServiceError, step: client.StepBegin, host: mock.PortalHost,
		},
		"CDN does not serve the script": {
			lab:   []labOption{withoutScript()},
			cause: client.CauseCDNUnreachable, step: client.StepCDN, host: mock.CDNHost,
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
			switch name {
			case "service error at begin":
				require.NoError(t, l.svc.SetFault("begin", mock.StepFault{Status: 503}))
			case "DNS failure":
				opts = append(opts, client.WithPortalURL("https://passwordreset.microsoftonline.invalid"))
			}
			res := l.run(t, profile(tc.profile...), opts...)
			outcome := tc.outcome
			if outcome == "" {
				outcome = client.OutcomeSomethingWentWrong
			}
			assert.Equal(t, outcome, res.Outcome, "%s", res)
			assert.Equal(t, tc.cause, res.Cause, "%s", res)
			assert.Equal(t, tc.step, res.Step, "%s", res)
			if tc.host != "" {
				assert.Equal(t, tc.host, res.Host)
			}
			assert.Error(t, res.Err)
			if tc.remedy != "" {
				assert.Equal(t, tc.remedy, res.Remedy)
			} else {
				assert.Equal(t, client.Remedy(tc.cause), res.Remedy)
			}
			assert.NotEmpty(t, res.Remedy)
			if tc.check != nil {
				tc.check(t, l, res)
			}
			// The service saw no user ID unless the flow got that far.
			if tc.step != client.StepBegin {
				assert.Empty(t, l.svc.Audit().Entries("adele@contoso.com"))
			}
		})
	}
}

// oldAppliance inspects hosts and speaks only TLS 1.0 towards the client.
func oldAppliance(hosts ...string) proxy.Rule {
	return ruleWith(intercept(hosts...), func(r *proxy.Rule) { r.TLS = &proxy.TLSPolicy{Max: "1.0"} })
}

// inspectedBy checks that the diagnosis names the interception root as the
// issuer the client was shown, and says inspection did it.
func inspectedBy(t *testing.T, _ *lab, res *client.Result) {
	t.Helper()
	var te *client.TLSError
	require.ErrorAs(t, res.Err, &te, "%s", res)
	assert.Equal(t, pki.InterceptionName, te.Inspection)
	assert.Contains(t, res.Error, `issued by "`+pki.InterceptionName+`", not by the service's CA: HTTPS inspection`)
	assert.Contains(t, res.Remedy, "exclude passwordreset.microsoftonline.com, ajax.aspnetcdn.com and ocsp.digicert.com from inspection")
}

// TestInspectionRescuesWindows7: a Windows 7 client (TLS 1.0 only) behind
// an inspection product whose root it trusts gets through: the appliance
// accepts TLS 1.0 from it and speaks TLS 1.2 or 1.3 to the service, which
// refuses the same client on the direct path.
func TestInspectionRescuesWindows7(t *testing.T) {
	t.Parallel()
	win7 := func(p *client.Profile) {
		p.OS = client.Windows7
		p.Account = client.AccountDefaultUser1
		p.Proxy.PerMachine = viaProxy()
	}
	l := newLab(t, withProxy(intercept(mock.PortalHost, mock.CDNHost), allow("*")))
	res := l.run(t, profile(win7), trustInterception(t, l)...)
	require.True(t, res.OK(), "%s", res)
	assert.Equal(t, "TLS 1.0", res.TLSVersion, "with the appliance")

	direct := newLab(t, withProxy(allow("*")))
	res = direct.run(t, profile(win7))
	assert.Equal(t, client.CauseTLSVersion, res.Cause, "the service itself refuses TLS 1.0: %s", res)
	assert.Equal(t, client.Remedy(client.CauseTLSVersion), res.Remedy)
}

// TestServiceIssuers: without the lab's names the client takes the lab's
// own root for a foreign issuer; the default names are Microsoft's and
// DigiCert's; an empty list is refused.
func TestServiceIssuers(t *testing.T) {
	t.Parallel()
	l := newLab(t, withCDNCert(pki.UntrustedRoot))
	res := l.run(t, profile())
	assert.Equal(t, client.CauseCertUntrusted, res.Cause, "with the lab's names: %s", res)
	res = l.run(t, profile(), client.WithServiceIssuers(client.DefaultServiceIssuers...))
	assert.Equal(t, client.CauseInspection, res.Cause, "with Microsoft's names: %s", res)
	assert.Equal(t, []string{"DigiCert Inc", "Microsoft Corporation"}, client.DefaultServiceIssuers)
	_, err := client.New(profile(), client.WithServiceIssuers())
	assert.Error(t, err)
}

func TestDiagnoseNil(t *testing.T) {
	t.Parallel()
	assert.Equal(t, client.CauseNone, client.Diagnose(nil, time.Now()))
	assert.Equal(t, client.CauseUnexpectedResponse, client.Diagnose(errors.New("something else"), time.Now()))
}

// rsaSuitesOnly is a cipher suite policy with suites for RSA
// certificates only (Windows 10: TLS 1.2).
func rsaSuitesOnly(p *client.Profile) {
	p.TLS.CipherSuites = []string{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
}

// TestCipherSuitesMatchTheKey: the same RSA-only policy gets through to
// RSA certificates (the portal's and the CDN's), over TLS 1.2.
func TestCipherSuitesMatchTheKey(t *testing.T) {
	t.Parallel()
	l := newLab(t, withLeafKey(pki.RSA2048))
	res := l.run(t, profile(rsaSuitesOnly))
	require.True(t, res.OK(), "%s", res)
	assert.Equal(t, "TLS 1.2", res.TLSVersion)
}
