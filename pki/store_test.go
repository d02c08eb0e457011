package pki_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
)

// roots returns the DER of an Authority's three roots.
func roots(t *testing.T, a *pki.Authority) [3][]byte {
	t.Helper()
	u, err := a.Untrusted()
	require.NoError(t, err)
	i, err := a.Interception()
	require.NoError(t, err)
	return [3][]byte{a.Root().Certificate().Raw, u.Certificate().Raw, i.CA().Certificate().Raw}
}

func TestOpenRoundTrip(t *testing.T) {
	t.Parallel()
	for name, kt := range map[string]pki.KeyType{"ecdsa": pki.ECDSAP256, "rsa": pki.RSA2048} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "ca")
			first, err := pki.Open(dir, pki.WithKeyType(kt))
			require.NoError(t, err)
			firstRoots := roots(t, first)
			firstInterception, err := first.Interception()
			require.NoError(t, err)

			again, err := pki.Open(dir, pki.WithKeyType(kt))
			require.NoError(t, err)
			assert.Equal(t, firstRoots, roots(t, again), "the same three roots")

			leaf, err := again.Issue(pki.Request{Hosts: []string{portal}})
			require.NoError(t, err)
			assert.NoError(t, verify(first, leaf, portal, time.Now()), "a leaf issued after the reload verifies against the first run's pool")
			untrusted, err := again.Issue(pki.Request{Hosts: []string{portal}, Fault: pki.UntrustedRoot})
			require.NoError(t, err)
			assert.Error(t, verify(first, untrusted, portal, time.Now()))
			u, err := first.Untrusted()
			require.NoError(t, err)
			_, err = untrusted.Cert.Verify(x509.VerifyOptions{Roots: u.Pool(), DNSName: portal})
			assert.NoError(t, err, "the untrusted root is the same too")

			i, err := again.Interception()
			require.NoError(t, err)
			minted, err := i.Mint(portal)
			require.NoError(t, err)
			_, err = minted.Leaf.Verify(x509.VerifyOptions{Roots: firstInterception.CA().Pool(), DNSName: portal})
			assert.NoError(t, err, "a certificate minted after the reload verifies against the first run's interception root")

			// The certificate files are the roots, for browsers and curl.
			for i, f := range []string{pki.RootCertFile, pki.UntrustedCertFile, pki.InterceptionCertFile} {
				b, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err)
				blk, _ := pem.Decode(b)
				require.NotNil(t, blk, f)
				assert.Equal(t, firstRoots[i], blk.Bytes, f)
			}
		})
	}
}

func TestOpenPermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix modes")
	}
	dir := filepath.Join(t.TempDir(), "ca")
	_, err := pki.Open(dir)
	require.NoError(t, err)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "a directory Open creates")
	modes := map[string]os.FileMode{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		modes[e.Name()] = info.Mode().Perm()
	}
	assert.Equal(t, map[string]os.FileMode{
		pki.RootCertFile: 0o644, pki.RootKeyFile: 0o600,
		pki.UntrustedCertFile: 0o644, pki.UntrustedKeyFile: 0o600,
		pki.InterceptionCertFile: 0o644, pki.InterceptionKeyFile: 0o600,
	}, modes, "these files and no others (no temporary file left)")

	// A directory that exists keeps its mode.
	open := t.TempDir()
	require.NoError(t, os.Chmod(open, 0o755))
	_, err = pki.Open(open)
	require.NoError(t, err)
	st, err = os.Stat(open)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
}

// TestOpenRewritesCertFile: a missing certificate file is written again
// from the key file.
func TestOpenRewritesCertFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := pki.Open(dir)
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, pki.RootCertFile)))
	again, err := pki.Open(dir)
	require.NoError(t, err)
	assert.Equal(t, roots(t, first), roots(t, again))
	b, err := os.ReadFile(filepath.Join(dir, pki.RootCertFile))
	require.NoError(t, err)
	assert.Equal(t, first.Root().CertPEM(), b)
}

// TestOpenConcurrent: Opens racing on one empty directory all get the
// same roots, and the files hold them.
func TestOpenConcurrent(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	const n = 8
	auths := make([]*pki.Authority, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			auths[i], errs[i] = pki.Open(dir)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "open %d", i)
	}
	want := roots(t, auths[0])
	for i := 1; i < n; i++ {
		assert.Equal(t, want, roots(t, auths[i]), "open %d", i)
	}
	again, err := pki.Open(dir)
	require.NoError(t, err)
	assert.Equal(t, want, roots(t, again))
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// TestOpenBadFiles: each kind of bad file is an error naming the file,
// and Open writes nothing over it.
func TestOpenBadFiles(t *testing.T) {
	t.Parallel()
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	otherKeyDER, err := x509.MarshalPKCS8PrivateKey(otherKey)
	require.NoError(t, err)
	other, err := pki.NewCA("someone else's CA")
	require.NoError(t, err)
	leaf, err := other.Issue(portal)
	require.NoError(t, err)
	leafKey, err := leaf.KeyPEM()
	require.NoError(t, err)

	type change func(t *testing.T, dir string, key, cert []byte)
	write := func(name string, b []byte) change {
		return func(t *testing.T, dir string, _, _ []byte) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
		}
	}
	tests := map[string]struct {
		change change
		file   string
		want   string
		opts   []pki.Option
	}{
		"key file not PEM": {write(pki.RootKeyFile, []byte("not a key\n")), pki.RootKeyFile, "is not PEM", nil},
		"key file empty":   {write(pki.RootKeyFile, nil), pki.RootKeyFile, "is empty", nil},
		"key file cut in its first block": {func(t *testing.T, dir string, key, _ []byte) {
			write(pki.RootKeyFile, key[:len(key)/4])(t, dir, nil, nil)
		}, pki.RootKeyFile, "is not PEM", nil},
		"key file cut in the certificate": {func(t *testing.T, dir string, key, _ []byte) {
			write(pki.RootKeyFile, key[:len(key)-40])(t, dir, nil, nil)
		}, pki.RootKeyFile, "cut short", nil},
		"key file without its certificate": {func(t *testing.T, dir string, key, cert []byte) {
			write(pki.RootKeyFile, bytes.TrimSuffix(key, cert))(t, dir, nil, nil)
		}, pki.RootKeyFile, "holds no certificate", nil},
		"key file without a key": {func(t *testing.T, dir string, _, cert []byte) {
			write(pki.RootKeyFile, cert)(t, dir, nil, nil)
		}, pki.RootKeyFile, "holds no private key", nil},
		"corrupt key": {func(t *testing.T, dir string, _, cert []byte) {
			write(pki.RootKeyFile, append(pemOf("PRIVATE KEY", []byte("garbage")), cert...))(t, dir, nil, nil)
		}, pki.RootKeyFile, "private key does not parse", nil},
		"corrupt certificate": {func(t *testing.T, dir string, key, cert []byte) {
			write(pki.RootKeyFile, append(bytes.TrimSuffix(key, cert), pemOf("CERTIFICATE", []byte("garbage"))...))(t, dir, nil, nil)
		}, pki.RootKeyFile, "certificate does not parse", nil},
		"encrypted key": {func(t *testing.T, dir string, _, cert []byte) {
			write(pki.RootKeyFile, append(pemOf("ENCRYPTED PRIVATE KEY", []byte("x")), cert...))(t, dir, nil, nil)
		}, pki.RootKeyFile, "encrypted", nil},
		"a leaf, not a CA": {func(t *testing.T, dir string, _, _ []byte) {
			write(pki.RootKeyFile, append(leafKey, leaf.CertPEM()...))(t, dir, nil, nil)
		}, pki.RootKeyFile, "is not a CA's", nil},
		"a key that does not match": {func(t *testing.T, dir string, _, cert []byte) {
			write(pki.UntrustedKeyFile, append(pemOf("PRIVATE KEY", otherKeyDER), cert...))(t, dir, nil, nil)
		}, pki.UntrustedKeyFile, "does not match", nil},
		"wrong key type": {func(*testing.T, string, []byte, []byte) {}, pki.RootKeyFile,
			"holds an ECDSA P-256 key, but the lab asks for rsa-2048", []pki.Option{pki.WithKeyType(pki.RSA2048)}},
		"expired root": {func(*testing.T, string, []byte, []byte) {}, pki.RootKeyFile, "expired",
			[]pki.Option{pki.WithClock(func() time.Time { return time.Now().Add(pki.CAValidity + 24*time.Hour) })}},
		"unreadable key file": {func(t *testing.T, dir string, _, _ []byte) {
			p := filepath.Join(dir, pki.InterceptionKeyFile)
			require.NoError(t, os.Remove(p))
			require.NoError(t, os.Mkdir(p, 0o700))
		}, pki.InterceptionKeyFile, "is a directory", nil},
		"key file missing, certificate kept": {func(t *testing.T, dir string, _, _ []byte) {
			require.NoError(t, os.Remove(filepath.Join(dir, pki.UntrustedKeyFile)))
		}, pki.UntrustedKeyFile, "missing", nil},
		"foreign certificate file": {write(pki.RootCertFile, other.CertPEM()), pki.RootCertFile,
			`holds "CN=someone else's CA,O=egresslab", not the certificate of the key in ` + pki.RootKeyFile, nil},
		"certificate file not PEM": {write(pki.InterceptionCertFile, []byte("{}")), pki.InterceptionCertFile, "is not PEM", nil},
		"certificate file with two": {func(t *testing.T, dir string, _, cert []byte) {
			write(pki.RootCertFile, append(cert, other.CertPEM()...))(t, dir, nil, nil)
		}, pki.RootCertFile, "more than the root certificate", nil},
		"certificate file holds a key": {write(pki.RootCertFile, pemOf("PRIVATE KEY", otherKeyDER)), pki.RootCertFile, `type "PRIVATE KEY"`, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, err := pki.Open(dir)
			require.NoError(t, err)
			keyFile := map[string]string{pki.RootKeyFile: pki.RootKeyFile, pki.RootCertFile: pki.RootKeyFile,
				pki.UntrustedKeyFile: pki.UntrustedKeyFile, pki.UntrustedCertFile: pki.UntrustedKeyFile,
				pki.InterceptionKeyFile: pki.InterceptionKeyFile, pki.InterceptionCertFile: pki.InterceptionKeyFile}[tc.file]
			key, err := os.ReadFile(filepath.Join(dir, keyFile))
			require.NoError(t, err)
			blk, rest := pem.Decode(key)
			require.NotNil(t, blk)
			tc.change(t, dir, key, rest)
			before := snapshot(t, dir)

			_, err = pki.Open(dir, tc.opts...)
			require.Error(t, err)
			var fe *pki.FileError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, filepath.Join(dir, tc.file), fe.Path)
			assert.Contains(t, err.Error(), filepath.Join(dir, tc.file)+": ")
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, before, snapshot(t, dir), "nothing written over a bad file")
		})
	}
}

// snapshot returns the names and contents of dir's regular files.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			out[e.Name()] = string(b)
		}
	}
	return out
}

// Keep the lab's roots in a directory: a second run has the same ones.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "egresslab-ca")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	first, err := pki.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := pki.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same root:", first.Root().Certificate().Equal(again.Root().Certificate()))
	fmt.Println("trust", pki.RootCertFile, "in a browser or a VM")
	// Output:
	// same root: true
	// trust root.pem in a browser or a VM
}
