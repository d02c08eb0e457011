package harness_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

const strongPassword = "Vq7#Lmz2!Rtx"

func profile(mods ...func(*client.Profile)) client.Profile {
	p := client.Profile{OS: client.Windows10, Account: client.AccountUser, UserID: "adele@contoso.com",
		NewPassword: strongPassword, Revocation: client.RevocationHardFail}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func run(t *testing.T, l *harness.Lab, p client.Profile, opts ...client.Option) *client.Result {
	t.Helper()
	c, err := l.Client(p, opts...)
	require.NoError(t, err)
	return c.Run(context.Background())
}

func get(t *testing.T, hc *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := hc.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestLabServesEveryHost reaches each virtual host with a plain
// net/http client configured as a workstation in the lab.
func TestLabServesEveryHost(t *testing.T) {
	t.Parallel()
	l := harness.Start(t)
	hc := l.HTTPClient()
	code, body := get(t, hc, "https://"+mock.PortalHost+mock.PortalPath)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, l.Service.ScriptPath())
	code, _ = get(t, hc, "https://"+mock.CDNHost+l.Service.ScriptPath())
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, hc, "http://"+mock.CDNHost+l.Service.ScriptPath())
	assert.Equal(t, http.StatusOK, code, "the CDN answers on port 80 too")
	code, _ = get(t, hc, "http://"+mock.OCSPHost+"/")
	assert.Equal(t, http.StatusBadRequest, code, "the OCSP responder, asked nothing")
	for _, u := range l.Authority.Root().CRLURLs() {
		code, body = get(t, hc, u)
		assert.Equal(t, http.StatusOK, code, u)
		_, err := x509.ParseRevocationList([]byte(body))
		assert.NoError(t, err, u)
	}
	assert.Equal(t, []string{"ajax.aspnetcdn.com:443", "ajax.aspnetcdn.com:80", "crl3.digicert.com:80", "crl4.digicert.com:80",
		"ocsp.digicert.com:80", "passwordreset.microsoftonline.com:443"}, l.Names())
	assert.Nil(t, l.Proxy)
	assert.Empty(t, l.ProxyURL())
}

// TestJournalWithoutProxy: a lab without a proxy has an empty journal,
// not a nil one, so that reading it needs no check.
func TestJournalWithoutProxy(t *testing.T) {
	t.Parallel()
	l := harness.Start(t)
	_, _ = get(t, l.HTTPClient(), "https://"+mock.PortalHost+mock.PortalPath)
	j := l.Journal()
	require.NotNil(t, j)
	assert.Empty(t, j.Entries())
	assert.Zero(t, j.Dropped())
	j.Reset()
	assert.Empty(t, l.Journal().Entries())
}

// TestClientFlowInLab runs the Windows client through the lab, directly
// and through the lab's proxy, and reads what the lab recorded.
func TestClientFlowInLab(t *testing.T) {
	t.Parallel()
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t)
		res := run(t, l, profile())
		require.True(t, res.OK(), "%s", res)
		assert.NotEmpty(t, l.Outbox().Messages("adele@contoso.com"))
		assert.NotEmpty(t, l.Audit().Entries("adele@contoso.com"))
	})
	t.Run("through the proxy", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithProxy(proxy.WithRules(proxy.Rule{Hosts: []string{mock.PortalHost, mock.CDNHost, mock.OCSPHost}, Action: proxy.Allow})))
		res := run(t, l, profile(func(p *client.Profile) {
			p.Account = client.AccountDefaultUser1
			p.Proxy.DefaultProfile = &client.ProxySetting{Server: harness.DefaultProxyAddr}
		}))
		require.True(t, res.OK(), "%s", res)
		assert.Equal(t, harness.DefaultProxyAddr, res.Proxy)
		assert.NotEmpty(t, l.Journal().Entries())
	})
	t.Run("security questions and two gates", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t)
		res := run(t, l, profile(func(p *client.Profile) { p.UserID, p.Methods = "quinn@contoso.com", []string{"securityQuestions"} }))
		require.True(t, res.OK(), "%s", res)
		res = run(t, l, profile(func(p *client.Profile) {
			p.UserID, p.Methods = "megan@fabrikam.com", []string{"appNotification", "email"}
		}))
		require.True(t, res.OK(), "%s", res)
	})
}

// TestVirtualAddresses: the lab's DNS answers each host with an address
// of its own from 198.18.0.0/15, and a proxy rule on addresses (Squid's
// dst) applies to the names that resolve to them, on CONNECT by name;
// the dials are still counted by name.
func TestVirtualAddresses(t *testing.T) {
	t.Parallel()
	cdnOnly := proxy.WithRules(proxy.Rule{Name: "no cdn", Hosts: []string{"198.18.0.2"}, Action: proxy.Deny})
	l := harness.Start(t, harness.WithProxy(cdnOnly, proxy.WithDefault(proxy.Allow)))
	want := map[string]string{mock.PortalHost: "198.18.0.1", mock.CDNHost: "198.18.0.2", mock.OCSPHost: "198.18.0.3",
		mock.CRL3Host: "198.18.0.4", mock.CRL4Host: "198.18.0.5", "proxy.corp.example": "198.18.0.6"}
	for host, addr := range want {
		got, err := l.LookupNetIP(context.Background(), "ip", host)
		require.NoError(t, err, host)
		assert.Equal(t, []netip.Addr{netip.MustParseAddr(addr)}, got, host)
		assert.True(t, netip.MustParsePrefix(harness.VirtualNet).Contains(got[0]))
	}
	_, err := l.LookupNetIP(context.Background(), "ip", "login.microsoftonline.com")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	assert.True(t, dnsErr.IsNotFound)
	to, ok := l.Resolve("198.18.0.1:443")
	assert.True(t, ok)
	assert.Equal(t, l.Hosts[mock.PortalHost].Addr(), to)

	res := run(t, l, profile(func(p *client.Profile) {
		p.Account = client.AccountDefaultUser1
		p.Proxy.PerMachine = &client.ProxySetting{Server: harness.DefaultProxyAddr}
	}))
	assert.Equal(t, client.CauseProxyDenied, res.Cause, "%s", res)
	assert.Equal(t, client.StepCDN, res.Step)
	assert.Zero(t, l.Dials(mock.CDNHost+":443"), "the CDN was never dialled")
	assert.Positive(t, l.Dials(mock.PortalHost+":443"), "the portal was, by its address, counted by name")
	var denied []string
	for _, e := range l.Journal().Entries() {
		if e.Result == proxy.ResultDenied {
			denied = append(denied, e.Method+" "+e.Target+" "+e.Rule)
		}
	}
	assert.Equal(t, []string{"CONNECT " + mock.CDNHost + ":443 no cdn"}, denied)

	// The whole range: nothing of the lab gets through.
	l = harness.Start(t, harness.WithProxy(proxy.WithRules(proxy.Rule{Hosts: []string{harness.VirtualNet}, Action: proxy.Deny}),
		proxy.WithDefault(proxy.Allow)))
	_, err = l.HTTPClient().Get("https://" + mock.PortalHost + "/")
	assert.Error(t, err)
	for _, name := range l.Names() {
		if name != l.ProxyAddr {
			assert.Zero(t, l.Dials(name), name)
		}
	}
}

// TestFirewall: with a proxy in the lab the workstation reaches only the
// proxy, unless the firewall says otherwise.
func TestFirewall(t *testing.T) {
	t.Parallel()
	rules := proxy.WithRules(proxy.Rule{Action: proxy.Allow})
	cases := map[string]struct {
		opts  []harness.Option
		cause client.Cause
	}{
		"proxy, no direct egress":      {[]harness.Option{harness.WithProxy(rules)}, client.CauseDirectEgressBlocked},
		"proxy, direct egress allowed": {[]harness.Option{harness.WithProxy(rules), harness.WithFirewall(harness.Firewall{Direct: true})}, client.CauseNone},
		"only the SSPR hosts allowed": {[]harness.Option{harness.WithProxy(rules), harness.WithFirewall(harness.Firewall{
			Allow: []string{mock.PortalHost + ":443", mock.CDNHost + ":443", mock.OCSPHost + ":80"}})}, client.CauseNone},
		"the OCSP host forgotten": {[]harness.Option{harness.WithProxy(rules), harness.WithFirewall(harness.Firewall{
			Allow: []string{mock.PortalHost + ":443", mock.CDNHost + ":443"}})}, client.CauseRevocationOffline},
		"no proxy, firewall closed": {[]harness.Option{harness.WithFirewall(harness.Firewall{})}, client.CauseDirectEgressBlocked},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := harness.Start(t, tc.opts...)
			res := run(t, l, profile())
			assert.Equal(t, tc.cause, res.Cause, "%s", res)
		})
	}
}

// TestOptions: each option has its effect.
func TestOptions(t *testing.T) {
	t.Parallel()
	t.Run("WithHostTLS", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithHostTLS(mock.PortalHost, vhost.Range{Min: tls.VersionTLS10, Max: tls.VersionTLS12}),
			harness.WithHostTLS(mock.CDNHost, vhost.Range{Min: tls.VersionTLS10, Max: tls.VersionTLS12}))
		res := run(t, l, profile(func(p *client.Profile) { p.OS = client.Windows7 }))
		require.True(t, res.OK(), "%s", res)
		assert.Equal(t, "TLS 1.0", res.TLSVersion)
		assert.Equal(t, vhost.Range{Min: tls.VersionTLS10, Max: tls.VersionTLS12}, l.Hosts[mock.PortalHost].Versions)
	})
	t.Run("WithCertificate", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithCertificate(mock.CDNHost, pki.Expired))
		res := run(t, l, profile())
		assert.Equal(t, client.CauseCertExpired, res.Cause, "%s", res)
		assert.Equal(t, client.StepCDN, res.Step)
	})
	t.Run("WithDirectory", func(t *testing.T) {
		t.Parallel()
		d, err := mock.ParseDirectory("dir.yaml", []byte("tenants: [{id: t, domains: [t.example], sspr: off}]\nusers: [{upn: u@t.example, methods: {email: u@mail.example}}]\n"))
		require.NoError(t, err)
		l := harness.Start(t, harness.WithDirectory(d))
		res := run(t, l, profile(func(p *client.Profile) { p.UserID = "u@t.example" }))
		assert.Equal(t, client.CauseTenantDisabled, res.Cause, "%s", res)
	})
	t.Run("WithProxyAddr", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)), harness.WithProxyAddr("squid.fabrikam.example:8080"))
		res := run(t, l, profile(func(p *client.Profile) { p.Proxy.PerUser = &client.ProxySetting{Server: "squid.fabrikam.example:8080"} }))
		require.True(t, res.OK(), "%s", res)
		assert.Positive(t, l.Dials("squid.fabrikam.example:8080"))
		_, ok := l.Resolve(harness.DefaultProxyAddr)
		assert.False(t, ok, "the proxy has only its own name")
	})
	t.Run("WithProxyDNSFailure", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)), harness.WithProxyDNSFailure("PasswordReset.microsoftonline.com."))
		res := run(t, l, profile(func(p *client.Profile) { p.Proxy.PerUser = &client.ProxySetting{Server: harness.DefaultProxyAddr} }))
		assert.Equal(t, client.CauseProxyDNSFailure, res.Cause, "%s", res)
		assert.Contains(t, res.Error, "ERR_DNS_FAIL 0")
		_, err := l.LookupNetIP(context.Background(), "ip4", mock.PortalHost)
		assert.NoError(t, err, "the workstation's DNS still knows the name")
		assert.Zero(t, l.Dials(mock.PortalHost+":443"), "the proxy dials nothing it could not resolve")
	})
	t.Run("WithKeyType", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithKeyType(pki.RSA2048))
		res := run(t, l, profile())
		require.True(t, res.OK(), "%s", res)
		assert.Equal(t, pki.RSA2048, l.Authority.Root().KeyType())
	})
	t.Run("WithHostKeyType", func(t *testing.T) {
		t.Parallel()
		l := harness.Start(t, harness.WithHostKeyType(mock.PortalHost, pki.RSA2048), harness.WithCertificate(mock.CDNHost, pki.Expired))
		assert.Equal(t, pki.ECDSAP256, l.Authority.Root().KeyType(), "the root keeps the lab's key type")
		// A client that offers only suites for RSA certificates, over
		// real handshakes: the portal's RSA leaf serves it, the CDN's
		// ECDSA one (with its fault: its own leaf) refuses it with
		// handshake_failure.
		rsaOnly := func(host string) (*tls.Conn, error) {
			raw, err := l.Dial(context.Background(), "tcp", host+":443")
			require.NoError(t, err)
			c := tls.Client(raw, &tls.Config{ServerName: host, RootCAs: l.Roots(), MaxVersion: tls.VersionTLS12, InsecureSkipVerify: host == mock.CDNHost, //nolint:gosec // the CDN's leaf is expired on purpose
				CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}})
			t.Cleanup(func() { c.Close() })
			return c, c.HandshakeContext(context.Background())
		}
		c, err := rsaOnly(mock.PortalHost)
		require.NoError(t, err)
		assert.IsType(t, &rsa.PublicKey{}, c.ConnectionState().PeerCertificates[0].PublicKey)
		_, err = rsaOnly(mock.CDNHost)
		a, ok := tlsalert.FromError(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, tlsalert.HandshakeFailure, a)
		// The Windows-like client, with Schannel's default suites, gets
		// through the RSA portal.
		res := run(t, l, profile())
		assert.Equal(t, client.CauseCertExpired, res.Cause, "%s", res)
		assert.Equal(t, client.StepCDN, res.Step, "the portal's page loaded")
		bad, err := harness.New(context.Background(), harness.WithHostKeyType("login.microsoftonline.com", pki.RSA2048))
		bad.Close()
		assert.ErrorContains(t, err, "not one of the lab's TLS hosts")
	})
	t.Run("WithHostKeyType and WithAuthority", func(t *testing.T) {
		t.Parallel()
		// A kept authority (as egresslab serve keeps one) has its own key
		// type; a host's key type still applies to its leaf.
		a, err := pki.New(pki.WithKeyType(pki.RSA2048))
		require.NoError(t, err)
		l := harness.Start(t, harness.WithAuthority(a), harness.WithHostKeyType(mock.CDNHost, pki.ECDSAP256))
		for host, want := range map[string]any{mock.PortalHost: &rsa.PublicKey{}, mock.CDNHost: &ecdsa.PublicKey{}} {
			raw, err := l.Dial(context.Background(), "tcp", host+":443")
			require.NoError(t, err)
			c := tls.Client(raw, &tls.Config{ServerName: host, RootCAs: l.Roots()})
			require.NoError(t, c.HandshakeContext(context.Background()), host)
			assert.IsType(t, want, c.ConnectionState().PeerCertificates[0].PublicKey, host)
			c.Close()
		}
	})
	t.Run("WithLogger", func(t *testing.T) {
		t.Parallel()
		var buf testtool.Buffer
		l := harness.Start(t, harness.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		res := run(t, l, profile())
		require.True(t, res.OK(), "%s", res)
		assert.Contains(t, buf.String(), "sspr flow ended")
		assert.NotContains(t, buf.String(), strongPassword)
	})
}

// TestBadOptions: New returns the partly built lab with the error, and
// closing it is safe.
func TestBadOptions(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]harness.Option{
		"unknown TLS host":   harness.WithHostTLS("example.com", vhost.ServiceRange()),
		"bad range":          harness.WithHostTLS(mock.PortalHost, vhost.Range{Min: tls.VersionTLS13, Max: tls.VersionTLS10}),
		"unknown cert host":  harness.WithCertificate(mock.OCSPHost, pki.Expired),
		"nil directory":      harness.WithDirectory(nil),
		"bad proxy address":  harness.WithProxyAddr("proxy"),
		"bad proxy DNS name": harness.WithProxyDNSFailure("host:443"),
		"bad firewall entry": harness.WithFirewall(harness.Firewall{Allow: []string{"example.com"}}),
		"bad proxy option":   harness.WithProxy(proxy.WithAddr("10.0.0.1:0")),
	} {
		l, err := harness.New(context.Background(), o)
		assert.Error(t, err, name)
		require.NotNil(t, l, name)
		l.Close()
		l.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l, err := harness.New(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	l.Close()
}

// TestCurlThroughLabProxy: a program outside the lab reaches the portal
// through the lab's proxy, trusting the lab's root from its PEM file.
func TestCurlThroughLabProxy(t *testing.T) {
	t.Parallel()
	curl := testtool.Need(t, "curl")
	l := harness.Start(t, harness.WithProxy(proxy.WithDefault(proxy.Allow)))
	pem, err := l.TrustPEM()
	require.NoError(t, err)
	out, code, err := testtool.Run(t, curl, "-sS", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}",
		"-x", l.ProxyURL(), "--cacert", pem, "https://"+mock.PortalHost+mock.PortalPath)
	require.NoError(t, err)
	require.Equal(t, 0, code, out)
	assert.Equal(t, "200 0", out)
	l.Close() // waits for the tunnel's journal entry
	entries := l.Journal().Entries()
	require.Len(t, entries, 1)
	assert.Equal(t, mock.PortalHost+":443", entries[0].Target)
	assert.Equal(t, "CONNECT", entries[0].Method)
}

// TestParallelLabs: labs share nothing, so many run at once.
func TestParallelLabs(t *testing.T) {
	t.Parallel()
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := harness.New(context.Background())
			//lint:ignore SA5001 New returns the partly built lab with its error: it is closed either way.
			defer l.Close()
			if err != nil {
				errs <- err
				return
			}
			c, err := l.Client(profile())
			if err != nil {
				errs <- err
				return
			}
			if res := c.Run(context.Background()); !res.OK() {
				errs <- fmt.Errorf("lab %d: %s", i, res)
				return
			}
			if got := len(l.Outbox().Messages("adele@contoso.com")); got != 1 {
				errs <- fmt.Errorf("lab %d: %d messages in its outbox, want its own 1", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestDefaultDirectory(t *testing.T) {
	t.Parallel()
	d := harness.DefaultDirectory()
	require.NoError(t, d.Validate())
	var upns []string
	for _, u := range d.Users {
		upns = append(upns, u.UPN)
	}
	assert.Contains(t, strings.Join(upns, " "), "adele@contoso.com")
}

// TestCloseAfterServiceStall: a service step that stalls a POST ends with
// the client's timeout, and the lab still closes.
func TestCloseAfterServiceStall(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"captcha", "begin"} {
		l, err := harness.New(context.Background())
		require.NoError(t, err)
		require.NoError(t, l.Service.SetFault(step, mock.StepFault{Stall: true}))
		// The stall is the only thing that can use up this budget: 200 ms
		// (and its 100 ms connect limit) once ran out on a loaded machine
		// before the stalled step was reached.
		res := run(t, l, profile(func(p *client.Profile) { p.Timeouts.Request = 2 * time.Second }))
		assert.Equal(t, client.CauseTimeout, res.Cause, "%s", res)
		assert.Equal(t, client.Step(step), res.Step)
		l.Close() // returns: the stalled handler is let go
		assert.Zero(t, l.Service.Stalled())
	}
}

// TestHandOuts: the PEM file, the pools, and the codes for each method.
func TestHandOuts(t *testing.T) {
	t.Parallel()
	l, err := harness.New(context.Background())
	require.NoError(t, err)
	pem, err := l.TrustPEM()
	require.NoError(t, err)
	b, err := os.ReadFile(pem)
	require.NoError(t, err)
	assert.Contains(t, string(b), "BEGIN CERTIFICATE")
	pool, err := l.InterceptionRoots()
	require.NoError(t, err)
	ic, err := l.Authority.Interception()
	require.NoError(t, err)
	leaf, err := ic.Mint(mock.PortalHost)
	require.NoError(t, err)
	_, err = leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: mock.PortalHost})
	assert.NoError(t, err, "the interception pool trusts minted leaves")
	_, err = leaf.Leaf.Verify(x509.VerifyOptions{Roots: l.Roots(), DNSName: mock.PortalHost})
	assert.Error(t, err, "the lab's pool does not")

	for _, methods := range [][]string{{"sms"}, {"voice"}, {"email"}} {
		res := run(t, l, profile(func(p *client.Profile) { p.Methods = methods }))
		assert.True(t, res.OK(), "%v: %s", methods, res)
	}
	res := run(t, l, profile(func(p *client.Profile) { p.UserID, p.Methods = "alex@fabrikam.com", []string{"appCode", "sms"} }))
	assert.True(t, res.OK(), "%s", res)

	l.Close()
	_, err = os.Stat(pem)
	assert.ErrorIs(t, err, os.ErrNotExist, "the PEM file goes with the lab")
	_, err = l.TrustPEM()
	assert.Error(t, err)
}

// TestFirewallNames: allow entries match whatever their case, and a proxy
// may not take a lab host's name.
func TestFirewallNames(t *testing.T) {
	t.Parallel()
	l := harness.Start(t, harness.WithFirewall(harness.Firewall{Allow: []string{"PasswordReset.MicrosoftOnline.com:443", "AJAX.aspnetcdn.com:443", "ocsp.digicert.com:80"}}))
	res := run(t, l, profile())
	assert.True(t, res.OK(), "%s", res)

	bad, err := harness.New(context.Background(), harness.WithProxy(), harness.WithProxyAddr(mock.CDNHost+":443"))
	//lint:ignore SA5001 New returns the partly built lab with its error: it is closed either way.
	defer bad.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is one of the lab's hosts")
}

// TestPassThroughOptions: the PKI's, the service's and the OCSP
// responder's own options reach them.
func TestPassThroughOptions(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []mock.OCSPQuery
	clock := &mock.Clock{}
	l := harness.Start(t,
		harness.WithPKI(pki.WithOrganization("Fabrikam Lab")),
		harness.WithService(mock.WithClock(clock)),
		harness.WithOCSP(mock.WithOCSPObserver(func(q mock.OCSPQuery) {
			mu.Lock()
			queries = append(queries, q)
			mu.Unlock()
		})),
	)
	assert.Equal(t, []string{"Fabrikam Lab"}, l.Authority.Root().Certificate().Subject.Organization)
	assert.Same(t, clock, l.Service.Clock())
	// Six resets block the user; a day later on the service's clock the
	// block is gone.
	for range mock.ThrottleLimit {
		require.True(t, run(t, l, profile()).OK())
	}
	assert.Equal(t, client.CauseThrottled, run(t, l, profile()).Cause)
	clock.Advance(25 * time.Hour)
	assert.True(t, run(t, l, profile()).OK())
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, queries, "the client's OCSP checks were observed")
	assert.Equal(t, "good", queries[0].Status)
}

// TestErrorsNameEachPartOnce: an error from a part of the lab names the
// part once, as the part itself does ("proxy: ...", not "proxy: proxy:
// ...").
func TestErrorsNameEachPartOnce(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opt  harness.Option
		want string
	}{
		"proxy option": {harness.WithProxy(proxy.WithAddr("10.0.0.1:0")),
			`proxy: listen address "10.0.0.1:0": not a loopback address`},
		"proxy rule": {harness.WithProxy(proxy.WithRules(proxy.Rule{Action: proxy.Authenticate})),
			"proxy: rules[0] (rule 1) requires authentication but no accounts are configured (WithAuth)"},
		"service option": {harness.WithService(mock.WithCDNBase("ftp://cdn.example")),
			`mock service: CDN base "ftp://cdn.example" is not an http(s) URL`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := harness.New(context.Background(), tc.opt)
			l.Close()
			assert.EqualError(t, err, tc.want)
		})
	}
}
