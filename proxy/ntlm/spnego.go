package ntlm

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// Mechanism OIDs.
var (
	oidSPNEGO   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	oidNTLMSSP  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	oidKerberos = []asn1.ObjectIdentifier{
		{1, 2, 840, 113554, 1, 2, 2}, // Kerberos V5
		{1, 2, 840, 48018, 1, 2, 2},  // Microsoft's Kerberos V5
		{1, 2, 840, 113554, 1, 2, 2, 3},
		{1, 3, 6, 1, 5, 2, 5}, // IAKERB
	}
)

// negTokenInit is RFC 4178's NegTokenInit; all its tags are explicit.
type negTokenInit struct {
	MechTypes   []asn1.ObjectIdentifier `asn1:"explicit,tag:0"`
	ReqFlags    asn1.BitString          `asn1:"explicit,optional,tag:1"`
	MechToken   []byte                  `asn1:"explicit,optional,tag:2"`
	MechListMIC []byte                  `asn1:"explicit,optional,tag:3"`
}

// negTokenResp is RFC 4178's NegTokenResp.
type negTokenResp struct {
	NegState      asn1.Enumerated       `asn1:"explicit,optional,tag:0"`
	SupportedMech asn1.ObjectIdentifier `asn1:"explicit,optional,tag:1"`
	ResponseToken []byte                `asn1:"explicit,optional,tag:2"`
	MechListMIC   []byte                `asn1:"explicit,optional,tag:3"`
}

// negStateAcceptIncomplete is RFC 4178's accept-incomplete negState.
const negStateAcceptIncomplete = 1

func isKerberos(oid asn1.ObjectIdentifier) bool {
	for _, k := range oidKerberos {
		if oid.Equal(k) {
			return true
		}
	}
	return false
}

func isNTLMSSP(b []byte) bool {
	return len(b) >= len(signature) && string(b[:len(signature)]) == signature
}

var errSPNEGO = fmt.Errorf("%w: SPNEGO", ErrMalformed)

// unwrapNegotiate returns the NTLMSSP message in a Negotiate token: the
// token itself (raw NTLMSSP), or the mechToken of an SPNEGO NegTokenInit
// (with or without its GSS-API [APPLICATION 0] framing), or the
// responseToken of a NegTokenResp.
func unwrapNegotiate(tok []byte) (msg []byte, spnego bool, err error) {
	if isNTLMSSP(tok) {
		return tok, false, nil
	}
	if len(tok) == 0 {
		return nil, false, fmt.Errorf("%w: empty token", errSPNEGO)
	}
	switch tok[0] {
	case 0x60: // [APPLICATION 0] constructed: GSS-API InitialContextToken
		msg, err = unwrapInitialContextToken(tok)
	case 0xa0: // [0] constructed: a bare NegTokenInit
		msg, err = unwrapNegTokenInit(tok)
	case 0xa1: // [1] constructed: NegTokenResp
		msg, err = unwrapNegTokenResp(tok)
	default:
		return nil, false, fmt.Errorf("%w: neither NTLMSSP nor SPNEGO (first byte %#02x)", errSPNEGO, tok[0])
	}
	if err != nil {
		return nil, false, err
	}
	return msg, true, nil
}

func unwrapInitialContextToken(tok []byte) ([]byte, error) {
	var app asn1.RawValue
	rest, err := asn1.Unmarshal(tok, &app)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSPNEGO, err)
	}
	if len(rest) != 0 || app.Class != asn1.ClassApplication || app.Tag != 0 || !app.IsCompound {
		return nil, fmt.Errorf("%w: not an InitialContextToken", errSPNEGO)
	}
	var mech asn1.ObjectIdentifier
	inner, err := asn1.Unmarshal(app.Bytes, &mech)
	if err != nil {
		return nil, fmt.Errorf("%w: mechanism: %v", errSPNEGO, err)
	}
	switch {
	case isKerberos(mech):
		return nil, ErrKerberos
	case !mech.Equal(oidSPNEGO):
		return nil, fmt.Errorf("%w: mechanism %v is not SPNEGO", errSPNEGO, mech)
	}
	return unwrapNegTokenInit(inner)
}

func unwrapNegTokenInit(b []byte) ([]byte, error) {
	var init negTokenInit
	rest, err := asn1.UnmarshalWithParams(b, &init, "explicit,tag:0")
	if err != nil {
		return nil, fmt.Errorf("%w: NegTokenInit: %v", errSPNEGO, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data after NegTokenInit", errSPNEGO)
	}
	if isNTLMSSP(init.MechToken) {
		return init.MechToken, nil
	}
	if len(init.MechTypes) > 0 && isKerberos(init.MechTypes[0]) {
		return nil, ErrKerberos
	}
	if len(init.MechToken) == 0 {
		return nil, fmt.Errorf("%w: NegTokenInit without a mechToken", errSPNEGO)
	}
	return nil, fmt.Errorf("%w: NegTokenInit mechToken is not NTLMSSP", errSPNEGO)
}

func unwrapNegTokenResp(b []byte) ([]byte, error) {
	var resp negTokenResp
	rest, err := asn1.UnmarshalWithParams(b, &resp, "explicit,tag:1")
	if err != nil {
		return nil, fmt.Errorf("%w: NegTokenResp: %v", errSPNEGO, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data after NegTokenResp", errSPNEGO)
	}
	if len(resp.SupportedMech) > 0 && isKerberos(resp.SupportedMech) {
		return nil, ErrKerberos
	}
	if !isNTLMSSP(resp.ResponseToken) {
		return nil, fmt.Errorf("%w: NegTokenResp responseToken is not NTLMSSP", errSPNEGO)
	}
	return resp.ResponseToken, nil
}

// wrapNegTokenResp wraps an NTLMSSP message in a NegTokenResp choosing
// NTLMSSP, accept-incomplete.
func wrapNegTokenResp(msg []byte) []byte {
	b, err := asn1.MarshalWithParams(negTokenResp{
		NegState:      negStateAcceptIncomplete,
		SupportedMech: oidNTLMSSP,
		ResponseToken: msg,
	}, "explicit,tag:1")
	if err != nil {
		// Only a type the encoder does not know fails; ours are fixed.
		panic(errors.Join(errors.New("ntlm: encode NegTokenResp"), err))
	}
	return b
}
