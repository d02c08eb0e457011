package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"sync"
	"time"
)

// DefaultOCSPURL is the OCSP responder URL written into every leaf the lab
// issues (the Authority Information Access extension). The lab resolves the
// host to its own responder; nothing ever reaches the real one.
const DefaultOCSPURL = "http://ocsp.digicert.com"

// DefaultCRLURLs are the CRL distribution points of the trusted root, two
// as DigiCert's certificates carry: written into the intermediates it
// issues (and into leaves a root issues itself, [CA.Issue]); the lab serves
// the root's CRL at both (see [Authority.CRL]). The intermediates' CRLs
// are served on the same hosts ([IssuingCRLFile]).
var DefaultCRLURLs = []string{
	"http://crl3.digicert.com/egresslab-lab-root.crl",
	"http://crl4.digicert.com/egresslab-lab-root.crl",
}

// Validity periods. Leaves follow today's public CAs (at most 397 days);
// a leaf is valid from an hour before it was issued, to tolerate clock skew
// between the lab and a client, as public CAs do.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 397 * 24 * time.Hour
	backdate     = time.Hour
)

// Option configures a [CA] or an [Authority].
type Option func(*config)

type config struct {
	keyType KeyType
	ocspURL string
	crlURLs []string
	now     func() time.Time
	org     string
}

func defaultConfig() config {
	return config{keyType: ECDSAP256, ocspURL: DefaultOCSPURL, crlURLs: DefaultCRLURLs, now: time.Now, org: "egresslab"}
}

// WithKeyType sets the key type of the roots and of every leaf they issue.
func WithKeyType(k KeyType) Option { return func(c *config) { c.keyType = k } }

// WithOCSPURL sets the OCSP responder URL written into leaves. An empty URL
// leaves the extension out; a CA without one cannot issue revoked leaves.
func WithOCSPURL(url string) Option { return func(c *config) { c.ocspURL = url } }

// WithCRLURLs sets the CRL distribution points written into leaves; none
// leaves the extension out.
func WithCRLURLs(urls ...string) Option {
	return func(c *config) { c.crlURLs = append([]string(nil), urls...) }
}

// WithClock sets the clock used for validity periods and OCSP responses.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithOrganization sets the organization name in the roots' subjects.
func WithOrganization(org string) Option { return func(c *config) { c.org = org } }

// CA is a certificate authority: a self-signed root and its key, the leaves
// it issued and the ones it revoked. It is safe for concurrent use.
type CA struct {
	cfg     config
	cert    *x509.Certificate
	key     crypto.Signer
	pem     []byte
	pool    *x509.CertPool
	keyBits []byte // subjectPublicKey, for OCSP issuer matching

	mu      sync.Mutex
	issued  map[string]*x509.Certificate // by serial, hex
	revoked map[string]Revocation
	// crlNumber is the number of the last CRL signed.
	crlNumber int64
}

// Revocation records that a certificate was revoked.
type Revocation struct {
	At     time.Time
	Reason int // an RFC 5280 CRLReason, as in golang.org/x/crypto/ocsp
}

// NewCA creates a root certificate authority named commonName.
func NewCA(commonName string, opts ...Option) (*CA, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return newCA(commonName, cfg)
}

func newCA(commonName string, cfg config) (*CA, error) {
	if commonName == "" {
		return nil, fmt.Errorf("new CA: empty common name")
	}
	if cfg.now == nil {
		return nil, fmt.Errorf("new CA %q: nil clock", commonName)
	}
	key, err := cfg.keyType.generate()
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	now := cfg.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{cfg.org}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: create certificate: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: parse certificate: %w", commonName, err)
	}
	ca, err := caOf(cert, key, cfg)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	return ca, nil
}

// caOf makes a CA of a root certificate and its key, which the caller
// has checked belong together.
func caOf(cert *x509.Certificate, key crypto.Signer, cfg config) (*CA, error) {
	keyBits, err := subjectKeyBits(cert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{
		cfg:     cfg,
		cert:    cert,
		key:     key,
		pem:     certPEM(cert.Raw),
		pool:    pool,
		keyBits: keyBits,
		issued:  make(map[string]*x509.Certificate),
		revoked: make(map[string]Revocation),
	}, nil
}

// Certificate returns the root certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// KeyType returns the key type of the root and of the leaves it issues.
func (ca *CA) KeyType() KeyType { return ca.cfg.keyType }

// OCSPURL returns the responder URL written into leaves, or "".
func (ca *CA) OCSPURL() string { return ca.cfg.ocspURL }

// CRLURLs returns the CRL distribution points written into leaves.
func (ca *CA) CRLURLs() []string { return append([]string(nil), ca.cfg.crlURLs...) }

// CertPEM returns the root certificate in PEM form.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.pem) }

// Pool returns a new pool that holds only this root, for
// tls.Config.RootCAs. The caller may add to it.
func (ca *CA) Pool() *x509.CertPool { return ca.pool.Clone() }

// WritePEM writes the root certificate in PEM form to path (mode 0644), for
// curl --cacert or openssl -CAfile.
func (ca *CA) WritePEM(path string) error {
	if err := os.WriteFile(path, ca.pem, 0o644); err != nil {
		return fmt.Errorf("write CA certificate: %w", err)
	}
	return nil
}

// Leaf is an issued end-entity certificate with its private key.
type Leaf struct {
	// Cert is the parsed leaf certificate.
	Cert *x509.Certificate
	// TLS holds the chain and the private key, ready for
	// tls.Config.Certificates. From [Authority.Issue], the chain is the
	// leaf and its issuer (the issuing intermediate, as public CAs' leaves
	// are served; clients hold the root), the leaf alone when self-signed;
	// from [CA.Issue], the leaf alone.
	TLS tls.Certificate
	// Fault is the fault the leaf was issued with, or NoFault.
	Fault Fault
	// Issuer is the CA that signed the leaf; nil when it is self-signed.
	Issuer *CA
}

// CertPEM returns the leaf certificate in PEM form (the leaf alone).
func (l *Leaf) CertPEM() []byte {
	if l.Cert == nil {
		return nil
	}
	return certPEM(l.Cert.Raw)
}

// KeyPEM returns the leaf's private key in PKCS #8 PEM form.
func (l *Leaf) KeyPEM() ([]byte, error) {
	key, ok := l.TLS.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("leaf has no private key (%T)", l.TLS.PrivateKey)
	}
	return keyPEM(key)
}

// leafSpec says what goes into a leaf besides its names.
type leafSpec struct {
	names     []string // normalised; names[0] becomes the subject CN
	notBefore time.Time
	notAfter  time.Time
	key       crypto.Signer // nil: generate one
}

// Issue issues a valid leaf certificate for hosts (DNS names, wildcards such
// as "*.example.com", or IP literals), valid from an hour ago for
// [LeafValidity]. The first host is the subject's common name.
func (ca *CA) Issue(hosts ...string) (*Leaf, error) {
	names, err := normalizeHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	now := ca.cfg.now()
	return ca.issue(leafSpec{names: names, notBefore: now.Add(-backdate), notAfter: now.Add(LeafValidity)})
}

func (ca *CA) issue(spec leafSpec) (*Leaf, error) {
	leaf, err := signLeaf(spec, ca.cfg.keyType, ca.cfg.ocspURL, ca.cfg.crlURLs, ca.cert, ca.key)
	if err != nil {
		return nil, err
	}
	leaf.Issuer = ca
	ca.mu.Lock()
	ca.issued[serialKey(leaf.Cert.SerialNumber)] = leaf.Cert
	ca.mu.Unlock()
	return leaf, nil
}

// signLeaf creates the leaf that spec describes, signed by parent's key; a
// nil parent makes it self-signed.
func signLeaf(spec leafSpec, keyType KeyType, ocspURL string, crlURLs []string, parent *x509.Certificate, parentKey crypto.Signer) (*Leaf, error) {
	if spec.key == nil {
		var err error
		if spec.key, err = keyType.generate(); err != nil {
			return nil, fmt.Errorf("issue %s: %w", spec.names[0], err)
		}
	}
	tmpl, err := leafTemplate(spec, ocspURL, crlURLs)
	if err != nil {
		return nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, spec.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, spec.key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("issue %s: create certificate: %w", spec.names[0], err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s: parse certificate: %w", spec.names[0], err)
	}
	return &Leaf{
		Cert: cert,
		TLS:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: spec.key, Leaf: cert},
	}, nil
}

func leafTemplate(spec leafSpec, ocspURL string, crlURLs []string) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.names[0]},
		NotBefore:    spec.notBefore,
		NotAfter:     spec.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, ok := spec.key.(*rsa.PrivateKey); ok {
		// RSA keys are also used for key encipherment (TLS RSA key exchange).
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if ocspURL != "" {
		tmpl.OCSPServer = []string{ocspURL}
	}
	tmpl.CRLDistributionPoints = append([]string(nil), crlURLs...)
	for _, n := range spec.names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return tmpl, nil
}

// Revoke marks a certificate this CA issued as revoked, so that its OCSP
// responses and its CRL say so. It fails for a serial number this CA did not issue.
func (ca *CA) Revoke(serial *big.Int, at time.Time, reason int) error {
	if serial == nil {
		return fmt.Errorf("revoke: nil serial number")
	}
	k := serialKey(serial)
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if _, ok := ca.issued[k]; !ok {
		return fmt.Errorf("revoke: serial %s was not issued by %q", k, ca.cert.Subject.CommonName)
	}
	ca.revoked[k] = Revocation{At: at, Reason: reason}
	return nil
}

// Status reports whether serial was issued by this CA and, if so, whether
// it is revoked.
func (ca *CA) Status(serial *big.Int) (issued bool, rev *Revocation) {
	k := serialKey(serial)
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if _, ok := ca.issued[k]; !ok {
		return false, nil
	}
	if r, ok := ca.revoked[k]; ok {
		return true, &r
	}
	return true, nil
}

func serialKey(n *big.Int) string { return n.Text(16) }

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

func normalizeHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no host name")
	}
	out := make([]string, 0, len(hosts))
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		n, err := NormalizeHost(h)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
