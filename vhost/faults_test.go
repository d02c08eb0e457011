package vhost_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/vhost"
)

// TestCertificateFaults serves each fault and checks what a Go client and
// openssl s_client -verify_return_error make of it. Revocation is not part
// of either check (Go does not check it, s_client does not without
// stapling), so the revoked certificate passes both and the test proves
// instead that the served certificate is the one the OCSP responder calls
// revoked.
func TestCertificateFaults(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "openssl")
	type want struct {
		goErr      func(t *testing.T, err error)
		opensslNum string // "verify error:num=N" from s_client; "" for success
	}
	unknownAuthority := func(t *testing.T, err error) {
		var ue x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &ue)
	}
	invalid := func(t *testing.T, err error) {
		var ie x509.CertificateInvalidError
		if assert.ErrorAs(t, err, &ie) {
			assert.Equal(t, x509.Expired, ie.Reason)
		}
	}
	tests := map[pki.Fault]want{
		pki.NoFault:     {func(t *testing.T, err error) { assert.NoError(t, err) }, ""},
		pki.Expired:     {invalid, "10"}, // X509_V_ERR_CERT_HAS_EXPIRED
		pki.NotYetValid: {invalid, "9"},  // X509_V_ERR_CERT_NOT_YET_VALID
		pki.WrongHost: {func(t *testing.T, err error) {
			var he x509.HostnameError
			if assert.ErrorAs(t, err, &he) {
				assert.Equal(t, portal, he.Host)
			}
		}, "62"}, // X509_V_ERR_HOSTNAME_MISMATCH
		pki.SelfSigned:    {unknownAuthority, "18"}, // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
		pki.UntrustedRoot: {unknownAuthority, "19"}, // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: the root is sent along
		pki.Revoked:       {func(t *testing.T, err error) { assert.NoError(t, err) }, ""},
		// The intermediate is sent along: both verify the chain.
		pki.RevokedIntermediate: {func(t *testing.T, err error) { assert.NoError(t, err) }, ""},
	}
	require.Len(t, tests, len(pki.Faults()))
	for _, kt := range keyTypes {
		for fault, w := range tests {
			t.Run(kt.String()+"/"+fault.String(), func(t *testing.T) {
				t.Parallel()
				l := labFor(t, kt)
				leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}, Fault: fault})
				require.NoError(t, err)
				s, seen := startServer(t, l, vhost.ServiceRange(), leaf)

				// A Go client.
				cs, local, err := handshake(t, s.Addr(), &tls.Config{RootCAs: l.auth.Pool(), ServerName: portal})
				hs := seen.next(t, local)
				w.goErr(t, err)
				got, ok := pki.Classify(err, time.Now())
				if fault == pki.NoFault || fault == pki.Revoked || fault == pki.RevokedIntermediate {
					assert.False(t, ok)
				} else if assert.True(t, ok, "%v", err) {
					assert.Equal(t, fault, got)
				}
				// The server sends the leaf and its issuer, as real servers
				// do: the issuing CA, or the untrusted root or the revoked
				// intermediate; a self-signed leaf alone.
				sent := cs.PeerCertificates
				if err != nil {
					var ve *tls.CertificateVerificationError
					require.ErrorAs(t, err, &ve, "the failure is the client's verification")
					sent = ve.UnverifiedCertificates
				}
				if fault == pki.SelfSigned {
					assert.Len(t, sent, 1)
				} else if assert.Len(t, sent, 2) {
					issuer := map[pki.Fault]string{pki.UntrustedRoot: pki.UntrustedName, pki.RevokedIntermediate: pki.RevokedIntermediateName}[fault]
					if issuer == "" {
						issuer = pki.IssuingName
					}
					assert.Equal(t, issuer, sent[1].Subject.CommonName)
					assert.Equal(t, issuer, sent[0].Issuer.CommonName)
				}
				if err != nil {
					var ve *tls.CertificateVerificationError
					require.ErrorAs(t, err, &ve, "the failure is the client's verification")
					assert.Equal(t, leaf.Cert.Raw, ve.UnverifiedCertificates[0].Raw)
					assert.ErrorContains(t, hs.Err, "remote error: tls: bad certificate", "the client told the server")
				} else {
					assert.Equal(t, leaf.Cert.Raw, cs.PeerCertificates[0].Raw)
				}

				// openssl s_client.
				out, code, rerr := testtool.Run(t, "openssl", "s_client", "-connect", s.Addr(), "-servername", portal,
					"-verify_hostname", portal, "-CAfile", l.caFile, "-verify_return_error", "-brief")
				require.NoError(t, rerr)
				if w.opensslNum == "" {
					assert.Equal(t, 0, code, out)
					assert.Contains(t, out, "Verification: OK")
				} else {
					assert.Equal(t, 1, code, out)
					assert.Contains(t, out, "verify error:num="+w.opensslNum+":", out)
				}
				seen.next(t, "")

				if fault == pki.Revoked {
					require.Len(t, cs.PeerCertificates, 2)
					req, err := pki.OCSPRequest(cs.PeerCertificates[0], cs.PeerCertificates[1])
					require.NoError(t, err)
					_, status, err := l.auth.RespondOCSP(req)
					require.NoError(t, err)
					assert.Equal(t, pki.OCSPRevoked, status, "the issuing CA revoked the leaf")
					assert.Equal(t, []string{pki.DefaultOCSPURL}, cs.PeerCertificates[0].OCSPServer)
					req, err = pki.OCSPRequest(cs.PeerCertificates[1], l.auth.Root().Certificate())
					require.NoError(t, err)
					_, status, err = l.auth.RespondOCSP(req)
					require.NoError(t, err)
					assert.Equal(t, pki.OCSPGood, status, "the issuing CA itself is good")
				}
				if fault == pki.RevokedIntermediate {
					require.Len(t, cs.PeerCertificates, 2)
					req, err := pki.OCSPRequest(cs.PeerCertificates[1], l.auth.Root().Certificate())
					require.NoError(t, err)
					_, status, err := l.auth.RespondOCSP(req)
					require.NoError(t, err)
					assert.Equal(t, pki.OCSPRevoked, status, "the root revoked the intermediate")
				}
			})
		}
	}
}

// TestInterceptionListener serves certificates minted on the fly by the
// interception root, as an inspecting proxy does: a client that trusts the
// root gets through, one that does not fails as it would in the field.
func TestInterceptionListener(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	ic, err := l.auth.Interception()
	require.NoError(t, err)
	s, err := vhost.NewUnstarted(okHandler)
	require.NoError(t, err)
	s.TLS = &tls.Config{GetCertificate: ic.GetCertificate}
	require.NoError(t, s.Start())
	t.Cleanup(s.Close)

	for _, host := range []string{"ajax.aspnetcdn.com", portal} {
		cs, _, err := handshake(t, s.Addr(), &tls.Config{RootCAs: ic.CA().Pool(), ServerName: host})
		require.NoError(t, err, host)
		assert.Equal(t, pki.InterceptionName, cs.PeerCertificates[0].Issuer.CommonName)
		require.Len(t, cs.PeerCertificates, 2, "the interception root is sent along")
		assert.Equal(t, []string{host}, cs.PeerCertificates[0].DNSNames)

		_, _, err = handshake(t, s.Addr(), &tls.Config{RootCAs: l.auth.Pool(), ServerName: host})
		var ue x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &ue, "a client with only the lab root does not trust the interception root")
	}
}
