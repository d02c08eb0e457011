package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	//lint:ignore SA1019 NTLM's NT hash is MD4 by definition (MS-NLMP 3.3.1); compatibility is the point.
	"golang.org/x/crypto/md4"
)

// Errors returned by [Server.Authenticate], [Server.Challenge] and
// [ParseAuthorization]. Format errors wrap [ErrMalformed].
var (
	// ErrBadCredentials is an unknown user or a wrong password; the error
	// does not say which. The caller answers 407 (or 401) again.
	ErrBadCredentials = errors.New("ntlm: bad credentials")
	// ErrNTLMv1 is an NTLMv1, NTLM2 session or LM-only response, refused as
	// modern proxies and domain controllers refuse it.
	ErrNTLMv1 = errors.New("ntlm: NTLMv1/LM response refused, only NTLMv2 is accepted")
	// ErrAnonymous is an anonymous AUTHENTICATE (no user name or no response).
	ErrAnonymous = errors.New("ntlm: anonymous authentication refused")
	// ErrKerberos is a Negotiate token carrying Kerberos rather than NTLMSSP.
	ErrKerberos = errors.New("ntlm: Kerberos token in Negotiate: the lab has no KDC, only NTLM inside Negotiate is supported")
	// ErrReplay is a second [Server.Authenticate] with the same [State].
	ErrReplay = errors.New("ntlm: handshake state already used")
	// ErrScheme is an authorization value that is neither NTLM nor Negotiate.
	ErrScheme = errors.New("ntlm: scheme is neither NTLM nor Negotiate")
	// ErrMalformed is wrapped by every format error.
	ErrMalformed = errors.New("ntlm: malformed message")
)

// defaultTargetName is announced when [Server.TargetName] is empty.
const defaultTargetName = "WORKGROUP"

// computerName is the NetBIOS name the server announces for itself.
const computerName = "PROXY"

// Server verifies NTLM and Negotiate (NTLM inside SPNEGO) authentication.
//
// A Server is safe for concurrent use once its fields are set; they must
// not change afterwards.
type Server struct {
	// TargetName is the NetBIOS domain the server announces, e.g. "CONTOSO".
	// Empty announces "WORKGROUP". The DNS domain announced is its
	// lower-case form under .test (e.g. "contoso.test"); the server's own
	// NetBIOS name is "PROXY".
	TargetName string
	// Password returns the password of user in domain (domain may be "" or any case), and whether the user exists.
	Password func(user, domain string) (string, bool)
	// Now (optional) for the challenge's timestamp; defaults to time.Now.
	Now func() time.Time
}

// State is one connection's handshake in progress: the server challenge it issued.
// It is single-use and safe for concurrent use: of two [Server.Authenticate]
// calls with the same State, at most one can succeed.
type State struct {
	serverChallenge [8]byte
	used            atomic.Bool
}

// Challenge answers a NEGOTIATE message: it returns the CHALLENGE message
// (MS-NLMP 2.2.1.2: random 8-byte server challenge, negotiate flags
// answering the client's (unicode or OEM, NTLM, extended session security,
// target info, version as appropriate), target info AV pairs with
// MsvAvNbDomainName, MsvAvNbComputerName, MsvAvDnsDomainName,
// MsvAvDnsComputerName, MsvAvTimestamp, MsvAvEOL), and the State to keep
// for the connection.
func (s *Server) Challenge(negotiate []byte) (challenge []byte, st *State, err error) {
	clientFlags, err := parseNegotiate(negotiate)
	if err != nil {
		return nil, nil, fmt.Errorf("negotiate: %w", err)
	}
	st = new(State)
	rand.Read(st.serverChallenge[:]) // never fails (crypto/rand, Go 1.24+)

	target := s.TargetName
	if target == "" {
		target = defaultTargetName
	}
	target = strings.ToUpper(target)
	dnsDomain := strings.ToLower(target) + ".test"
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var info avPairs
	info = info.addString(avNbDomainName, target)
	info = info.addString(avNbComputerName, computerName)
	info = info.addString(avDNSDomainName, dnsDomain)
	info = info.addString(avDNSComputerName, strings.ToLower(computerName)+"."+dnsDomain)
	info = info.add(avTimestamp, binary.LittleEndian.AppendUint64(nil, filetime(now())))
	info = info.add(avEOL, nil)

	return buildChallenge(challengeFlags(clientFlags), st.serverChallenge, target, info), st, nil
}

// filetime converts t to a Windows FILETIME: 100 ns since 1601-01-01 UTC.
func filetime(t time.Time) uint64 {
	const epochDelta = 116444736000000000 // 1601 to 1970 in 100 ns
	return uint64(t.UnixNano()/100 + epochDelta)
}

// Authenticate verifies an AUTHENTICATE message against st: NTLMv2 only
// (NTProofStr = HMAC-MD5(NTOWFv2, serverChallenge || blob), NTOWFv2 =
// HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain))), where
// the domain is taken as the client sent it. It returns the authenticated
// identity "DOMAIN\user" (as sent; just "user" when the client sent no
// domain). Errors: [ErrBadCredentials] (unknown user or wrong password: the
// caller answers 407 again; the error does not say which), [ErrNTLMv1] (an
// NTLMv1/LM response: refused, as modern proxies do), [ErrAnonymous],
// [ErrReplay] and format errors wrapping [ErrMalformed]. A State is
// single-use: any second Authenticate with the same State fails (replay),
// whatever the first one returned.
func (s *Server) Authenticate(st *State, authenticate []byte) (identity string, err error) {
	if st == nil {
		return "", errors.New("ntlm: authenticate without a challenge (nil State)")
	}
	if st.used.Swap(true) {
		return "", ErrReplay
	}
	if s.Password == nil {
		return "", errors.New("ntlm: Server.Password is nil")
	}
	m, err := parseAuthenticate(authenticate)
	if err != nil {
		return "", fmt.Errorf("authenticate: %w", err)
	}
	switch {
	case m.flags&flagAnonymous != 0 || m.user == "" || (len(m.nt) == 0 && len(m.lm) <= 1):
		return "", ErrAnonymous
	case len(m.nt) == ntlmv1ResponseSize || len(m.nt) == 0:
		return "", ErrNTLMv1
	case len(m.nt) < ntlmv2MinResponseSize:
		return "", malformed("authenticate: NT response of %d bytes is neither NTLMv1 (24) nor NTLMv2 (at least %d)", len(m.nt), ntlmv2MinResponseSize)
	}
	proof, blob := m.nt[:ntProofSize], m.nt[ntProofSize:]
	if blob[0] != 1 || blob[1] != 1 {
		return "", malformed("authenticate: NTLMv2 blob version %d.%d, want 1.1", blob[0], blob[1])
	}

	identity = m.user
	if m.domain != "" {
		identity = m.domain + `\` + m.user
	}
	password, ok := s.Password(m.user, m.domain)
	// An unknown user costs the same work as a wrong password.
	want := ntProof(ntowfv2(password, m.user, m.domain), st.serverChallenge[:], blob)
	if !hmac.Equal(want, proof) || !ok {
		return "", fmt.Errorf("%w for %s", ErrBadCredentials, printable(identity))
	}
	return identity, nil
}

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2).
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)+domain))
}

// ntProof is NTProofStr (MS-NLMP 3.3.2).
func ntProof(key, serverChallenge, blob []byte) []byte {
	return hmacMD5(key, serverChallenge, blob)
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// maxPrintable bounds how much of a client-chosen name goes into an error.
const maxPrintable = 256

// printable returns s for an error message: quoted when it holds anything
// but printable characters (the caller may log it), and cut to
// maxPrintable bytes.
func printable(s string) string {
	cut := len(s) > maxPrintable
	if cut {
		s = strings.ToValidUTF8(s[:maxPrintable], "")
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		s = strconv.QuoteToGraphic(s)
	}
	if cut {
		s += "..."
	}
	return s
}
