package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// KeyType is the kind of key pair a CA and the leaves it issues use.
type KeyType int

const (
	// ECDSAP256 is the default: fast to generate and to sign with.
	ECDSAP256 KeyType = iota
	// RSA2048 is what old Windows clients are often tested with. Generating
	// an RSA key costs tens of milliseconds; see the README's figures.
	RSA2048
)

// KeyTypes lists the key types, by their names ("ecdsa-p256",
// "rsa-2048"), the default first.
func KeyTypes() []KeyType { return []KeyType{ECDSAP256, RSA2048} }

// String returns the name ParseKeyType accepts.
func (k KeyType) String() string {
	switch k {
	case ECDSAP256:
		return "ecdsa-p256"
	case RSA2048:
		return "rsa-2048"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// ParseKeyType parses "ecdsa-p256" or "rsa-2048" (case-insensitive; "ecdsa"
// and "rsa" are accepted as short forms).
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ecdsa-p256", "ecdsa", "p256", "p-256":
		return ECDSAP256, nil
	case "rsa-2048", "rsa2048", "rsa":
		return RSA2048, nil
	}
	return 0, fmt.Errorf("unknown key type %q (want ecdsa-p256 or rsa-2048)", s)
}

func (k KeyType) generate() (crypto.Signer, error) {
	switch k {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("unknown key type %d", int(k))
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
