package pki_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
)

// TestCRL: leaves name two CRL distribution points, the issuing CA's,
// whose CRL, signed by the issuing CA, lists the revoked leaf and not the
// good one; the issuing CA names the root's, whose CRL lists no
// intermediate.
func TestCRL(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	a := newAuthority(t, pki.WithClock(func() time.Time { return now }))
	good, err := a.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	revoked, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.Revoked})
	require.NoError(t, err)
	assert.Equal(t, []string{"http://crl3.digicert.com/egresslab-issuing-ca.crl", "http://crl4.digicert.com/egresslab-issuing-ca.crl"},
		good.Cert.CRLDistributionPoints, "the leaves name the issuing CA's CRL")
	assert.Equal(t, pki.DefaultCRLURLs, a.Issuing().Certificate().CRLDistributionPoints, "the issuing CA names the root's")
	assert.True(t, a.Root().IsCRLPath("/egresslab-lab-root.crl"))
	assert.False(t, a.Root().IsCRLPath("/other.crl"))
	assert.True(t, a.Issuing().IsCRLPath("/"+pki.IssuingCRLFile))

	// The issuing CA's CRL lists the revoked leaf.
	der, ok, err := a.CRLAt("/" + pki.IssuingCRLFile)
	require.NoError(t, err)
	require.True(t, ok)
	crl, err := x509.ParseRevocationList(der)
	require.NoError(t, err)
	require.NoError(t, crl.CheckSignatureFrom(a.Issuing().Certificate()))
	assert.Equal(t, now.Add(-time.Minute), crl.ThisUpdate.UTC())
	assert.Equal(t, now.Add(pki.CRLNextUpdate), crl.NextUpdate.UTC())
	require.Len(t, crl.RevokedCertificateEntries, 1)
	e := crl.RevokedCertificateEntries[0]
	assert.Zero(t, e.SerialNumber.Cmp(revoked.Cert.SerialNumber))
	assert.Equal(t, 1, e.ReasonCode) // keyCompromise
	assert.Equal(t, now, e.RevocationTime.UTC())
	again, _, err := a.CRLAt("/" + pki.IssuingCRLFile)
	require.NoError(t, err)
	next, err := x509.ParseRevocationList(again)
	require.NoError(t, err)
	assert.Equal(t, 1, next.Number.Cmp(crl.Number), "each CRL has a greater number")

	// The root's lists no intermediate: the issuing CA is good.
	der, err = a.CRL()
	require.NoError(t, err)
	root, err := x509.ParseRevocationList(der)
	require.NoError(t, err)
	require.NoError(t, root.CheckSignatureFrom(a.Root().Certificate()))
	assert.Equal(t, now.Add(-time.Minute), root.ThisUpdate.UTC())
	assert.Empty(t, root.RevokedCertificateEntries)
	again, ok, err = a.CRLAt("/egresslab-lab-root.crl")
	require.NoError(t, err)
	require.True(t, ok)
	next, err = x509.ParseRevocationList(again)
	require.NoError(t, err)
	assert.Equal(t, 1, next.Number.Cmp(root.Number), "each CRL has a greater number")
}

// TestRevokedNeedsARevocationSource: a CA with neither an OCSP URL nor a
// CRL cannot issue a revoked leaf; one with only a CRL can.
func TestRevokedNeedsARevocationSource(t *testing.T) {
	t.Parallel()
	_, err := newAuthority(t, pki.WithOCSPURL(""), pki.WithCRLURLs()).Issue(pki.Request{Hosts: []string{portal}, Fault: pki.Revoked})
	require.ErrorContains(t, err, "neither an OCSP URL nor a CRL distribution point")
	leaf, err := newAuthority(t, pki.WithOCSPURL("")).Issue(pki.Request{Hosts: []string{portal}, Fault: pki.Revoked})
	require.NoError(t, err)
	assert.Empty(t, leaf.Cert.OCSPServer)
	assert.Len(t, leaf.Cert.CRLDistributionPoints, 2)
}
