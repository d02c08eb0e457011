package ntlm_test

import (
	"encoding/asn1"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/ntlm"
)

// TestHandshakeThroughHeaders runs the three legs through
// ParseAuthorization and Header, with the NTLMSSP messages of
// github.com/Azure/go-ntlmssp sent raw or wrapped in SPNEGO.
func TestHandshakeThroughHeaders(t *testing.T) {
	t.Parallel()
	type wrap func(t testing.TB, msg []byte) string
	ntlmRaw := func(_ testing.TB, msg []byte) string { return "NTLM " + b64(msg) }
	negotiateRaw := func(_ testing.TB, msg []byte) string { return "Negotiate " + b64(msg) }
	spnegoFirst := func(t testing.TB, msg []byte) string {
		return "Negotiate " + b64(spnegoInit(t, []asn1.ObjectIdentifier{oidNTLMSSP}, msg))
	}
	spnegoNext := func(t testing.TB, msg []byte) string { return "Negotiate " + b64(spnegoResp(t, msg)) }
	tests := map[string]struct {
		first, next wrap
		password    string
		scheme      string
		spnego      bool
		err         error
	}{
		"NTLM":                      {ntlmRaw, ntlmRaw, "Passw0rd!", "NTLM", false, nil},
		"NTLM, wrong password":      {ntlmRaw, ntlmRaw, "nope", "NTLM", false, ntlm.ErrBadCredentials},
		"Negotiate, raw NTLMSSP":    {negotiateRaw, negotiateRaw, "Passw0rd!", "Negotiate", false, nil},
		"Negotiate, raw, wrong":     {negotiateRaw, negotiateRaw, "nope", "Negotiate", false, ntlm.ErrBadCredentials},
		"Negotiate, SPNEGO":         {spnegoFirst, spnegoNext, "Passw0rd!", "Negotiate", true, nil},
		"Negotiate, SPNEGO, wrong":  {spnegoFirst, spnegoNext, "nope", "Negotiate", true, ntlm.ErrBadCredentials},
		"scheme in lower case":      {lower(spnegoFirst), lower(spnegoNext), "Passw0rd!", "Negotiate", true, nil},
		"scheme in upper case NTLM": {upper(ntlmRaw), upper(ntlmRaw), "Passw0rd!", "NTLM", false, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()

			tok, err := ntlm.ParseAuthorization(tt.first(t, azureNegotiate(t)))
			require.NoError(t, err)
			assert.Equal(t, tt.scheme, tok.Scheme)
			assert.Equal(t, tt.spnego, tok.SPNEGO)
			assert.Equal(t, ntlm.TypeNegotiate, tok.Type())
			challenge, st, err := srv.Challenge(tok.Message)
			require.NoError(t, err)

			header := ntlm.Header(tok.Scheme, challenge, tok.SPNEGO)
			scheme, value, ok := strings.Cut(header, " ")
			require.True(t, ok)
			assert.Equal(t, tt.scheme, scheme)
			raw, err := base64.StdEncoding.DecodeString(value)
			require.NoError(t, err)
			got := raw
			if tt.spnego {
				var resp negTokenResp
				rest, err := asn1.UnmarshalWithParams(raw, &resp, "explicit,tag:1")
				require.NoError(t, err)
				assert.Empty(t, rest)
				assert.EqualValues(t, 1, resp.NegState, "accept-incomplete")
				assert.True(t, resp.SupportedMech.Equal(oidNTLMSSP), "supportedMech %v", resp.SupportedMech)
				got = resp.ResponseToken
			}
			assert.Equal(t, challenge, got)

			tok, err = ntlm.ParseAuthorization(tt.next(t, azureAuthenticate(t, got, `CONTOSO\alice`, tt.password)))
			require.NoError(t, err)
			assert.Equal(t, tt.spnego, tok.SPNEGO)
			assert.Equal(t, ntlm.TypeAuthenticate, tok.Type())
			id, err := srv.Authenticate(st, tok.Message)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, `CONTOSO\alice`, id)
		})
	}
}

func lower(w func(testing.TB, []byte) string) func(testing.TB, []byte) string {
	return func(t testing.TB, msg []byte) string {
		s, v, _ := strings.Cut(w(t, msg), " ")
		return strings.ToLower(s) + " " + v
	}
}

func upper(w func(testing.TB, []byte) string) func(testing.TB, []byte) string {
	return func(t testing.TB, msg []byte) string {
		s, v, _ := strings.Cut(w(t, msg), " ")
		return strings.ToUpper(s) + " " + v
	}
}

func TestParseAuthorizationNegotiateForms(t *testing.T) {
	t.Parallel()
	neg := azureNegotiate(t)
	bareInit, err := asn1.MarshalWithParams(negTokenInit{MechTypes: []asn1.ObjectIdentifier{oidNTLMSSP}, MechToken: neg}, "explicit,tag:0")
	require.NoError(t, err)
	tests := map[string]struct {
		token  []byte
		spnego bool
		err    error
	}{
		"raw NTLMSSP":                       {neg, false, nil},
		"NegTokenInit":                      {spnegoInit(t, []asn1.ObjectIdentifier{oidNTLMSSP}, neg), true, nil},
		"NegTokenInit, NTLM after Kerberos": {spnegoInit(t, []asn1.ObjectIdentifier{oidMSKerberos, oidKerberos, oidNTLMSSP}, neg), true, nil},
		"bare NegTokenInit":                 {bareInit, true, nil},
		"NegTokenResp":                      {spnegoResp(t, neg), true, nil},
		"Kerberos token":                    {kerberosToken(t), false, ntlm.ErrKerberos},
		"SPNEGO with Kerberos mechToken":    {spnegoInit(t, []asn1.ObjectIdentifier{oidMSKerberos, oidKerberos, oidNTLMSSP}, kerberosToken(t)), false, ntlm.ErrKerberos},
		"SPNEGO, Kerberos, no mechToken":    {spnegoInit(t, []asn1.ObjectIdentifier{oidKerberos}, nil), false, ntlm.ErrKerberos},
		"SPNEGO, NTLM, no mechToken":        {spnegoInit(t, []asn1.ObjectIdentifier{oidNTLMSSP}, nil), false, ntlm.ErrMalformed},
		"SPNEGO, NTLM, junk mechToken":      {spnegoInit(t, []asn1.ObjectIdentifier{oidNTLMSSP}, []byte("junk")), false, ntlm.ErrMalformed},
		"NegTokenResp without NTLMSSP":      {spnegoResp(t, []byte("junk")), false, ntlm.ErrMalformed},
		"other GSS mechanism":               {gssToken(t, asn1.ObjectIdentifier{1, 2, 3}, []byte{0}), false, ntlm.ErrMalformed},
		"SPNEGO, trailing garbage":          {append(spnegoInit(t, []asn1.ObjectIdentifier{oidNTLMSSP}, neg), 0), false, ntlm.ErrMalformed},
		"SPNEGO, truncated":                 {spnegoInit(t, []asn1.ObjectIdentifier{oidNTLMSSP}, neg)[:20], false, ntlm.ErrMalformed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok, err := ntlm.ParseAuthorization("Negotiate " + b64(tt.token))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Zero(t, tok)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, ntlm.Token{Scheme: "Negotiate", Message: neg, SPNEGO: tt.spnego}, tok)
		})
	}
}

func TestParseAuthorizationKerberosSaysSo(t *testing.T) {
	t.Parallel()
	_, err := ntlm.ParseAuthorization("Negotiate " + b64(kerberosToken(t)))
	require.ErrorIs(t, err, ntlm.ErrKerberos)
	assert.Contains(t, err.Error(), "Kerberos")
	assert.Contains(t, err.Error(), "KDC")
}

func TestHeader(t *testing.T) {
	t.Parallel()
	challenge, _, err := newServer().Challenge(azureNegotiate(t))
	require.NoError(t, err)
	tests := map[string]struct {
		scheme string
		spnego bool
		want   string
	}{
		"NTLM":              {"NTLM", false, "NTLM " + b64(challenge)},
		"ntlm":              {"ntlm", false, "NTLM " + b64(challenge)},
		"Negotiate, raw":    {"Negotiate", false, "Negotiate " + b64(challenge)},
		"negotiate, raw":    {"negotiate", false, "Negotiate " + b64(challenge)},
		"Negotiate, SPNEGO": {"Negotiate", true, "Negotiate " + b64(spnegoChallenge(t, challenge))},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, ntlm.Header(tt.scheme, challenge, tt.spnego))
		})
	}
}

// spnegoChallenge is the NegTokenResp a server answers with, built
// independently of the package.
func spnegoChallenge(t testing.TB, challenge []byte) []byte {
	b, err := asn1.MarshalWithParams(negTokenResp{NegState: 1, SupportedMech: oidNTLMSSP, ResponseToken: challenge}, "explicit,tag:1")
	require.NoError(t, err)
	return b
}
