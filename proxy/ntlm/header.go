package ntlm

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Token is a decoded Proxy-Authorization / Authorization value.
type Token struct {
	// Scheme is "NTLM" or "Negotiate".
	Scheme string
	// Message is the raw NTLMSSP message.
	Message []byte
	// SPNEGO says the NTLMSSP message was wrapped in SPNEGO.
	SPNEGO bool
}

// Type returns the NTLMSSP message type of t.Message: [TypeNegotiate],
// [TypeChallenge], [TypeAuthenticate], or 0 when it is none of them.
func (t Token) Type() int {
	return messageType(t.Message)
}

// ParseAuthorization parses "NTLM <base64>" or "Negotiate <base64>"
// (scheme case-insensitive). For Negotiate it accepts a raw NTLMSSP token
// and an SPNEGO NegTokenInit / NegTokenResp carrying an NTLMSSP
// mechToken/responseToken; a Kerberos token (no NTLMSSP inside) is an
// error that says so ([ErrKerberos]), since the lab has no KDC. Any other
// scheme is [ErrScheme]; a bad token wraps [ErrMalformed]. The NTLMSSP
// message is checked for its signature only: [Server.Challenge] and
// [Server.Authenticate] check the rest.
func ParseAuthorization(header string) (Token, error) {
	scheme, b64, _ := strings.Cut(strings.TrimSpace(header), " ")
	var tok Token
	switch {
	case strings.EqualFold(scheme, "NTLM"):
		tok.Scheme = "NTLM"
	case strings.EqualFold(scheme, "Negotiate"):
		tok.Scheme = "Negotiate"
	default:
		return Token{}, ErrScheme
	}
	b64 = strings.TrimSpace(b64)
	if b64 == "" {
		return Token{}, fmt.Errorf("%w: %s without a token", ErrMalformed, tok.Scheme)
	}
	if base64.StdEncoding.DecodedLen(len(b64)) > MaxMessageSize+MaxMessageSize/4 {
		return Token{}, fmt.Errorf("%w: %s token of %d base64 characters is too long", ErrMalformed, tok.Scheme, len(b64))
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// Some clients drop the padding.
		var err2 error
		if raw, err2 = base64.RawStdEncoding.DecodeString(b64); err2 != nil {
			return Token{}, fmt.Errorf("%w: %s token: bad base64: %v", ErrMalformed, tok.Scheme, err)
		}
	}
	if tok.Scheme == "NTLM" {
		tok.Message = raw
	} else if tok.Message, tok.SPNEGO, err = unwrapNegotiate(raw); err != nil {
		return Token{}, err
	}
	if !isNTLMSSP(tok.Message) {
		return Token{}, fmt.Errorf("%w: %s token is not an NTLMSSP message", ErrMalformed, tok.Scheme)
	}
	if len(tok.Message) > MaxMessageSize {
		return Token{}, fmt.Errorf("%w: NTLMSSP message of %d bytes exceeds %d", ErrMalformed, len(tok.Message), MaxMessageSize)
	}
	return tok, nil
}

// Header builds the Proxy-Authenticate value answering a token:
// "NTLM <base64 challenge>" or "Negotiate <base64>" (wrapping the challenge
// in an SPNEGO NegTokenResp with supportedMech NTLMSSP OID
// 1.3.6.1.4.1.311.2.2.10 and responseToken when the client used SPNEGO,
// raw otherwise). The scheme is matched case-insensitively and written in
// its canonical case; anything but Negotiate is written as NTLM.
func Header(scheme string, challenge []byte, spnego bool) string {
	name := "NTLM"
	if strings.EqualFold(scheme, "Negotiate") {
		name = "Negotiate"
	}
	if spnego {
		challenge = wrapNegTokenResp(challenge)
	}
	return name + " " + base64.StdEncoding.EncodeToString(challenge)
}
