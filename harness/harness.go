// Package harness wires the lab together: the SSPR service, its CDN and
// OCSP responder on TLS-version-restricted virtual hosts, optionally the
// corporate proxy, a virtual DNS and a firewall. [Start] gives a test a lab
// that is ready when it returns and closed by t.Cleanup; [New] gives a
// program one with its error.
//
// Every virtual host is a listener on 127.0.0.1 with an ephemeral port.
// The lab's DNS ([Lab.LookupNetIP]) answers each host name with a virtual
// address from [VirtualNet] (RFC 2544's benchmarking range, never routed),
// so that the proxy's address rules (IPs, CIDR prefixes, Squid's dst)
// mean what they mean on a real network; only the lab's dialers map
// "address:port" (and "host:port") to the listeners, and they dial
// nothing else. The workstation's dialer ([Lab.Dial]) goes through the
// firewall, which decides whether the workstation may connect anywhere
// directly; the proxy resolves names with the lab's DNS and dials from the
// far side of the firewall. Nothing reaches the real Microsoft hosts.
package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/vhost"
)

// DefaultProxyAddr is the proxy's name on the lab's network, as client
// profiles write it ("proxy.corp.example:3128").
const DefaultProxyAddr = "proxy.corp.example:3128"

// VirtualNet is the range of the lab's virtual addresses (RFC 2544). The
// lab's hosts get 198.18.0.1 onward, one per name, in the order of
// TLSHosts, then PlainHosts, then the proxy: passwordreset.microsoftonline.com
// 198.18.0.1, ajax.aspnetcdn.com 198.18.0.2, ocsp.digicert.com 198.18.0.3,
// crl3.digicert.com 198.18.0.4, crl4.digicert.com 198.18.0.5.
const VirtualNet = "198.18.0.0/15"

// The lab's virtual hosts.
var (
	// TLSHosts are served over HTTPS on port 443.
	TLSHosts = []string{mock.PortalHost, mock.CDNHost}
	// PlainHosts are served over HTTP on port 80: the CDN answers there
	// too, and the OCSP responder and the CRL hosts only there.
	PlainHosts = []string{mock.CDNHost, mock.OCSPHost, mock.CRL3Host, mock.CRL4Host}
)

//go:embed directory.yaml
var defaultDirectory []byte

// DefaultDirectory returns the lab's built-in directory: a tenant per SSPR
// configuration (enabled for all, for a group with two gates, off, without
// a policy, password writeback off, broken, or needing an administrator)
// and users for each outcome (README, "The default directory", lists each
// user and what it gives: adele@contoso.com succeeds with one gate,
// alex@fabrikam.com with two, unregistered@contoso.com gets SSPR_0014, and
// so on). Each call returns a copy of its own.
func DefaultDirectory() *mock.DirectoryData {
	d, err := mock.ParseDirectory("harness/directory.yaml", defaultDirectory)
	if err != nil {
		panic("harness: built-in directory: " + err.Error()) // covered by tests
	}
	return d
}

// sharedDirectory is DefaultDirectory parsed once, for labs: the service
// keeps a copy of what it is given, so one parse serves every lab.
var sharedDirectory = sync.OnceValue(DefaultDirectory)

// Firewall decides what the workstation may reach without the proxy.
type Firewall struct {
	// Direct lets the workstation connect anywhere directly.
	Direct bool `json:"direct" yaml:"direct"`
	// Allow lists "host:port" the workstation may reach directly even when
	// Direct is false.
	Allow []string `json:"allow,omitempty" yaml:"allow,omitempty"`
}

func (f Firewall) allows(addr string) bool { return f.Direct || slices.Contains(f.Allow, addr) }

type config struct {
	logger    *slog.Logger
	keyType   pki.KeyType
	directory *mock.DirectoryData
	tls       map[string]vhost.Range
	certs     map[string]pki.Fault
	keys      map[string]pki.KeyType
	proxy     bool
	proxyOpts []proxy.Option
	proxyAddr string
	proxyNXD  []string
	firewall  *Firewall
	pkiOpts   []pki.Option
	authority *pki.Authority
	proxyLn   net.Listener
	svcOpts   []mock.Option
	ocspOpts  []mock.OCSPOption
	hostAddrs map[string]string // "host:port" -> where it listens
	upDNS     proxy.Resolver
	upDial    proxy.DialFunc
	noSvc     bool
	extra     []LabHost
}

// Option configures a lab.
type Option func(*config) error

// WithDirectory sets the service's directory (default DefaultDirectory).
func WithDirectory(d *mock.DirectoryData) Option {
	return func(c *config) error {
		if d == nil {
			return errors.New("WithDirectory: nil directory")
		}
		c.directory = d
		return nil
	}
}

// WithHostTLS restricts a TLS host to a version range (the service's
// default is TLS 1.2 to 1.3).
func WithHostTLS(host string, r vhost.Range) Option {
	return func(c *config) error {
		if !slices.Contains(TLSHosts, host) {
			return fmt.Errorf("WithHostTLS: %q is not one of the lab's TLS hosts %v", host, TLSHosts)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("WithHostTLS: %s: %w", host, err)
		}
		c.tls[host] = r
		return nil
	}
}

// WithCertificate gives a TLS host a certificate with a fault.
func WithCertificate(host string, f pki.Fault) Option {
	return func(c *config) error {
		if !slices.Contains(TLSHosts, host) {
			return fmt.Errorf("WithCertificate: %q is not one of the lab's TLS hosts %v", host, TLSHosts)
		}
		c.certs[host] = f
		return nil
	}
}

// WithHostKeyType gives a TLS host a certificate with a key of type k
// (its own leaf, under the lab's root whatever the root's key type),
// with or without a fault (WithCertificate). Other hosts keep the lab's
// key type (WithKeyType).
func WithHostKeyType(host string, k pki.KeyType) Option {
	return func(c *config) error {
		if !slices.Contains(TLSHosts, host) {
			return fmt.Errorf("WithHostKeyType: %q is not one of the lab's TLS hosts %v", host, TLSHosts)
		}
		if _, err := pki.ParseKeyType(k.String()); err != nil {
			return fmt.Errorf("WithHostKeyType: %s: %w", host, err)
		}
		c.keys[host] = k
		return nil
	}
}

// WithProxy puts the corporate proxy in the lab, configured with opts
// (rules, auth, default action, journal); the lab sets its dialer, its
// interception root and the roots it trusts upstream. Unless WithFirewall
// says otherwise, a lab with a proxy blocks direct egress.
func WithProxy(opts ...proxy.Option) Option {
	return func(c *config) error {
		c.proxy = true
		c.proxyOpts = append(c.proxyOpts, opts...)
		return nil
	}
}

// WithProxyDNSFailure makes the proxy's DNS fail for names (a broken
// forwarder, a split-horizon view without them): the proxy's lookups of
// them are not found, so it answers requests for them with Squid's
// ERR_DNS_FAIL, while the workstation's DNS still knows them.
func WithProxyDNSFailure(names ...string) Option {
	return func(c *config) error {
		for i, n := range names {
			n = strings.TrimSuffix(strings.ToLower(n), ".")
			if n == "" || strings.ContainsAny(n, ":/ ") {
				return fmt.Errorf("WithProxyDNSFailure: names[%d]: %q: want a host name", i, names[i])
			}
			c.proxyNXD = append(c.proxyNXD, n)
		}
		return nil
	}
}

// proxyDNS is the lab's DNS as the proxy sees it: names in fail are not
// found.
type proxyDNS struct {
	next proxy.Resolver
	fail []string
}

func (d proxyDNS) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if slices.Contains(d.fail, strings.TrimSuffix(strings.ToLower(host), ".")) {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return d.next.LookupNetIP(ctx, network, host)
}

// HostPorts are the lab's "host:port" names: each TLS host on 443, each
// plain host on 80.
func HostPorts() []string {
	var out []string
	for _, h := range TLSHosts {
		out = append(out, h+":443")
	}
	for _, h := range PlainHosts {
		out = append(out, h+":80")
	}
	return out
}

// CheckProxyAddr checks a name for the lab's proxy: host:port, and not one
// of the lab's hosts. WithProxyAddr and the scenario loader both use it.
func CheckProxyAddr(hostport string) error {
	if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" {
		return fmt.Errorf("%q: want host:port", hostport)
	}
	if slices.Contains(HostPorts(), strings.ToLower(hostport)) {
		return fmt.Errorf("%q is one of the lab's hosts", hostport)
	}
	return nil
}

// WithProxyAddr sets the proxy's name on the lab's network (default
// DefaultProxyAddr); see CheckProxyAddr.
func WithProxyAddr(hostport string) Option {
	return func(c *config) error {
		if err := CheckProxyAddr(hostport); err != nil {
			return fmt.Errorf("WithProxyAddr: %w", err)
		}
		c.proxyAddr = strings.ToLower(hostport)
		return nil
	}
}

// Validate checks each Allow entry: host:port naming one of the lab's
// hosts (HostPorts, and extra: the "host:port" of the lab's hosts added
// with WithHost), since nothing else can be reached. Each error is a
// *yamlfile.FieldError at "allow[i]". The lab and the scenario loader both
// use it, so the two agree.
func (f Firewall) Validate(extra ...string) error {
	known := append(HostPorts(), extra...)
	var errs []error
	for i, a := range f.Allow {
		p := fmt.Sprintf("allow[%d]", i)
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			errs = append(errs, yamlfile.Field(p, "%q: want host:port", a))
		} else if !slices.Contains(known, strings.ToLower(a)) {
			errs = append(errs, yamlfile.Field(p, "%q names no host of the lab (%s)", a, strings.Join(known, ", ")))
		}
	}
	return errors.Join(errs...)
}

// WithFirewall sets what the workstation may reach directly (see
// Firewall.Validate, which the lab applies once all its hosts are known).
// The default lets it reach everything without a proxy in the lab, and
// nothing but the proxy with one.
func WithFirewall(f Firewall) Option {
	return func(c *config) error {
		allow := make([]string, len(f.Allow))
		for i, a := range f.Allow {
			allow[i] = strings.ToLower(a) // names are compared as DNS compares them
		}
		f.Allow = allow
		c.firewall = &f
		return nil
	}
}

// WithHostAddr makes a lab host ("host:port", one of HostPorts or of the
// hosts added with WithHost; the lab checks it once it knows them) listen
// on addr ("IP:port"; port 0 picks one) instead of an ephemeral loopback
// port. The container backend's services node binds each host to its
// address on the host's own Docker network, so that the host is
// reachable only from that network.
func WithHostAddr(hostport, addr string) Option {
	return func(c *config) error {
		hostport = strings.ToLower(hostport)
		if _, _, err := net.SplitHostPort(hostport); err != nil {
			return fmt.Errorf("WithHostAddr: %q: want host:port", hostport)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("WithHostAddr: %s: %q: want IP:port", hostport, addr)
		}
		c.hostAddrs[hostport] = addr
		return nil
	}
}

// LabHost is a host of the caller's in the lab: their own service behind
// the lab's proxy and firewall, or another of the documented endpoints. It
// gets a virtual address of its own in the lab's DNS, and is reached as
// the lab's hosts are: through the proxy (its rules name it), or directly
// when the firewall allows "name:port".
type LabHost struct {
	// Name is its DNS name (not one of the lab's own hosts).
	Name string
	// Port is where it listens: 443 by default, 80 when Plain.
	Port int
	// Plain serves HTTP instead of HTTPS.
	Plain bool
	// Versions is its TLS range (zero: vhost.ServiceRange, 1.2 to 1.3).
	Versions vhost.Range
	// Certificate is its certificate's fault (pki.NoFault: a good leaf
	// from the lab's issuing CA, for Name); KeyType, when set, gives the
	// leaf a key type of its own.
	Certificate pki.Fault
	KeyType     *pki.KeyType
	// Handler serves it.
	Handler http.Handler
}

// hostPort is the host's "name:port".
func (h LabHost) hostPort() string { return net.JoinHostPort(h.Name, strconv.Itoa(h.Port)) }

// WithHost adds a host of the caller's to the lab (see LabHost). Its name
// must be a DNS name, not one of the lab's hosts nor another added host's
// on the same port; TLS fields on a plain host are an error.
func WithHost(h LabHost) Option {
	return func(c *config) error {
		h.Name = strings.TrimSuffix(strings.ToLower(h.Name), ".")
		switch {
		case !HostNameRe.MatchString(h.Name):
			return fmt.Errorf("WithHost: %q: want a DNS name", h.Name)
		case slices.Contains(append(slices.Clone(TLSHosts), PlainHosts...), h.Name):
			return fmt.Errorf("WithHost: %s is one of the lab's own hosts", h.Name)
		case h.Handler == nil:
			return fmt.Errorf("WithHost: %s: nil handler", h.Name)
		case h.Port < 0 || h.Port > 65535:
			return fmt.Errorf("WithHost: %s: port %d: want 1 to 65535", h.Name, h.Port)
		case h.Plain && (h.Versions != vhost.Range{} || h.Certificate != pki.NoFault || h.KeyType != nil):
			return fmt.Errorf("WithHost: %s: a plain-HTTP host has no TLS versions, certificate or key type", h.Name)
		}
		if h.Port == 0 {
			h.Port = 443
			if h.Plain {
				h.Port = 80
			}
		}
		if h.Versions != (vhost.Range{}) {
			if err := h.Versions.Validate(); err != nil {
				return fmt.Errorf("WithHost: %s: %w", h.Name, err)
			}
		}
		for _, o := range c.extra {
			if o.hostPort() == h.hostPort() {
				return fmt.Errorf("WithHost: %s added twice", h.hostPort())
			}
		}
		c.extra = append(c.extra, h)
		return nil
	}
}

// HostNameRe is a host name as the lab writes it: lower-case labels of
// letters, digits and dashes, joined by dots.
var HostNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// WithUpstream makes the proxy resolve names with r and dial with d (a
// real network: the container backend's proxy node, whose names are
// Docker's) instead of the lab's DNS and dialer. WithProxyDNSFailure
// still applies, in front of r.
func WithUpstream(r proxy.Resolver, d proxy.DialFunc) Option {
	return func(c *config) error {
		if r == nil || d == nil {
			return errors.New("WithUpstream: nil resolver or dialer")
		}
		c.upDNS, c.upDial = r, d
		return nil
	}
}

// WithoutProxy leaves the proxy out, whatever an earlier WithProxy said:
// the container backend's services node serves a scenario's services
// while the scenario's proxy runs as a node of its own.
func WithoutProxy() Option {
	return func(c *config) error {
		c.proxy, c.proxyOpts = false, nil
		return nil
	}
}

// WithoutServices leaves the lab's services out (the portal, the CDN, the
// OCSP responder and the CRL hosts): a lab of its proxy alone, with
// WithProxy and WithUpstream, as the container backend's proxy node runs.
// Service, CDN, OCSP and CRL are nil then; Audit and Outbox are empty.
func WithoutServices() Option {
	return func(c *config) error {
		c.noSvc = true
		return nil
	}
}

// WithLogger sends the lab's logs (service, proxy, hosts) to l.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithPKI passes options to the lab's certificate authority (its clock, its
// OCSP URL, its organisation).
func WithPKI(opts ...pki.Option) Option {
	return func(c *config) error {
		c.pkiOpts = append(c.pkiOpts, opts...)
		return nil
	}
}

// WithAuthority makes the lab use a (the caller's, for example one kept
// in a directory with pki.Open, so that a browser trusts every lab it
// serves) instead of a new one. WithPKI and WithKeyType do not apply then;
// WithHostKeyType does (a leaf's key type is its own).
func WithAuthority(a *pki.Authority) Option {
	return func(c *config) error {
		if a == nil {
			return errors.New("WithAuthority: nil authority")
		}
		c.authority = a
		return nil
	}
}

// WithProxyListener makes the lab's proxy serve on ln (the caller's, on
// any address; the lab closes it with the proxy) instead of an ephemeral
// loopback port. It implies nothing else: use WithProxy as well.
func WithProxyListener(ln net.Listener) Option {
	return func(c *config) error {
		if ln == nil {
			return errors.New("WithProxyListener: nil listener")
		}
		c.proxyLn = ln
		return nil
	}
}

// WithService passes options to the SSPR service (its clock, flow
// lifetime, CDN base URL); the lab's directory and logger come first, so
// these may override them.
func WithService(opts ...mock.Option) Option {
	return func(c *config) error {
		c.svcOpts = append(c.svcOpts, opts...)
		return nil
	}
}

// WithOCSP passes options to the OCSP responder (its clock, an observer of
// every query).
func WithOCSP(opts ...mock.OCSPOption) Option {
	return func(c *config) error {
		c.ocspOpts = append(c.ocspOpts, opts...)
		return nil
	}
}

// WithKeyType sets the key type of the lab's certificates.
func WithKeyType(k pki.KeyType) Option {
	return func(c *config) error {
		c.keyType = k
		return nil
	}
}

// Lab is a running lab. Its fields are for reading; use its methods to
// reach it.
type Lab struct {
	Authority *pki.Authority
	Service   *mock.Service
	CDN       *mock.CDN
	OCSP      *mock.OCSPResponder
	CRL       *mock.CRLServer // on both CRL hosts
	// Proxy is nil in a lab without one.
	Proxy *proxy.Proxy
	// ProxyAddr is the proxy's name on the lab's network.
	ProxyAddr string
	// Hosts are the TLS virtual hosts by name.
	Hosts map[string]*vhost.Server

	firewall Firewall
	logger   *slog.Logger

	mu       sync.Mutex
	resolver map[string]string     // "host:port" -> loopback address
	addrs    map[string]netip.Addr // host -> its virtual address
	names    map[string]string     // "address:port" -> "host:port"
	lastAddr netip.Addr            // the last virtual address given out
	dials    map[string]int
	closers  []func()
	tmpDir   string
	closed   bool
}

// Start starts a lab for a test: ready when it returns, closed when the
// test ends. A set-up failure fails the test.
func Start(t testing.TB, opts ...Option) *Lab {
	t.Helper()
	l, err := New(context.Background(), opts...)
	t.Cleanup(l.Close)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return l
}

// New starts a lab. On error it returns the lab as far as it was built,
// which the caller must Close all the same; nothing else may be used of a
// lab that was not built.
func New(ctx context.Context, opts ...Option) (*Lab, error) {
	c := config{logger: slog.New(slog.DiscardHandler), tls: map[string]vhost.Range{}, certs: map[string]pki.Fault{}, keys: map[string]pki.KeyType{},
		proxyAddr: DefaultProxyAddr, hostAddrs: map[string]string{}}
	l := &Lab{Hosts: map[string]*vhost.Server{}, resolver: map[string]string{}, addrs: map[string]netip.Addr{},
		names: map[string]string{}, dials: map[string]int{}}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return l, err
		}
	}
	if err := ctx.Err(); err != nil {
		return l, err
	}
	l.logger = c.logger
	var extra []string
	for _, h := range c.extra {
		extra = append(extra, h.hostPort())
	}
	l.firewall = Firewall{Direct: !c.proxy}
	if c.firewall != nil {
		if err := c.firewall.Validate(extra...); err != nil {
			return l, fmt.Errorf("WithFirewall: %w", err)
		}
		l.firewall = *c.firewall
	}
	for hp := range c.hostAddrs {
		if !slices.Contains(append(HostPorts(), extra...), hp) {
			return l, fmt.Errorf("WithHostAddr: %q names no host of the lab (%s)", hp, strings.Join(append(HostPorts(), extra...), ", "))
		}
	}
	if c.directory == nil {
		c.directory = sharedDirectory()
	}
	var err error
	if c.authority != nil {
		l.Authority = c.authority
	} else if l.Authority, err = pki.New(append([]pki.Option{pki.WithKeyType(c.keyType)}, c.pkiOpts...)...); err != nil {
		// The parts' errors name the part ("pki: ", "mock service: ",
		// "new CDN: ", "vhost HOST: ", "proxy: "): they are returned as
		// they are, so that nothing is said twice.
		return l, err
	}
	if !c.noSvc {
		if err := l.startServices(c); err != nil {
			return l, err
		}
	}
	if c.proxy {
		if err := l.startProxy(c); err != nil {
			return l, err
		}
	}
	return l, nil
}

// startServices starts the portal, the CDN, the OCSP responder and the CRL
// hosts, each on its listener.
func (l *Lab) startServices(c config) error {
	var err error
	if l.Service, err = mock.New(append([]mock.Option{mock.WithDirectory(c.directory), mock.WithLogger(c.logger)}, c.svcOpts...)...); err != nil {
		return err
	}
	if l.CDN, err = mock.NewCDN(l.Service.ScriptAssets()...); err != nil {
		return err
	}
	if l.OCSP, err = mock.NewOCSPResponder(l.Authority, c.ocspOpts...); err != nil {
		return err
	}
	if l.CRL, err = mock.NewCRLServer(l.Authority); err != nil {
		return fmt.Errorf("CRL server: %w", err)
	}
	handlers := map[string]http.Handler{mock.PortalHost: l.Service, mock.CDNHost: l.CDN, mock.OCSPHost: l.OCSP,
		mock.CRL3Host: l.CRL, mock.CRL4Host: l.CRL}

	// Hosts without a fault or a key type of their own share one leaf: a
	// signature saved per host.
	var healthy []string
	for _, h := range TLSHosts {
		if _, own := c.keys[h]; c.certs[h] == pki.NoFault && !own {
			healthy = append(healthy, h)
		}
	}
	leaves := map[string]*pki.Leaf{}
	if len(healthy) > 0 {
		leaf, err := l.Authority.Issue(pki.Request{Hosts: healthy})
		if err != nil {
			return fmt.Errorf("certificate for %v: %w", healthy, err)
		}
		for _, h := range healthy {
			leaves[h] = leaf
		}
	}
	for _, h := range TLSHosts {
		k, own := c.keys[h]
		if f := c.certs[h]; f != pki.NoFault || own {
			req := pki.Request{Hosts: []string{h}, Fault: f}
			if own {
				req.KeyType = &k
			}
			leaf, err := l.Authority.Issue(req)
			if err != nil {
				return fmt.Errorf("%s certificate for %s: %w", f, h, err)
			}
			leaves[h] = leaf
		}
	}
	for _, h := range TLSHosts {
		r, ok := c.tls[h]
		if !ok {
			r = vhost.ServiceRange()
		}
		vopts := []vhost.Option{vhost.WithHost(h), vhost.WithCertificate(leaves[h].TLS), vhost.WithVersions(r), vhost.WithLogger(c.logger)}
		if a, ok := c.hostAddrs[h+":443"]; ok {
			ln, err := net.Listen("tcp", a)
			if err != nil {
				return fmt.Errorf("host %s:443: %w", h, err)
			}
			vopts = append(vopts, vhost.WithListener(ln))
		}
		s, err := vhost.New(handlers[h], vopts...)
		if err != nil {
			return err // "vhost HOST: ..."
		}
		l.addCloser(s.Close)
		l.Hosts[h] = s
		l.register(h+":443", s.Addr())
	}
	for _, h := range PlainHosts {
		at, ok := c.hostAddrs[h+":80"]
		if !ok {
			at = "127.0.0.1:0"
		}
		addr, closeFn, err := servePlain(handlers[h], at, c.logger)
		if err != nil {
			return fmt.Errorf("host %s:80: %w", h, err)
		}
		l.addCloser(closeFn)
		l.register(h+":80", addr)
	}
	for _, h := range c.extra {
		if err := l.startExtra(c, h); err != nil {
			return err
		}
	}
	return nil
}

// startExtra starts a host of the caller's (WithHost).
func (l *Lab) startExtra(c config, h LabHost) error {
	hp := h.hostPort()
	at, ok := c.hostAddrs[hp]
	if !ok {
		at = "127.0.0.1:0"
	}
	if h.Plain {
		addr, closeFn, err := servePlain(h.Handler, at, c.logger)
		if err != nil {
			return fmt.Errorf("host %s: %w", hp, err)
		}
		l.addCloser(closeFn)
		l.register(hp, addr)
		return nil
	}
	leaf, err := l.Authority.Issue(pki.Request{Hosts: []string{h.Name}, Fault: h.Certificate, KeyType: h.KeyType})
	if err != nil {
		return fmt.Errorf("%s certificate for %s: %w", h.Certificate, h.Name, err)
	}
	r := h.Versions
	if r == (vhost.Range{}) {
		r = vhost.ServiceRange()
	}
	ln, err := net.Listen("tcp", at)
	if err != nil {
		return fmt.Errorf("host %s: %w", hp, err)
	}
	s, err := vhost.New(h.Handler, vhost.WithHost(h.Name), vhost.WithCertificate(leaf.TLS), vhost.WithVersions(r),
		vhost.WithLogger(c.logger), vhost.WithListener(ln))
	if err != nil {
		ln.Close()
		return err // "vhost HOST: ..."
	}
	l.addCloser(s.Close)
	l.Hosts[h.Name] = s
	l.register(hp, s.Addr())
	return nil
}

// startProxy starts the proxy, dialling the lab's hosts (or, with
// WithUpstream, the real network).
func (l *Lab) startProxy(c config) error {
	ic, err := l.Authority.Interception()
	if err != nil {
		return fmt.Errorf("interception root: %w", err)
	}
	var dns proxy.Resolver = l
	var dial proxy.DialFunc = l.upstream
	if c.upDNS != nil {
		dns, dial = c.upDNS, c.upDial
	}
	if len(c.proxyNXD) > 0 {
		dns = proxyDNS{next: dns, fail: c.proxyNXD}
	}
	popts := append([]proxy.Option{proxy.WithLogger(c.logger), proxy.WithResolver(dns), proxy.WithDialer(dial),
		proxy.WithInterceptor(ic), proxy.WithUpstreamRoots(l.Authority.Pool())}, c.proxyOpts...)
	if c.proxyLn != nil {
		popts = append(popts, proxy.WithListener(c.proxyLn))
	}
	p, err := proxy.New(popts...)
	if err != nil {
		return err // "proxy: ..."
	}
	if err := p.Start(); err != nil {
		return err
	}
	l.addCloser(p.Close)
	if _, taken := l.resolver[c.proxyAddr]; taken {
		return fmt.Errorf("proxy address %s is one of the lab's hosts", c.proxyAddr)
	}
	l.Proxy, l.ProxyAddr = p, c.proxyAddr
	l.register(c.proxyAddr, p.Listener.Addr().String())
	return nil
}

// servePlain serves h over plain HTTP on addr.
func servePlain(h http.Handler, addr string, logger *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	// The closer waits for the connections' goroutines too:
	// http.Server.Close does not, and net/http lingers half a second on a
	// connection after answering a request itself (an oversized head).
	var conns sync.WaitGroup
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				conns.Done()
			}
		}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns when closed
	}()
	return ln.Addr().String(), func() { _ = srv.Close(); <-done; conns.Wait() }, nil
}

func (l *Lab) addCloser(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, f)
}

// Close stops everything the lab started, newest first. It may be called
// more than once.
func (l *Lab) Close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	closers, tmp := l.closers, l.tmpDir
	l.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	if tmp != "" {
		_ = os.RemoveAll(tmp)
	}
}

// register maps hostport to the listener at addr, and gives its host a
// virtual address if it has none yet.
func (l *Lab) register(hostport, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resolver[hostport] = addr
	host, port, _ := net.SplitHostPort(hostport)
	if _, err := netip.ParseAddr(host); err == nil {
		return // an address already (a proxy named by its IP)
	}
	a, ok := l.addrs[host]
	if !ok {
		a = netip.MustParsePrefix(VirtualNet).Addr().Next()
		if l.lastAddr.IsValid() {
			a = l.lastAddr.Next()
		}
		l.lastAddr, l.addrs[host] = a, a
	}
	l.names[net.JoinHostPort(a.String(), port)] = hostport
}

// LookupNetIP answers a lab host's name with its virtual address (see
// VirtualNet), as a resolver would: network is "ip", "ip4" or "ip6"; an
// unknown name, or "ip6", is a *net.DNSError that is not found. It makes
// the lab a proxy.Resolver.
func (l *Lab) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	l.mu.Lock()
	a, ok := l.addrs[strings.TrimSuffix(strings.ToLower(host), ".")]
	l.mu.Unlock()
	if !ok || network == "ip6" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{a}, nil
}

// Resolve returns the loopback address behind a "host:port" (or a virtual
// "address:port") of the lab.
func (l *Lab) Resolve(hostport string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.resolver[l.nameOf(hostport)]
	return a, ok
}

// nameOf returns the "host:port" a virtual "address:port" stands for,
// else hostport in lower case. l.mu must be held.
func (l *Lab) nameOf(hostport string) string {
	if n, ok := l.names[hostport]; ok {
		return n
	}
	return strings.ToLower(hostport)
}

// Names lists the lab's "host:port" names, sorted.
func (l *Lab) Names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for k := range l.resolver {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Dials returns how many times the workstation or the proxy dialled
// "host:port", by its name or by its virtual address.
func (l *Lab) Dials(hostport string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dials[strings.ToLower(hostport)]
}

// resolve finds the listener behind a "host:port" or a virtual
// "address:port", and counts the dial by name; it returns the listener's
// address and the "host:port" dialled. An unknown name is a DNS failure;
// an unknown address refuses the connection.
func (l *Lab) resolve(network, addr string) (to, hostport string, err error) {
	l.mu.Lock()
	key := l.nameOf(addr)
	l.dials[key]++
	to, ok := l.resolver[key]
	l.mu.Unlock()
	if !ok {
		host, _, _ := net.SplitHostPort(addr)
		if _, err := netip.ParseAddr(host); err == nil {
			return "", key, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		return "", key, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	return to, key, nil
}

// Dial connects as the workstation to "host:port" or a virtual
// "address:port" (which stands for its host): names resolve through the
// lab's DNS, and anything but the proxy must pass the firewall, which
// refuses as a rejecting firewall does (ECONNREFUSED).
func (l *Lab) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	to, hostport, err := l.resolve(network, addr)
	if err != nil {
		return nil, err
	}
	if hostport != l.ProxyAddr && !l.firewall.allows(hostport) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// upstream connects as the proxy: the same names and virtual addresses,
// beyond the firewall.
func (l *Lab) upstream(ctx context.Context, network, addr string) (net.Conn, error) {
	to, _, err := l.resolve(network, addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// ProxyURL is the proxy's real address, "http://127.0.0.1:PORT", for
// programs outside the lab (curl -x, a browser); "" without a proxy.
func (l *Lab) ProxyURL() string {
	if l.Proxy == nil {
		return ""
	}
	return l.Proxy.URL
}

// Roots returns a pool with the lab's root: what a workstation trusts.
func (l *Lab) Roots() *x509.CertPool { return l.Authority.Pool() }

// InterceptionRoots returns the lab's root and the interception root: a
// workstation where the inspection product deployed its root.
func (l *Lab) InterceptionRoots() (*x509.CertPool, error) {
	ic, err := l.Authority.Interception()
	if err != nil {
		return nil, err
	}
	pool := l.Authority.Pool()
	pool.AddCert(ic.CA().Certificate())
	return pool, nil
}

// TrustPEM writes the lab's root to a PEM file (for curl --cacert or
// openssl -CAfile) and returns its path; the file goes when the lab
// closes.
func (l *Lab) TrustPEM() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", errors.New("harness: TrustPEM on a closed lab")
	}
	if l.Authority == nil {
		return "", errors.New("harness: TrustPEM on a lab that was not built")
	}
	if l.tmpDir == "" {
		d, err := os.MkdirTemp("", "egresslab-")
		if err != nil {
			return "", err
		}
		l.tmpDir = d
	}
	p := filepath.Join(l.tmpDir, "lab-root.pem")
	if err := l.Authority.Root().WritePEM(p); err != nil {
		return "", err
	}
	return p, nil
}

// Journal returns the proxy's journal. A lab without a proxy returns an
// empty journal of its own, which stays empty, so that
// lab.Journal().Entries() needs no check; test l.Proxy to tell whether
// the lab has a proxy.
func (l *Lab) Journal() *proxy.Journal {
	if l.Proxy == nil {
		return new(proxy.Journal)
	}
	return l.Proxy.Journal()
}

// Audit returns the service's audit log; a lab without services
// (WithoutServices) returns an empty one of its own.
func (l *Lab) Audit() *mock.AuditLog {
	if l.Service == nil {
		return new(mock.AuditLog)
	}
	return l.Service.Audit()
}

// Outbox returns the codes the service sent; a lab without services
// (WithoutServices) returns an empty one of its own.
func (l *Lab) Outbox() *mock.Outbox {
	if l.Service == nil {
		return new(mock.Outbox)
	}
	return l.Service.Outbox()
}

// ServiceIssuers name the CAs of the lab's service, for
// client.WithServiceIssuers: the lab's root and its issuing CA, and the untrusted root, which
// plays a root of the service that the workstation lacks (an outdated root
// store). The interception root is not one of them: a chain from it shows
// the client that inspection answered.
var ServiceIssuers = []string{pki.RootName, pki.IssuingName, pki.UntrustedName}

// Client returns a client for p on this lab's workstation: it trusts the
// lab's root, knows the lab's service CAs (ServiceIssuers), dials through
// the lab's DNS and firewall, and gets codes from Codes. opts come after and may override any of these.
func (l *Lab) Client(p client.Profile, opts ...client.Option) (*client.Client, error) {
	base := []client.Option{client.WithRoots(l.Roots()), client.WithDialer(l.Dial), client.WithResolver(l), client.WithCodeSource(l.Codes()),
		client.WithLogger(l.logger), client.WithServiceIssuers(ServiceIssuers...)}
	return client.New(p, append(base, opts...)...)
}

// HTTPClient returns a plain *http.Client configured as a workstation
// behind the lab, for testing one's own client: it trusts the lab's root,
// uses the lab's proxy when there is one (else connects directly through
// the firewall), and resolves the lab's names.
func (l *Lab) HTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext:       l.Dial,
		ForceAttemptHTTP2: false,
		TLSClientConfig:   &tls.Config{RootCAs: l.Roots()},
	}
	if l.Proxy != nil {
		tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: l.ProxyAddr})
	}
	return &http.Client{Transport: tr}
}

// Codes is the user's phone and mailbox: it answers a gate from the
// service's outbox (email, SMS, voice), the simulated Authenticator app
// (code; a notification is approved), or the directory's security answers.
func (l *Lab) Codes() client.CodeSource {
	return client.CodeFunc(func(ctx context.Context, ch client.Challenge) (client.Response, error) {
		switch ch.Method {
		case string(mock.MethodEmail), string(mock.MethodSMS), string(mock.MethodVoice):
			msgs := l.Service.Outbox().Flow(ch.CorrelationID) // this flow's messages only
			for _, m := range slices.Backward(msgs) {
				if strings.EqualFold(m.UPN, ch.UserID) && string(m.Channel) == ch.Method {
					return client.Response{Code: m.Code}, nil
				}
			}
			return client.Response{}, fmt.Errorf("no %s message for %s in flow %s", ch.Method, ch.UserID, ch.CorrelationID)
		case string(mock.MethodAppCode):
			return client.Response{Code: l.Service.Authenticator().Code(ch.UserID)}, nil
		case string(mock.MethodAppNotification):
			return client.Response{}, l.Service.Authenticator().AnswerFlow(ch.UserID, ch.FlowToken, true)
		case string(mock.MethodSecurityQuestions):
			answers, err := l.Service.Directory().SecurityAnswers(ch.UserID, ch.Questions)
			return client.Response{Answers: answers}, err
		}
		return client.Response{}, fmt.Errorf("unknown method %q", ch.Method)
	})
}

// NetworkUpstream is the upstream of a proxy on a real network (the
// container backend's proxy node, on the lab's Docker networks): it
// resolves only the lab's host names (TLSHosts, PlainHosts, and the names
// of extra, the "host:port"s of hosts added with WithHost), with r (nil:
// the system's resolver, which in a container is Docker's embedded DNS,
// answering the services' network aliases), and dials only an address it
// resolved for a lab name, on that name's ports. Any other
// name is not found and any other address refused, without a query or a
// packet, as the in-process lab's own dialer does: the proxy node never
// asks an outside resolver, nor reaches an outside address.
func NetworkUpstream(r *net.Resolver, extra ...string) (proxy.Resolver, proxy.DialFunc) {
	if r == nil {
		r = net.DefaultResolver
	}
	var d net.Dialer
	u := &networkUpstream{r: r, ok: map[netip.AddrPort]bool{}, connect: d.DialContext, hostPorts: append(HostPorts(), extra...)}
	return u, u.dial
}

type networkUpstream struct {
	hostPorts []string // the lab's "host:port"s
	r         *net.Resolver
	connect   proxy.DialFunc // the real dial, of an address that was checked
	mu        sync.Mutex
	ok        map[netip.AddrPort]bool // what a lab name resolved to, on its ports
}

// ports returns the ports a lab host name is served on, none for
// another name.
func (u *networkUpstream) ports(host string) []uint16 {
	var ports []uint16
	for _, hp := range u.hostPorts {
		h, p, _ := net.SplitHostPort(hp)
		if h == host {
			n, _ := strconv.ParseUint(p, 10, 16)
			ports = append(ports, uint16(n))
		}
	}
	return ports
}

func (u *networkUpstream) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	ports := u.ports(name)
	if len(ports) == 0 || network == "ip6" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	addrs, err := u.r.LookupNetIP(ctx, "ip4", name)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, a := range addrs {
		addrs[i] = a.Unmap()
		for _, p := range ports {
			u.ok[netip.AddrPortFrom(addrs[i], p)] = true
		}
	}
	return addrs, nil
}

func (u *networkUpstream) allowed(ap netip.AddrPort) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ok[ap]
}

func (u *networkUpstream) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err == nil && !u.allowed(ap) {
		// An address literal of a lab host the proxy has not looked up
		// yet: look them all up once, as the lab's own dialer knows
		// every host's address.
		for _, hp := range u.hostPorts {
			h, _, _ := net.SplitHostPort(hp)
			_, _ = u.LookupNetIP(ctx, "ip4", h)
		}
	}
	if err != nil || !u.allowed(ap) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return u.connect(ctx, network, ap.String())
}
