package pki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// CRLNextUpdate is how long a CRL is valid, as DigiCert's are.
const CRLNextUpdate = 7 * 24 * time.Hour

// CRL returns the trusted root's certificate revocation list (RFC 5280),
// DER-encoded and signed by the root, listing every certificate it
// revoked (intermediates: the root signs no leaf): what the lab serves at
// the CRL distribution points of its intermediates, [DefaultCRLURLs]. The
// issuing CA's, which lists revoked leaves, is at [Authority.CRLAt]. Its
// thisUpdate and nextUpdate follow the Authority's clock.
func (a *Authority) CRL() ([]byte, error) {
	if a.root == nil {
		return nil, errZeroAuthority
	}
	return a.root.CRL()
}

// CRL returns this CA's certificate revocation list, signed afresh; its
// number grows with every call.
func (ca *CA) CRL() ([]byte, error) {
	now := ca.cfg.now()
	ca.mu.Lock()
	ca.crlNumber++
	number := ca.crlNumber
	entries := make([]x509.RevocationListEntry, 0, len(ca.revoked))
	for k, r := range ca.revoked {
		serial, ok := new(big.Int).SetString(k, 16)
		if !ok {
			continue // keys are serialKey's hex: cannot happen
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: r.At, ReasonCode: r.Reason})
	}
	ca.mu.Unlock()
	slices.SortFunc(entries, func(x, y x509.RevocationListEntry) int { return x.SerialNumber.Cmp(y.SerialNumber) })
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                now.Add(-time.Minute),
		NextUpdate:                now.Add(CRLNextUpdate),
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign CRL of %q: %w", ca.cert.Subject.CommonName, err)
	}
	return der, nil
}

// IsCRLPath reports whether path (a URL path, "/egresslab-lab-root.crl")
// is the file name of one of the CA's CRL distribution points.
func (ca *CA) IsCRLPath(path string) bool {
	for _, u := range ca.cfg.crlURLs {
		if i := strings.LastIndex(u, "/"); i >= 0 && u[i:] == path {
			return true
		}
	}
	return false
}

// Names of the intermediate CAs: the issuing CA of the lab's leaves
// ([Authority.Issuing]) and the revoked one of [RevokedIntermediate]
// leaves.
const (
	IssuingName             = "egresslab Issuing CA"
	RevokedIntermediateName = "egresslab Revoked Issuing CA"
)

// The file names of the intermediates' CRLs, served on the hosts of the
// root's CRL distribution points, beside the root's.
const (
	IssuingCRLFile             = "egresslab-issuing-ca.crl"
	RevokedIntermediateCRLFile = "egresslab-revoked-issuing-ca.crl"
)

// newRevokedIntermediate creates the intermediate of [RevokedIntermediate]
// leaves and has root revoke it at once (cACompromise).
func newRevokedIntermediate(root *CA) (*CA, error) {
	ca, err := newIntermediate(root, RevokedIntermediateName, RevokedIntermediateCRLFile)
	if err != nil {
		return nil, err
	}
	if err := root.Revoke(ca.cert.SerialNumber, ca.cfg.now(), 2); err != nil { // cACompromise
		return nil, err
	}
	return ca, nil
}

// newIntermediate creates an intermediate CA named commonName under root,
// valid for half the root's validity, with root's OCSP URL and CRL
// distribution points in its certificate (root answers for it) and, for
// the leaves it issues, root's OCSP URL and CRL distribution points of
// its own: crlFile on the hosts of root's.
func newIntermediate(root *CA, commonName, crlFile string) (*CA, error) {
	cfg := root.cfg
	cfg.crlURLs = nil
	for _, u := range root.cfg.crlURLs {
		if i := strings.LastIndex(u, "/"); i >= 0 {
			cfg.crlURLs = append(cfg.crlURLs, u[:i]+"/"+crlFile)
		}
	}
	key, err := cfg.keyType.generate()
	if err != nil {
		return nil, fmt.Errorf("new intermediate: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("new intermediate: %w", err)
	}
	now := cfg.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: root.cert.Subject.Organization},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity / 2),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		CRLDistributionPoints: root.cfg.crlURLs,
	}
	if root.cfg.ocspURL != "" {
		tmpl.OCSPServer = []string{root.cfg.ocspURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.cert, key.Public(), root.key)
	if err != nil {
		return nil, fmt.Errorf("new intermediate: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new intermediate: parse certificate: %w", err)
	}
	ca, err := caOf(cert, key, cfg)
	if err != nil {
		return nil, fmt.Errorf("new intermediate: %w", err)
	}
	root.mu.Lock()
	root.issued[serialKey(serial)] = cert
	root.mu.Unlock()
	return ca, nil
}

// CRLAt returns the CRL served at a distribution point's path: the
// trusted root's (which lists the intermediates it revoked), the issuing
// CA's (the leaves it revoked), or the revoked intermediate's once it
// exists. ok is false for a path none names.
func (a *Authority) CRLAt(path string) (der []byte, ok bool, err error) {
	if a.root == nil {
		return nil, false, errZeroAuthority
	}
	for _, ca := range []*CA{a.root, a.issuing, a.createdRevokedInter.Load()} {
		if ca != nil && ca.IsCRLPath(path) {
			der, err := ca.CRL()
			return der, true, err
		}
	}
	return nil, false, nil
}
