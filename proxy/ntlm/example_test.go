package ntlm_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/egresslab/egresslab/proxy/ntlm"
)

// Example runs the three legs of a proxy's NTLM handshake, with
// github.com/Azure/go-ntlmssp as the client.
func Example() {
	srv := &ntlm.Server{
		TargetName: "CONTOSO",
		Password: func(user, domain string) (string, bool) {
			if strings.EqualFold(user, "alice") {
				return "Passw0rd!", true
			}
			return "", false
		},
	}

	// Leg 1: Proxy-Authorization: NTLM <NEGOTIATE>.
	negotiate, _ := ntlmssp.NewNegotiateMessage("", "")
	tok, err := ntlm.ParseAuthorization("NTLM " + base64.StdEncoding.EncodeToString(negotiate))
	if err != nil {
		fmt.Println(err)
		return
	}
	challenge, st, err := srv.Challenge(tok.Message)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Leg 2: 407 with Proxy-Authenticate: NTLM <CHALLENGE>.
	header := ntlm.Header(tok.Scheme, challenge, tok.SPNEGO)
	scheme, value, _ := strings.Cut(header, " ")
	fmt.Println("407 Proxy-Authenticate:", scheme, "...")

	// Leg 3: Proxy-Authorization: NTLM <AUTHENTICATE>.
	fromProxy, _ := base64.StdEncoding.DecodeString(value)
	authenticate, _ := ntlmssp.NewAuthenticateMessage(fromProxy, `CONTOSO\alice`, "Passw0rd!", nil)
	tok, _ = ntlm.ParseAuthorization("NTLM " + base64.StdEncoding.EncodeToString(authenticate))
	id, err := srv.Authenticate(st, tok.Message)
	fmt.Println("authenticated:", id, err)

	// The same message again is a replay.
	_, err = srv.Authenticate(st, tok.Message)
	fmt.Println(errors.Is(err, ntlm.ErrReplay))
	// Output:
	// 407 Proxy-Authenticate: NTLM ...
	// authenticated: CONTOSO\alice <nil>
	// true
}

// ExampleParseAuthorization shows what a Kerberos token in Negotiate gives.
func ExampleParseAuthorization() {
	// The start of a GSS-API Kerberos token (OID 1.2.840.113554.1.2.2).
	_, err := ntlm.ParseAuthorization("Negotiate YA8GCSqGSIb3EgECAgEAbgA=")
	fmt.Println(errors.Is(err, ntlm.ErrKerberos))
	_, err = ntlm.ParseAuthorization("Basic YWxpY2U6UGFzc3cwcmQh")
	fmt.Println(err)
	// Output:
	// true
	// ntlm: scheme is neither NTLM nor Negotiate
}
