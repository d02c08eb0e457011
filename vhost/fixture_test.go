package vhost_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/vhost"
)

const portal = "passwordreset.microsoftonline.com"

// lab is one Authority per key type, shared by the tests of this package.
type lab struct {
	auth   *pki.Authority
	caFile string
}

var (
	labsOnce sync.Once
	labs     map[pki.KeyType]*lab
	labsErr  error
	labsDir  string
)

func labFor(t testing.TB, kt pki.KeyType) *lab {
	t.Helper()
	labsOnce.Do(func() {
		labs = map[pki.KeyType]*lab{}
		for _, k := range []pki.KeyType{pki.ECDSAP256, pki.RSA2048} {
			a, err := pki.New(pki.WithKeyType(k))
			if err != nil {
				labsErr = err
				return
			}
			f := filepath.Join(labsDir, k.String()+"-ca.pem")
			if err := a.Root().WritePEM(f); err != nil {
				labsErr = err
				return
			}
			labs[k] = &lab{auth: a, caFile: f}
		}
	})
	require.NoError(t, labsErr)
	return labs[kt]
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	labsDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// handshakes collects what a server observed. The observer never blocks
// the server: a test that does not read its reports loses them instead of
// hanging the server's Close.
type handshakes chan vhost.Handshake

func (h handshakes) observe(hs vhost.Handshake) {
	select {
	case h <- hs:
	default:
	}
}

// next returns the server's record of the handshake from local (any client
// when local is ""), which the server reports asynchronously after the
// client has its answer. The wait is bounded so that a missing report fails
// instead of hanging.
func (h handshakes) next(t testing.TB, local string) vhost.Handshake {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case hs := <-h:
			if local == "" || hs.Remote == local {
				return hs
			}
		case <-deadline:
			t.Fatalf("server reported no handshake from %s", local)
			return vhost.Handshake{}
		}
	}
}

// startServer starts a server for the lab's valid portal certificate (or
// leaf, when given) restricted to r, and closes it with the test.
func startServer(t testing.TB, l *lab, r vhost.Range, leaf *pki.Leaf, opts ...vhost.Option) (*vhost.Server, handshakes) {
	t.Helper()
	if leaf == nil {
		var err error
		leaf, err = l.auth.Issue(pki.Request{Hosts: []string{portal}})
		require.NoError(t, err)
	}
	seen := make(handshakes, 64)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over TLS %s\n", vhost.VersionName(r.TLS.Version))
	})
	opts = append([]vhost.Option{vhost.WithHost(portal), vhost.WithVersions(r), vhost.WithCertificate(leaf.TLS), vhost.WithObserver(seen.observe)}, opts...)
	s, err := vhost.New(h, opts...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, seen
}

// handshake dials addr and runs a TLS handshake with cfg, returning the
// local address the server will report.
func handshake(t testing.TB, addr string, cfg *tls.Config) (tls.ConnectionState, string, error) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, raw.SetDeadline(time.Now().Add(10*time.Second)))
	c := tls.Client(raw, cfg)
	err = c.Handshake()
	return c.ConnectionState(), raw.LocalAddr().String(), err
}

// ranges returns every range with min <= max over the four versions.
func ranges() []vhost.Range {
	var rs []vhost.Range
	for _, lo := range vhost.Versions() {
		for _, hi := range vhost.Versions() {
			if lo <= hi {
				rs = append(rs, vhost.Range{Min: lo, Max: hi})
			}
		}
	}
	return rs
}

func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}
