package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
)

// crl3URL is the first CRL distribution point of the lab's leaves: the
// issuing CA's CRL.
const crl3URL = "http://crl3.digicert.com/egresslab-issuing-ca.crl"

// rootCRL3URL is the first CRL distribution point of the intermediates:
// the root's CRL.
const rootCRL3URL = "http://crl3.digicert.com/egresslab-lab-root.crl"

// TestRevocationSources: OCSP answers when it can, and the CRL
// distribution points, in turn, when it cannot, as CryptoAPI does; the
// result names the source and how long the step took.
func TestRevocationSources(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		lab    []labOption
		source string
		crl3   bool // fetched crl3
		crl4   bool // fetched crl4
	}{
		"OCSP answers":                     {[]labOption{withProxy(allow(mock.PortalHost, mock.CDNHost, mock.OCSPHost, mock.CRL3Host, mock.CRL4Host))}, client.SourceOCSP, false, false},
		"OCSP blocked, CRL allowed":        {[]labOption{withProxy(allow(mock.PortalHost, mock.CDNHost, mock.CRL3Host, mock.CRL4Host))}, client.SourceCRL, true, false},
		"OCSP and crl3 blocked, crl4 open": {[]labOption{withProxy(allow(mock.PortalHost, mock.CDNHost, mock.CRL4Host))}, client.SourceCRL, false, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, tc.lab...)
			res := l.run(t, profile(userProxy)) // hard-fail
			require.True(t, res.OK(), "%s", res)
			assert.Equal(t, tc.source, res.RevocationSource)
			assert.Positive(t, res.RevocationDuration, "the step's duration is reported")
			assert.Equal(t, tc.crl3, l.net.dialsTo(mock.CRL3Host+":80") > 0, "crl3 fetched")
			assert.Equal(t, tc.crl4, l.net.dialsTo(mock.CRL4Host+":80") > 0, "crl4 fetched")
		})
	}
}

// TestRevokedInCRL: a certificate the CRL lists is certificate-revoked,
// soft-fail or not, when OCSP cannot answer; the error names the CRL.
func TestRevokedInCRL(t *testing.T) {
	t.Parallel()
	l := newLab(t, withPortalCert(pki.Revoked), withProxy(allow(mock.PortalHost, mock.CDNHost, mock.CRL3Host, mock.CRL4Host)))
	for _, policy := range []client.Revocation{client.RevocationHardFail, client.RevocationSoftFail} {
		res := l.run(t, profile(userProxy, func(p *client.Profile) { p.Revocation = policy }))
		assert.Equal(t, client.CauseCertRevoked, res.Cause, "%s: %s", policy, res)
		assert.Equal(t, client.StepRevocation, res.Step)
		assert.Equal(t, mock.PortalHost, res.Host)
		assert.Equal(t, client.SourceCRL, res.RevocationSource)
		var re *client.RevocationError
		require.ErrorAs(t, res.Err, &re)
		assert.True(t, re.Revoked)
		assert.Equal(t, client.SourceCRL, re.Source)
		assert.Equal(t, crl3URL, re.CRL)
		assert.Contains(t, res.Error, "(CRL "+crl3URL+")")
	}
}

// TestRevocationOffNoSource: no check, no source, no duration.
func TestRevocationOffNoSource(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	res := l.run(t, profile(func(p *client.Profile) { p.Revocation = client.RevocationOff }))
	require.True(t, res.OK(), "%s", res)
	assert.Empty(t, res.RevocationSource)
	assert.Zero(t, res.RevocationDuration)
	assert.Zero(t, l.net.dialsTo(mock.CRL3Host+":80"))
}

// TestRevokedIntermediate: the whole chain but the root is checked, as
// CryptoAPI does: a good leaf under a revoked intermediate is
// certificate-revoked, from OCSP, or from the root's CRL when OCSP is
// blocked, soft-fail or not.
func TestRevokedIntermediate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		lab    []labOption
		prof   func(*client.Profile)
		source string
		where  string
	}{
		"OCSP, direct":      {nil, func(*client.Profile) {}, client.SourceOCSP, "(OCSP http://ocsp.digicert.com)"},
		"CRL, OCSP blocked": {[]labOption{withProxy(allow(mock.PortalHost, mock.CDNHost, mock.CRL3Host, mock.CRL4Host))}, userProxy, client.SourceCRL, "(CRL " + rootCRL3URL + ")"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, append([]labOption{withPortalCert(pki.RevokedIntermediate)}, tc.lab...)...)
			for _, policy := range []client.Revocation{client.RevocationHardFail, client.RevocationSoftFail} {
				res := l.run(t, profile(tc.prof, func(p *client.Profile) { p.Revocation = policy }))
				assert.Equal(t, client.CauseCertRevoked, res.Cause, "%s: %s", policy, res)
				assert.Equal(t, client.StepRevocation, res.Step)
				assert.Equal(t, mock.PortalHost, res.Host)
				assert.Equal(t, tc.source, res.RevocationSource, "the leaf and its issuer answered by the same source")
				var re *client.RevocationError
				require.ErrorAs(t, res.Err, &re)
				assert.True(t, re.Revoked)
				assert.True(t, re.Issuer, "the issuer, not the leaf")
				assert.Equal(t, pki.RevokedIntermediateName, re.Subject)
				assert.Equal(t, tc.source, re.Source)
				assert.Contains(t, res.Error, `issuing CA certificate "egresslab Revoked Issuing CA" in the chain of `+mock.PortalHost)
				assert.Contains(t, res.Error, tc.where)
			}
		})
	}
}

// TestBothLevelsFromCRL: with OCSP blocked, a healthy chain is checked at
// both levels from the CRLs, as CryptoAPI does: the leaf against the
// issuing CA's CRL, the issuing CA against the root's.
func TestBothLevelsFromCRL(t *testing.T) {
	t.Parallel()
	l := newLab(t, withProxy(allow(mock.PortalHost, mock.CDNHost, mock.CRL3Host, mock.CRL4Host)))
	res := l.run(t, profile(userProxy))
	require.True(t, res.OK(), "%s", res)
	assert.Equal(t, client.SourceCRL, res.RevocationSource)
	paths := map[string]bool{}
	for _, f := range l.crls.Fetches() {
		paths[f.Path] = true
	}
	assert.Equal(t, map[string]bool{"/" + pki.IssuingCRLFile: true, "/egresslab-lab-root.crl": true}, paths)
}
