package pki

import (
	"crypto/rand"
	"crypto/x509"
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
// revoked: what the lab serves at the CRL distribution points of its
// leaves. Its thisUpdate and nextUpdate follow the Authority's clock.
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
