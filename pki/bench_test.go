package pki_test

import (
	"fmt"
	"testing"

	"github.com/egresslab/egresslab/pki"
)

func BenchmarkIssue(b *testing.B) {
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
		b.Run(kt.String(), func(b *testing.B) {
			a := newAuthority(b, pki.WithKeyType(kt))
			for b.Loop() {
				if _, err := a.Issue(pki.Request{Hosts: []string{portal}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterceptMint measures what an inspecting proxy pays per host:
// a new host costs one signature, a cached one a map look-up.
func BenchmarkInterceptMint(b *testing.B) {
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
		a := newAuthority(b, pki.WithKeyType(kt))
		ic, err := a.Interception()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(kt.String()+"/new-host", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := ic.Mint(fmt.Sprintf("h%d.example", i)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kt.String()+"/cached", func(b *testing.B) {
			if _, err := ic.Mint(portal); err != nil {
				b.Fatal(err)
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ic.Mint(portal); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkRespondOCSP(b *testing.B) {
	a := newAuthority(b)
	leaf, err := a.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.Revoked})
	if err != nil {
		b.Fatal(err)
	}
	req, err := pki.OCSPRequest(leaf.Cert, a.Root().Certificate())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := a.RespondOCSP(req); err != nil {
			b.Fatal(err)
		}
	}
}
