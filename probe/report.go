package probe

import (
	"crypto/x509"
	"time"

	"github.com/egresslab/egresslab/client"
)

// Report is a probe's answer: what each endpoint gave, and a verdict per
// cause found. Its JSON form is described by [Schema].
type Report struct {
	// Account is the account imitated: "temporary" (defaultuser1, no
	// proxy credentials) or "user" (the signed-in user's credentials).
	Account string `json:"account" jsonschema:"enum=temporary,enum=user"`
	// OS is the Windows version imitated (its TLS versions).
	OS client.OS `json:"os"`
	// ProxySource is where the flow's proxy comes from for the account:
	// per-machine, per-user, default-profile, none (client.Source*), pac
	// or wpad. PAC is the PAC script's address or file.
	ProxySource string `json:"proxySource"`
	PAC         string `json:"pac,omitempty"`
	// TLSOffered is the range of TLS versions the imitated client offers
	// ("TLS 1.2 to TLS 1.3", "TLS 1.0 only").
	TLSOffered string `json:"tlsOffered"`
	// Revocation is the revocation policy imitated (soft-fail, hard-fail, off).
	Revocation client.Revocation `json:"revocation"`
	// Started is when the probe started; DurationMS how long it took, in
	// milliseconds.
	Started    time.Time `json:"started"`
	DurationMS int64     `json:"durationMs"`
	// Endpoints are the endpoints checked, in order.
	Endpoints []*Endpoint `json:"endpoints"`
	// Portal is the portal page's check: its CDN script and integrity.
	Portal *PortalCheck `json:"portal,omitempty"`
	// Verdicts are the causes found, the blocking ones first in the
	// order the flow meets them.
	Verdicts []Verdict `json:"verdicts"`
	// Documented is a verdict per documented cause, in the order of
	// Microsoft's troubleshooting list.
	Documented []Documented `json:"documented"`
	// Works reports whether SSPR would work for the account; Cause is the
	// first blocking cause (empty when it works) and Remedy its remedy.
	Works  bool         `json:"works"`
	Cause  client.Cause `json:"cause,omitempty"`
	Remedy string       `json:"remedy,omitempty"`
	// Notes explain the configuration: a per-user proxy that does not
	// apply to the temporary account, a WPAD file found, ...
	Notes []string `json:"notes,omitempty"`
}

// Verdict is one cause found, with the check that found it.
type Verdict struct {
	Cause client.Cause `json:"cause"`
	// Blocking is set when the cause stops SSPR for the account; else it
	// is a warning (a soft-fail revocation check, an endpoint outside the
	// flow).
	Blocking bool `json:"blocking"`
	// Endpoint is "host:port"; Check the check that failed (dns, tcp,
	// proxy, tls, certificate, page, script, revocation).
	Endpoint string `json:"endpoint"`
	Check    string `json:"check"`
	// Error is what the wire gave, Remedy the documented remedy
	// (client.Remedy).
	Error  string `json:"error"`
	Remedy string `json:"remedy"`
}

// Endpoint is what one endpoint gave.
type Endpoint struct {
	// Name is "host:port", Scheme https or http.
	Name   string `json:"name"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Scheme string `json:"scheme" jsonschema:"enum=https,enum=http"`
	// Role says what SSPR needs it for.
	Role string `json:"role"`
	// Required is set for the endpoints the sign-in screen's flow needs;
	// the extended list's are not.
	Required bool   `json:"required"`
	Route    *Route `json:"route"`
	DNS      DNS    `json:"dns"`
	TCP      Check  `json:"tcp"`
	// Connect is the proxy's answer to CONNECT (https) or to the plain
	// request (http), when a proxy is used.
	Connect *ProxyAnswer `json:"connect,omitempty"`
	TLS     *TLSCheck    `json:"tls,omitempty"`
	// Revocation is the OCSP and CRL checks of the chain the endpoint
	// presented (the portal and the CDN).
	Revocation []RevocationCheck `json:"revocation,omitempty"`
	// OK reports whether every check of the endpoint passed; Cause is
	// the first failure's.
	OK    bool         `json:"ok"`
	Cause client.Cause `json:"cause,omitempty"`
	Error string       `json:"error,omitempty"`

	err error // the first failure, as the wire gave it
}

// DNS is the DNS check: the workstation's answer when it connects
// directly; behind a proxy, the proxy resolves the name (Windows sends the
// name in CONNECT), so ResolvedBy is "proxy" and nothing is looked up.
type DNS struct {
	ResolvedBy string   `json:"resolvedBy" jsonschema:"enum=workstation,enum=proxy,enum=none"`
	Answer     []string `json:"answer,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// Check is a pass or fail with what was seen.
type Check struct {
	OK bool `json:"ok"`
	// Via is "direct" or "proxy HOST:PORT".
	Via   string       `json:"via,omitempty"`
	Cause client.Cause `json:"cause,omitempty"`
	Error string       `json:"error,omitempty"`
	// MS is how long it took, in milliseconds.
	MS int64 `json:"ms"`
}

// ProxyAnswer is the proxy's answer to CONNECT or to a plain request
// (for plain HTTP, the status it passed on from the host, when it did not
// refuse the request itself).
type ProxyAnswer struct {
	Proxy  string `json:"proxy"`
	Status int    `json:"status"`
	// StatusLine is as the proxy sent it, when it refused (only then).
	StatusLine string `json:"statusLine,omitempty"`
	// Schemes are the Proxy-Authenticate schemes offered, in order.
	Schemes []string `json:"schemes,omitempty"`
	// SquidError is X-Squid-Error ("ERR_ACCESS_DENIED 0").
	SquidError string `json:"squidError,omitempty"`
	// Via and Server name a proxy that is not Squid.
	Via    string `json:"via,omitempty"`
	Server string `json:"server,omitempty"`
	// AuthScheme is the scheme the account authenticated with, if any.
	AuthScheme string `json:"authScheme,omitempty"`
}

// TLSCheck is what TLS gave: which versions the endpoint (or whatever
// answers for it) accepts, what the imitated client gets, the chain.
type TLSCheck struct {
	// Versions are one handshake per version, TLS 1.0 to 1.3, each over
	// its own connection, certificates not verified.
	Versions []VersionCheck `json:"versions"`
	// TLS12 reports whether TLS 1.2 is accepted; Windows7Default whether
	// Windows 7's WinHTTP default (TLS 1.0 only, KB3140245) is.
	TLS12           bool `json:"tls12"`
	Windows7Default bool `json:"windows7Default"`
	// Client is the imitated client's own handshake: its versions, its
	// cipher suites, its roots; Negotiated the version agreed.
	Client     Check  `json:"client"`
	Negotiated string `json:"negotiated,omitempty"`
	// Chain is the chain presented, leaf first.
	Chain []Certificate `json:"chain,omitempty"`
	// Inspection is set when the chain was issued by none of the
	// service's CAs: a device on the path re-signs the service.
	Inspection *Inspection `json:"inspection,omitempty"`

	verified []*x509.Certificate
	err      error // the client handshake's failure
}

// VersionCheck is one version's handshake.
type VersionCheck struct {
	Version  string `json:"version"`
	Accepted bool   `json:"accepted"`
	Error    string `json:"error,omitempty"`
}

// Certificate is one certificate of a chain.
type Certificate struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"notAfter"`
}

// Inspection names the issuer that is not the service's, and the
// subject of the certificate it issued.
type Inspection struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

// RevocationCheck is the revocation status of one certificate of a chain
// (every one but the root, as CryptoAPI checks a TLS server's chain).
type RevocationCheck struct {
	Subject string  `json:"subject"`
	OCSP    []Fetch `json:"ocsp,omitempty"`
	CRL     []Fetch `json:"crl,omitempty"`
	// Status is good, revoked or unknown (no usable answer: Schannel's
	// CRYPT_E_REVOCATION_OFFLINE). OCSP's answer wins; the CRL is
	// CryptoAPI's fallback.
	Status string `json:"status" jsonschema:"enum=good,enum=revoked,enum=unknown"`
}

// Fetch is one OCSP or CRL fetch.
type Fetch struct {
	URL    string `json:"url"`
	Status string `json:"status" jsonschema:"enum=good,enum=revoked,enum=failed"`
	Error  string `json:"error,omitempty"`
}

// PortalCheck is the portal page's check: the page loads, names its
// script on the CDN, and the script loads with its Subresource Integrity.
type PortalCheck struct {
	Page Check `json:"page"`
	// Redirects are the URLs the page redirected to, in order (the web
	// view follows them).
	Redirects []string `json:"redirects,omitempty"`
	Script    string   `json:"script,omitempty"`
	Integrity string   `json:"integrity,omitempty"`
	// ScriptCheck is the script's fetch and integrity check.
	ScriptCheck *Check `json:"scriptCheck,omitempty"`
}
