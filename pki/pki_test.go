package pki_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"

	"github.com/egresslab/egresslab/pki"
)

const portal = "passwordreset.microsoftonline.com"

func newAuthority(t testing.TB, opts ...pki.Option) *pki.Authority {
	t.Helper()
	a, err := pki.New(opts...)
	require.NoError(t, err)
	return a
}

// verify verifies leaf as a TLS client would, with the rest of the chain
// the server sends as intermediates.
func verify(a *pki.Authority, leaf *pki.Leaf, host string, at time.Time) error {
	inter := x509.NewCertPool()
	for _, der := range leaf.TLS.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		inter.AddCert(c)
	}
	_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: a.Pool(), Intermediates: inter, DNSName: host, CurrentTime: at})
	return err
}

func TestIssueValidLeaf(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	a := newAuthority(t, pki.WithClock(func() time.Time { return now }))
	leaf, err := a.Issue(pki.Request{Hosts: []string{"PasswordReset.MicrosoftOnline.com.", "127.0.0.1", "::1", "*.msauth.net"}})
	require.NoError(t, err)

	assert.Equal(t, portal, leaf.Cert.Subject.CommonName)
	assert.Equal(t, []string{portal, "*.msauth.net"}, leaf.Cert.DNSNames)
	require.Len(t, leaf.Cert.IPAddresses, 2)
	assert.Equal(t, "127.0.0.1", leaf.Cert.IPAddresses[0].String())
	assert.Equal(t, []string{pki.DefaultOCSPURL}, leaf.Cert.OCSPServer)
	assert.Equal(t, now.Add(-time.Hour), leaf.Cert.NotBefore)
	assert.Equal(t, now.Add(pki.LeafValidity), leaf.Cert.NotAfter)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.Cert.ExtKeyUsage)
	assert.Same(t, a.Issuing(), leaf.Issuer)
	require.Len(t, leaf.TLS.Certificate, 2, "the issuing CA is sent along")
	assert.Equal(t, a.Issuing().Certificate().Raw, leaf.TLS.Certificate[1])
	inter := a.Issuing().Certificate()
	assert.Equal(t, pki.IssuingName, inter.Subject.CommonName)
	assert.True(t, inter.IsCA)
	assert.True(t, inter.MaxPathLenZero, "the issuing CA issues leaves only")
	assert.NoError(t, inter.CheckSignatureFrom(a.Root().Certificate()))
	issued, rev := a.Root().Status(inter.SerialNumber)
	assert.True(t, issued, "the root issued the issuing CA")
	assert.Nil(t, rev)
	assert.Equal(t, []string{pki.DefaultOCSPURL}, inter.OCSPServer)

	for _, host := range []string{portal, "cdn.msauth.net", "127.0.0.1", "::1"} {
		assert.NoError(t, verify(a, leaf, host, now), host)
	}
	assert.Error(t, verify(a, leaf, "ajax.aspnetcdn.com", now))
	_, ok := leaf.TLS.PrivateKey.(*ecdsa.PrivateKey)
	assert.True(t, ok, "default key type is ECDSA")
}

func TestIssueRSA(t *testing.T) {
	t.Parallel()
	a := newAuthority(t, pki.WithKeyType(pki.RSA2048))
	leaf, err := a.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	key, ok := leaf.TLS.PrivateKey.(*rsa.PrivateKey)
	require.True(t, ok)
	assert.Equal(t, 2048, key.N.BitLen())
	assert.Equal(t, x509.RSA, a.Root().Certificate().PublicKeyAlgorithm)
	assert.NotZero(t, leaf.Cert.KeyUsage&x509.KeyUsageKeyEncipherment)
	assert.NoError(t, verify(a, leaf, portal, time.Now()))
}

func TestFaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	a := newAuthority(t, pki.WithClock(func() time.Time { return now }))
	tests := map[pki.Fault]func(t *testing.T, err error, leaf *pki.Leaf){
		pki.NoFault: func(t *testing.T, err error, _ *pki.Leaf) { assert.NoError(t, err) },
		pki.Expired: func(t *testing.T, err error, leaf *pki.Leaf) {
			var ie x509.CertificateInvalidError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, x509.Expired, ie.Reason)
			assert.True(t, leaf.Cert.NotAfter.Before(now))
		},
		pki.NotYetValid: func(t *testing.T, err error, leaf *pki.Leaf) {
			var ie x509.CertificateInvalidError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, x509.Expired, ie.Reason) // x509 uses one reason for both ends
			assert.True(t, leaf.Cert.NotBefore.After(now))
		},
		pki.WrongHost: func(t *testing.T, err error, leaf *pki.Leaf) {
			var he x509.HostnameError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, portal, he.Host)
			assert.Equal(t, []string{pki.WrongHostName}, leaf.Cert.DNSNames)
		},
		pki.SelfSigned: func(t *testing.T, err error, leaf *pki.Leaf) {
			var ue x509.UnknownAuthorityError
			require.ErrorAs(t, err, &ue)
			assert.Nil(t, leaf.Issuer)
			assert.Equal(t, leaf.Cert.RawSubject, leaf.Cert.RawIssuer)
			assert.NoError(t, leaf.Cert.CheckSignature(leaf.Cert.SignatureAlgorithm, leaf.Cert.RawTBSCertificate, leaf.Cert.Signature), "signed by its own key")
			assert.Empty(t, leaf.Cert.OCSPServer)
		},
		pki.UntrustedRoot: func(t *testing.T, err error, leaf *pki.Leaf) {
			var ue x509.UnknownAuthorityError
			require.ErrorAs(t, err, &ue)
			untrusted, uerr := a.Untrusted()
			require.NoError(t, uerr)
			assert.Same(t, untrusted, leaf.Issuer)
			assert.NoError(t, leaf.Cert.CheckSignatureFrom(untrusted.Certificate()))
			require.Len(t, leaf.TLS.Certificate, 2, "the untrusted root is sent along")
			assert.Equal(t, untrusted.Certificate().Raw, leaf.TLS.Certificate[1])
		},
		pki.Revoked: func(t *testing.T, err error, leaf *pki.Leaf) {
			assert.NoError(t, err, "x509 alone does not check revocation")
			assert.Same(t, a.Issuing(), leaf.Issuer)
			issued, rev := a.Issuing().Status(leaf.Cert.SerialNumber)
			assert.True(t, issued)
			require.NotNil(t, rev)
			assert.Equal(t, ocsp.KeyCompromise, rev.Reason)
			assert.Equal(t, now, rev.At)
		},
		pki.RevokedIntermediate: func(t *testing.T, err error, leaf *pki.Leaf) {
			assert.NoError(t, err, "x509 alone does not check revocation")
			require.NotNil(t, leaf.Issuer)
			inter := leaf.Issuer.Certificate()
			assert.Equal(t, pki.RevokedIntermediateName, inter.Subject.CommonName)
			require.Len(t, leaf.TLS.Certificate, 2, "the intermediate is sent along")
			assert.Equal(t, inter.Raw, leaf.TLS.Certificate[1])
			assert.NoError(t, inter.CheckSignatureFrom(a.Root().Certificate()))
			issued, rev := leaf.Issuer.Status(leaf.Cert.SerialNumber)
			assert.True(t, issued)
			assert.Nil(t, rev, "the leaf itself is good")
			issued, rev = a.Root().Status(inter.SerialNumber)
			assert.True(t, issued)
			require.NotNil(t, rev, "the root revoked the intermediate")
			assert.Equal(t, 2, rev.Reason) // cACompromise
			assert.Equal(t, []string{"http://crl3.digicert.com/egresslab-revoked-issuing-ca.crl", "http://crl4.digicert.com/egresslab-revoked-issuing-ca.crl"},
				leaf.Cert.CRLDistributionPoints)
			assert.Equal(t, pki.DefaultCRLURLs, inter.CRLDistributionPoints, "the root's CRL lists the intermediate")

			// OCSP: the intermediate answers good for the leaf, the root
			// revoked for the intermediate.
			req, rerr := pki.OCSPRequest(leaf.Cert, inter)
			require.NoError(t, rerr)
			_, status, rerr := a.RespondOCSP(req)
			require.NoError(t, rerr)
			assert.Equal(t, pki.OCSPGood, status)
			req, rerr = pki.OCSPRequest(inter, a.Root().Certificate())
			require.NoError(t, rerr)
			_, status, rerr = a.RespondOCSP(req)
			require.NoError(t, rerr)
			assert.Equal(t, pki.OCSPRevoked, status)

			// CRLs: the root's lists the intermediate, the intermediate's
			// (signed by it) lists nothing.
			der, ok, rerr := a.CRLAt("/egresslab-lab-root.crl")
			require.NoError(t, rerr)
			require.True(t, ok)
			crl, rerr := x509.ParseRevocationList(der)
			require.NoError(t, rerr)
			found := false
			for _, e := range crl.RevokedCertificateEntries {
				found = found || e.SerialNumber.Cmp(inter.SerialNumber) == 0
			}
			assert.True(t, found, "the root's CRL lists the intermediate")
			der, ok, rerr = a.CRLAt("/egresslab-revoked-issuing-ca.crl")
			require.NoError(t, rerr)
			require.True(t, ok)
			crl, rerr = x509.ParseRevocationList(der)
			require.NoError(t, rerr)
			require.NoError(t, crl.CheckSignatureFrom(inter))
			assert.Empty(t, crl.RevokedCertificateEntries)
		},
	}
	require.Len(t, tests, len(pki.Faults()), "every fault has a test")
	for fault, check := range tests {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			leaf, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: fault})
			require.NoError(t, err)
			assert.Equal(t, fault, leaf.Fault)
			verr := verify(a, leaf, portal, now)
			check(t, verr, leaf)
			got, ok := pki.Classify(verr, now)
			if fault == pki.NoFault || fault == pki.Revoked || fault == pki.RevokedIntermediate {
				assert.False(t, ok, "%v", verr)
			} else {
				assert.True(t, ok, "%v", verr)
				assert.Equal(t, fault, got, "the verification error classifies back to the fault")
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	noOCSP := newAuthority(t, pki.WithOCSPURL(""), pki.WithCRLURLs())
	tests := map[string]struct {
		auth *pki.Authority
		req  pki.Request
		want string
	}{
		"no hosts":                 {a, pki.Request{}, "no host name"},
		"empty host":               {a, pki.Request{Hosts: []string{"  "}}, "empty host name"},
		"host with port":           {a, pki.Request{Hosts: []string{"example.com:443"}}, "not host:port"},
		"invalid DNS name":         {a, pki.Request{Hosts: []string{"bad_name!.com"}}, "not a valid DNS name"},
		"label too long":           {a, pki.Request{Hosts: []string{string(make([]byte, 64)) + ".com"}}, "not a valid DNS name"},
		"zoned IP":                 {a, pki.Request{Hosts: []string{"fe80::1%eth0"}}, "zone"},
		"unknown fault":            {a, pki.Request{Hosts: []string{portal}, Fault: "cursed"}, `unknown certificate fault "cursed"`},
		"revoked without OCSP/CRL": {noOCSP, pki.Request{Hosts: []string{portal}, Fault: pki.Revoked}, "does not apply"},
		"wrong-host of wrong-host": {a, pki.Request{Hosts: []string{pki.WrongHostName}, Fault: pki.WrongHost}, "does not apply"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			leaf, err := tc.auth.Issue(tc.req)
			require.Error(t, err)
			assert.Nil(t, leaf)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseFaultAndKeyType(t *testing.T) {
	t.Parallel()
	for _, f := range pki.Faults() {
		got, err := pki.ParseFault(f.String())
		require.NoError(t, err)
		assert.Equal(t, f, got)
		var u pki.Fault
		b, _ := f.MarshalText()
		require.NoError(t, u.UnmarshalText(b))
		assert.Equal(t, f, u)
	}
	_, err := pki.ParseFault("expird")
	assert.ErrorContains(t, err, `unknown certificate fault "expird": want one of none, expired, not-yet-valid, wrong-host, self-signed, untrusted-root, revoked, revoked-intermediate (did you mean "expired"?)`)

	for in, want := range map[string]pki.KeyType{"ecdsa-p256": pki.ECDSAP256, "RSA": pki.RSA2048, "rsa-2048": pki.RSA2048} {
		got, err := pki.ParseKeyType(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err = pki.ParseKeyType("dsa")
	assert.ErrorContains(t, err, `unknown key type "dsa"`)
}

func TestZeroValuesDoNotPanic(t *testing.T) {
	t.Parallel()
	var a pki.Authority
	_, err := a.Issue(pki.Request{Hosts: []string{portal}})
	assert.ErrorContains(t, err, "not created with pki.New")
	_, err = a.Untrusted()
	assert.Error(t, err)
	_, err = a.Interception()
	assert.Error(t, err)
	_, _, err = a.RespondOCSP(nil)
	assert.Error(t, err)
	assert.NotNil(t, a.Pool())
	_, err = pki.NewInterceptor(nil)
	assert.ErrorContains(t, err, "nil CA")
	var l pki.Leaf
	_, err = l.KeyPEM()
	assert.ErrorContains(t, err, "no private key")
	assert.Nil(t, l.CertPEM())
	_, err = pki.NewCA("")
	assert.ErrorContains(t, err, "empty common name")
}

func TestNewCAOptions(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ca, err := pki.NewCA("Test Root", pki.WithOrganization("Lab Org"), pki.WithOCSPURL("http://ocsp.example.test"), pki.WithClock(func() time.Time { return at }))
	require.NoError(t, err)
	c := ca.Certificate()
	assert.Equal(t, "Test Root", c.Subject.CommonName)
	assert.Equal(t, []string{"Lab Org"}, c.Subject.Organization)
	assert.True(t, c.IsCA)
	assert.Equal(t, at.Add(pki.CAValidity), c.NotAfter)
	leaf, err := ca.Issue("svc.example.test")
	require.NoError(t, err)
	assert.Equal(t, []string{"http://ocsp.example.test"}, leaf.Cert.OCSPServer)
	assert.Equal(t, "http://ocsp.example.test", ca.OCSPURL())
	assert.Equal(t, pki.ECDSAP256, ca.KeyType())
	_, err = ca.Issue()
	assert.ErrorContains(t, err, "no host name")
}

// TestOCSPDoesNotCreateLazyRoots: answering OCSP must not pay for the
// untrusted and interception roots when nothing needed them.
func TestOCSPDoesNotCreateLazyRoots(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	stranger := newAuthority(t)
	leaf, err := stranger.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	req, err := pki.OCSPRequest(leaf.Cert, stranger.Root().Certificate())
	require.NoError(t, err)
	_, status, err := a.RespondOCSP(req)
	require.NoError(t, err)
	assert.Equal(t, pki.OCSPUnauthorized, status)
	// An interception leaf is answered once the root exists.
	ic, err := a.Interception()
	require.NoError(t, err)
	c, err := ic.Mint(portal)
	require.NoError(t, err)
	req, err = pki.OCSPRequest(c.Leaf, ic.CA().Certificate())
	require.NoError(t, err)
	_, status, err = a.RespondOCSP(req)
	require.NoError(t, err)
	assert.Equal(t, pki.OCSPGood, status)
}

func TestClassifyOtherErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("connection reset"), x509.SystemRootsError{}} {
		_, ok := pki.Classify(err, time.Now())
		assert.False(t, ok, "%v", err)
	}
}

func TestRevokeUnknownSerial(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	other := newAuthority(t)
	leaf, err := other.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	assert.ErrorContains(t, a.Root().Revoke(leaf.Cert.SerialNumber, time.Now(), ocsp.Unspecified), "was not issued by")
	assert.ErrorContains(t, a.Root().Revoke(nil, time.Now(), ocsp.Unspecified), "nil serial")
}

func TestTrustMaterial(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.pem")
	require.NoError(t, a.Root().WritePEM(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, a.Root().CertPEM(), b)

	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(b))
	leaf, err := a.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	inter := x509.NewCertPool()
	require.True(t, inter.AppendCertsFromPEM(a.Issuing().CertPEM()))
	_, err = leaf.Cert.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: portal})
	assert.NoError(t, err, "the root file and the issuing CA the server sends")

	// Pool returns a copy: adding to it does not widen the lab's trust.
	p := a.Pool()
	untrusted, err := a.Untrusted()
	require.NoError(t, err)
	p.AddCert(untrusted.Certificate())
	bad, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.UntrustedRoot})
	require.NoError(t, err)
	assert.Error(t, verify(a, bad, portal, time.Now()))

	assert.ErrorContains(t, a.Root().WritePEM(filepath.Join(dir, "missing", "ca.pem")), "write CA certificate")
	keyPEM, err := leaf.KeyPEM()
	require.NoError(t, err)
	assert.Contains(t, string(keyPEM), "BEGIN PRIVATE KEY")
	assert.Contains(t, string(leaf.CertPEM()), "BEGIN CERTIFICATE")
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Example.COM.":         "example.com",
		"bücher.example":       "xn--bcher-kva.example",
		"[::1]":                "::1",
		"::ffff:127.0.0.1":     "127.0.0.1",
		"*.MSFTAUTH.net":       "*.msftauth.net",
		" ajax.aspnetcdn.com ": "ajax.aspnetcdn.com",
	}
	for in, want := range tests {
		got, err := pki.NormalizeHost(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

func TestInterceptor(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	ic, err := a.Interception()
	require.NoError(t, err)
	again, err := a.Interception()
	require.NoError(t, err)
	assert.Same(t, ic, again, "one interception root per authority")

	c1, err := ic.Mint("ajax.aspnetcdn.com")
	require.NoError(t, err)
	c2, err := ic.Mint("AJAX.aspnetcdn.com.")
	require.NoError(t, err)
	assert.Same(t, c1, c2, "cached per normalised host")

	_, err = c1.Leaf.Verify(x509.VerifyOptions{Roots: ic.CA().Pool(), DNSName: "ajax.aspnetcdn.com"})
	assert.NoError(t, err, "trusted by a client that has the interception root")
	_, err = c1.Leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: "ajax.aspnetcdn.com"})
	var ue x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &ue, "not trusted by a client with only the lab root")
	assert.Equal(t, pki.InterceptionName, c1.Leaf.Issuer.CommonName)

	c3, err := ic.Mint("ocsp.digicert.com")
	require.NoError(t, err)
	assert.Equal(t, c1.PrivateKey.(crypto.Signer).Public(), c3.PrivateKey.(crypto.Signer).Public(), "minted leaves share a key")

	_, err = ic.Mint("")
	assert.ErrorContains(t, err, "empty host name")
}

func TestInterceptorConcurrentMint(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	ic, err := a.Interception()
	require.NoError(t, err)
	hosts := []string{"a.example", "b.example", "c.example", "d.example"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]map[any]bool{}
	for i := range 64 {
		wg.Go(func() {
			h := hosts[i%len(hosts)]
			c, err := ic.Mint(h)
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			if got[h] == nil {
				got[h] = map[any]bool{}
			}
			got[h][c] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, h := range hosts {
		assert.Len(t, got[h], 1, "every caller gets the one cached certificate for %s", h)
	}
}

func TestOCSP(t *testing.T) {
	t.Parallel()
	a := newAuthority(t)
	good, err := a.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	revoked, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.Revoked})
	require.NoError(t, err)
	untrusted, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.UntrustedRoot})
	require.NoError(t, err)
	stranger := newAuthority(t)
	foreign, err := stranger.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	// A serial the issuing CA never issued, under its own name and key.
	unknown := *good.Cert
	unknown.SerialNumber = foreign.Cert.SerialNumber

	tests := map[string]struct {
		leaf, issuer *x509.Certificate
		hash         crypto.Hash
		want         pki.OCSPStatus
		wantStatus   int
	}{
		"good":                 {good.Cert, a.Issuing().Certificate(), crypto.SHA1, pki.OCSPGood, ocsp.Good},
		"good, SHA-256":        {good.Cert, a.Issuing().Certificate(), crypto.SHA256, pki.OCSPGood, ocsp.Good},
		"revoked":              {revoked.Cert, a.Issuing().Certificate(), crypto.SHA1, pki.OCSPRevoked, ocsp.Revoked},
		"unknown serial":       {&unknown, a.Issuing().Certificate(), crypto.SHA1, pki.OCSPUnknown, ocsp.Unknown},
		"issuing CA, by root":  {a.Issuing().Certificate(), a.Root().Certificate(), crypto.SHA1, pki.OCSPGood, ocsp.Good},
		"untrusted root's own": {untrusted.Cert, untrusted.Issuer.Certificate(), crypto.SHA1, pki.OCSPGood, ocsp.Good},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req, err := ocsp.CreateRequest(tc.leaf, tc.issuer, &ocsp.RequestOptions{Hash: tc.hash})
			require.NoError(t, err)
			der, status, err := a.RespondOCSP(req)
			require.NoError(t, err)
			assert.Equal(t, tc.want, status)
			resp, err := ocsp.ParseResponseForCert(der, tc.leaf, tc.issuer)
			require.NoError(t, err, "signed by the issuer")
			assert.Equal(t, tc.wantStatus, resp.Status)
			assert.Equal(t, 0, tc.leaf.SerialNumber.Cmp(resp.SerialNumber))
			assert.True(t, resp.NextUpdate.After(resp.ThisUpdate))
			if tc.want == pki.OCSPRevoked {
				assert.Equal(t, ocsp.KeyCompromise, resp.RevocationReason)
			}
		})
	}

	t.Run("unauthorized issuer", func(t *testing.T) {
		req, err := pki.OCSPRequest(foreign.Cert, stranger.Issuing().Certificate())
		require.NoError(t, err)
		der, status, err := a.RespondOCSP(req)
		require.NoError(t, err)
		assert.Equal(t, pki.OCSPUnauthorized, status)
		_, err = ocsp.ParseResponse(der, nil)
		var re ocsp.ResponseError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, ocsp.Unauthorized, re.Status)
	})
	t.Run("malformed", func(t *testing.T) {
		der, status, err := a.RespondOCSP([]byte("not an OCSP request"))
		require.NoError(t, err)
		assert.Equal(t, pki.OCSPMalformed, status)
		_, err = ocsp.ParseResponse(der, nil)
		var re ocsp.ResponseError
		require.True(t, errors.As(err, &re))
		assert.Equal(t, ocsp.Malformed, re.Status)
	})
}

// TestIssueKeyType gives one leaf a key type of its own, under a root of
// the other type, with and without a fault; nil keeps the Authority's.
func TestIssueKeyType(t *testing.T) {
	t.Parallel()
	a := newAuthority(t) // ECDSA P-256
	rsaKey, ecKey := pki.RSA2048, pki.ECDSAP256
	leaf, err := a.Issue(pki.Request{Hosts: []string{portal}, KeyType: &rsaKey})
	require.NoError(t, err)
	require.IsType(t, &rsa.PublicKey{}, leaf.Cert.PublicKey)
	assert.Equal(t, x509.ECDSAWithSHA256, leaf.Cert.SignatureAlgorithm, "signed by the ECDSA root")
	assert.NotZero(t, leaf.Cert.KeyUsage&x509.KeyUsageKeyEncipherment, "an RSA leaf may do RSA key exchange")
	require.NoError(t, verify(a, leaf, portal, time.Now()))

	self, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.SelfSigned, KeyType: &rsaKey})
	require.NoError(t, err)
	assert.IsType(t, &rsa.PublicKey{}, self.Cert.PublicKey)

	plain, err := a.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	assert.IsType(t, &ecdsa.PublicKey{}, plain.Cert.PublicKey)

	r := newAuthority(t, pki.WithKeyType(pki.RSA2048))
	ec, err := r.Issue(pki.Request{Hosts: []string{portal}, KeyType: &ecKey})
	require.NoError(t, err)
	assert.IsType(t, &ecdsa.PublicKey{}, ec.Cert.PublicKey)
	require.NoError(t, verify(r, ec, portal, time.Now()))

	bad := pki.KeyType(7)
	_, err = a.Issue(pki.Request{Hosts: []string{portal}, KeyType: &bad})
	assert.ErrorContains(t, err, "unknown key type")
}
