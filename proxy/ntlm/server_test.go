package ntlm_test

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/ntlm"
)

func TestAuthenticateAzureClient(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		username, password string
		want               string
		err                error
	}{
		"right password":              {`CONTOSO\alice`, "Passw0rd!", `CONTOSO\alice`, nil},
		"domain in lower case":        {`contoso\alice`, "Passw0rd!", `contoso\alice`, nil},
		"domain in mixed case":        {`Contoso\bob`, "hunter2", `Contoso\bob`, nil},
		"no domain":                   {`alice`, "Passw0rd!", `alice`, nil},
		"user name in upper case":     {`CONTOSO\ALICE`, "Passw0rd!", `CONTOSO\ALICE`, nil},
		"user name in mixed case":     {`CONTOSO\aLiCe`, "Passw0rd!", `CONTOSO\aLiCe`, nil},
		"non-ASCII user and password": {`CONTOSO\Jörg`, "Pässwörd€", `CONTOSO\Jörg`, nil},
		"wrong password":              {`CONTOSO\alice`, "Passw0rd?", "", ntlm.ErrBadCredentials},
		"password case matters":       {`CONTOSO\alice`, "passw0rd!", "", ntlm.ErrBadCredentials},
		"empty password":              {`CONTOSO\alice`, "", "", ntlm.ErrBadCredentials},
		"another user's password":     {`CONTOSO\alice`, "hunter2", "", ntlm.ErrBadCredentials},
		"unknown user":                {`CONTOSO\mallory`, "Passw0rd!", "", ntlm.ErrBadCredentials},
		"unknown domain":              {`FABRIKAM\alice`, "Passw0rd!", "", ntlm.ErrBadCredentials},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			id, err := azureHandshake(t, newServer(), tt.username, tt.password)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Empty(t, id)
				if tt.password != "" {
					assert.NotContains(t, err.Error(), tt.password, "the error must not carry the password")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, id)
		})
	}
}

// TestAuthenticateSameErrorForUnknownUserAndWrongPassword: the error says
// nothing about which of the two failed.
func TestAuthenticateSameErrorForUnknownUserAndWrongPassword(t *testing.T) {
	t.Parallel()
	srv := newServer()
	srv.Password = func(user, domain string) (string, bool) {
		if user == "alice" {
			return "Passw0rd!", true
		}
		return "", false
	}
	_, wrong := azureHandshake(t, srv, `CONTOSO\alice`, "nope")
	srv.Password = func(user, domain string) (string, bool) { return "", false }
	_, unknown := azureHandshake(t, srv, `CONTOSO\alice`, "nope")
	require.ErrorIs(t, wrong, ntlm.ErrBadCredentials)
	require.ErrorIs(t, unknown, ntlm.ErrBadCredentials)
	assert.Equal(t, wrong.Error(), unknown.Error())
}

// TestAuthenticateDomainAsSent: NTOWFv2 is computed over the domain as the
// client sent it, and Password sees it unchanged.
func TestAuthenticateDomainAsSent(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"lower": "contoso",
		"upper": "CONTOSO",
		"mixed": "cOnToSo",
		"empty": "",
		"dns":   "contoso.test",
	}
	for name, domain := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got atomic.Value
			srv := &ntlm.Server{TargetName: "CONTOSO", Password: func(user, d string) (string, bool) {
				got.Store(d)
				return "Passw0rd!", user == "alice"
			}}
			username := "alice"
			if domain != "" {
				username = domain + `\alice`
			}
			id, err := azureHandshake(t, srv, username, "Passw0rd!")
			require.NoError(t, err)
			assert.Equal(t, username, id)
			assert.Equal(t, domain, got.Load())
		})
	}
}

func TestAuthenticateStateIsSingleUse(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		firstPassword string
		firstErr      error
	}{
		"after success": {"Passw0rd!", nil},
		"after failure": {"wrong", ntlm.ErrBadCredentials},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer()
			challenge, st, err := srv.Challenge(azureNegotiate(t))
			require.NoError(t, err)
			_, err = srv.Authenticate(st, azureAuthenticate(t, challenge, `CONTOSO\alice`, tt.firstPassword))
			if tt.firstErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.firstErr)
			}
			id, err := srv.Authenticate(st, azureAuthenticate(t, challenge, `CONTOSO\alice`, "Passw0rd!"))
			require.ErrorIs(t, err, ntlm.ErrReplay)
			assert.Empty(t, id)
		})
	}
}

func TestAuthenticateConcurrentReplay(t *testing.T) {
	t.Parallel()
	srv := newServer()
	challenge, st, err := srv.Challenge(azureNegotiate(t))
	require.NoError(t, err)
	auth := azureAuthenticate(t, challenge, `CONTOSO\alice`, "Passw0rd!")
	var ok, replays atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := srv.Authenticate(st, auth)
			switch {
			case err == nil:
				ok.Add(1)
			case assert.ErrorIs(t, err, ntlm.ErrReplay):
				replays.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, ok.Load())
	assert.EqualValues(t, 15, replays.Load())
}

// TestAuthenticateOtherConnectionsChallenge: an AUTHENTICATE computed for
// one connection's challenge fails against another connection's State.
func TestAuthenticateOtherConnectionsChallenge(t *testing.T) {
	t.Parallel()
	srv := newServer()
	challenge1, _, err := srv.Challenge(azureNegotiate(t))
	require.NoError(t, err)
	_, st2, err := srv.Challenge(azureNegotiate(t))
	require.NoError(t, err)
	_, err = srv.Authenticate(st2, azureAuthenticate(t, challenge1, `CONTOSO\alice`, "Passw0rd!"))
	require.ErrorIs(t, err, ntlm.ErrBadCredentials)
}

func TestChallenge(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		negotiate []byte
		want      uint32 // flags that must be set
		notWant   uint32 // flags that must not be set
		name      []byte // the target name as encoded
	}{
		"Azure go-ntlmssp": {
			negotiate: azureNegotiate(t),
			want:      flagUnicode | flagNTLM | flagTargetInfo | flagESS | flagAlwaysSign | flagRequestTarget,
			notWant:   flagOEM | flagVersion | flagKeyExch | flagLMKey,
			name:      utf16le("CONTOSO"),
		},
		"curl (OEM only)": {
			negotiate: rawNegotiate(curlFlags),
			want:      flagOEM | flagNTLM | flagTargetInfo | flagESS | flagRequestTarget,
			notWant:   flagUnicode,
			name:      []byte("CONTOSO"),
		},
		"unicode and OEM picks unicode": {
			negotiate: rawNegotiate(flagUnicode | flagOEM | flagNTLM),
			want:      flagUnicode | flagNTLM | flagTargetInfo,
			notWant:   flagOEM | flagESS | flagAlwaysSign,
			name:      utf16le("CONTOSO"),
		},
		"version, key exchange and LM key asked": {
			negotiate: rawNegotiate(flagUnicode | flagNTLM | flagVersion | flagKeyExch | flagLMKey),
			want:      flagUnicode | flagVersion,
			notWant:   flagKeyExch | flagLMKey,
			name:      utf16le("CONTOSO"),
		},
		"16-byte negotiate": {
			negotiate: rawNegotiate(flagUnicode)[:16],
			want:      flagUnicode | flagNTLM | flagTargetInfo,
			name:      utf16le("CONTOSO"),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg, st, err := newServer().Challenge(tt.negotiate)
			require.NoError(t, err)
			require.NotNil(t, st)
			c := parseChallenge(t, msg)
			assert.Equal(t, tt.want, c.flags&tt.want, "flags %#08x", c.flags)
			assert.Zero(t, c.flags&tt.notWant, "flags %#08x", c.flags)
			assert.Equal(t, tt.name, c.targetName)
			assert.NotEqual(t, [8]byte{}, c.serverChallenge)
			if c.flags&flagVersion != 0 {
				assert.Equal(t, byte(10), c.version[0], "major version")
				assert.Equal(t, byte(15), c.version[7], "NTLM revision")
			} else {
				assert.Equal(t, [8]byte{}, c.version)
			}
			// AV pairs are always UTF-16LE, whatever the strings' encoding.
			assert.Equal(t, utf16le("CONTOSO"), c.avPairs[2], "MsvAvNbDomainName")
			assert.Equal(t, utf16le("PROXY"), c.avPairs[1], "MsvAvNbComputerName")
			assert.Equal(t, utf16le("contoso.test"), c.avPairs[4], "MsvAvDnsDomainName")
			assert.Equal(t, utf16le("proxy.contoso.test"), c.avPairs[3], "MsvAvDnsComputerName")
			require.Len(t, c.avPairs[7], 8, "MsvAvTimestamp")
			const epochDelta = 116444736000000000
			assert.Equal(t, uint64(fixedNow.UnixNano()/100+epochDelta), binary.LittleEndian.Uint64(c.avPairs[7]))
			assert.Contains(t, c.avPairs, uint16(0), "MsvAvEOL")
		})
	}
}

func TestChallengeIsRandom(t *testing.T) {
	t.Parallel()
	srv := newServer()
	seen := map[[8]byte]bool{}
	for range 64 {
		msg, _, err := srv.Challenge(azureNegotiate(t))
		require.NoError(t, err)
		c := parseChallenge(t, msg)
		assert.False(t, seen[c.serverChallenge], "server challenge repeated")
		seen[c.serverChallenge] = true
	}
}

func TestChallengeDefaults(t *testing.T) {
	t.Parallel()
	srv := &ntlm.Server{Password: func(string, string) (string, bool) { return "", false }}
	msg, _, err := srv.Challenge(azureNegotiate(t))
	require.NoError(t, err)
	c := parseChallenge(t, msg)
	assert.Equal(t, utf16le("WORKGROUP"), c.targetName)
	assert.Equal(t, utf16le("WORKGROUP"), c.avPairs[2])
}
