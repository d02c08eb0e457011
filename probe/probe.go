package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/pac"
)

// Resolver answers a host name with its addresses: the shape of
// net.Resolver.LookupNetIP, of pac.Resolver and of the lab.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Default timeouts of a probe (a real network's proxy may be slow to
// answer; the lab answers in milliseconds).
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultRequestTimeout = 20 * time.Second
)

// Config is what a probe runs with. Profile says which Windows client is
// imitated: its Account (client.AccountDefaultUser1 for the temporary
// account, client.AccountUser with Credentials for the signed-in user), its
// OS and TLS settings (the versions its handshakes offer), its proxy
// sources (of which client.Profile.FlowProxy picks the one that applies
// to the account, and client.Profile.RevocationProxy the revocation
// fetches') and its Revocation policy (soft-fail by default, as Windows).
// UserID and NewPassword are not used: no password is ever reset.
type Config struct {
	Profile client.Profile
	// Proxy, when set, is a proxy given for every account (--proxy), in
	// place of the profile's sources; its source is SourceStatic.
	Proxy *client.ProxySetting
	// PAC, when set, gives the proxy of every request instead of the
	// profile's sources, as WinHTTP's auto-proxy does: its result's
	// entries are tried in order, the next only when connecting to a
	// proxy fails. PACSource names where it came from ("pac" or "wpad")
	// and PACURL its address or file.
	PAC       *pac.Script
	PACSource string
	PACURL    string
	// Dial dials on the workstation's network; nil means a net.Dialer.
	Dial client.DialFunc
	// Resolver answers the DNS check of endpoints reached directly; nil
	// means net.DefaultResolver (only the CLI leaves it nil).
	Resolver Resolver
	// Roots are the workstation's trusted roots; nil means the system's.
	Roots *x509.CertPool
	// Issuers name the service's CAs (client.WithServiceIssuers); nil
	// means client.DefaultServiceIssuers.
	Issuers []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ConnectTo maps "host:port" to the "addr:port" dialled instead, as
	// curl's --connect-to does (see ParseConnectTo); TLS still names host.
	ConnectTo map[string]string
	// Extended adds the wider Microsoft identity endpoints (ExtendedEndpoints).
	Extended bool
	// Connect and Request bound a connection and a request; 0 means the
	// profile's timeouts, else DefaultConnectTimeout and DefaultRequestTimeout.
	Connect, Request time.Duration
}

// Run probes every endpoint SSPR needs from this machine, as cfg's
// account would reach it, and returns the report with a verdict per
// cause. It never resets a password. The error is only for a
// configuration that cannot run (a proxy setting that does not parse, a
// TLS setting the profile's OS does not have); everything the network
// does is in the report. Cancelling ctx ends the probe early; the report
// then says so (client.CauseCanceled).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	p, err := newProber(cfg)
	if err != nil {
		return nil, err
	}
	defer p.close()
	p.autoProxy(ctx)
	return p.run(ctx), nil
}

// autoProxy does what WinINet does with the settings that apply to the
// account, when they use proxy auto-configuration (client.ProxySetting's
// AutoDetect with the profile's DNSSuffix, then AutoConfigURL; both
// fetched directly): the first PAC file found and compiled decides. When
// none can be had (a download or the script failed), the static settings
// stay in force and every failure on them is a client.AutoProxyError,
// which client.Diagnose names pac-unavailable or pac-script-error. WPAD
// finding nothing is no failure.
func (p *prober) autoProxy(ctx context.Context) {
	if p.cfg.PAC != nil || p.cfg.Proxy != nil {
		return
	}
	s := p.flowSet
	detect := (s == nil || s.AutoDetect == nil || *s.AutoDetect) && p.cfg.Profile.DNSSuffix != ""
	cfgURL := ""
	if s != nil {
		cfgURL = strings.TrimSpace(s.AutoConfigURL)
	}
	if !detect && cfgURL == "" {
		return
	}
	resolver := p.cfg.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	fallback := "DIRECT"
	if n, err := p.lockedNetFor(s); err == nil && n.ProxyFor("https", "") != "" {
		fallback = "PROXY " + n.ProxyFor("https", "")
	}
	if detect {
		u, script, err := DiscoverPAC(ctx, p.cfg.Profile.DNSSuffix, resolver, p.dial, p.request)
		switch {
		case err == nil:
			p.cfg.PAC, p.cfg.PACSource, p.cfg.PACURL = script, SourceWPAD, u
			return
		case u != "" && cfgURL == "":
			// Found, but the script does not compile.
			p.autoErr = &client.AutoProxyError{Method: client.AutoProxyWPAD, URL: u, Script: true, Err: err, Fallback: fallback}
			return
		case u != "":
			// A broken WPAD file gives way to the AutoConfigURL.
			p.autoNotes = append(p.autoNotes, "WPAD's PAC file "+u+" does not compile: "+err.Error())
		default:
			p.autoNotes = append(p.autoNotes, "WPAD found no PAC file: "+err.Error())
		}
	}
	if cfgURL == "" {
		return
	}
	src, err := FetchPAC(ctx, p.dial, cfgURL, p.request)
	if err != nil {
		p.autoErr = &client.AutoProxyError{Method: client.AutoProxyAutoConfigURL, URL: cfgURL, Err: err, Fallback: fallback}
		return
	}
	script, err := pac.Compile(cfgURL, src, pac.WithResolver(resolver), pac.WithClock(p.now))
	if err != nil {
		p.autoErr = &client.AutoProxyError{Method: client.AutoProxyAutoConfigURL, URL: cfgURL, Script: true, Err: err, Fallback: fallback}
		return
	}
	p.cfg.PAC, p.cfg.PACSource, p.cfg.PACURL = script, SourcePAC, cfgURL
}

func (p *prober) lockedNetFor(s *client.ProxySetting) (*client.Net, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.netFor(s)
}

// prober is one run.
type prober struct {
	cfg        Config
	now        func() time.Time
	dial       client.DialFunc
	minV, maxV uint16
	suites     []uint16
	creds      *client.Credentials
	connect    time.Duration
	request    time.Duration
	flowSet    *client.ProxySetting
	flowSource string
	revSet     *client.ProxySetting
	revSource  string

	// autoErr is the auto-proxy failure the static settings run under;
	// autoNotes say what auto-proxy found.
	autoErr   *client.AutoProxyError
	autoNotes []string

	mu     sync.Mutex             // guards nets, routes and the PAC script
	nets   map[string]*client.Net // by proxy ("" direct)
	routes map[string]*Route      // by "scheme://host:port/revocation"
}

func newProber(cfg Config) (*prober, error) {
	p := &prober{cfg: cfg, now: cfg.Now, nets: map[string]*client.Net{}, routes: map[string]*Route{}}
	if p.now == nil {
		p.now = time.Now
	}
	prof := &p.cfg.Profile
	if prof.OS == "" {
		prof.OS = client.Windows10
	}
	if prof.Account == "" {
		prof.Account = client.AccountDefaultUser1
	}
	if prof.Revocation == "" {
		prof.Revocation = client.RevocationSoftFail
	}
	var err error
	if p.minV, p.maxV, err = prof.TLSVersions(); err != nil {
		return nil, err
	}
	if p.suites, err = prof.CipherSuites(); err != nil {
		return nil, err
	}
	if prof.Account == client.AccountUser {
		if prof.Credentials == nil {
			return nil, errors.New("account user needs credentials")
		}
		p.creds = prof.Credentials
	}
	p.connect = firstPositive(cfg.Connect, prof.Timeouts.Connect, DefaultConnectTimeout)
	p.request = firstPositive(cfg.Request, prof.Timeouts.Request, DefaultRequestTimeout)
	p.connect = min(p.connect, p.request)
	p.flowSet, p.flowSource = prof.FlowProxy()
	p.revSet, p.revSource = prof.RevocationProxy()
	if cfg.Proxy != nil {
		p.flowSet, p.flowSource = cfg.Proxy, SourceStatic
		if prof.Proxy.WinHTTP == nil {
			p.revSet, p.revSource = cfg.Proxy, SourceStatic
		}
	}
	for _, s := range []*client.ProxySetting{p.flowSet, p.revSet} {
		if s == nil {
			continue
		}
		// Parse now: a setting that does not parse is the caller's.
		n, err := client.NewNet(client.NetConfig{Proxy: s})
		if err != nil {
			return nil, fmt.Errorf("proxy setting: %w", err) // redacted by client
		}
		n.Close()
	}
	dial := cfg.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	p.dial = ConnectToDialer(dial, cfg.ConnectTo)
	return p, nil
}

// Proxy sources beyond client's (client.SourcePerMachine, ...).
const (
	SourceStatic = "static" // Config.Proxy
	SourcePAC    = "pac"
	SourceWPAD   = "wpad"
)

// ConnectToDialer returns dial with the overrides of ParseConnectTo
// applied: a "host:port" of connectTo is dialled at its "addr:port".
func ConnectToDialer(dial client.DialFunc, connectTo map[string]string) client.DialFunc {
	if len(connectTo) == 0 {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := connectTo[strings.ToLower(addr)]; ok {
			addr = to
		}
		return dial(ctx, network, addr)
	}
}

// ParseConnectTo parses curl's --connect-to values, "NAME:PORT=HOST:PORT"
// (curl writes NAME:PORT:HOST:PORT; both forms are read), into
// Config.ConnectTo. Both sides need a host and a port; NAME is compared
// without regard to case.
func ParseConnectTo(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		from, to, ok := strings.Cut(v, "=")
		if !ok {
			parts := strings.Split(v, ":")
			if len(parts) != 4 {
				return nil, fmt.Errorf("%q: want NAME:PORT=HOST:PORT", v)
			}
			from, to = parts[0]+":"+parts[1], parts[2]+":"+parts[3]
		}
		for _, hp := range []string{from, to} {
			h, port, err := net.SplitHostPort(hp)
			if err != nil || h == "" || port == "" {
				return nil, fmt.Errorf("%q: %q is not HOST:PORT", v, hp)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%q: bad port %q", v, port)
			}
		}
		out[strings.ToLower(from)] = to
	}
	return out, nil
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

func (p *prober) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.nets {
		n.Close()
	}
}

// netFor returns the network stack for one proxy setting (nil: direct);
// p.mu must be held.
func (p *prober) netFor(s *client.ProxySetting) (*client.Net, error) {
	key := ""
	if s != nil {
		key = s.Server + "|" + strings.Join(s.Bypass, ";")
	}
	if n, ok := p.nets[key]; ok {
		return n, nil
	}
	n, err := client.NewNet(client.NetConfig{
		Dial: p.dial, Proxy: s, Credentials: p.creds, Roots: p.cfg.Roots, Issuers: p.cfg.Issuers,
		MinVersion: p.minV, MaxVersion: p.maxV, CipherSuites: p.suites,
		Connect: p.connect, Request: p.request, Now: p.now,
	})
	if err != nil {
		return nil, err
	}
	p.nets[key] = n
	return n, nil
}

// Route is how one endpoint is reached: directly or through a proxy, and
// where that choice came from.
type Route struct {
	// Proxy is the proxy used, "host:port"; empty for a direct connection.
	Proxy string `json:"proxy,omitempty"`
	// Source is where the proxy setting came from: per-machine, per-user,
	// default-profile, winhttp, none (client.Source*), pac or wpad.
	Source string `json:"source"`
	// PACResult is the PAC script's answer for the endpoint's URL.
	PACResult string `json:"pacResult,omitempty"`
	// Attempts are the PAC entries tried, in order, and why each was
	// passed over (WinHTTP fails over only when the proxy cannot be
	// connected to).
	Attempts []Attempt `json:"attempts,omitempty"`
	// Error is why no route could be built (a proxy setting that does
	// not parse).
	Error string `json:"error,omitempty"`
	// AutoProxyError is why proxy auto-configuration gave no script or
	// no answer (a PAC file that cannot be fetched, a script that
	// throws), and the fallback route in force instead.
	AutoProxyError string `json:"autoProxyError,omitempty"`

	net     *client.Net
	err     error
	autoErr *client.AutoProxyError
}

// Attempt is one PAC entry tried.
type Attempt struct {
	Entry string `json:"entry"`
	Used  bool   `json:"used"`
	Error string `json:"error,omitempty"`
}

// route finds how a request to host:port over scheme goes, for the flow
// or for revocation fetches (which use WinHTTP's proxy when one is set).
func (p *prober) route(ctx context.Context, scheme, host string, port int, revocation bool) *Route {
	key := fmt.Sprintf("%s://%s:%d/%t", scheme, host, port, revocation)
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.routes[key]; ok {
		return r
	}
	r := p.findRoute(ctx, scheme, host, port, revocation)
	p.routes[key] = r
	return r
}

func (p *prober) findRoute(ctx context.Context, scheme, host string, port int, revocation bool) *Route {
	static := func(r *Route, autoErr *client.AutoProxyError) *Route {
		set, src := p.flowSet, p.flowSource
		if revocation {
			set, src = p.revSet, p.revSource
		}
		n, err := p.netFor(set)
		if err != nil {
			// Parsed in newProber already: this does not happen.
			r.Source, r.Error, r.err = src, err.Error(), err
			return r
		}
		r.Proxy, r.net = n.ProxyFor(scheme, host), n
		if r.Source == "" {
			r.Source = src
		}
		if autoErr != nil && (!revocation || p.revSource == p.flowSource) {
			r.autoErr = autoErr
			r.AutoProxyError = autoErr.Err.Error() + "; fell back to " + autoErr.Fallback
		}
		return r
	}
	if p.cfg.PAC == nil || (revocation && p.cfg.Profile.Proxy.WinHTTP != nil) {
		return static(&Route{}, p.autoErr)
	}
	src := p.cfg.PACSource
	if src == "" {
		src = SourcePAC
	}
	r := &Route{Source: src}
	// The URL as WinHTTP passes it: no default port.
	u := scheme + "://" + host + "/"
	if (scheme == "https" && port != 443) || (scheme == "http" && port != 80) {
		u = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
	}
	method := client.AutoProxyAutoConfigURL
	if src == SourceWPAD {
		method = client.AutoProxyWPAD
	}
	fallback := "DIRECT"
	if n, nerr := p.netFor(p.flowSet); nerr == nil && n.ProxyFor(scheme, host) != "" {
		fallback = "PROXY " + n.ProxyFor(scheme, host)
	}
	entries, err := p.cfg.PAC.FindProxy(ctx, u)
	if err != nil {
		// Windows falls back to the static settings (or DIRECT).
		return static(r, &client.AutoProxyError{Method: method, URL: p.cfg.PACURL, Script: true,
			Err: fmt.Errorf("FindProxyForURL(%q): %w", u, err), Fallback: fallback})
	}
	r.PACResult = pac.Format(entries)
	// WinHTTP uses PROXY and DIRECT entries only.
	var usable []pac.Proxy
	for _, e := range entries {
		switch e.Kind {
		case "DIRECT", "PROXY", "HTTP":
			usable = append(usable, e)
		default:
			r.Attempts = append(r.Attempts, Attempt{Entry: e.String(), Error: "not an HTTP proxy: WinHTTP skips it"})
		}
	}
	for i, e := range usable {
		var set *client.ProxySetting
		if e.Kind != "DIRECT" {
			set = &client.ProxySetting{Server: e.Host}
		}
		n, err := p.netFor(set)
		if err != nil {
			r.Attempts = append(r.Attempts, Attempt{Entry: e.String(), Error: err.Error()})
			continue
		}
		// Can the proxy (or, for DIRECT, the host) be connected to at
		// all? Only a failure to connect makes WinHTTP try the next
		// entry; the last entry is used whatever it gives.
		if i < len(usable)-1 {
			addr, toProxy := net.JoinHostPort(host, strconv.Itoa(port)), set != nil
			if toProxy {
				addr = e.Host
			}
			dctx, cancel := context.WithTimeout(ctx, p.connect)
			c, err := p.dial(dctx, "tcp", addr)
			cancel()
			if err != nil {
				de := &client.DialError{Addr: addr, ToProxy: toProxy, Err: err}
				r.Attempts = append(r.Attempts, Attempt{Entry: e.String(), Error: de.Error()})
				continue
			}
			c.Close()
		}
		r.Attempts = append(r.Attempts, Attempt{Entry: e.String(), Used: true})
		r.Proxy, r.net = n.ProxyFor(scheme, host), n
		return r
	}
	// Only entries WinHTTP cannot use (SOCKS, HTTPS): the script's
	// failure, and the static settings are in force, as in the client.
	return static(r, &client.AutoProxyError{Method: method, URL: p.cfg.PACURL, Script: true,
		Err: fmt.Errorf("no usable entry in %q: only PROXY and DIRECT entries are used", r.PACResult), Fallback: fallback})
}

// versions are the TLS versions each endpoint is tried with.
var versions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}
