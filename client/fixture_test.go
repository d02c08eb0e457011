package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/vhost"
)

// strongPassword passes the policy for every test user.
const strongPassword = "Vq7#Lmz2!Rtx"

// proxyAddr is the corporate proxy's name on the test's virtual network.
const proxyAddr = "proxy.corp.example:3128"

// Proxy accounts.
const (
	proxyUser     = "alice"
	proxyPassword = "Pr0xy-S3cret!"
)

// vnet is the test's virtual network: names mapped to loopback listeners,
// a resolver (an unmapped name fails as DNS does) and a firewall that
// decides whether the workstation may connect anywhere but the proxy. A
// refused connection gets the error a rejecting firewall causes
// (ECONNREFUSED). Nothing ever leaves the machine.
type vnet struct {
	mu     sync.Mutex
	hosts  map[string]string
	direct bool
	allow  map[string]bool // host:port reached directly even when direct is false
	dials  map[string]int
}

// allowDirect lets the workstation reach hostport directly.
func (n *vnet) allowDirect(hostport string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.allow == nil {
		n.allow = map[string]bool{}
	}
	n.allow[hostport] = true
}

// LookupNetIP answers the names the network knows with an address from
// 198.18.0.0/15 (never routed), as the lab's resolver does: for the PAC
// script's helpers and WPAD.
func (n *vnet) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for hp := range n.hosts {
		if h, _, _ := net.SplitHostPort(hp); h == host {
			sum := 0
			for _, c := range host {
				sum += int(c)
			}
			return []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(sum >> 8), byte(sum)})}, nil
		}
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (n *vnet) add(hostport, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts[hostport] = addr
}

func (n *vnet) resolve(network, addr string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dials[addr]++
	to, ok := n.hosts[addr]
	if !ok {
		host, _, _ := net.SplitHostPort(addr)
		return "", &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	return to, nil
}

// workstation dials as the client's machine: the proxy always, anything
// else only when the firewall allows direct egress.
func (n *vnet) workstation(ctx context.Context, network, addr string) (net.Conn, error) {
	to, err := n.resolve(network, addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	allowed := n.direct || n.allow[addr]
	n.mu.Unlock()
	if addr != proxyAddr && !allowed {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// upstream dials as the proxy: on the far side of the firewall.
func (n *vnet) upstream(ctx context.Context, network, addr string) (net.Conn, error) {
	to, err := n.resolve(network, addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func (n *vnet) dialsTo(addr string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials[addr]
}

type labConfig struct {
	portalRange   vhost.Range
	portalFault   pki.Fault
	leafKey       *pki.KeyType
	cdnFault      pki.Fault
	noScript      bool
	tampered      bool
	direct        bool
	withProxy     bool
	rules         []proxy.Rule
	auth          proxy.Auth
	noProxyListen bool
	pkiClock      func() time.Time
	noCRL         bool
	wrapPortal    func(l *lab, h http.Handler) http.Handler
}

type labOption func(*labConfig)

// withoutCRL leaves the CRL hosts out of the lab: no name resolves.
func withoutCRL() labOption { return func(c *labConfig) { c.noCRL = true } }

// withProxy puts the corporate proxy in front, with rules (and Basic, NTLM
// and Negotiate accounts), and blocks direct egress.
func withProxy(rules ...proxy.Rule) labOption {
	return func(c *labConfig) { c.withProxy, c.rules, c.direct = true, rules, false }
}

func withAuthSchemes(schemes ...string) labOption {
	return func(c *labConfig) { c.auth.Schemes = schemes }
}

func withDirect() labOption                       { return func(c *labConfig) { c.direct = true } }
func withPortalRange(r vhost.Range) labOption     { return func(c *labConfig) { c.portalRange = r } }
func withPortalCert(f pki.Fault) labOption        { return func(c *labConfig) { c.portalFault = f } }
func withLeafKey(k pki.KeyType) labOption         { return func(c *labConfig) { c.leafKey = &k } }
func withCDNCert(f pki.Fault) labOption           { return func(c *labConfig) { c.cdnFault = f } }
func withoutScript() labOption                    { return func(c *labConfig) { c.noScript = true } }
func withPKIClock(now func() time.Time) labOption { return func(c *labConfig) { c.pkiClock = now } }
func withPortalWrapper(w func(l *lab, h http.Handler) http.Handler) labOption {
	return func(c *labConfig) { c.wrapPortal = w }
}
func withTamperedScript() labOption { return func(c *labConfig) { c.tampered = true } }
func withDeadProxy() labOption {
	return func(c *labConfig) { c.withProxy, c.noProxyListen = true, true }
}
func allow(hosts ...string) proxy.Rule                      { return proxy.Rule{Hosts: hosts, Action: proxy.Allow} }
func deny(hosts ...string) proxy.Rule                       { return proxy.Rule{Hosts: hosts, Action: proxy.Deny} }
func authenticate() proxy.Rule                              { return proxy.Rule{Action: proxy.Authenticate} }
func intercept(hosts ...string) proxy.Rule                  { return proxy.Rule{Hosts: hosts, Action: proxy.Intercept} }
func ruleWith(r proxy.Rule, f func(*proxy.Rule)) proxy.Rule { f(&r); return r }

// lab is the SSPR service, its CDN and OCSP responder on their virtual
// hosts, and optionally the corporate proxy, wired by hand (the harness
// package does this for users; the client is tested without it).
type lab struct {
	auth   *pki.Authority
	svc    *mock.Service
	net    *vnet
	proxy  *proxy.Proxy
	logs   *testtool.Buffer
	portal *vhost.Server
	crls   *mock.CRLServer // nil withoutCRL
}

func newLab(t testing.TB, opts ...labOption) *lab {
	t.Helper()
	cfg := labConfig{portalRange: vhost.ServiceRange(), direct: true,
		auth: proxy.Auth{Schemes: []string{proxy.SchemeBasic}, Domain: "CONTOSO",
			Users: []proxy.User{{Name: proxyUser, Password: proxyPassword}}}}
	for _, o := range opts {
		o(&cfg)
	}
	var popts []pki.Option
	if cfg.pkiClock != nil {
		popts = append(popts, pki.WithClock(cfg.pkiClock))
	}
	auth, err := pki.New(popts...)
	require.NoError(t, err)
	dir, err := mock.LoadDirectoryFile("testdata/directory.yaml")
	require.NoError(t, err)
	logs := &testtool.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := mock.New(mock.WithDirectory(dir), mock.WithLogger(logger))
	require.NoError(t, err)
	l := &lab{auth: auth, svc: svc, net: &vnet{hosts: map[string]string{}, dials: map[string]int{}, direct: cfg.direct}, logs: logs}

	host := func(name string, h http.Handler, f pki.Fault, r vhost.Range) *vhost.Server {
		leaf, err := auth.Issue(pki.Request{Hosts: []string{name}, Fault: f, KeyType: cfg.leafKey})
		require.NoError(t, err)
		s, err := vhost.New(h, vhost.WithHost(name), vhost.WithCertificate(leaf.TLS), vhost.WithVersions(r))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		l.net.add(name+":443", s.Addr())
		return s
	}
	var portal http.Handler = svc
	if cfg.wrapPortal != nil {
		portal = cfg.wrapPortal(l, svc)
	}
	l.portal = host(mock.PortalHost, portal, cfg.portalFault, cfg.portalRange)
	assets := svc.ScriptAssets()
	if cfg.noScript {
		assets = nil
	}
	if cfg.tampered {
		assets = []mock.Asset{{Path: svc.ScriptPath(), ContentType: "application/javascript; charset=utf-8", Body: []byte("/* not the script the page pinned */")}}
	}
	cdn, err := mock.NewCDN(assets...)
	require.NoError(t, err)
	host(mock.CDNHost, cdn, cfg.cdnFault, vhost.ServiceRange())
	responder, err := mock.NewOCSPResponder(auth)
	require.NoError(t, err)
	ocspSrv := httptest.NewServer(responder)
	t.Cleanup(ocspSrv.Close)
	l.net.add(mock.OCSPHost+":80", ocspSrv.Listener.Addr().String())
	if !cfg.noCRL {
		crls, err := mock.NewCRLServer(auth)
		require.NoError(t, err)
		l.crls = crls
		crlSrv := httptest.NewServer(crls)
		t.Cleanup(crlSrv.Close)
		l.net.add(mock.CRL3Host+":80", crlSrv.Listener.Addr().String())
		l.net.add(mock.CRL4Host+":80", crlSrv.Listener.Addr().String())
	}

	if cfg.withProxy {
		if cfg.noProxyListen {
			// A proxy address where nothing listens: a port that was
			// just closed.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			l.net.add(proxyAddr, ln.Addr().String())
			require.NoError(t, ln.Close())
			return l
		}
		ic, err := auth.Interception()
		require.NoError(t, err)
		p, err := proxy.New(proxy.WithRules(cfg.rules...), proxy.WithAuth(cfg.auth), proxy.WithDialer(l.net.upstream),
			proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(auth.Pool()), proxy.WithLogger(logger))
		require.NoError(t, err)
		require.NoError(t, p.Start())
		t.Cleanup(p.Close)
		l.proxy = p
		l.net.add(proxyAddr, p.Listener.Addr().String())
	}
	return l
}

// securityAnswers are the test directory's answers, as the user knows them.
var securityAnswers = map[string]string{
	"In what city were you born?":       "Lisbon",
	"What was your first pet's name?":   "Biscuit",
	"What was your childhood nickname?": "Q",
}

// codes is the user's phone and mailbox: the service's outbox and
// simulated Authenticator app.
func (l *lab) codes() client.CodeSource {
	return client.CodeFunc(func(ctx context.Context, ch client.Challenge) (client.Response, error) {
		switch ch.Method {
		case "email", "sms", "voice":
			msgs := l.svc.Outbox().Messages(ch.UserID)
			for _, m := range slices.Backward(msgs) {
				if m.CorrelationID == ch.CorrelationID && string(m.Channel) == ch.Method {
					return client.Response{Code: m.Code}, nil
				}
			}
			return client.Response{}, fmt.Errorf("no %s message for flow %s", ch.Method, ch.CorrelationID)
		case "appCode":
			return client.Response{Code: l.svc.Authenticator().Code(ch.UserID)}, nil
		case "appNotification":
			return client.Response{}, l.svc.Authenticator().AnswerFlow(ch.UserID, ch.FlowToken, true)
		case "securityQuestions":
			var r client.Response
			for _, q := range ch.Questions {
				r.Answers = append(r.Answers, securityAnswers[q])
			}
			return r, nil
		}
		return client.Response{}, errors.New("unknown method " + ch.Method)
	})
}

// client builds a client for p in the lab: the lab's trust, the
// workstation's network, the lab's codes.
func (l *lab) client(t testing.TB, p client.Profile, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithRoots(l.auth.Pool()), client.WithDialer(l.net.workstation), client.WithResolver(l.net), labIssuers,
		client.WithCodeSource(l.codes()), client.WithLogger(slog.New(slog.NewTextHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	c, err := client.New(p, opts...)
	require.NoError(t, err)
	return c
}

func (l *lab) run(t testing.TB, p client.Profile, opts ...client.Option) *client.Result {
	t.Helper()
	res := l.client(t, p, opts...).Run(context.Background())
	require.NotNil(t, res)
	return res
}

// profile is a Windows 10 signed-in user resetting adele's password.
func profile(mods ...func(*client.Profile)) client.Profile {
	p := client.Profile{OS: client.Windows10, Account: client.AccountUser, UserID: "adele@contoso.com",
		NewPassword: strongPassword, Revocation: client.RevocationHardFail}
	for _, m := range mods {
		m(&p)
	}
	return p
}

// labIssuers names the CAs of the lab's service: its root, and the root
// that plays one of the service's roots the workstation lacks (an outdated
// root store). The interception root is not one of them.
var labIssuers = client.WithServiceIssuers(pki.RootName, pki.UntrustedName)

// viaProxy returns a proxy setting for the lab's proxy.
func viaProxy() *client.ProxySetting { return &client.ProxySetting{Server: proxyAddr} }

func creds(schemes ...string) *client.Credentials {
	return &client.Credentials{Username: proxyUser, Domain: "CONTOSO", Password: proxyPassword, Schemes: schemes}
}
