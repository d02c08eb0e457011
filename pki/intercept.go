package pki

import (
	"crypto"
	"crypto/tls"
	"fmt"
	"sync"
)

// Interceptor mints certificates for any host on the fly from an
// interception root, as an antivirus or an inspecting proxy does, and caches
// them per host. All minted leaves share one key pair (as such products do),
// so minting costs one signature, not a key generation. It is safe for
// concurrent use.
type Interceptor struct {
	ca  *CA
	key crypto.Signer

	mu    sync.Mutex
	cache map[string]*minted
}

// minted is one host's certificate, minted once however many ask at once.
type minted struct {
	once sync.Once
	cert *tls.Certificate
	err  error
}

// NewInterceptor makes an Interceptor that mints with ca.
func NewInterceptor(ca *CA) (*Interceptor, error) {
	if ca == nil {
		return nil, fmt.Errorf("interceptor: nil CA")
	}
	key, err := ca.cfg.keyType.generate()
	if err != nil {
		return nil, fmt.Errorf("interceptor: %w", err)
	}
	return &Interceptor{ca: ca, key: key, cache: make(map[string]*minted)}, nil
}

// CA returns the interception root, for the trust of a client that has it
// installed (as a managed antivirus deploys it).
func (i *Interceptor) CA() *CA { return i.ca }

// Mint returns a certificate for host signed by the interception root,
// minting it on first use and caching it afterwards; concurrent first
// callers share one signature. The chain holds the leaf and the
// interception root, as inspection products send it.
func (i *Interceptor) Mint(host string) (*tls.Certificate, error) {
	name, err := NormalizeHost(host)
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	i.mu.Lock()
	m, ok := i.cache[name]
	if !ok {
		m = &minted{}
		i.cache[name] = m
	}
	i.mu.Unlock()
	m.once.Do(func() {
		now := i.ca.cfg.now()
		leaf, err := i.ca.issue(leafSpec{names: []string{name}, notBefore: now.Add(-backdate), notAfter: now.Add(LeafValidity), key: i.key})
		if err != nil {
			m.err = fmt.Errorf("mint: %w", err)
			return
		}
		leaf.TLS.Certificate = append(leaf.TLS.Certificate, i.ca.cert.Raw)
		m.cert = &leaf.TLS
	})
	return m.cert, m.err
}

// GetCertificate mints for the client's SNI name; use it as
// tls.Config.GetCertificate on an intercepting listener.
func (i *Interceptor) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		return nil, fmt.Errorf("mint: client sent no server name (SNI)")
	}
	return i.Mint(hello.ServerName)
}
