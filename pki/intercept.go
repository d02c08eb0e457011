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

	mu    sync.RWMutex
	cache map[string]*tls.Certificate
}

// NewInterceptor makes an Interceptor that mints with ca.
func NewInterceptor(ca *CA) (*Interceptor, error) {
	key, err := ca.cfg.keyType.generate()
	if err != nil {
		return nil, fmt.Errorf("interceptor: %w", err)
	}
	return &Interceptor{ca: ca, key: key, cache: make(map[string]*tls.Certificate)}, nil
}

// CA returns the interception root, for the trust of a client that has it
// installed (as a managed antivirus deploys it).
func (i *Interceptor) CA() *CA { return i.ca }

// Mint returns a certificate for host signed by the interception root,
// minting it on first use and caching it afterwards.
func (i *Interceptor) Mint(host string) (*tls.Certificate, error) {
	name, err := NormalizeHost(host)
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	i.mu.RLock()
	c, ok := i.cache[name]
	i.mu.RUnlock()
	if ok {
		return c, nil
	}
	now := i.ca.cfg.now()
	leaf, err := i.ca.issue(leafSpec{names: []string{name}, notBefore: now.Add(-backdate), notAfter: now.Add(LeafValidity), key: i.key})
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if c, ok := i.cache[name]; ok { // another goroutine minted it first
		return c, nil
	}
	i.cache[name] = &leaf.TLS
	return &leaf.TLS, nil
}

// GetCertificate mints for the client's SNI name; use it as
// tls.Config.GetCertificate on an intercepting listener.
func (i *Interceptor) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		return nil, fmt.Errorf("mint: client sent no server name (SNI)")
	}
	return i.Mint(hello.ServerName)
}
