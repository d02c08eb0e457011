package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/egresslab/egresslab/tlsalert"
)

// DefaultServiceIssuers name the certificate authorities of the SSPR
// hosts in Microsoft's public cloud: their certificates are issued by
// Microsoft's TLS issuing CAs (organization "Microsoft Corporation") under
// DigiCert's roots (organization "DigiCert Inc").
var DefaultServiceIssuers = []string{"DigiCert Inc", "Microsoft Corporation"}

// WithServiceIssuers names the certificate authorities that issue the
// SSPR hosts' certificates (default DefaultServiceIssuers). A name matches
// the common name or an organization of a certificate's issuer. A failed
// handshake whose certificate chain none of them issued met a device on
// the path that re-signs the service (HTTPS inspection): the diagnosis is
// then the inspection's, not the service's. A lab passes its own roots'
// names.
func WithServiceIssuers(names ...string) Option {
	return func(c *Client) error {
		if len(names) == 0 {
			return errors.New("WithServiceIssuers: no names")
		}
		c.issuers = append([]string(nil), names...)
		return nil
	}
}

// foreignIssuer reports whether a chain, as the server sent it (leaf
// first), was issued by none of issuers, and names the leaf's issuer. No
// chain, or a self-signed leaf (a device's own certificate, or a
// misconfigured host), proves nothing.
func foreignIssuer(chain []*x509.Certificate, issuers []string) (string, bool) {
	if len(chain) == 0 || len(issuers) == 0 {
		return "", false
	}
	leaf := chain[0]
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
		return "", false
	}
	for _, c := range chain {
		names := append([]string{c.Issuer.CommonName}, c.Issuer.Organization...)
		for _, n := range names {
			for _, want := range issuers {
				if n != "" && strings.EqualFold(n, want) {
					return "", false
				}
			}
		}
	}
	name := leaf.Issuer.CommonName
	if name == "" {
		name = leaf.Issuer.String()
	}
	return name, true
}

// versionRefused reports whether the handshake failed on the TLS
// version: the protocol_version alert, or a ServerHello with a version
// below the client's minimum.
func (e *TLSError) versionRefused() bool {
	if a, ok := tlsalert.FromError(e.Err); ok && a == tlsalert.ProtocolVersion {
		return true
	}
	// A TLS 1.3 ServerHello says 1.2 in its version field (the real
	// version is in an extension); a refused version is a lower one.
	v := e.ServerVersion
	return v != 0 && v < e.MinVersion && !(v == tls.VersionTLS12 && e.MinVersion == tls.VersionTLS13)
}

// errProbed ends a probe's handshake once the certificates are seen.
var errProbed = errors.New("certificates seen")

// inspect looks at the chain a failed handshake with host showed, for an
// issuer that is not the service's: the chain of an unknown authority,
// or, after a version refusal of a client that offered TLS 1.2 or more
// (a refusal shows no chain), the chain of one more handshake that offers
// TLS 1.0 to 1.3 only to see the certificates and sends nothing over it.
// It records the foreign issuer in te.
func (nc *netClient) inspect(ctx context.Context, addr, host string, te *TLSError) {
	var chain []*x509.Certificate
	var cve *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(te.Err, &cve) && errors.As(te.Err, &unknown):
		chain = cve.UnverifiedCertificates
	case te.versionRefused() && te.MaxVersion >= tls.VersionTLS12:
		// A client that offers less than TLS 1.2 must be fixed whoever
		// refused it: the service would refuse it too.
		chain = nc.probeChain(ctx, addr, host)
	case te.handshakeFailure():
		// Nothing in common with the client's offer: the certificate's
		// key says whether its cipher suites were the reason.
		if chain = nc.probeChain(ctx, addr, host); len(chain) > 0 {
			te.ServerKey, te.NoSuiteForKey = keySuites(chain[0].PublicKey, te.Suites)
		}
	}
	if issuer, ok := foreignIssuer(chain, nc.issuers); ok {
		te.Inspection = issuer
	}
}

// handshakeFailure reports whether the server refused the handshake with
// the handshake_failure alert (40): it found no cipher suite (or curve,
// or signature algorithm) in common with the client's offer.
func (e *TLSError) handshakeFailure() bool {
	a, ok := tlsalert.FromError(e.Err)
	return ok && a == tlsalert.HandshakeFailure
}

// keySuites describes a certificate's public key and reports whether
// none of suites is for it: an ECDSA key needs an ECDHE_ECDSA suite, an
// RSA key an ECDHE_RSA or RSA one (up to TLS 1.2; TLS 1.3's suites do
// not depend on the key).
func keySuites(pub any, suites []uint16) (desc string, none bool) {
	var kind string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		desc, kind = "ECDSA "+k.Curve.Params().Name, "ECDSA"
	case *rsa.PublicKey:
		desc, kind = fmt.Sprintf("RSA %d-bit", k.N.BitLen()), "RSA"
	case ed25519.PublicKey:
		return "Ed25519", false
	default:
		return fmt.Sprintf("%T", pub), false
	}
	for _, id := range suites {
		name := tls.CipherSuiteName(id)
		isECDSA := strings.Contains(name, "_ECDSA_")
		if (kind == "ECDSA") == isECDSA {
			return desc, false
		}
	}
	return desc, true
}

// probeChain makes a handshake with addr that accepts any TLS version and
// any certificate, and returns the certificates the server sent; it ends
// the handshake there. It takes at most the connect timeout.
func (nc *netClient) probeChain(ctx context.Context, addr, host string) []*x509.Certificate {
	// As long as a connection may take: the probe waits for nothing else.
	ctx, cancel := context.WithTimeout(ctx, nc.connect)
	defer cancel()
	raw, err := nc.tunnel(ctx, addr)
	if err != nil {
		return nil
	}
	defer raw.Close()
	var chain []*x509.Certificate
	cfg := &tls.Config{
		// Every suite the client knows, whatever the profile offers.
		ServerName: host, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS13, CipherSuites: schannelSuites(),
		// The probe only reads the certificates, and VerifyConnection
		// ends it before anything is sent.
		InsecureSkipVerify: true, //nolint:gosec // see above
		VerifyConnection: func(cs tls.ConnectionState) error {
			chain = cs.PeerCertificates
			return errProbed
		},
	}
	_ = tls.Client(raw, cfg).HandshakeContext(ctx)
	return chain
}
