package vhost_test

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/vhost"
)

// BenchmarkStart compares starting (and closing) a lab host with
// httptest.NewTLSServer in the same run. The lab host's certificate is
// issued once, as the lab does per host; httptest parses its built-in one
// on every start.
func BenchmarkStart(b *testing.B) {
	l := labFor(b, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline=httptest.NewTLSServer", func(b *testing.B) {
		for b.Loop() {
			httptest.NewTLSServer(okHandler).Close()
		}
	})
	for name, r := range map[string]vhost.Range{"vhost.New/service-range": vhost.ServiceRange(), "vhost.New/tls1.0-only": {Min: tls.VersionTLS10, Max: tls.VersionTLS10}} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				s, err := vhost.New(okHandler, vhost.WithHost(portal), vhost.WithCertificate(leaf.TLS), vhost.WithVersions(r))
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkHandshake compares a full TLS 1.3 handshake and request with a
// lab host against one with httptest's server (new connection each time).
func BenchmarkHandshake(b *testing.B) {
	l := labFor(b, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	if err != nil {
		b.Fatal(err)
	}
	s, err := vhost.New(okHandler, vhost.WithHost(portal), vhost.WithCertificate(leaf.TLS))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewTLSServer(okHandler)
	defer ts.Close()
	run := func(b *testing.B, url string, c interface {
		CloseIdleConnections()
	}, get func(string) error) {
		for b.Loop() {
			if err := get(url); err != nil {
				b.Fatal(err)
			}
			c.CloseIdleConnections()
		}
	}
	b.Run("baseline=httptest", func(b *testing.B) {
		c := ts.Client()
		run(b, ts.URL, c, func(u string) error { return drain(c.Get(u)) })
	})
	b.Run("vhost", func(b *testing.B) {
		c := s.Client(&tls.Config{RootCAs: l.auth.Pool()})
		run(b, "https://"+portal+"/", c, func(u string) error { return drain(c.Get(u)) })
	})
}
