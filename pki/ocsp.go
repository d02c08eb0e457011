package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPStatus is the certificate status in an OCSP response.
type OCSPStatus int

// The statuses of RFC 6960, and Unauthorized for a request about a
// certificate none of the Authority's CAs issued.
const (
	OCSPGood OCSPStatus = iota
	OCSPRevoked
	OCSPUnknown
	OCSPUnauthorized
	OCSPMalformed
)

func (s OCSPStatus) String() string {
	switch s {
	case OCSPGood:
		return "good"
	case OCSPRevoked:
		return "revoked"
	case OCSPUnknown:
		return "unknown"
	case OCSPUnauthorized:
		return "unauthorized"
	case OCSPMalformed:
		return "malformed"
	}
	return fmt.Sprintf("OCSPStatus(%d)", int(s))
}

// OCSPNextUpdate is how long a response is valid, as DigiCert's are.
const OCSPNextUpdate = 7 * 24 * time.Hour

// RespondOCSP answers a DER-encoded OCSP request (RFC 6960) for a
// certificate issued by one of the Authority's CAs (a leaf by the issuing
// CA or another intermediate, an intermediate by the root): "good",
// "revoked" or, for a serial the CA never issued, "unknown", signed by
// that CA. A request that does not parse gets the malformedRequest error
// response, and
// one about an issuer the Authority does not hold gets unauthorized; both
// are returned with a nil error, since they are what a responder sends. The
// error is for failures to sign.
//
// The response's producedAt is the real time (golang.org/x/crypto/ocsp sets
// it), not the Authority's clock; thisUpdate and nextUpdate follow the clock.
func (a *Authority) RespondOCSP(der []byte) ([]byte, OCSPStatus, error) {
	if a.root == nil {
		return nil, OCSPMalformed, errZeroAuthority
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return ocsp.MalformedRequestErrorResponse, OCSPMalformed, nil
	}
	if !req.HashAlgorithm.Available() {
		return ocsp.MalformedRequestErrorResponse, OCSPMalformed, nil
	}
	for _, ca := range a.roots() {
		if ca.isIssuerOf(req) {
			return ca.RespondOCSP(req)
		}
	}
	return ocsp.UnauthorizedErrorResponse, OCSPUnauthorized, nil
}

// roots returns the CAs created so far, roots and intermediates, without
// creating the lazy ones: a CA not yet created has issued nothing.
func (a *Authority) roots() []*CA {
	cas := []*CA{a.root, a.issuing}
	for _, ca := range []*CA{a.createdUntrusted.Load(), a.createdInterception.Load(), a.createdRevokedInter.Load()} {
		if ca != nil {
			cas = append(cas, ca)
		}
	}
	return cas
}

// RespondOCSP signs this CA's answer to req, which must be about a
// certificate this CA issued (see [Authority.RespondOCSP] for routing).
func (ca *CA) RespondOCSP(req *ocsp.Request) ([]byte, OCSPStatus, error) {
	now := ca.cfg.now()
	tmpl := ocsp.Response{
		SerialNumber: req.SerialNumber,
		ThisUpdate:   now.Add(-time.Minute),
		NextUpdate:   now.Add(OCSPNextUpdate),
		IssuerHash:   req.HashAlgorithm,
	}
	status := OCSPGood
	issued, rev := ca.Status(req.SerialNumber)
	switch {
	case !issued:
		tmpl.Status, status = ocsp.Unknown, OCSPUnknown
	case rev != nil:
		tmpl.Status, status = ocsp.Revoked, OCSPRevoked
		tmpl.RevokedAt, tmpl.RevocationReason = rev.At, rev.Reason
	default:
		tmpl.Status = ocsp.Good
	}
	resp, err := ocsp.CreateResponse(ca.cert, ca.cert, tmpl, ca.key)
	if err != nil {
		return nil, status, fmt.Errorf("sign OCSP response: %w", err)
	}
	return resp, status, nil
}

// isIssuerOf reports whether req's issuer name and key hashes are this CA's.
func (ca *CA) isIssuerOf(req *ocsp.Request) bool {
	h := req.HashAlgorithm
	return bytes.Equal(hashOf(h, ca.cert.RawSubject), req.IssuerNameHash) &&
		bytes.Equal(hashOf(h, ca.keyBits), req.IssuerKeyHash)
}

// subjectKeyBits returns the subjectPublicKey BIT STRING of a certificate,
// which OCSP's issuerKeyHash covers.
func subjectKeyBits(cert *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm        asn1.RawValue
		SubjectPublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return spki.SubjectPublicKey.RightAlign(), nil
}

func hashOf(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

// OCSPRequest builds the DER request a client would send about leaf, issued
// by issuer, with SHA-1 hashes as Windows and OpenSSL send by default.
func OCSPRequest(leaf, issuer *x509.Certificate) ([]byte, error) {
	der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, fmt.Errorf("create OCSP request: %w", err)
	}
	return der, nil
}
