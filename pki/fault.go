package pki

import (
	"fmt"
	"strings"

	"github.com/egresslab/egresslab/internal/enum"
)

// Fault is a certificate fault the lab can reproduce. The zero value,
// NoFault, is a valid certificate.
type Fault string

// The certificate faults. Each names what a client's verification meets.
const (
	NoFault Fault = ""
	// Expired: NotAfter is a day in the past.
	Expired Fault = "expired"
	// NotYetValid: NotBefore is a day in the future.
	NotYetValid Fault = "not-yet-valid"
	// WrongHost: valid, but for WrongHostName instead of the requested hosts.
	WrongHost Fault = "wrong-host"
	// SelfSigned: the leaf signs itself; no CA is involved.
	SelfSigned Fault = "self-signed"
	// UntrustedRoot: issued by the Authority's second root, which clients
	// do not trust (as with an interception root that was never deployed).
	UntrustedRoot Fault = "untrusted-root"
	// Revoked: issued by the issuing CA and revoked at once, so the OCSP
	// responder and the issuing CA's CRL say "revoked". Go's TLS stack
	// alone still accepts it.
	Revoked Fault = "revoked"
	// RevokedIntermediate: issued by an intermediate CA, sent along in
	// the chain as public CAs send theirs, that the trusted root revoked:
	// the leaf is good, its issuer is revoked (OCSP and the root's CRL say
	// so). Only a client that checks the whole chain, as CryptoAPI does,
	// sees it.
	RevokedIntermediate Fault = "revoked-intermediate"
)

// WrongHostName is the only name in a [WrongHost] certificate. The .invalid
// top-level domain (RFC 2606) can never be a real host.
const WrongHostName = "wrong-host.egresslab.invalid"

// Faults lists every fault, NoFault first.
func Faults() []Fault {
	return []Fault{NoFault, Expired, NotYetValid, WrongHost, SelfSigned, UntrustedRoot, Revoked, RevokedIntermediate}
}

// String returns the fault's name, or "none" for NoFault.
func (f Fault) String() string {
	if f == NoFault {
		return "none"
	}
	return string(f)
}

// ParseFault parses a fault name as written in scenario files. "" and
// "none" are NoFault.
func ParseFault(s string) (Fault, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "none" {
		return NoFault, nil
	}
	for _, f := range Faults() {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, 0, len(Faults()))
	for _, f := range Faults() {
		names = append(names, f.String())
	}
	return "", fmt.Errorf("unknown certificate fault %w", enum.Error(s, names))
}

// UnmarshalText lets a Fault be decoded from YAML, JSON or flags with the
// same names and errors as ParseFault.
func (f *Fault) UnmarshalText(b []byte) error {
	v, err := ParseFault(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// MarshalText writes the fault's name.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
