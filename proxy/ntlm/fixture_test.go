package ntlm_test

import (
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/ntlm"
)

// users are the lab's accounts in CONTOSO, keyed by lower-case name.
var users = map[string]string{
	"alice": "Passw0rd!",
	"bob":   "hunter2",
	"jörg":  "Pässwörd€",
}

// fixedNow is the clock of servers built by newServer.
var fixedNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// newServer returns a CONTOSO server: user names are case-insensitive,
// the domain may be empty or CONTOSO in any case.
func newServer() *ntlm.Server {
	return &ntlm.Server{
		TargetName: "CONTOSO",
		Password: func(user, domain string) (string, bool) {
			if domain != "" && !strings.EqualFold(domain, "CONTOSO") {
				return "", false
			}
			p, ok := users[strings.ToLower(user)]
			return p, ok
		},
		Now: func() time.Time { return fixedNow },
	}
}

// azureNegotiate is the NEGOTIATE message of github.com/Azure/go-ntlmssp.
func azureNegotiate(t testing.TB) []byte {
	t.Helper()
	neg, err := ntlmssp.NewNegotiateMessage("", "")
	require.NoError(t, err)
	return neg
}

// azureAuthenticate answers a CHALLENGE as github.com/Azure/go-ntlmssp does;
// username may be `DOMAIN\user`.
func azureAuthenticate(t testing.TB, challenge []byte, username, password string) []byte {
	t.Helper()
	auth, err := ntlmssp.NewAuthenticateMessage(challenge, username, password, nil)
	require.NoError(t, err)
	return auth
}

// azureHandshake runs the three legs against srv with
// github.com/Azure/go-ntlmssp as the client.
func azureHandshake(t testing.TB, srv *ntlm.Server, username, password string) (string, error) {
	t.Helper()
	challenge, st, err := srv.Challenge(azureNegotiate(t))
	require.NoError(t, err)
	return srv.Authenticate(st, azureAuthenticate(t, challenge, username, password))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// SPNEGO, as a client builds it (RFC 4178).
var (
	oidSPNEGO     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	oidNTLMSSP    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	oidKerberos   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	oidMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
)

type negTokenInit struct {
	MechTypes   []asn1.ObjectIdentifier `asn1:"explicit,tag:0"`
	ReqFlags    asn1.BitString          `asn1:"explicit,optional,tag:1"`
	MechToken   []byte                  `asn1:"explicit,optional,tag:2"`
	MechListMIC []byte                  `asn1:"explicit,optional,tag:3"`
}

type negTokenResp struct {
	NegState      asn1.Enumerated       `asn1:"explicit,optional,tag:0"`
	SupportedMech asn1.ObjectIdentifier `asn1:"explicit,optional,tag:1"`
	ResponseToken []byte                `asn1:"explicit,optional,tag:2"`
	MechListMIC   []byte                `asn1:"explicit,optional,tag:3"`
}

// gssToken frames inner as a GSS-API InitialContextToken for mech:
// [APPLICATION 0] IMPLICIT SEQUENCE { thisMech, innerContextToken }.
func gssToken(t testing.TB, mech asn1.ObjectIdentifier, inner []byte) []byte {
	t.Helper()
	oid, err := asn1.Marshal(mech)
	require.NoError(t, err)
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: append(oid, inner...)})
	require.NoError(t, err)
	return b
}

// spnegoInit wraps a mechToken in a NegTokenInit offering mechs.
func spnegoInit(t testing.TB, mechs []asn1.ObjectIdentifier, mechToken []byte) []byte {
	t.Helper()
	inner, err := asn1.MarshalWithParams(negTokenInit{MechTypes: mechs, MechToken: mechToken}, "explicit,tag:0")
	require.NoError(t, err)
	return gssToken(t, oidSPNEGO, inner)
}

// spnegoResp wraps a responseToken in a NegTokenResp, as a client's
// second SPNEGO leg does.
func spnegoResp(t testing.TB, responseToken []byte) []byte {
	t.Helper()
	b, err := asn1.MarshalWithParams(negTokenResp{ResponseToken: responseToken}, "explicit,tag:1")
	require.NoError(t, err)
	return b
}

// kerberosToken is a GSS-API Kerberos AP-REQ token as far as the framing
// goes; its body is junk, which the server must never get to read.
func kerberosToken(t testing.TB) []byte {
	return gssToken(t, oidKerberos, []byte{0x01, 0x00, 0x6e, 0x03, 0x30, 0x01, 0x00})
}

// rawAuthenticate lays out an AUTHENTICATE message by hand (MS-NLMP
// 2.2.1.3), for messages no library client would send.
type rawAuthenticate struct {
	lm, nt, domain, user, workstation []byte
	flags                             uint32
}

func (m rawAuthenticate) bytes() []byte {
	const header = 64
	msg := make([]byte, header)
	copy(msg, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(msg[8:], 3)
	off := header
	for i, f := range [][]byte{m.lm, m.nt, m.domain, m.user, m.workstation, nil} {
		at := 12 + 8*i
		binary.LittleEndian.PutUint16(msg[at:], uint16(len(f)))
		binary.LittleEndian.PutUint16(msg[at+2:], uint16(len(f)))
		binary.LittleEndian.PutUint32(msg[at+4:], uint32(off))
		off += len(f)
	}
	binary.LittleEndian.PutUint32(msg[60:], m.flags)
	for _, f := range [][]byte{m.lm, m.nt, m.domain, m.user, m.workstation} {
		msg = append(msg, f...)
	}
	return msg
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// rawNegotiate lays out a NEGOTIATE message with the given flags and no
// domain or workstation, 32 bytes like curl's.
func rawNegotiate(flags uint32) []byte {
	msg := make([]byte, 32)
	copy(msg, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(msg[8:], 1)
	binary.LittleEndian.PutUint32(msg[12:], flags)
	return msg
}

// Negotiate flags the tests look at (MS-NLMP 2.2.2.5).
const (
	flagUnicode       = 1 << 0
	flagOEM           = 1 << 1
	flagRequestTarget = 1 << 2
	flagNTLM          = 1 << 9
	flagAnonymous     = 1 << 11
	flagAlwaysSign    = 1 << 15
	flagESS           = 1 << 19
	flagTargetInfo    = 1 << 23
	flagVersion       = 1 << 25
	flagKeyExch       = 1 << 30
	flagLMKey         = 1 << 7

	// curlFlags are the NEGOTIATE flags of curl 7.88.
	curlFlags = flagOEM | flagRequestTarget | flagNTLM | flagESS | flagAlwaysSign
)

// challengeFields decodes what the tests check in a CHALLENGE message.
type challengeFields struct {
	flags           uint32
	serverChallenge [8]byte
	targetName      []byte
	version         [8]byte
	avPairs         map[uint16][]byte
}

func parseChallenge(t testing.TB, msg []byte) challengeFields {
	t.Helper()
	require.GreaterOrEqual(t, len(msg), 56)
	require.Equal(t, "NTLMSSP\x00", string(msg[:8]))
	require.EqualValues(t, 2, binary.LittleEndian.Uint32(msg[8:]))
	field := func(at int) []byte {
		n := int(binary.LittleEndian.Uint16(msg[at:]))
		off := int(binary.LittleEndian.Uint32(msg[at+4:]))
		require.LessOrEqual(t, off+n, len(msg))
		return msg[off : off+n]
	}
	c := challengeFields{
		flags:      binary.LittleEndian.Uint32(msg[20:]),
		targetName: field(12),
		avPairs:    map[uint16][]byte{},
	}
	copy(c.serverChallenge[:], msg[24:])
	copy(c.version[:], msg[48:])
	info := field(40)
	for len(info) >= 4 {
		id, n := binary.LittleEndian.Uint16(info), int(binary.LittleEndian.Uint16(info[2:]))
		require.LessOrEqual(t, 4+n, len(info))
		c.avPairs[id] = info[4 : 4+n]
		info = info[4+n:]
		if id == 0 {
			break
		}
	}
	require.Empty(t, info, "bytes after MsvAvEOL")
	return c
}
