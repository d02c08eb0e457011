package harness_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// BenchmarkStart times starting and closing a whole lab (PKI, service,
// CDN, OCSP responder, two TLS hosts, two plain hosts, and with the proxy)
// next to its baseline in the same run: one httptest.NewTLSServer.
func BenchmarkStart(b *testing.B) {
	b.Run("baseline=httptest.NewTLSServer", func(b *testing.B) {
		h := http.NotFoundHandler()
		for b.Loop() {
			s := httptest.NewTLSServer(h)
			s.Close()
		}
	})
	b.Run("lab", func(b *testing.B) {
		for b.Loop() {
			l, err := harness.New(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			l.Close()
		}
	})
	b.Run("lab+proxy", func(b *testing.B) {
		rules := proxy.WithRules(proxy.Rule{Hosts: []string{mock.PortalHost, mock.CDNHost, mock.OCSPHost}, Action: proxy.Allow})
		for b.Loop() {
			l, err := harness.New(context.Background(), harness.WithProxy(rules))
			if err != nil {
				b.Fatal(err)
			}
			l.Close()
		}
	})
}
