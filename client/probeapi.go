package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// This file exports thin wrappers over the client's network stack for
// package probe, which checks a real network's egress with the same
// dialer, proxy authentication, TLS diagnosis and revocation code as the
// flow, so that the wire-to-cause mapping is written once.

// NetConfig configures a [Net]: one route (a static proxy setting or
// none; its AutoConfigURL and AutoDetect are not used) as one account
// uses it.
type NetConfig struct {
	// Dial dials "host:port" on the workstation's network; nil means a
	// net.Dialer.
	Dial DialFunc
	// Proxy is the proxy setting of the route; nil connects directly.
	Proxy *ProxySetting
	// Credentials are the account's proxy credentials; nil for
	// defaultuser1.
	Credentials *Credentials
	// Roots are the trusted roots; nil means the system's.
	Roots *x509.CertPool
	// Issuers name the service's CAs (see [WithServiceIssuers]); nil
	// means [DefaultServiceIssuers].
	Issuers []string
	// MinVersion and MaxVersion are the TLS versions offered for requests
	// and [Net.Handshake]'s defaults; 0 means TLS 1.2 to 1.3.
	MinVersion, MaxVersion uint16
	// CipherSuites are the TLS 1.0-1.2 suites offered; nil means Go's.
	CipherSuites []uint16
	// Connect bounds a connection (TCP, and the proxy's answer to
	// CONNECT), Request a request; 0 means DefaultConnectTimeout and
	// DefaultRequestTimeout.
	Connect, Request time.Duration
	// Now is the clock for certificate and revocation checks; nil means
	// time.Now.
	Now func() time.Time
}

// Net is the client's network stack for one route, for package probe.
// Close it when done.
type Net struct {
	nc  *netClient
	now func() time.Time
}

// NewNet returns the network stack cfg describes; the error is a proxy
// setting that does not parse (a *FieldError).
func NewNet(cfg NetConfig) (*Net, error) {
	var static *proxyRoute
	if cfg.Proxy != nil {
		var err error
		if static, err = cfg.Proxy.parse(); err != nil {
			return nil, err
		}
	}
	// The static settings only: package probe evaluates PAC scripts and
	// fails over itself, to report each entry.
	rt := &route{static: static, bad: map[string]bool{}, used: map[string]string{}}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Connect <= 0 {
		cfg.Connect = DefaultConnectTimeout
	}
	if cfg.Request <= 0 {
		cfg.Request = DefaultRequestTimeout
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.MaxVersion == 0 {
		cfg.MaxVersion = tls.VersionTLS13
	}
	base := &tls.Config{RootCAs: cfg.Roots, MinVersion: cfg.MinVersion, MaxVersion: cfg.MaxVersion, Time: cfg.Now, CipherSuites: cfg.CipherSuites}
	nc := newNetClient(cfg.Dial, rt, cfg.Credentials, base, cfg.Connect, cfg.Request)
	nc.issuers = cfg.Issuers
	if nc.issuers == nil {
		nc.issuers = DefaultServiceIssuers
	}
	return &Net{nc: nc, now: cfg.Now}, nil
}

// Close closes the stack's idle connections.
func (n *Net) Close() { n.nc.close() }

// ProxyFor returns the proxy ("host:port") a request to host over scheme
// ("http" or "https") goes through, or "" when it goes directly.
func (n *Net) ProxyFor(scheme, host string) string {
	if u := n.nc.route.static.proxyFor(scheme, host); u != nil {
		return u.Host
	}
	return ""
}

// Tunnel connects to addr ("host:port") as the flow does for TLS: through
// a CONNECT tunnel (answering the proxy's challenges with the
// credentials) when the route has a proxy for it, directly otherwise. The
// error is a *DialError, a *ProxyError, or what the proxy's answer broke
// with. The caller closes the connection.
func (n *Net) Tunnel(ctx context.Context, addr string) (net.Conn, error) {
	return n.nc.tunnel(ctx, addr)
}

// Handshake connects to addr as [Net.Tunnel] does and makes a TLS
// handshake offering lo to hi (0: the configured versions), verified
// against the roots, within the connect timeout, and closes it. The error is [Net.Tunnel]'s, or a
// *TLSError with the version the server chose and, when a chain from
// another issuer than the service's showed, the inspection's issuer.
func (n *Net) Handshake(ctx context.Context, addr string, lo, hi uint16) (tls.ConnectionState, error) {
	raw, err := n.nc.tunnel(ctx, addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer raw.Close()
	host, _, _ := net.SplitHostPort(addr)
	cfg := n.nc.tlsBase.Clone()
	cfg.ServerName = host
	if lo != 0 {
		cfg.MinVersion = lo
	}
	if hi != 0 {
		cfg.MaxVersion = hi
	}
	hctx, cancel := context.WithTimeout(ctx, n.nc.connect)
	defer cancel()
	watch := &helloWatcher{Conn: raw}
	tc := tls.Client(watch, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		te := &TLSError{Host: host, MinVersion: cfg.MinVersion, MaxVersion: cfg.MaxVersion, ServerVersion: watch.serverVersion(), Suites: cfg.CipherSuites, Err: err}
		n.nc.inspect(ctx, addr, host, te)
		return tls.ConnectionState{}, te
	}
	return tc.ConnectionState(), nil
}

// Get sends GET url through the route as the flow does (plain HTTP
// through the proxy in absolute form, HTTPS through a tunnel) and reads
// at most limit bytes of the body. The error is what [Diagnose] reads: a
// *DialError, *ProxyError, *TLSError, a socket error, or an
// *HTTPStatusError for a status other than 200 (a redirect is not
// followed: its Kind is RedirectKind); a body over limit is an error too.
func (n *Net) Get(ctx context.Context, url string, limit int64) ([]byte, error) {
	return n.GetAs(ctx, url, limit, userAgent)
}

// GetAs is [Net.Get] with another User-Agent: [CryptoAPIUserAgent] for
// what Windows fetches for revocation, which proxies may exempt from
// authentication.
func (n *Net) GetAs(ctx context.Context, url string, limit int64, agent string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", agent)
	resp, err := n.nc.http.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if loc, err := resp.Location(); err == nil && resp.StatusCode/100 == 3 {
		return nil, &HTTPStatusError{URL: url, Status: resp.StatusCode, Kind: RedirectKind, Message: loc.String()}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPStatusError{URL: url, Status: resp.StatusCode}
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s: body larger than %d bytes", url, limit)
	}
	return body, nil
}

// RedirectKind is the Kind of [Net.Get]'s *HTTPStatusError for a
// redirect (3xx with a Location); its Message is the absolute URL.
const RedirectKind = "redirect"

// AuthScheme returns the proxy authentication scheme that last succeeded
// ("negotiate", "ntlm", "basic"), or "".
func (n *Net) AuthScheme() string { return n.nc.authScheme() }

// CheckOCSP asks the OCSP responder (RFC 6960; GET per RFC 5019 when
// short) about cert, issued by issuer, through the route, as CryptoAPI
// does. revoked reports a definitive "revoked" (at is when); nil error and
// not revoked is "good". The error says why no usable answer came.
func (n *Net) CheckOCSP(ctx context.Context, responder string, cert, issuer *x509.Certificate) (revoked bool, at time.Time, err error) {
	r, err := checkOCSP(ctx, n.nc, responder, cert, issuer, n.now())
	if r != nil {
		return true, r.at, nil
	}
	return false, time.Time{}, err
}

// CheckCRL fetches the CRL at url (RFC 5280 4.2.1.13) through the route
// and looks cert up in it, issuer checking its signature; the results
// are [Net.CheckOCSP]'s.
func (n *Net) CheckCRL(ctx context.Context, url string, cert, issuer *x509.Certificate) (revoked bool, at time.Time, err error) {
	r, err := checkCRL(ctx, n.nc, url, cert, issuer, n.now())
	if r != nil {
		return true, r.at, nil
	}
	return false, time.Time{}, err
}

// FindScript returns the absolute URL and the Subresource Integrity
// value of the first external script of an HTML page fetched from base,
// as the flow reads the portal's page.
func FindScript(page []byte, base string) (src, integrity string, err error) {
	return findScript(page, base)
}

// CheckIntegrity checks body against a Subresource Integrity value
// ("sha384-...", W3C SRI section 3.3.5) as browsers do.
func CheckIntegrity(integrity string, body []byte) error { return checkIntegrity(integrity, body) }

// ForeignIssuer reports whether a chain, as the server sent it (leaf
// first), was issued by none of issuers (matched against each issuer's
// common name and organizations), and names the leaf's issuer: the
// inspection test of [WithServiceIssuers].
func ForeignIssuer(chain []*x509.Certificate, issuers []string) (string, bool) {
	return foreignIssuer(chain, issuers)
}

// CipherSuites returns the profile's TLS 1.0-1.2 cipher suites:
// TLS.CipherSuites, else Schannel's defaults; the error is a *FieldError.
func (p *Profile) CipherSuites() ([]uint16, error) { return p.cipherSuites() }

// RemedyFor is [Remedy] told by the error where the remedy depends on it
// (a TLS version refusal of a client that offered TLS 1.2 points at the
// server; a handshake failure on the certificate's key at the cipher
// suites), as the flow's result gives it.
func RemedyFor(c Cause, err error) string { return remedyFor(c, err) }

// BrowserUserAgent is the User-Agent of the flow's web requests (the
// sign-in screen's web view).
const BrowserUserAgent = userAgent

// PortalPath is the path of the SSPR portal's first page.
const PortalPath = portalPath

// MaxPage bounds the portal's page and the CDN's script.
const MaxPage = maxPage
