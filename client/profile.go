package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/egresslab/egresslab/internal/enum"
	"github.com/egresslab/egresslab/internal/redact"
	"github.com/egresslab/egresslab/pac"
)

// OS is the Windows version the client behaves like.
type OS string

// The supported Windows versions.
const (
	Windows7  OS = "windows7"
	Windows81 OS = "windows8.1"
	Windows10 OS = "windows10"
	Windows11 OS = "windows11"
)

// OSes lists the supported Windows versions.
func OSes() []OS { return []OS{Windows7, Windows81, Windows10, Windows11} }

// Account is the Windows account that runs the flow.
type Account string

// The accounts. At the sign-in screen, Windows runs the flow as the
// temporary defaultuser1 account, which has neither the signed-in user's
// per-user proxy settings nor their credentials.
const (
	AccountUser         Account = "user"
	AccountDefaultUser1 Account = "defaultuser1"
)

// Revocation is the certificate revocation policy.
type Revocation string

// The revocation policies. Go's TLS stack checks no revocation; the client
// checks OCSP itself, then the CRL when OCSP gives no usable answer.
const (
	RevocationOff      Revocation = "off"
	RevocationSoftFail Revocation = "soft-fail" // no answer from OCSP nor the CRL is a warning
	RevocationHardFail Revocation = "hard-fail" // no answer from OCSP nor the CRL ends the flow
)

// The DefaultSecureProtocols bits (WinHTTP, KB3140245).
const (
	ProtocolSSL2  = 0x08
	ProtocolSSL3  = 0x20
	ProtocolTLS10 = 0x80
	ProtocolTLS11 = 0x200
	ProtocolTLS12 = 0x800
	ProtocolTLS13 = 0x2000
)

var protocolBits = []struct {
	bit     uint32
	version uint16
}{{ProtocolTLS10, tls.VersionTLS10}, {ProtocolTLS11, tls.VersionTLS11}, {ProtocolTLS12, tls.VersionTLS12}, {ProtocolTLS13, tls.VersionTLS13}}

// Profile is a Windows client: its OS, account, proxy settings,
// credentials, TLS versions and revocation policy, and what the user does
// in the flow. The zero values of optional fields are Windows' defaults.
type Profile struct {
	OS      OS      `json:"os" yaml:"os" jsonschema:"required"`
	Account Account `json:"account" yaml:"account" jsonschema:"required"`
	// UserID is the user principal name whose password is reset.
	UserID string `json:"userId" yaml:"userId" jsonschema:"required"`
	// Proxy holds every proxy source Windows has; which applies depends
	// on the account (see Profile.FlowProxy).
	Proxy ProxySources `json:"proxy,omitempty" yaml:"proxy,omitempty"`
	// Credentials are the signed-in user's proxy credentials. The
	// temporary account never has them.
	Credentials *Credentials `json:"credentials,omitempty" yaml:"credentials,omitempty"`
	TLS         TLSSettings  `json:"tls,omitempty" yaml:"tls,omitempty"`
	// Revocation defaults to soft-fail, as Windows does.
	Revocation Revocation `json:"revocation,omitempty" yaml:"revocation,omitempty"`
	// Methods are the verification methods the user picks, in order of
	// preference; empty means any the service offers, in its order.
	Methods []string `json:"methods,omitempty" yaml:"methods,omitempty"`
	// NewPassword is the password the user sets.
	NewPassword string `json:"newPassword" yaml:"newPassword" jsonschema:"required"`
	// ClientType is sent in X-SSPR-Client for the audit log; default
	// windows-logon (Windows 10/11) or windows7-addin (7/8.1).
	ClientType string   `json:"clientType,omitempty" yaml:"clientType,omitempty"`
	Timeouts   Timeouts `json:"timeouts,omitempty" yaml:"timeouts,omitempty"`
	// DNSSuffix is the workstation's DNS suffix ("corp.contoso.com"),
	// where WPAD looks for wpad.<suffix>, devolving to the second level
	// (pac.WPADCandidates). Empty: WPAD finds nothing.
	DNSSuffix string `json:"dnsSuffix,omitempty" yaml:"dnsSuffix,omitempty"`
}

// ProxySources are the places Windows keeps proxy settings.
type ProxySources struct {
	// PerUser is the signed-in user's WinINet settings (HKCU); they never
	// apply to defaultuser1.
	PerUser *ProxySetting `json:"perUser,omitempty" yaml:"perUser,omitempty"`
	// PerMachine is set when the policy "Make proxy settings per-machine"
	// is on (ProxySettingsPerUser=0): its settings apply to every account.
	PerMachine *ProxySetting `json:"perMachine,omitempty" yaml:"perMachine,omitempty"`
	// DefaultProfile is the Default user profile template
	// (C:\Users\Default\NTUSER.DAT), which defaultuser1 inherits.
	DefaultProfile *ProxySetting `json:"defaultProfile,omitempty" yaml:"defaultProfile,omitempty"`
	// WinHTTP is the machine's WinHTTP proxy (netsh winhttp set proxy),
	// which CryptoAPI uses to fetch revocation information.
	WinHTTP *ProxySetting `json:"winhttp,omitempty" yaml:"winhttp,omitempty"`
}

// ProxySetting is one set of proxy settings, as Windows stores them.
type ProxySetting struct {
	// Server is ProxyServer: "host:port", "http://host:port", or the
	// per-protocol form "http=host:port;https=host:port". Empty means
	// ProxyEnable=0: connect directly.
	Server string `json:"server" yaml:"server"`
	// Bypass is ProxyOverride: host names or wildcards ("*.contoso.com",
	// "10.*") reached directly, and "<local>" for names without a dot.
	Bypass []string `json:"bypass,omitempty" yaml:"bypass,omitempty"`
	// AutoConfigURL is WinINet's AutoConfigURL ("Use automatic
	// configuration script"): the http:// or https:// URL of a PAC file,
	// fetched directly. When it gives a script, its FindProxyForURL
	// decides, and Server and Bypass are only the fallback.
	AutoConfigURL string `json:"autoConfigURL,omitempty" yaml:"autoConfigURL,omitempty"`
	// AutoDetect is "Automatically detect settings" (WPAD's DNS
	// discovery of http://wpad.<domain>/wpad.dat, from the profile's
	// dnsSuffix); absent means on, as in a new profile. It is tried before
	// AutoConfigURL. DHCP option 252 is not modelled.
	AutoDetect *bool `json:"autoDetect,omitempty" yaml:"autoDetect,omitempty"`
}

// Credentials are a user's proxy credentials.
type Credentials struct {
	// Username is the account the client authenticates to the proxy as.
	Username string `json:"username" yaml:"username"`
	// Domain is the account's Windows domain, if any.
	Domain string `json:"domain,omitempty" yaml:"domain,omitempty"`
	// Password is the account's password.
	Password string `json:"password" yaml:"password"`
	// Schemes limits the schemes the client answers with: "negotiate"
	// (NTLM inside, as Windows does without Kerberos), "ntlm", "basic".
	// Empty means all three. The client answers the first scheme the
	// proxy offers that it supports.
	Schemes []string `json:"schemes,omitempty" yaml:"schemes,omitempty"`
}

// Authentication schemes the client can answer.
const (
	SchemeNegotiate = "negotiate"
	SchemeNTLM      = "ntlm"
	SchemeBasic     = "basic"
)

// TLSSettings are the TLS versions and cipher suites the client offers.
type TLSSettings struct {
	// DefaultSecureProtocols is the WinHTTP DWORD (0x80 TLS 1.0, 0x200
	// TLS 1.1, 0x800 TLS 1.2, 0x2000 TLS 1.3); 0 means the OS default.
	DefaultSecureProtocols uint32 `json:"defaultSecureProtocols,omitempty" yaml:"defaultSecureProtocols,omitempty" jsonschema:"minimum=0"`
	// Min and Max ("1.0" ... "1.3") override both.
	Min string `json:"min,omitempty" yaml:"min,omitempty"`
	// Max is the highest version the client offers ("1.0" ... "1.3").
	Max string `json:"max,omitempty" yaml:"max,omitempty"`
	// CipherSuites is the client's cipher suite policy (Group Policy "SSL
	// Cipher Suite Order"), in order, by Schannel's names, which are the
	// IANA names ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"): the TLS 1.0
	// to 1.2 suites of Schannel that Go implements ([CipherSuiteNames]).
	// Empty means all of them, in Schannel's order. Go's TLS stack does
	// not let TLS 1.3's suites be chosen, so a profile that sets them
	// offers at most TLS 1.2 (tls.max "1.2").
	CipherSuites []string `json:"cipherSuites,omitempty" yaml:"cipherSuites,omitempty"`
}

// CipherSuiteNames returns the names TLSSettings.CipherSuites accepts, in
// Schannel's order: Schannel's TLS 1.0-1.2 suites that Go implements.
func CipherSuiteNames() []string {
	suites := schannelSuites()
	out := make([]string, len(suites))
	for i, id := range suites {
		out[i] = tls.CipherSuiteName(id)
	}
	return out
}

// cipherSuites returns the suites the profile offers up to TLS 1.2:
// TLS.CipherSuites, else Schannel's.
func (p *Profile) cipherSuites() ([]uint16, error) {
	if len(p.TLS.CipherSuites) == 0 {
		return schannelSuites(), nil
	}
	names := CipherSuiteNames()
	out := make([]uint16, 0, len(p.TLS.CipherSuites))
	for i, name := range p.TLS.CipherSuites {
		field := fmt.Sprintf("tls.cipherSuites[%d]", i)
		n := name
		j := slices.Index(names, n)
		switch {
		case j < 0 && slices.ContainsFunc(tls.CipherSuites(), func(cs *tls.CipherSuite) bool {
			return cs.Name == n && !slices.Contains(cs.SupportedVersions, tls.VersionTLS12)
		}):
			return nil, fieldf(field, "%q is a TLS 1.3 suite, which Go's TLS stack does not let a client choose; list TLS 1.0-1.2 suites: %s", name, strings.Join(names, ", "))
		case j < 0:
			return nil, fieldf(field, "unknown cipher suite %v", enum.Error(name, names))
		case slices.Contains(out, schannelSuites()[j]):
			return nil, fieldf(field, "%s is listed twice", n)
		}
		out = append(out, schannelSuites()[j])
	}
	return out, nil
}

// Timeouts bound the client's waits; zero means the default.
type Timeouts struct {
	// Connect bounds a TCP connection (to a host or the proxy) and the
	// proxy's answer to CONNECT; default 10s.
	Connect time.Duration `json:"connect,omitempty" yaml:"connect,omitempty"`
	// Request bounds each request, TLS handshake included; default 30s.
	Request time.Duration `json:"request,omitempty" yaml:"request,omitempty"`
}

// Default timeouts.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultRequestTimeout = 30 * time.Second
)

// Validate checks the profile; the error names the field. Run calls it
// before any connection is made.
func (p *Profile) Validate() error {
	if !slices.Contains(OSes(), p.OS) {
		return fieldf("os", "unknown OS %v", enum.Error(p.OS, OSes()))
	}
	if err := enum.Check(p.Account, []Account{AccountUser, AccountDefaultUser1}); err != nil {
		return fieldf("account", "unknown account %v", err)
	}
	if strings.TrimSpace(p.UserID) == "" {
		return fieldf("userId", "required")
	}
	if p.NewPassword == "" {
		return fieldf("newPassword", "required")
	}
	for _, src := range []struct {
		name string
		s    *ProxySetting
	}{{"perUser", p.Proxy.PerUser}, {"perMachine", p.Proxy.PerMachine}, {"defaultProfile", p.Proxy.DefaultProfile}, {"winhttp", p.Proxy.WinHTTP}} {
		name, s := src.name, src.s
		if s == nil {
			continue
		}
		if name == "winhttp" && (s.AutoConfigURL != "" || s.AutoDetect != nil) {
			return fieldf("proxy.winhttp", "WinHTTP's machine proxy (netsh winhttp set proxy) has no autoConfigURL or autoDetect; put them in perMachine, perUser or defaultProfile")
		}
		if _, err := s.parse(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return &FieldError{Field: "proxy." + name + "." + fe.Field, Err: fe.Err}
			}
			return &FieldError{Field: "proxy." + name, Err: err}
		}
	}
	if p.DNSSuffix != "" && len(pac.WPADCandidates(p.DNSSuffix)) == 0 {
		return fieldf("dnsSuffix", "%q: want a DNS domain of at least two labels (corp.contoso.com)", p.DNSSuffix)
	}
	if c := p.Credentials; c != nil {
		if c.Username == "" {
			return fieldf("credentials.username", "required")
		}
		for i, s := range c.Schemes {
			switch s {
			case SchemeNegotiate, SchemeNTLM, SchemeBasic:
			default:
				return fieldf(fmt.Sprintf("credentials.schemes[%d]", i), "unknown scheme %v", enum.Error(s, []string{SchemeNegotiate, SchemeNTLM, SchemeBasic}))
			}
		}
		if c.Password == "" {
			return fieldf("credentials.password", "required (%s cannot authenticate without one)", strings.Join(c.schemes(), ", "))
		}
	}
	_, hi, err := p.tlsVersions()
	if err != nil {
		return err
	}
	if _, err := p.cipherSuites(); err != nil {
		return err
	}
	if len(p.TLS.CipherSuites) > 0 && hi > tls.VersionTLS12 {
		return fieldf("tls.cipherSuites", "set, but the client offers TLS 1.3, whose suites Go's TLS stack does not let a client choose: set tls.max to \"1.2\" as well")
	}
	switch p.Revocation {
	case "", RevocationOff, RevocationSoftFail, RevocationHardFail:
	default:
		return fieldf("revocation", "unknown policy %v", enum.Error(p.Revocation, []Revocation{RevocationOff, RevocationSoftFail, RevocationHardFail}))
	}
	for i, m := range p.Methods {
		if !slices.Contains(methods, m) {
			return fieldf(fmt.Sprintf("methods[%d]", i), "unknown method %v", enum.Error(m, methods))
		}
		if p.legacyAddin() && (m == methodAppCode || m == methodAppNotification) {
			return fieldf(fmt.Sprintf("methods[%d]", i), "the %s add-in cannot use the Authenticator app (%s)", p.OS, m)
		}
	}
	if p.ClientType != "" && !clientTypeRe.MatchString(p.ClientType) {
		return fieldf("clientType", "%q: use lower-case letters, digits and dashes", p.ClientType)
	}
	if p.Timeouts.Connect < 0 || p.Timeouts.Request < 0 {
		return fieldf("timeouts", "must not be negative")
	}
	return nil
}

var clientTypeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// FieldError is an invalid profile field; Field is its path in the
// profile's YAML/JSON form ("proxy.perUser", "methods[1]").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

func fieldf(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}

// The verification methods, as the service names them.
const (
	methodEmail             = "email"
	methodSMS               = "sms"
	methodVoice             = "voice"
	methodSecurityQuestions = "securityQuestions"
	methodAppCode           = "appCode"
	methodAppNotification   = "appNotification"
)

var methods = []string{methodEmail, methodSMS, methodVoice, methodSecurityQuestions, methodAppCode, methodAppNotification}

// legacyAddin reports whether the flow runs in the Windows 7/8.1 add-in.
func (p *Profile) legacyAddin() bool { return p.OS == Windows7 || p.OS == Windows81 }

// clientType is the X-SSPR-Client value.
func (p *Profile) clientType() string {
	switch {
	case p.ClientType != "":
		return p.ClientType
	case p.legacyAddin():
		return "windows7-addin"
	}
	return "windows-logon"
}

func (c *Credentials) schemes() []string {
	if len(c.Schemes) == 0 {
		return []string{SchemeNegotiate, SchemeNTLM, SchemeBasic}
	}
	return c.Schemes
}

// TLSVersions returns the TLS versions the profile offers, min and max.
func (p *Profile) TLSVersions() (min, max uint16, err error) { return p.tlsVersions() }

func (p *Profile) tlsVersions() (lo, hi uint16, err error) {
	top := uint16(tls.VersionTLS13)
	if p.OS != Windows11 {
		top = tls.VersionTLS12 // Schannel has TLS 1.3 from Windows 11 on
	}
	switch p.OS {
	case Windows7:
		lo, hi = tls.VersionTLS10, tls.VersionTLS10 // WinHTTP's default (KB3140245)
	case Windows81:
		lo, hi = tls.VersionTLS10, tls.VersionTLS12
	case Windows10:
		lo, hi = tls.VersionTLS12, tls.VersionTLS12
	default:
		lo, hi = tls.VersionTLS12, tls.VersionTLS13
	}
	if mask := p.TLS.DefaultSecureProtocols; mask != 0 {
		if lo, hi, err = maskVersions(mask); err != nil {
			return 0, 0, fieldf("tls.defaultSecureProtocols", "%w", err)
		}
		if hi > top {
			return 0, 0, fieldf("tls.defaultSecureProtocols", "%#x enables TLS 1.3, which %s does not have", mask, p.OS)
		}
	}
	if p.TLS.Min != "" {
		if lo, err = parseVersion(p.TLS.Min); err != nil {
			return 0, 0, fieldf("tls.min", "%w", err)
		}
	}
	if p.TLS.Max != "" {
		if hi, err = parseVersion(p.TLS.Max); err != nil {
			return 0, 0, fieldf("tls.max", "%w", err)
		}
		if hi > top {
			return 0, 0, fieldf("tls.max", "%s does not have TLS 1.3", p.OS)
		}
	}
	if lo > hi {
		return 0, 0, fieldf("tls", "min %s is above max %s", versionName(lo), versionName(hi))
	}
	return lo, hi, nil
}

// maskVersions turns a DefaultSecureProtocols mask into a version range.
func maskVersions(mask uint32) (lo, hi uint16, err error) {
	if mask&(ProtocolSSL2|ProtocolSSL3) != 0 {
		return 0, 0, fmt.Errorf("%#x enables SSL 2.0/3.0, which the client does not speak (Go's TLS stack has no SSL)", mask)
	}
	known := uint32(ProtocolTLS10 | ProtocolTLS11 | ProtocolTLS12 | ProtocolTLS13)
	if mask&^known != 0 {
		return 0, 0, fmt.Errorf("%#x has unknown bits %#x (want 0x80 TLS 1.0, 0x200 TLS 1.1, 0x800 TLS 1.2, 0x2000 TLS 1.3)", mask, mask&^known)
	}
	gap := false
	for _, b := range protocolBits {
		on := mask&b.bit != 0
		switch {
		case on && hi != 0 && gap:
			return 0, 0, fmt.Errorf("%#x leaves a gap below %s; Go's TLS stack offers a contiguous range of versions", mask, versionName(b.version))
		case on:
			if lo == 0 {
				lo = b.version
			}
			hi = b.version
		case hi != 0:
			gap = true
		}
	}
	return lo, hi, nil
}

func parseVersion(s string) (uint16, error) {
	switch strings.TrimPrefix(strings.ToLower(s), "tls") {
	case "1.0", "1":
		return tls.VersionTLS10, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", s)
}

// versionName is "TLS 1.2" and the like.
func versionName(v uint16) string { return tls.VersionName(v) }

// Proxy sources, as Result.ProxySource names them.
const (
	SourcePerMachine     = "per-machine"
	SourcePerUser        = "per-user"
	SourceDefaultProfile = "default-profile"
	SourceWinHTTP        = "winhttp"
	SourceNone           = "none"
)

// FlowProxy returns the proxy settings that apply to the flow's web
// traffic for the profile's account, and where they come from:
// per-machine settings when the policy makes them so (every account);
// otherwise the account's own per-user settings, which for defaultuser1
// are those it inherited from the Default user profile, never the
// signed-in user's. It returns nil and SourceNone for a direct connection.
func (p *Profile) FlowProxy() (*ProxySetting, string) {
	if p.Proxy.PerMachine != nil {
		return p.Proxy.PerMachine, SourcePerMachine
	}
	switch p.Account {
	case AccountUser:
		if p.Proxy.PerUser != nil {
			return p.Proxy.PerUser, SourcePerUser
		}
	case AccountDefaultUser1:
		if p.Proxy.DefaultProfile != nil {
			return p.Proxy.DefaultProfile, SourceDefaultProfile
		}
	}
	return nil, SourceNone
}

// RevocationProxy returns the proxy settings for revocation checks:
// CryptoAPI fetches with WinHTTP, so the WinHTTP machine proxy when one is
// set, else the flow's.
func (p *Profile) RevocationProxy() (*ProxySetting, string) {
	if p.Proxy.WinHTTP != nil {
		return p.Proxy.WinHTTP, SourceWinHTTP
	}
	return p.FlowProxy()
}

// proxyRoute is a parsed ProxySetting.
type proxyRoute struct {
	perScheme map[string]*url.URL // "http", "https", or "" for all
	bypass    []string
}

func (s *ProxySetting) parse() (*proxyRoute, error) {
	r := &proxyRoute{perScheme: map[string]*url.URL{}}
	server := strings.TrimSpace(s.Server)
	if server != "" {
		if strings.Contains(server, "=") {
			for _, part := range strings.Split(server, ";") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				scheme, addr, ok := strings.Cut(part, "=")
				scheme = strings.ToLower(strings.TrimSpace(scheme))
				if !ok || (scheme != "http" && scheme != "https") {
					// redacted: a part may be "user:pass@host:port"
					return nil, fieldf("server", "%q: want http=host:port;https=host:port", redact.Userinfo(part))
				}
				u, err := parseProxyAddr(addr)
				if err != nil {
					return nil, fieldf("server", "%s: %w", scheme, err)
				}
				r.perScheme[scheme] = u
			}
		} else {
			u, err := parseProxyAddr(server)
			if err != nil {
				return nil, fieldf("server", "%w", err)
			}
			r.perScheme[""] = u
		}
	}
	if s.AutoConfigURL != "" {
		if err := pacURLOK(s.AutoConfigURL); err != nil {
			return nil, &FieldError{Field: "autoConfigURL", Err: err}
		}
	}
	for i, entry := range s.Bypass {
		// ProxyOverride is one string of ;-separated entries: a pasted
		// one is split.
		for _, b := range strings.Split(entry, ";") {
			b = strings.ToLower(strings.TrimSpace(b))
			field := fmt.Sprintf("bypass[%d]", i)
			switch {
			case b == "":
				return nil, fieldf(field, "empty entry")
			case strings.Contains(b, "://"), strings.Contains(b, "/"):
				return nil, fieldf(field, "%q: a bypass entry is a host name or wildcard, without a scheme or path", b)
			case b != "<local>" && strings.Contains(b, ":"):
				return nil, fieldf(field, "%q: a bypass entry has no port (the lab client matches host names)", b)
			}
			if _, err := path.Match(b, "x"); err != nil {
				return nil, fieldf(field, "%q: %w", b, err)
			}
			r.bypass = append(r.bypass, b)
		}
	}
	return r, nil
}

// parseProxyAddr parses "host:port" or "http://host:port".
func parseProxyAddr(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	raw := s
	if !strings.Contains(s, "://") {
		raw = "http://" + s
	}
	shown := redact.Userinfo(s) // never a password in an error
	if shown != s {
		return nil, fmt.Errorf("%q: credentials do not belong in the proxy address; use credentials", shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q does not parse as host:port or http://host:port", s)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("%q: proxy scheme %q not supported (want http)", s, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q: no host", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%q: a proxy address has no path or query", s)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("%q: bad port %q", s, port)
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(u.Hostname(), port)}, nil
}

// proxyFor returns the proxy for a request to host over scheme, or nil to
// connect directly.
func (r *proxyRoute) proxyFor(scheme, host string) *url.URL {
	if r == nil {
		return nil
	}
	u := r.perScheme[scheme]
	if u == nil {
		u = r.perScheme[""]
	}
	if u == nil {
		return nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, b := range r.bypass {
		if b == "<local>" {
			if !strings.Contains(host, ".") {
				return nil
			}
			continue
		}
		if ok, _ := path.Match(b, host); ok {
			return nil
		}
	}
	return u
}
