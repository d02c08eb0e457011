package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"
)

// Classify maps a certificate verification error, from x509 or from a
// crypto/tls handshake (which wraps it), to the fault that causes it: the
// lab's faults seen from the client's side. at is the time the
// verification ran (time.Now() for a handshake just made), which tells an
// expired certificate from one not yet valid. It returns false for errors
// that are not certificate verification failures. Revoked and
// RevokedIntermediate never come out of it: verification does not check
// revocation.
func Classify(err error, at time.Time) (Fault, bool) {
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != nil {
		if at.Before(invalid.Cert.NotBefore) {
			return NotYetValid, true
		}
		return Expired, true
	}
	var host x509.HostnameError
	if errors.As(err, &host) {
		return WrongHost, true
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		// x509 reports the deepest certificate it tried, which is the
		// untrusted root itself when the server sent it along. Whether
		// the certificate is self-signed is a question about the leaf:
		// from a handshake, the first certificate the server sent.
		var tlsErr *tls.CertificateVerificationError
		if errors.As(err, &tlsErr) && len(tlsErr.UnverifiedCertificates) > 0 {
			if selfSigned(tlsErr.UnverifiedCertificates[0]) {
				return SelfSigned, true
			}
			return UntrustedRoot, true
		}
		if c := unknown.Cert; c != nil && selfSigned(c) && !c.IsCA {
			return SelfSigned, true
		}
		return UntrustedRoot, true
	}
	return NoFault, false
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
