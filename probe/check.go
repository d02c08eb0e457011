package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/egresslab/egresslab/client"
)

// Role of an endpoint in the SSPR flow.
const (
	RolePortal     = "portal"
	RoleCDN        = "cdn"
	RoleCDNPlain   = "cdn-http"
	RoleOCSP       = "ocsp"
	RoleCRL        = "crl"
	RoleIdentity   = "identity"
	RoleRevocation = "revocation"
)

// EndpointSpec is an endpoint to check.
type EndpointSpec struct {
	Host   string
	Port   int
	Scheme string // https or http
	Role   string
}

// Name returns "host:port".
func (e EndpointSpec) Name() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Endpoints are what the SSPR flow at the sign-in screen needs (DOMAIN.md,
// "Required endpoints"; Microsoft's "Enable SSPR at the Windows sign-in
// screen" troubleshooting section): the portal and its CDN on TCP 443, the
// CDN on 80, DigiCert's OCSP responder and CRL hosts on 80.
var Endpoints = []EndpointSpec{
	{"passwordreset.microsoftonline.com", 443, "https", RolePortal},
	{"ajax.aspnetcdn.com", 443, "https", RoleCDN},
	{"ajax.aspnetcdn.com", 80, "http", RoleCDNPlain},
	{"ocsp.digicert.com", 80, "http", RoleOCSP},
	{"crl3.digicert.com", 80, "http", RoleCRL},
	{"crl4.digicert.com", 80, "http", RoleCRL},
}

// ExtendedEndpoints are the wider Microsoft 365 identity endpoints
// (endpoint set IDs 56, 59, 91, 125 of "Microsoft 365 URLs and IP address
// ranges") with a fixed name; the wildcard ones (*.msauth.net,
// *.msftauth.net) have none to probe.
var ExtendedEndpoints = []EndpointSpec{
	{"login.microsoftonline.com", 443, "https", RoleIdentity},
	{"api.passwordreset.microsoftonline.com", 443, "https", RoleIdentity},
	{"ocsp.digicert.com", 443, "https", RoleRevocation},
	{"ocspx.digicert.com", 80, "http", RoleRevocation},
	{"crl.microsoft.com", 80, "http", RoleRevocation},
	{"ocsp.msocsp.com", 80, "http", RoleRevocation},
}

// maxProbeBody bounds what a plain-HTTP reachability check reads.
const maxProbeBody = 64 << 10

func (p *prober) run(ctx context.Context) *Report {
	start := p.now()
	offered := tls.VersionName(p.minV) + " to " + tls.VersionName(p.maxV)
	if p.minV == p.maxV {
		offered = tls.VersionName(p.minV) + " only"
	}
	r := &Report{
		Account: accountWord(p.cfg.Profile.Account), OS: p.cfg.Profile.OS, ProxySource: p.flowSource,
		TLSOffered: offered, Revocation: p.cfg.Profile.Revocation, Started: start, Verdicts: []Verdict{},
	}
	if p.cfg.PAC != nil {
		r.ProxySource, r.PAC = p.cfg.PACSource, p.cfg.PACURL
		if r.ProxySource == "" {
			r.ProxySource = SourcePAC
		}
	}
	var perUserNote string
	if pu := p.cfg.Profile.Proxy.PerUser; pu != nil && p.cfg.Profile.Account != client.AccountUser && p.flowSource != client.SourcePerMachine && p.cfg.PAC == nil && p.cfg.Proxy == nil {
		how := "directly"
		if p.flowSet != nil {
			how = "through the " + p.flowSource + " proxy"
		}
		perUserNote = fmt.Sprintf("the signed-in user's per-user proxy (%s) does not apply to the temporary account: it connects %s", pu.Server, how)
		r.Notes = append(r.Notes, perUserNote)
	}
	r.Notes = append(r.Notes, p.autoNotes...)
	if p.autoErr != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("proxy auto-config %s failed: %v; the account falls back to %s", p.autoErr.URL, p.autoErr.Err, p.autoErr.Fallback))
	}
	specs := append([]EndpointSpec(nil), Endpoints...)
	if p.cfg.Extended {
		specs = append(specs, ExtendedEndpoints...)
	}
	// The routes first, in order (a PAC script runs one call at a time),
	// then every endpoint at once: a firewall that drops packets costs
	// one connect timeout, not one per endpoint.
	for _, s := range specs {
		p.route(ctx, s.Scheme, s.Host, s.Port, isRevocation(s))
	}
	r.Endpoints = make([]*Endpoint, len(specs))
	verified := make([][]*x509.Certificate, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { r.Endpoints[i], verified[i] = p.endpoint(ctx, s, i < len(Endpoints)) })
	}
	wg.Wait()
	chains := map[string][]*x509.Certificate{}
	for i, s := range specs {
		if verified[i] != nil && chains[s.Role] == nil {
			chains[s.Role] = verified[i]
		}
	}
	var blocking, warnings []Verdict
	add := func(block bool, c client.Cause, endpoint, check string, err error) {
		v := Verdict{Cause: c, Blocking: block, Endpoint: endpoint, Check: check, Error: errText(err), Remedy: client.RemedyFor(c, err)}
		for _, o := range slices.Concat(blocking, warnings) {
			if o.Cause == v.Cause && o.Endpoint == v.Endpoint {
				return
			}
		}
		if block {
			blocking = append(blocking, v)
		} else {
			warnings = append(warnings, v)
		}
	}
	byRole := func(role string) *Endpoint {
		for i, s := range specs {
			if s.Role == role {
				return r.Endpoints[i]
			}
		}
		return nil
	}
	portal, cdn := byRole(RolePortal), byRole(RoleCDN)
	// In the flow's order: the portal's page, the CDN's script, then the
	// revocation of both chains.
	if !portal.OK {
		add(true, portal.Cause, portal.Name, failedCheck(portal), portal.failure())
	}
	r.Portal = p.portal(ctx, portal.OK, add)
	if !cdn.OK {
		add(true, cdn.Cause, cdn.Name, failedCheck(cdn), cdn.failure())
	}
	for _, e := range []*Endpoint{portal, cdn} {
		if e.TLS != nil && e.TLS.Inspection != nil && e.TLS.Client.OK {
			add(false, client.CauseInspection, e.Name, "certificate", fmt.Errorf("the chain was issued by %q (for %q), not by the service's CA; the workstation trusts it, so the flow goes on, inspected", e.TLS.Inspection.Issuer, e.TLS.Inspection.Subject))
		}
	}
	if p.cfg.Profile.Revocation != client.RevocationOff {
		for _, role := range []string{RolePortal, RoleCDN} {
			e := byRole(role)
			chain := chains[role]
			if chain == nil {
				continue
			}
			e.Revocation = p.revocation(ctx, chain)
			for i, rc := range e.Revocation {
				re := &client.RevocationError{Host: e.Host, Subject: rc.Subject, Issuer: i > 0, Serial: chain[i].SerialNumber.Text(16)}
				switch rc.Status {
				case "revoked":
					re.Revoked = true
					for _, f := range append(rc.OCSP, rc.CRL...) {
						if f.Status == "revoked" {
							re.Responder, re.CRL = f.URL, f.URL
						}
					}
					add(true, client.Diagnose(re, p.now()), e.Name, "revocation", re)
				case "unknown":
					re.Err = errors.New(fetchErrors(rc))
					add(p.cfg.Profile.Revocation == client.RevocationHardFail, client.Diagnose(re, p.now()), e.Name, "revocation", re)
				}
			}
		}
	}
	for _, e := range r.Endpoints {
		if e.Role == RolePortal || e.Role == RoleCDN || e.OK {
			continue
		}
		add(false, e.Cause, e.Name, failedCheck(e), e.failure())
	}
	// The per-user proxy that does not apply is the cause behind a
	// blocked direct connection: say so where the verdict is read.
	for i, v := range blocking {
		if v.Cause == client.CauseDirectEgressBlocked && perUserNote != "" {
			blocking[i].Error += "; " + perUserNote
		}
	}
	if ctx.Err() != nil {
		blocking = append([]Verdict{{Cause: client.CauseCanceled, Blocking: true, Check: "probe", Error: context.Cause(ctx).Error(), Remedy: client.Remedy(client.CauseCanceled)}}, blocking...)
	}
	r.Verdicts = append(append([]Verdict{}, blocking...), warnings...)
	documented(r, perUserNote)
	r.Works = len(blocking) == 0
	if !r.Works {
		r.Cause, r.Remedy = blocking[0].Cause, blocking[0].Remedy
	}
	r.DurationMS = p.now().Sub(start).Milliseconds()
	return r
}

// isRevocation reports whether CryptoAPI, not the web view, reaches s
// (through WinHTTP's proxy when one is set).
func isRevocation(s EndpointSpec) bool {
	return s.Role == RoleOCSP || s.Role == RoleCRL || s.Role == RoleRevocation
}

func accountWord(a client.Account) string {
	if a == client.AccountUser {
		return "user"
	}
	return "temporary"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// failure is the error of e's first failed check, as the wire gave it
// when it is kept (client.RemedyFor reads it), else its text.
func (e *Endpoint) failure() error {
	if e.err != nil {
		return e.err
	}
	return errors.New(e.Error)
}

// failedCheck names the first check of e that failed.
func failedCheck(e *Endpoint) string {
	switch {
	case e.Route != nil && e.Route.Error != "":
		return "route"
	case !e.TCP.OK:
		return "tcp"
	case e.Connect != nil && e.Connect.StatusLine != "":
		return "proxy"
	case e.TLS != nil && !e.TLS.Client.OK:
		return "tls"
	}
	return "request"
}

func fetchErrors(rc RevocationCheck) string {
	var parts []string
	for _, f := range append(rc.OCSP, rc.CRL...) {
		parts = append(parts, f.URL+": "+f.Error)
	}
	if len(parts) == 0 {
		return "the certificate names no OCSP responder and no CRL distribution point"
	}
	return strings.Join(parts, "; ")
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// endpoint checks one endpoint; it returns the verified chain of an HTTPS
// endpoint whose handshake passed, for the revocation checks.
func (p *prober) endpoint(ctx context.Context, s EndpointSpec, required bool) (*Endpoint, []*x509.Certificate) {
	e := &Endpoint{Name: s.Name(), Host: s.Host, Port: s.Port, Scheme: s.Scheme, Role: s.Role, Required: required}
	rt := p.route(ctx, s.Scheme, s.Host, s.Port, isRevocation(s))
	e.Route = rt
	fail := func(err error) {
		e.OK, e.Cause, e.Error, e.err = false, client.Diagnose(err, p.now()), err.Error(), err
	}
	if rt.err != nil {
		e.DNS.ResolvedBy = "none"
		e.TCP = Check{Cause: client.Diagnose(rt.err, p.now()), Error: rt.Error}
		fail(rt.err)
		e.Error = rt.Error
		return e, nil
	}
	e.DNS = p.dns(ctx, s, rt)
	via := "direct"
	if rt.Proxy != "" {
		via = "proxy " + rt.Proxy
	}
	t0 := time.Now()
	var err error
	var conn net.Conn
	status := http.StatusOK // the answer passed on, for plain HTTP
	if s.Scheme == "https" {
		conn, err = rt.net.Tunnel(ctx, s.Name())
	} else {
		// Windows fetches revocation data as CryptoAPI, whose user
		// agent proxies may let through without authentication.
		agent := client.BrowserUserAgent
		if isRevocation(s) {
			agent = client.CryptoAPIUserAgent
		}
		_, err = rt.net.GetAs(ctx, "http://"+s.Name()+"/", maxProbeBody, agent)
		var he *client.HTTPStatusError
		if errors.As(err, &he) {
			err, status = nil, he.Status // the origin answered: it is reached
		}
	}
	e.TCP = Check{OK: true, Via: via, MS: ms(time.Since(t0))}
	var de *client.DialError
	var pe *client.ProxyError
	switch {
	case errors.As(err, &de):
		e.TCP.OK, e.TCP.Cause, e.TCP.Error = false, client.Diagnose(err, p.now()), err.Error()
	case errors.As(err, &pe):
		e.Connect = &ProxyAnswer{Proxy: pe.Proxy, Status: pe.Status, StatusLine: pe.StatusLine, Schemes: pe.Offered,
			SquidError: pe.SquidError, Via: pe.Via, Server: pe.Server, AuthScheme: pe.Scheme}
	case err == nil && rt.Proxy != "":
		e.Connect = &ProxyAnswer{Proxy: rt.Proxy, Status: status, AuthScheme: rt.net.AuthScheme()}
	}
	var fallbackDial *client.DialError
	if err != nil && rt.autoErr != nil && errors.As(err, &fallbackDial) {
		// The fallback of a failed auto-proxy could not connect: the PAC
		// file is the cause (client.Diagnose reads it so). A fallback
		// that answers speaks for itself, as in the client.
		ae := *rt.autoErr
		ae.Then = err
		err = &ae
	}
	if err != nil {
		if e.TCP.OK && e.Connect == nil {
			// Reached, then the answer broke (reset, timeout).
			e.TCP.Cause, e.TCP.Error = client.Diagnose(err, p.now()), err.Error()
		}
		fail(err)
		return e, nil
	}
	if conn != nil {
		conn.Close()
	}
	if s.Scheme != "https" {
		e.OK = true
		return e, nil
	}
	e.TLS = p.tlsCheck(ctx, rt.net, s)
	if !e.TLS.Client.OK {
		e.OK, e.Cause, e.Error, e.err = false, e.TLS.Client.Cause, e.TLS.Client.Error, e.TLS.err
		return e, nil
	}
	e.OK = true
	return e, e.TLS.verified
}

// dns looks the endpoint's name up when the workstation resolves it
// (direct connections); behind a proxy the proxy does.
func (p *prober) dns(ctx context.Context, s EndpointSpec, rt *Route) DNS {
	if to, ok := p.cfg.ConnectTo[strings.ToLower(s.Name())]; ok {
		return DNS{ResolvedBy: "none", Answer: []string{"connect-to " + to}}
	}
	if rt.Proxy != "" {
		return DNS{ResolvedBy: "proxy"}
	}
	var r Resolver = p.cfg.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	lctx, cancel := context.WithTimeout(ctx, p.connect)
	defer cancel()
	addrs, err := r.LookupNetIP(lctx, "ip", s.Host)
	d := DNS{ResolvedBy: "workstation"}
	if err != nil {
		d.Error = err.Error()
		return d
	}
	for _, a := range addrs {
		d.Answer = append(d.Answer, a.String())
	}
	return d
}

// tlsCheck makes one handshake per version, then the imitated client's.
func (p *prober) tlsCheck(ctx context.Context, n *client.Net, s EndpointSpec) *TLSCheck {
	tc := &TLSCheck{Versions: make([]VersionCheck, len(versions))}
	// One handshake per version and the client's own, at once: a path
	// that holds connections costs one timeout, not five.
	chains := make([][]*x509.Certificate, len(versions))
	var cs tls.ConnectionState
	var cerr error
	var cms int64
	var wg sync.WaitGroup
	for i, v := range versions {
		wg.Go(func() {
			vc := VersionCheck{Version: tls.VersionName(v)}
			chain, err := p.versionHandshake(ctx, n, s, v)
			if err != nil {
				vc.Error = err.Error()
			} else {
				vc.Accepted, chains[i] = true, chain
			}
			tc.Versions[i] = vc
		})
	}
	wg.Go(func() {
		t0 := time.Now()
		cs, cerr = n.Handshake(ctx, s.Name(), 0, 0)
		cms = ms(time.Since(t0))
	})
	wg.Wait()
	var seen []*x509.Certificate
	for i, v := range versions {
		if chains[i] != nil {
			seen = chains[i] // the highest version's
		}
		switch v {
		case tls.VersionTLS10:
			tc.Windows7Default = tc.Versions[i].Accepted
		case tls.VersionTLS12:
			tc.TLS12 = tc.Versions[i].Accepted
		}
	}
	err := cerr
	tc.Client = Check{OK: err == nil, MS: cms}
	if err != nil {
		tc.Client.Cause, tc.Client.Error, tc.err = client.Diagnose(err, p.now()), err.Error(), err
		var cve *tls.CertificateVerificationError
		if errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 {
			seen = cve.UnverifiedCertificates
		}
	} else {
		tc.Negotiated = tls.VersionName(cs.Version)
		seen = cs.PeerCertificates
		if len(cs.VerifiedChains) > 0 {
			tc.verified = cs.VerifiedChains[0]
		}
	}
	for _, c := range seen {
		tc.Chain = append(tc.Chain, Certificate{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16), NotAfter: c.NotAfter.UTC()})
	}
	issuers := p.cfg.Issuers
	if issuers == nil {
		issuers = client.DefaultServiceIssuers
	}
	if name, ok := client.ForeignIssuer(seen, issuers); ok {
		tc.Inspection = &Inspection{Issuer: name, Subject: seen[0].Subject.String()}
	}
	return tc
}

// versionHandshake offers exactly one version, every suite Go has, and
// does not verify: it learns only whether the version is accepted.
func (p *prober) versionHandshake(ctx context.Context, n *client.Net, s EndpointSpec, v uint16) ([]*x509.Certificate, error) {
	raw, err := n.Tunnel(ctx, s.Name())
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	hctx, cancel := context.WithTimeout(ctx, p.connect)
	defer cancel()
	c := tls.Client(raw, &tls.Config{
		ServerName: s.Host, MinVersion: v, MaxVersion: v, CipherSuites: allSuites(),
		// Only the version is learnt here; the client's own handshake
		// verifies.
		InsecureSkipVerify: true, //nolint:gosec // see above
	})
	if err := c.HandshakeContext(hctx); err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates, nil
}

// allSuites are every TLS 1.0-1.2 suite Go implements, the insecure ones
// too: an old server's only suite must not hide that it takes the version.
func allSuites() []uint16 {
	var out []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		out = append(out, cs.ID)
	}
	return out
}

// revocation checks every certificate of a verified chain but the root,
// over OCSP and from the CRL, through the revocation route of each URL.
func (p *prober) revocation(ctx context.Context, chain []*x509.Certificate) []RevocationCheck {
	var out []RevocationCheck
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		rc := RevocationCheck{Subject: cert.Subject.CommonName, Status: "unknown"}
		ocspAnswered := false
		for _, u := range cert.OCSPServer {
			f := p.fetch(ctx, u, func(n *client.Net) (bool, time.Time, error) { return n.CheckOCSP(ctx, u, cert, issuer) })
			rc.OCSP = append(rc.OCSP, f)
			if f.Status != "failed" && !ocspAnswered {
				ocspAnswered = true
				rc.Status = f.Status
			}
		}
		for _, u := range cert.CRLDistributionPoints {
			f := p.fetch(ctx, u, func(n *client.Net) (bool, time.Time, error) { return n.CheckCRL(ctx, u, cert, issuer) })
			rc.CRL = append(rc.CRL, f)
			if f.Status != "failed" && !ocspAnswered && rc.Status == "unknown" {
				rc.Status = f.Status
			}
		}
		out = append(out, rc)
		if rc.Status == "revoked" {
			break
		}
	}
	return out
}

// fetch runs one revocation fetch through the route of its URL.
func (p *prober) fetch(ctx context.Context, raw string, do func(*client.Net) (bool, time.Time, error)) Fetch {
	f := Fetch{URL: raw}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		f.Status, f.Error = "failed", fmt.Sprintf("%q is not a URL", raw)
		return f
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if u.Port() != "" {
		port, _ = strconv.Atoi(u.Port())
	}
	rt := p.route(ctx, u.Scheme, u.Hostname(), port, true)
	if rt.err != nil {
		f.Status, f.Error = "failed", rt.Error
		return f
	}
	revoked, at, err := do(rt.net)
	switch {
	case revoked:
		f.Status, f.Error = "revoked", "revoked at "+at.UTC().Format(time.RFC3339)
	case err != nil:
		f.Status, f.Error = "failed", err.Error()
	default:
		f.Status = "good"
	}
	return f
}

// maxRedirects bounds the redirects the page check follows.
const maxRedirects = 5

// follow gets an https page as the web view does, following redirects to
// other https URLs (each through its own route); it returns the body and
// the final URL, and records the redirects in pc.
func (p *prober) follow(ctx context.Context, page string, pc *PortalCheck) ([]byte, string, error) {
	for range maxRedirects + 1 {
		u, err := url.Parse(page)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			return nil, page, fmt.Errorf("%q: the page check follows https URLs only", page)
		}
		port := 443
		if u.Port() != "" {
			port, _ = strconv.Atoi(u.Port())
		}
		rt := p.route(ctx, "https", u.Hostname(), port, false)
		if rt.err != nil {
			return nil, page, rt.err
		}
		body, err := rt.net.Get(ctx, page, client.MaxPage)
		var he *client.HTTPStatusError
		if errors.As(err, &he) && he.Kind == client.RedirectKind {
			pc.Redirects = append(pc.Redirects, he.Message)
			page = he.Message
			continue
		}
		return body, page, err
	}
	return nil, page, fmt.Errorf("more than %d redirects from the portal's page", maxRedirects)
}

// portal loads the portal's page, finds its script and loads it with its
// integrity check, as the web view at the sign-in screen does.
func (p *prober) portal(ctx context.Context, reachable bool, add func(bool, client.Cause, string, string, error)) *PortalCheck {
	const host = "passwordreset.microsoftonline.com"
	pc := &PortalCheck{}
	if !reachable {
		pc.Page = Check{Error: "not tried: the portal cannot be reached"}
		return pc
	}
	page := "https://" + host + client.PortalPath
	t0 := time.Now()
	body, final, err := p.follow(ctx, page, pc)
	page = final
	pc.Page = Check{OK: err == nil, MS: ms(time.Since(t0))}
	if err != nil {
		pc.Page.Cause, pc.Page.Error = client.Diagnose(err, p.now()), err.Error()
		add(true, pc.Page.Cause, host+":443", "page", err)
		return pc
	}
	src, integrity, err := client.FindScript(body, page)
	if err != nil {
		err = &client.HTTPStatusError{URL: page, Status: 200, Kind: "no-script", Message: err.Error()}
		pc.Page.OK, pc.Page.Cause, pc.Page.Error = false, client.Diagnose(err, p.now()), err.Error()
		add(true, pc.Page.Cause, host+":443", "page", err)
		return pc
	}
	pc.Script, pc.Integrity = src, integrity
	su, _ := url.Parse(src)
	port := 443
	if su.Scheme == "http" {
		port = 80
	}
	if su.Port() != "" {
		port, _ = strconv.Atoi(su.Port())
	}
	srt := p.route(ctx, su.Scheme, su.Hostname(), port, false)
	sc := &Check{MS: 0}
	pc.ScriptCheck = sc
	endpoint := net.JoinHostPort(su.Hostname(), strconv.Itoa(port))
	if srt.err != nil {
		sc.Cause, sc.Error = client.Diagnose(srt.err, p.now()), srt.Error
		add(true, sc.Cause, endpoint, "script", srt.err)
		return pc
	}
	t0 = time.Now()
	script, err := srt.net.Get(ctx, src, client.MaxPage)
	sc.MS = ms(time.Since(t0))
	if srt.Proxy != "" {
		sc.Via = "proxy " + srt.Proxy
	} else {
		sc.Via = "direct"
	}
	var he *client.HTTPStatusError
	switch {
	case errors.As(err, &he):
		sc.Cause, sc.Error = client.CauseCDNUnreachable, err.Error()
	case err != nil:
		sc.Cause, sc.Error = client.Diagnose(err, p.now()), err.Error()
	default:
		if err = client.CheckIntegrity(integrity, script); err != nil {
			err = fmt.Errorf("script %s: %w", src, err)
			sc.Cause, sc.Error = client.CauseCDNUnreachable, err.Error()
		}
	}
	if err != nil {
		add(true, sc.Cause, endpoint, "script", err)
		return pc
	}
	sc.OK = true
	return pc
}
