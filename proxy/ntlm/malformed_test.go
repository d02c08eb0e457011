package ntlm_test

import (
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/ntlm"
)

// realAuthenticate is an AUTHENTICATE from github.com/Azure/go-ntlmssp
// with the right password, and the state it answers.
func realAuthenticate(t testing.TB, srv *ntlm.Server) ([]byte, *ntlm.State) {
	t.Helper()
	challenge, st, err := srv.Challenge(azureNegotiate(t))
	require.NoError(t, err)
	return azureAuthenticate(t, challenge, `CONTOSO\alice`, "Passw0rd!"), st
}

// patch returns a copy of msg with v written little-endian at off.
func patch(msg []byte, off int, v any) []byte {
	b := append([]byte(nil), msg...)
	switch v := v.(type) {
	case uint16:
		binary.LittleEndian.PutUint16(b[off:], v)
	case uint32:
		binary.LittleEndian.PutUint32(b[off:], v)
	}
	return b
}

// ntlmv2Response is a well-formed NTLMv2 response with a wrong proof.
func ntlmv2Response(blobVersion byte) []byte {
	resp := make([]byte, 16+28+4)
	resp[16], resp[17] = blobVersion, blobVersion
	return resp
}

func TestAuthenticateMalformed(t *testing.T) {
	t.Parallel()
	good, _ := realAuthenticate(t, newServer())
	unicode := uint32(flagUnicode | flagNTLM)
	tests := map[string]struct {
		msg []byte
		err error
	}{
		"nil":                     {nil, ntlm.ErrMalformed},
		"signature only":          {[]byte("NTLMSSP\x00"), ntlm.ErrMalformed},
		"wrong signature":         {append([]byte("NTLMSSX\x00"), good[8:]...), ntlm.ErrMalformed},
		"wrong message type":      {patch(good, 8, uint32(1)), ntlm.ErrMalformed},
		"a NEGOTIATE":             {azureNegotiate(t), ntlm.ErrMalformed},
		"header cut short":        {good[:63], ntlm.ErrMalformed},
		"payload cut short":       {good[:len(good)-1], ntlm.ErrMalformed},
		"NT offset past the end":  {patch(good, 24, uint32(0xffffffff)), ntlm.ErrMalformed},
		"NT length past the end":  {patch(good, 20, uint16(0xffff)), ntlm.ErrMalformed},
		"LM offset overflow":      {patch(patch(good, 12, uint16(8)), 16, uint32(0xfffffffc)), ntlm.ErrMalformed},
		"user offset past end":    {patch(good, 40, uint32(len(good))), ntlm.ErrMalformed},
		"user length huge":        {patch(good, 36, uint16(0xffff)), ntlm.ErrMalformed},
		"domain past the end":     {patch(good, 32, uint32(1<<31)), ntlm.ErrMalformed},
		"workstation past end":    {patch(patch(good, 44, uint16(4)), 48, uint32(0xffffffff)), ntlm.ErrMalformed},
		"session key past end":    {patch(patch(good, 52, uint16(16)), 56, uint32(len(good))), ntlm.ErrMalformed},
		"too large":               {append(append([]byte(nil), good...), make([]byte, ntlm.MaxMessageSize)...), ntlm.ErrMalformed},
		"odd UTF-16 user name":    {rawAuthenticate{nt: ntlmv2Response(1), user: []byte("abc"), flags: unicode}.bytes(), ntlm.ErrMalformed},
		"NTLMv2 blob version 2":   {rawAuthenticate{nt: ntlmv2Response(2), user: utf16le("alice"), flags: unicode}.bytes(), ntlm.ErrMalformed},
		"NT response of 30 bytes": {rawAuthenticate{nt: make([]byte, 30), user: utf16le("alice"), flags: unicode}.bytes(), ntlm.ErrMalformed},
		"NT response of 43 bytes": {rawAuthenticate{nt: make([]byte, 43), user: utf16le("alice"), flags: unicode}.bytes(), ntlm.ErrMalformed},
		"NTLMv1":                  {rawAuthenticate{lm: make([]byte, 24), nt: make([]byte, 24), user: utf16le("alice"), flags: unicode}.bytes(), ntlm.ErrNTLMv1},
		"NTLM2 session response":  {rawAuthenticate{lm: make([]byte, 24), nt: make([]byte, 24), user: utf16le("alice"), flags: unicode | flagESS}.bytes(), ntlm.ErrNTLMv1},
		"LM only":                 {rawAuthenticate{lm: make([]byte, 24), user: utf16le("alice"), flags: unicode}.bytes(), ntlm.ErrNTLMv1},
		"anonymous":               {rawAuthenticate{lm: []byte{0}, flags: unicode | flagAnonymous}.bytes(), ntlm.ErrAnonymous},
		"anonymous, no flag":      {rawAuthenticate{flags: unicode}.bytes(), ntlm.ErrAnonymous},
		"no user name":            {rawAuthenticate{nt: ntlmv2Response(1), flags: unicode}.bytes(), ntlm.ErrAnonymous},
		"NTLMv2, wrong proof":     {rawAuthenticate{nt: ntlmv2Response(1), user: utf16le("alice"), flags: unicode}.bytes(), ntlm.ErrBadCredentials},
		"NTLMv2, wrong proof OEM": {rawAuthenticate{nt: ntlmv2Response(1), user: []byte("alice\xff"), flags: flagOEM}.bytes(), ntlm.ErrBadCredentials},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			_, st, err := srv.Challenge(azureNegotiate(t))
			require.NoError(t, err)
			id, err := srv.Authenticate(st, tt.msg)
			require.ErrorIs(t, err, tt.err)
			assert.Empty(t, id)
		})
	}
}

// TestAuthenticateEveryTruncation cuts a real message at every length.
func TestAuthenticateEveryTruncation(t *testing.T) {
	t.Parallel()
	srv := newServer()
	good, _ := realAuthenticate(t, srv)
	for n := range len(good) {
		_, st, err := srv.Challenge(azureNegotiate(t))
		require.NoError(t, err)
		_, err = srv.Authenticate(st, good[:n])
		require.ErrorIs(t, err, ntlm.ErrMalformed, "cut at %d of %d", n, len(good))
	}
}

func TestAuthenticateMisuse(t *testing.T) {
	t.Parallel()
	srv := newServer()
	good, st := realAuthenticate(t, srv)
	_, err := srv.Authenticate(nil, good)
	require.Error(t, err)

	noPassword := &ntlm.Server{TargetName: "CONTOSO"}
	_, err = noPassword.Authenticate(st, good)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Password is nil")
}

func TestChallengeMalformed(t *testing.T) {
	t.Parallel()
	neg := azureNegotiate(t)
	domainSupplied := patch(rawNegotiate(flagUnicode|1<<12), 16, uint16(4))
	tests := map[string][]byte{
		"nil":                        nil,
		"short":                      neg[:15],
		"header only":                neg[:12],
		"wrong signature":            append([]byte("XTLMSSP\x00"), neg[8:]...),
		"wrong message type":         patch(neg, 8, uint32(3)),
		"type 0x100000001":           patch(neg, 8, uint32(0x10000001)),
		"domain past the end":        patch(domainSupplied, 20, uint32(30)),
		"domain offset huge":         patch(domainSupplied, 20, uint32(0xffffffff)),
		"workstation length too big": patch(patch(rawNegotiate(flagUnicode|1<<13), 24, uint16(0xffff)), 28, uint32(32)),
		"domain supplied, 16 bytes":  rawNegotiate(flagUnicode | 1<<12)[:16],
		"larger than MaxMessageSize": append(append([]byte(nil), neg...), make([]byte, ntlm.MaxMessageSize)...),
		"an AUTHENTICATE message":    rawAuthenticate{}.bytes(),
		"a CHALLENGE message":        challengeMsg(t),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			challenge, st, err := newServer().Challenge(msg)
			require.ErrorIs(t, err, ntlm.ErrMalformed)
			assert.Nil(t, challenge)
			assert.Nil(t, st)
		})
	}
}

func challengeMsg(t testing.TB) []byte {
	c, _, err := newServer().Challenge(azureNegotiate(t))
	require.NoError(t, err)
	return c
}

func TestParseAuthorizationMalformed(t *testing.T) {
	t.Parallel()
	neg := azureNegotiate(t)
	tests := map[string]struct {
		header string
		err    error
	}{
		"empty":                    {"", ntlm.ErrScheme},
		"Basic":                    {"Basic YWxpY2U6UGFzc3cwcmQh", ntlm.ErrScheme},
		"Kerberos":                 {"Kerberos " + b64(neg), ntlm.ErrScheme},
		"NTLMX":                    {"NTLMX " + b64(neg), ntlm.ErrScheme},
		"NTLM without a token":     {"NTLM", ntlm.ErrMalformed},
		"NTLM with spaces only":    {"NTLM    ", ntlm.ErrMalformed},
		"Negotiate without token":  {"Negotiate", ntlm.ErrMalformed},
		"bad base64":               {"NTLM TlRMTVNTUAAB!!!", ntlm.ErrMalformed},
		"base64 of junk":           {"NTLM " + b64([]byte("hello, world")), ntlm.ErrMalformed},
		"NTLM wrapping SPNEGO":     {"NTLM " + b64(spnegoResp(t, neg)), ntlm.ErrMalformed},
		"Negotiate junk":           {"Negotiate " + b64([]byte{0x30, 0x03, 0x02, 0x01, 0x00}), ntlm.ErrMalformed},
		"Negotiate ASN.1 huge len": {"Negotiate " + b64([]byte{0x60, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06}), ntlm.ErrMalformed},
		"Negotiate empty APP 0":    {"Negotiate " + b64([]byte{0x60, 0x00}), ntlm.ErrMalformed},
		"huge header":              {"NTLM " + strings.Repeat("TlRM", 64<<10), ntlm.ErrMalformed},
		"huge NTLMSSP message":     {"NTLM " + b64(append(append([]byte(nil), neg...), make([]byte, ntlm.MaxMessageSize)...)), ntlm.ErrMalformed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok, err := ntlm.ParseAuthorization(tt.header)
			require.ErrorIs(t, err, tt.err)
			assert.Zero(t, tok)
		})
	}
}

func TestParseAuthorizationLenient(t *testing.T) {
	t.Parallel()
	neg := azureNegotiate(t)
	tests := map[string]string{
		"unpadded base64":      "NTLM " + base64.RawStdEncoding.EncodeToString(neg),
		"surrounding spaces":   "  NTLM   " + b64(neg) + "  ",
		"scheme in mixed case": "nTlM " + b64(neg),
		"message of any type":  "NTLM " + b64(patch(neg, 8, uint32(7))),
	}
	for name, header := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok, err := ntlm.ParseAuthorization(header)
			require.NoError(t, err)
			assert.Equal(t, "NTLM", tok.Scheme)
			assert.False(t, tok.SPNEGO)
		})
	}
}

// FuzzAuthenticate feeds arbitrary AUTHENTICATE messages to a server with
// a fresh State: no panic, and never a success (the server challenge is
// random, so no input can know it).
func FuzzAuthenticate(f *testing.F) {
	srv := newServer()
	good, _ := realAuthenticate(f, srv)
	challenge, _, err := srv.Challenge(azureNegotiate(f))
	require.NoError(f, err)
	f.Add(good)
	f.Add(azureAuthenticate(f, challenge, `alice`, "wrong"))
	f.Add(azureAuthenticate(f, challenge, `CONTOSO\Jörg`, "Pässwörd€"))
	f.Add(rawAuthenticate{lm: make([]byte, 24), nt: make([]byte, 24), user: utf16le("alice"), flags: flagUnicode}.bytes())
	f.Add(rawAuthenticate{nt: ntlmv2Response(1), user: []byte("alice"), flags: flagOEM}.bytes())
	f.Add(azureNegotiate(f))
	f.Add(challenge)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, st, err := srv.Challenge(azureNegotiate(t))
		require.NoError(t, err)
		id, err := srv.Authenticate(st, msg)
		require.Error(t, err)
		assert.Empty(t, id)
		_, err = srv.Authenticate(st, msg)
		require.ErrorIs(t, err, ntlm.ErrReplay)
		// The same bytes as a NEGOTIATE: a challenge or an error, no panic.
		if challenge, st, err := srv.Challenge(msg); err == nil {
			require.NotNil(t, st)
			parseChallenge(t, challenge)
		}
	})
}

// FuzzParseAuthorization: no panic; whatever parses is an NTLMSSP message
// that Header and ParseAuthorization carry back unchanged, and that
// Challenge or Authenticate then handle without panicking.
func FuzzParseAuthorization(f *testing.F) {
	neg := azureNegotiate(f)
	srv := newServer()
	good, _ := realAuthenticate(f, srv)
	for _, h := range []string{
		"NTLM " + b64(neg),
		"Negotiate " + b64(neg),
		"NTLM " + b64(good),
		"Negotiate " + b64(spnegoInit(f, []asn1.ObjectIdentifier{oidNTLMSSP}, neg)),
		"Negotiate " + b64(spnegoResp(f, good)),
		"Negotiate " + b64(kerberosToken(f)),
		"NTLM " + base64.RawStdEncoding.EncodeToString(neg),
		"Basic YWxpY2U6UGFzc3cwcmQh",
		"negotiate YIIB",
		"",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := ntlm.ParseAuthorization(header)
		if err != nil {
			assert.Zero(t, tok)
			return
		}
		require.Contains(t, []string{"NTLM", "Negotiate"}, tok.Scheme)
		require.GreaterOrEqual(t, len(tok.Message), 8)
		again, err := ntlm.ParseAuthorization(ntlm.Header(tok.Scheme, tok.Message, tok.SPNEGO))
		require.NoError(t, err)
		assert.Equal(t, tok, again)
		switch tok.Type() {
		case ntlm.TypeNegotiate:
			_, _, _ = srv.Challenge(tok.Message)
		case ntlm.TypeAuthenticate:
			_, st, err := srv.Challenge(neg)
			require.NoError(t, err)
			_, err = srv.Authenticate(st, tok.Message)
			require.Error(t, err)
		}
	})
}

// TestBadCredentialsErrorIsSafeToLog: the client-chosen name in the error
// can neither break a log line nor flood it.
func TestBadCredentialsErrorIsSafeToLog(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"newline":   "alice\r\n2025-01-01 admin logged in",
		"escape":    "alice\x1b[2J",
		"long":      strings.Repeat("a", 30000),
		"long utf8": strings.Repeat("ü", 15000),
	}
	for name, user := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			_, st, err := srv.Challenge(azureNegotiate(t))
			require.NoError(t, err)
			msg := rawAuthenticate{nt: ntlmv2Response(1), user: utf16le(user), domain: utf16le("CONTOSO"), flags: flagUnicode}.bytes()
			_, err = srv.Authenticate(st, msg)
			require.ErrorIs(t, err, ntlm.ErrBadCredentials)
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "\x1b")
			assert.Less(t, len(err.Error()), 400)
			assert.True(t, utf8.ValidString(err.Error()))
		})
	}
}
