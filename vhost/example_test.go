package vhost_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

// Serve the portal's host name on loopback at TLS 1.2 and up, and meet it
// with a modern client and with a Windows 7 client that has only TLS 1.0.
func ExampleNew() {
	auth, _ := pki.New()
	leaf, _ := auth.Issue(pki.Request{Hosts: []string{"passwordreset.microsoftonline.com"}})
	s, err := vhost.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s over TLS %s", r.Host, vhost.VersionName(r.TLS.Version))
	}), vhost.WithHost("passwordreset.microsoftonline.com"), vhost.WithCertificate(leaf.TLS), vhost.WithVersions(vhost.ServiceRange()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	modern := s.Client(&tls.Config{RootCAs: auth.Pool()})
	resp, err := modern.Get("https://passwordreset.microsoftonline.com/n/passwordreset")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	win7 := vhost.Range{Min: tls.VersionTLS10, Max: tls.VersionTLS10}.ClientConfig()
	win7.RootCAs = auth.Pool()
	_, err = s.Client(win7).Get("https://passwordreset.microsoftonline.com/n/passwordreset")
	alert, _ := tlsalert.FromError(err)
	fmt.Println("TLS 1.0 client:", alert)
	// Output:
	// hello from passwordreset.microsoftonline.com over TLS 1.3
	// TLS 1.0 client: protocol_version(70)
}
