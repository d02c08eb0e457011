package mock_test

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
)

// TestCRLServer: the CRL at a leaf's distribution point's path, signed by
// the issuing CA, lists the revoked leaf; the root's, at the issuing CA's
// distribution point, lists no intermediate; other paths and methods are
// refused.
func TestCRLServer(t *testing.T) {
	t.Parallel()
	auth, err := pki.New()
	require.NoError(t, err)
	leaf, err := auth.Issue(pki.Request{Hosts: []string{mock.PortalHost}, Fault: pki.Revoked})
	require.NoError(t, err)
	cs, err := mock.NewCRLServer(auth)
	require.NoError(t, err)
	srv := httptest.NewServer(cs)
	t.Cleanup(srv.Close)

	get := func(path string, signer *x509.Certificate) *x509.RevocationList {
		resp, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, mock.CRLType, resp.Header.Get("Content-Type"))
		crl, err := x509.ParseRevocationList(body)
		require.NoError(t, err)
		require.NoError(t, crl.CheckSignatureFrom(signer))
		return crl
	}
	require.Len(t, leaf.Cert.CRLDistributionPoints, 2)
	assert.True(t, strings.HasSuffix(leaf.Cert.CRLDistributionPoints[0], "/"+pki.IssuingCRLFile))
	crl := get("/"+pki.IssuingCRLFile, auth.Issuing().Certificate())
	require.Len(t, crl.RevokedCertificateEntries, 1)
	assert.Zero(t, crl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.Cert.SerialNumber))
	assert.Equal(t, pki.DefaultCRLURLs, auth.Issuing().Certificate().CRLDistributionPoints)
	crl = get("/egresslab-lab-root.crl", auth.Root().Certificate())
	assert.Empty(t, crl.RevokedCertificateEntries, "the issuing CA is not revoked")
	require.Len(t, cs.Fetches(), 2)
	assert.Equal(t, "/"+pki.IssuingCRLFile, cs.Fetches()[0].Path)
	assert.Equal(t, "/egresslab-lab-root.crl", cs.Fetches()[1].Path)

	resp, err := srv.Client().Get(srv.URL + "/other.crl")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err = srv.Client().Post(srv.URL+"/egresslab-lab-root.crl", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Len(t, cs.Fetches(), 2, "refusals are not fetches")

	_, err = mock.NewCRLServer(nil)
	assert.Error(t, err)
}
