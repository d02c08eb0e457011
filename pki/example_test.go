package pki_test

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/egresslab/egresslab/pki"
)

// Issue a certificate with a fault and see what a client's verification
// makes of it, given the chain a server sends (the leaf and its issuer).
func ExampleAuthority_Issue() {
	auth, err := pki.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, fault := range []pki.Fault{pki.NoFault, pki.WrongHost, pki.UntrustedRoot} {
		leaf, err := auth.Issue(pki.Request{Hosts: []string{"passwordreset.microsoftonline.com"}, Fault: fault})
		if err != nil {
			fmt.Println(err)
			return
		}
		sent := x509.NewCertPool()
		for _, der := range leaf.TLS.Certificate[1:] {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				fmt.Println(err)
				return
			}
			sent.AddCert(c)
		}
		_, err = leaf.Cert.Verify(x509.VerifyOptions{Roots: auth.Pool(), Intermediates: sent, DNSName: "passwordreset.microsoftonline.com"})
		var ua x509.UnknownAuthorityError
		switch {
		case err == nil:
			fmt.Printf("%s: trusted\n", fault)
		case errors.As(err, &ua):
			fmt.Printf("%s: signed by %q, which the client does not trust\n", fault, ua.Cert.Issuer.CommonName)
		default:
			fmt.Printf("%s: %v\n", fault, err)
		}
	}
	// Output:
	// none: trusted
	// wrong-host: x509: certificate is valid for wrong-host.egresslab.invalid, not passwordreset.microsoftonline.com
	// untrusted-root: signed by "egresslab Untrusted Root CA", which the client does not trust
}

// Answer an OCSP request about a revoked certificate, issued by the
// issuing CA.
func ExampleAuthority_RespondOCSP() {
	auth, _ := pki.New()
	leaf, _ := auth.Issue(pki.Request{Hosts: []string{"ajax.aspnetcdn.com"}, Fault: pki.Revoked})
	req, _ := pki.OCSPRequest(leaf.Cert, auth.Issuing().Certificate())
	_, status, err := auth.RespondOCSP(req)
	fmt.Println(status, err, leaf.Cert.OCSPServer)
	// Output: revoked <nil> [http://ocsp.digicert.com]
}
