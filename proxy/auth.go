package proxy

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/egresslab/egresslab/internal/enum"
	"github.com/egresslab/egresslab/proxy/fault"
	"github.com/egresslab/egresslab/proxy/ntlm"
)

// Authentication schemes, as offered in Proxy-Authenticate.
const (
	SchemeBasic     = "basic"
	SchemeNTLM      = "ntlm"
	SchemeNegotiate = "negotiate"
)

// User is a proxy account. Its password is used to verify Basic and NTLM
// credentials and is never logged or recorded.
type User struct {
	// Name is the user's name.
	Name string `json:"name" yaml:"name"`
	// Domain is the user's Windows domain, if any.
	Domain string `json:"domain,omitempty" yaml:"domain,omitempty"`
	// Password is the user's password.
	Password string `json:"password" yaml:"password"`
}

// Auth configures proxy authentication.
type Auth struct {
	// Realm is Basic's realm; default "egresslab proxy".
	Realm string `json:"realm,omitempty" yaml:"realm,omitempty"`
	// Schemes are offered in this order in a 407 (clients pick the first
	// they support): "negotiate", "ntlm", "basic". Default: basic.
	Schemes []string `json:"schemes,omitempty" yaml:"schemes,omitempty"`
	// Domain is the NTLM target (NetBIOS domain) the proxy announces;
	// default "LAB".
	Domain string `json:"domain,omitempty" yaml:"domain,omitempty"`
	Users  []User `json:"users" yaml:"users"`
	// SurrogateTTL turns on IP surrogates, as appliances keep them (the
	// "IP address" surrogate and its Surrogate Timeout of Cisco's Web
	// Security Appliance; Squid 2.7's authenticate_ip_shortcircuit_ttl):
	// once a client address has authenticated, requests from that
	// address that carry no credentials pass as that user, without a
	// challenge, until SurrogateTTL has passed since its last
	// authenticated request (credentials checked, or a request on a
	// connection NTLM has authenticated); a request that carries
	// credentials has them checked, surrogate or not.
	// The journal marks the requests that passed so (Entry.Surrogate).
	// 0, the default, keeps no surrogates. (Squid's authenticate_ip_ttl
	// is not one: it only remembers addresses for max_user_ip.)
	SurrogateTTL fault.Duration `json:"surrogateTTL,omitempty" yaml:"surrogateTTL,omitempty"`
	// KerberosOnly makes Negotiate accept Kerberos only, as a Squid with
	// negotiate_kerberos_auth alone does: an NTLM token inside Negotiate
	// (what Windows sends without a Kerberos ticket, raw or in SPNEGO)
	// gets 407 again. Kerberos itself is not modelled, so no Negotiate
	// token is ever accepted: the signed-in user fails there too, where
	// on a real network a domain-joined user with a ticket would pass.
	// It needs "negotiate" in Schemes; an "ntlm" scheme offered beside it
	// still accepts NTLM.
	KerberosOnly bool `json:"kerberosOnly,omitempty" yaml:"kerberosOnly,omitempty"`
}

// Validate checks the configuration; the error names the field.
func (a *Auth) Validate() error {
	var errs []error
	for i, s := range a.Schemes {
		if s != SchemeBasic && s != SchemeNTLM && s != SchemeNegotiate {
			errs = append(errs, fmt.Errorf("schemes[%d]: unknown scheme %w", i, enum.Error(s, []string{SchemeBasic, SchemeNTLM, SchemeNegotiate})))
		}
	}
	seen := map[string]bool{}
	for i, u := range a.Users {
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("users[%d].name: required", i))
		case strings.ContainsAny(u.Name, `:\@`):
			errs = append(errs, fmt.Errorf("users[%d].name: %q must not contain ':', '\\' or '@' (put the domain in domain)", i, u.Name))
		case seen[strings.ToLower(u.Name)]:
			errs = append(errs, fmt.Errorf("users[%d].name: duplicate user %q", i, u.Name))
		}
		seen[strings.ToLower(u.Name)] = true
		if u.Password == "" {
			errs = append(errs, fmt.Errorf("users[%d].password: required", i))
		}
	}
	if len(a.Users) == 0 {
		errs = append(errs, errors.New("users: at least one user is required"))
	}
	if a.SurrogateTTL < 0 {
		errs = append(errs, fmt.Errorf("surrogateTTL: %v must not be negative", a.SurrogateTTL))
	}
	if a.KerberosOnly && len(a.Schemes) > 0 && !slices.Contains(a.Schemes, SchemeNegotiate) {
		errs = append(errs, errors.New("kerberosOnly: needs negotiate among the schemes"))
	}
	if a.KerberosOnly && len(a.Schemes) == 0 {
		errs = append(errs, errors.New("kerberosOnly: needs negotiate among the schemes (the default is basic alone)"))
	}
	return errors.Join(errs...)
}

// authenticator checks credentials. Basic is checked on every request;
// NTLM and Negotiate authenticate the connection, so their state is kept
// per client connection and dropped when it closes. When the proxy is a
// handler in another server, it cannot see connections: the handshake's
// state is then kept by client address, and no connection stays
// authenticated (each request must carry its own credentials).
type authenticator struct {
	realm   string
	schemes []string
	users   map[string]User // lower-case name
	ntlm    *ntlm.Server

	// kerberosOnly refuses NTLM inside Negotiate; surrogateTTL > 0 keeps
	// IP surrogates, read with now.
	kerberosOnly bool
	surrogateTTL time.Duration
	now          func() time.Time

	mu    sync.Mutex
	conns map[any]*connAuth // net.Conn, or the remote address without one
	// surrogates are the client addresses that authenticated, with whom
	// and when they last did.
	surrogates map[netip.Addr]surrogate
}

// surrogate is a client address's last authentication.
type surrogate struct {
	user string
	at   time.Time
}

// maxConnStates bounds the handshakes kept when connections cannot be
// seen (the proxy as another server's handler).
const maxConnStates = 10000

type connAuth struct {
	state *ntlm.State
	user  string // authenticated identity, once the handshake succeeded
}

func newAuthenticator(a Auth) (*authenticator, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	au := &authenticator{realm: a.Realm, schemes: a.Schemes, users: map[string]User{}, conns: map[any]*connAuth{},
		kerberosOnly: a.KerberosOnly, surrogateTTL: time.Duration(a.SurrogateTTL), now: time.Now, surrogates: map[netip.Addr]surrogate{}}
	if au.realm == "" {
		au.realm = "egresslab proxy"
	}
	if len(au.schemes) == 0 {
		au.schemes = []string{SchemeBasic}
	}
	for _, u := range a.Users {
		au.users[strings.ToLower(u.Name)] = u
	}
	domain := a.Domain
	if domain == "" {
		domain = "LAB"
	}
	au.ntlm = &ntlm.Server{TargetName: domain, Password: au.password}
	return au, nil
}

// password looks a user up for NTLM: the name is case-insensitive, and a
// user with a domain must be named in it.
func (a *authenticator) password(name, domain string) (string, bool) {
	u, ok := a.users[strings.ToLower(name)]
	if !ok || (u.Domain != "" && domain != "" && !strings.EqualFold(u.Domain, domain)) {
		return "", false
	}
	return u.Password, true
}

func (a *authenticator) offers(scheme string) bool { return slices.Contains(a.schemes, scheme) }

// challenges are the Proxy-Authenticate values of a fresh 407. On a
// connection the proxy is about to close (closing), a handshake that
// needs the connection cannot finish, so only Basic is offered there, as
// Squid does; a proxy without Basic still names its schemes, which bind
// nothing until a NEGOTIATE message comes, so that the client knows to
// come back on a kept-alive connection.
func (a *authenticator) challenges(closing bool) []string {
	schemes := a.schemes
	if closing && a.offers(SchemeBasic) {
		schemes = []string{SchemeBasic}
	}
	out := make([]string, 0, len(schemes))
	for _, s := range schemes {
		switch s {
		case SchemeBasic:
			out = append(out, fmt.Sprintf("Basic realm=%q", a.realm))
		case SchemeNTLM:
			out = append(out, "NTLM")
		case SchemeNegotiate:
			out = append(out, "Negotiate")
		}
	}
	return out
}

// authResult is the outcome of checking a request's credentials.
type authResult struct {
	user       string   // authenticated identity; "" when not
	surrogate  bool     // user is the client address's surrogate
	challenges []string // Proxy-Authenticate values for the 407
	reason     string   // why not, for the journal (never a credential)
}

// check verifies the request's credentials on connection conn (nil when
// the proxy cannot see connections). closing says the connection ends
// after this answer: no connection-bound challenge is sent on it.
func (a *authenticator) check(r *http.Request, conn net.Conn, closing bool) authResult {
	res := a.checkCredentials(r, conn, closing)
	if a.surrogateTTL > 0 {
		if res.user != "" {
			a.remember(r.RemoteAddr, res.user)
		} else if r.Header.Get("Proxy-Authorization") == "" {
			if user, ok := a.surrogateFor(r.RemoteAddr); ok {
				return authResult{user: user, surrogate: true}
			}
		}
	}
	return res
}

// clientAddr is the address of a request's client, unmapped.
func clientAddr(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// remember makes user the surrogate of the client address, from now.
func (a *authenticator) remember(remote, user string) {
	ip, ok := clientAddr(remote)
	if !ok {
		return
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, known := a.surrogates[ip]; !known && len(a.surrogates) >= maxConnStates {
		for k, s := range a.surrogates { // drop the expired, or else an arbitrary one
			if now.Sub(s.at) >= a.surrogateTTL {
				delete(a.surrogates, k)
			}
		}
		for k := range a.surrogates {
			if len(a.surrogates) < maxConnStates {
				break
			}
			delete(a.surrogates, k)
		}
	}
	a.surrogates[ip] = surrogate{user: user, at: now}
}

// surrogateFor returns the user the client address authenticated as
// within the TTL.
func (a *authenticator) surrogateFor(remote string) (string, bool) {
	ip, ok := clientAddr(remote)
	if !ok {
		return "", false
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.surrogates[ip]
	if !ok {
		return "", false
	}
	if now.Sub(s.at) >= a.surrogateTTL {
		delete(a.surrogates, ip)
		return "", false
	}
	return s.user, true
}

// checkCredentials is check without surrogates.
func (a *authenticator) checkCredentials(r *http.Request, conn net.Conn, closing bool) authResult {
	var key any = conn
	if conn == nil {
		key = r.RemoteAddr
	}
	a.mu.Lock()
	ca := a.conns[key]
	a.mu.Unlock()
	h := r.Header.Get("Proxy-Authorization")
	if ca != nil && ca.user != "" && h == "" && conn != nil {
		return authResult{user: ca.user} // the connection is authenticated
	}
	if h == "" {
		return authResult{challenges: a.challenges(closing), reason: "no credentials"}
	}
	scheme, _, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		if !a.offers(SchemeBasic) {
			return authResult{challenges: a.challenges(closing), reason: "Basic not offered"}
		}
		return a.basic(h, closing)
	case "ntlm", "negotiate":
		if !a.offers(strings.ToLower(scheme)) {
			return authResult{challenges: a.challenges(closing), reason: scheme + " not offered"}
		}
		if closing {
			a.forget(key)
			return authResult{challenges: a.challenges(closing), reason: strings.ToLower(scheme) + " needs a kept-alive connection, and this one closes after the answer"}
		}
		if a.kerberosOnly && strings.EqualFold(scheme, "negotiate") {
			a.forget(key)
			reason := "Negotiate accepts Kerberos only here, and Kerberos is not modelled: token refused"
			if _, err := ntlm.ParseAuthorization(h); err == nil {
				reason = "NTLM inside Negotiate refused: Negotiate accepts Kerberos only here"
			}
			return authResult{challenges: a.challenges(closing), reason: reason}
		}
		return a.connection(h, key)
	}
	return authResult{challenges: a.challenges(closing), reason: "unsupported scheme " + strings.ToLower(scheme)}
}

func (a *authenticator) basic(h string, closing bool) authResult {
	fail := authResult{challenges: a.challenges(closing), reason: "bad Basic credentials"}
	_, enc, _ := strings.Cut(h, " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return fail
	}
	name, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return fail
	}
	domain := ""
	if d, n, ok := strings.Cut(name, `\`); ok {
		domain, name = d, n
	}
	want, ok := a.password(name, domain)
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		return fail
	}
	if domain != "" {
		return authResult{user: domain + `\` + name}
	}
	return authResult{user: name}
}

// connection runs the NTLM (or NTLM-in-Negotiate) handshake for the
// connection: NEGOTIATE gets a CHALLENGE, AUTHENTICATE is verified.
func (a *authenticator) connection(h string, key any) authResult {
	tok, err := ntlm.ParseAuthorization(h)
	if err != nil {
		a.forget(key)
		return authResult{challenges: a.challenges(false), reason: "bad " + strings.ToLower(strings.Fields(h)[0]) + " token: " + err.Error()}
	}
	switch tok.Type() {
	case ntlm.TypeNegotiate:
		challenge, st, err := a.ntlm.Challenge(tok.Message)
		if err != nil {
			a.forget(key)
			return authResult{challenges: a.challenges(false), reason: "bad NTLM negotiate: " + err.Error()}
		}
		a.mu.Lock()
		if len(a.conns) >= maxConnStates {
			for k := range a.conns { // drop an arbitrary old handshake
				delete(a.conns, k)
				break
			}
		}
		a.conns[key] = &connAuth{state: st}
		a.mu.Unlock()
		return authResult{challenges: []string{ntlm.Header(tok.Scheme, challenge, tok.SPNEGO)}, reason: "NTLM challenge sent"}
	case ntlm.TypeAuthenticate:
		a.mu.Lock()
		ca := a.conns[key]
		a.mu.Unlock()
		if ca == nil || ca.state == nil {
			return authResult{challenges: a.challenges(false), reason: "NTLM authenticate without a challenge on this connection"}
		}
		id, err := a.ntlm.Authenticate(ca.state, tok.Message)
		if err != nil {
			a.forget(key)
			return authResult{challenges: a.challenges(false), reason: "NTLM authentication failed: " + err.Error()}
		}
		a.mu.Lock()
		a.conns[key] = &connAuth{user: id}
		a.mu.Unlock()
		return authResult{user: id}
	}
	return authResult{challenges: a.challenges(false), reason: "unexpected NTLM message type"}
}

func (a *authenticator) forget(key any) {
	a.mu.Lock()
	delete(a.conns, key)
	a.mu.Unlock()
}
