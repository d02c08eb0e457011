package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The files of an Authority's directory (see [Open]): for each root, its
// certificate, and its key followed by the certificate again.
const (
	RootCertFile         = "root.pem"
	RootKeyFile          = "root-key.pem"
	UntrustedCertFile    = "untrusted.pem"
	UntrustedKeyFile     = "untrusted-key.pem"
	InterceptionCertFile = "interception.pem"
	InterceptionKeyFile  = "interception-key.pem"
)

// FileError is an error about one file of an Authority's directory: it
// cannot be read or written, or it does not hold what it should.
type FileError struct {
	Path string // the file, joined to the directory given to Open
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *FileError) Unwrap() error { return e.Err }

// fileError names path in err, without repeating it when err is an
// *fs.PathError about the same file.
func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return &FileError{Path: path, Err: err}
}

// Open returns the Authority kept in dir, creating it there on first use,
// so that a lab served again has the same three roots, and a browser or a
// VM told once to trust the lab's root goes on trusting it.
//
// dir holds two files for each root ([RootCertFile] and [RootKeyFile],
// and their Untrusted and Interception twins):
//
//   - <root>.pem, the root certificate in PEM (mode 0644): what a browser,
//     a VM, curl --cacert or openssl -CAfile is given;
//   - <root>-key.pem, the root's private key (PKCS #8 PEM) followed by its
//     certificate (mode 0600): the record of the root.
//
// On first use Open creates dir (mode 0700) if it does not exist, and all
// three roots at once (New creates the untrusted and interception roots
// only when they are first used). A key file is written whole under a
// temporary name in dir and then linked to its name, which fails if the
// name exists: when two processes open one empty directory at once, the
// second loads the roots of the first, and neither sees a file half
// written. A certificate file is written to a temporary file and renamed;
// Open writes it again when it is missing, from the key file. An existing
// dir keeps its mode.
//
// Afterwards Open loads the roots and checks each: its key file holds one
// private key (PKCS #8, or SEC 1 or PKCS #1, not encrypted) and one
// certificate, nothing else; the certificate is a CA's, self-signed, and
// valid at the time of the clock (WithClock); the key matches it and is
// of the type asked for (WithKeyType: ECDSA P-256 by default, RSA of 2048
// bits or more for RSA2048); the certificate file holds that same
// certificate. A key file that is missing while its certificate file
// exists is an error too: a new root would break the trust given to the
// old one. Every such error is a [*FileError] naming the file (a file
// that cannot be read; that is not PEM, is corrupt or was cut short; that
// holds something else, or a certificate that is not a CA's; a key that
// does not match its certificate or is of the wrong type).
//
// The issuing CA ([Authority.Issuing]) is not kept: Open makes a new one
// under the trusted root every time, as New does. Trust is anchored in
// the root, which is kept; the lab's servers send the issuing CA along
// with their leaves, so a client told to trust the root verifies them
// whatever the issuing CA of the day.
//
// Options apply as for New, except WithOrganization, which loaded roots
// do not follow: their subjects are as stored (the issuing CA takes the
// loaded root's organization).
func Open(dir string, opts ...Option) (*Authority, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		return nil, errors.New("pki: nil clock")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", fileError(dir, err))
	}
	var cas [3]*CA
	for i, r := range []struct{ name, cert, key string }{
		{RootName, RootCertFile, RootKeyFile},
		{UntrustedName, UntrustedCertFile, UntrustedKeyFile},
		{InterceptionName, InterceptionCertFile, InterceptionKeyFile},
	} {
		ca, err := openCA(filepath.Join(dir, r.cert), filepath.Join(dir, r.key), r.name, cfg)
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		cas[i] = ca
	}
	return newAuthority(cfg, cas[0],
		func() (*CA, error) { return cas[1], nil },
		func() (*CA, error) { return cas[2], nil })
}

// openCA loads the root kept in keyPath and certPath, or creates it there.
func openCA(certPath, keyPath, commonName string, cfg config) (*CA, error) {
	raw, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		var ca *CA
		if ca, raw, err = createCA(certPath, keyPath, commonName, cfg); ca != nil || err != nil {
			return ca, err
		}
	}
	if err != nil {
		return nil, fileError(keyPath, err)
	}
	cert, key, err := parseKeyFile(raw)
	if err != nil {
		return nil, &FileError{Path: keyPath, Err: err}
	}
	if err := checkRoot(cert, key, cfg); err != nil {
		return nil, &FileError{Path: keyPath, Err: err}
	}
	ca, err := caOf(cert, key, cfg)
	if err != nil {
		return nil, &FileError{Path: keyPath, Err: err}
	}
	return ca, checkCertFile(certPath, keyPath, ca)
}

// createCA creates a root and its files, unless another process does it
// first: it then returns the key file that process wrote, to load.
func createCA(certPath, keyPath, commonName string, cfg config) (*CA, []byte, error) {
	if _, err := os.Lstat(certPath); err == nil {
		// Another process may have written both files since the key
		// was looked for.
		raw, err := os.ReadFile(keyPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &FileError{Path: keyPath, Err: fmt.Errorf("missing, while %s exists: restore the key, or remove the certificate to create a new root (which clients must then trust anew)", certPath)}
		}
		if err != nil {
			return nil, nil, fileError(keyPath, err)
		}
		return nil, raw, nil
	}
	ca, err := newCA(commonName, cfg)
	if err != nil {
		return nil, nil, err
	}
	key, err := keyPEM(ca.key)
	if err != nil {
		return nil, nil, err
	}
	created, err := createExclusive(keyPath, append(key, ca.pem...))
	if err != nil {
		return nil, nil, err
	}
	if created {
		if err := writeCertFile(certPath, ca); err != nil {
			return nil, nil, err
		}
		return ca, nil, nil
	}
	raw, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fileError(keyPath, err)
	}
	return nil, raw, nil
}

// parseKeyFile reads a key file: one private key and one certificate, in
// PEM, in any order, and nothing else.
func parseKeyFile(raw []byte) (*x509.Certificate, crypto.Signer, error) {
	var (
		cert *x509.Certificate
		key  crypto.Signer
	)
	rest := raw
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			if key != nil {
				return nil, nil, errors.New("holds more than one private key")
			}
			k, err := parsePrivateKey(b)
			if err != nil {
				return nil, nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, errors.New("holds an encrypted private key: the lab needs it unencrypted")
		case "CERTIFICATE":
			if cert != nil {
				return nil, nil, errors.New("holds more than one certificate: want the root's alone")
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("certificate does not parse: %w", err)
			}
			cert = c
		default:
			return nil, nil, fmt.Errorf("holds a PEM block of type %q: want a private key and a certificate", b.Type)
		}
	}
	switch {
	case len(bytes.TrimSpace(rest)) > 0 && key == nil && cert == nil:
		return nil, nil, errors.New("is not PEM (or its first block was cut short)")
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, nil, errors.New("holds data that is not PEM after its last block: a file cut short?")
	case key == nil && cert == nil:
		return nil, nil, errors.New("is empty")
	case key == nil:
		return nil, nil, errors.New("holds no private key")
	case cert == nil:
		return nil, nil, errors.New("holds no certificate after the key: a file cut short?")
	}
	return cert, key, nil
}

func parsePrivateKey(b *pem.Block) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("private key does not parse: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", k)
	}
	return s, nil
}

// checkRoot checks that cert is a self-signed CA certificate valid now,
// and key its key, of the configured type.
func checkRoot(cert *x509.Certificate, key crypto.Signer, cfg config) error {
	subject := cert.Subject.String()
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return fmt.Errorf("certificate %q is not a CA's (no CA basic constraint)", subject)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("certificate %q may not sign certificates (key usage)", subject)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return fmt.Errorf("certificate %q is not self-signed (the lab's CAs are roots): %w", subject, err)
	}
	now := cfg.now()
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("certificate %q is not valid before %s", subject, cert.NotBefore.UTC().Format("2006-01-02 15:04:05Z"))
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("certificate %q expired at %s", subject, cert.NotAfter.UTC().Format("2006-01-02 15:04:05Z"))
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("the private key does not match certificate %q", subject)
	}
	if !cfg.keyType.fits(key) {
		return fmt.Errorf("holds %s key, but the lab asks for %s (WithKeyType)", describeKey(key), cfg.keyType)
	}
	return nil
}

// fits reports whether key is of type k.
func (k KeyType) fits(key crypto.Signer) bool {
	switch key := key.(type) {
	case *ecdsa.PrivateKey:
		return k == ECDSAP256 && key.Curve == elliptic.P256()
	case *rsa.PrivateKey:
		return k == RSA2048 && key.N.BitLen() >= 2048
	}
	return false
}

func describeKey(key crypto.Signer) string {
	switch key := key.(type) {
	case *ecdsa.PrivateKey:
		return "an ECDSA " + key.Curve.Params().Name
	case *rsa.PrivateKey:
		return fmt.Sprintf("an RSA %d-bit", key.N.BitLen())
	case ed25519.PrivateKey:
		return "an Ed25519"
	}
	return fmt.Sprintf("a %T", key)
}

// checkCertFile checks that certPath holds ca's certificate, or writes it
// there when it is missing.
func checkCertFile(certPath, keyPath string, ca *CA) error {
	raw, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return writeCertFile(certPath, ca)
	}
	if err != nil {
		return fileError(certPath, err)
	}
	b, rest := pem.Decode(raw)
	switch {
	case b == nil:
		return &FileError{Path: certPath, Err: errors.New("is not PEM (or was cut short)")}
	case b.Type != "CERTIFICATE":
		return &FileError{Path: certPath, Err: fmt.Errorf("holds a PEM block of type %q: want the root certificate", b.Type)}
	case len(bytes.TrimSpace(rest)) > 0:
		return &FileError{Path: certPath, Err: errors.New("holds more than the root certificate")}
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return &FileError{Path: certPath, Err: fmt.Errorf("certificate does not parse: %w", err)}
	}
	if !bytes.Equal(cert.Raw, ca.cert.Raw) {
		return &FileError{Path: certPath, Err: fmt.Errorf("holds %q, not the certificate of the key in %s (%q)",
			cert.Subject.String(), filepath.Base(keyPath), ca.cert.Subject.String())}
	}
	return nil
}

func writeCertFile(path string, ca *CA) error {
	return writeAtomic(path, ca.pem, 0o644)
}

// writeAtomic writes data to path with mode perm through a temporary file
// in the same directory, renamed over path: a reader sees the old file or
// the new one, never part of it.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fileError(path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// createExclusive writes data to path with mode 0600 unless path exists,
// and reports whether it did. It writes a temporary file and links it to
// path, so that path appears whole or not at all. Where the file system
// has no hard links, it creates path exclusively and writes it in place.
func createExclusive(path string, data []byte) (bool, error) {
	tmp, err := writeTemp(path, data, 0o600)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	switch {
	case err == nil:
		syncDir(filepath.Dir(path))
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fileError(path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fileError(path, err)
	}
	return true, nil
}

// writeTemp writes data, synced, to a new temporary file next to path,
// with mode perm, and returns its name.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fileError(path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fileError(path, err)
	}
	return f.Name(), nil
}

// syncDir makes a rename or a link in dir durable where the system allows
// it; it is best effort (Windows cannot sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
