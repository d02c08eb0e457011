package pki_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/pki"
)

// TestOpenSSLOCSP has openssl build the OCSP request, the Authority answer
// it, and openssl verify the signed answer against the lab root: for
// leaves, signed by the issuing CA; for the issuing CA, by the root.
func TestOpenSSLOCSP(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "openssl")
	a := newAuthority(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, a.Root().WritePEM(caFile))
	issuingFile := filepath.Join(dir, "issuing.pem")
	require.NoError(t, a.Issuing().WritePEM(issuingFile))

	for _, fault := range []pki.Fault{pki.NoFault, pki.Revoked, "issuing CA"} {
		t.Run(fault.String(), func(t *testing.T) {
			certPEM, issuer := a.Issuing().CertPEM(), caFile
			if fault != "issuing CA" {
				leaf, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: fault})
				require.NoError(t, err)
				certPEM, issuer = leaf.CertPEM(), issuingFile
			}
			certFile := filepath.Join(dir, fault.String()+".pem")
			reqFile := filepath.Join(dir, fault.String()+".req")
			respFile := filepath.Join(dir, fault.String()+".resp")
			require.NoError(t, os.WriteFile(certFile, certPEM, 0o644))

			out, code, err := testtool.Run(t, "openssl", "ocsp", "-issuer", issuer, "-cert", certFile, "-no_nonce", "-reqout", reqFile)
			require.NoError(t, err)
			require.Equal(t, 0, code, out)
			reqDER, err := os.ReadFile(reqFile)
			require.NoError(t, err)

			respDER, _, err := a.RespondOCSP(reqDER)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(respFile, respDER, 0o644))

			out, code, err = testtool.Run(t, "openssl", "ocsp", "-respin", respFile, "-issuer", issuer, "-cert", certFile, "-CAfile", caFile)
			require.NoError(t, err)
			require.Equal(t, 0, code, out)
			assert.Contains(t, out, "Response verify OK")
			want := map[pki.Fault]string{pki.NoFault: ": good", pki.Revoked: ": revoked", "issuing CA": ": good"}[fault]
			assert.Contains(t, out, certFile+want)
			if fault == pki.Revoked {
				assert.Contains(t, out, "Reason: keyCompromise")
			}
		})
	}
}
