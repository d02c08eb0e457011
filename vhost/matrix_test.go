package vhost_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

var keyTypes = []pki.KeyType{pki.ECDSAP256, pki.RSA2048}

// TestVersionMatrixGo pins a Go client to each TLS version and meets every
// server range: inside the range the handshake completes at that version,
// outside it the server refuses with a protocol_version alert and reports
// the versions the client offered.
func TestVersionMatrixGo(t *testing.T) {
	t.Parallel()
	for _, kt := range keyTypes {
		for _, r := range ranges() {
			t.Run(fmt.Sprintf("%s/server %s", kt, r), func(t *testing.T) {
				t.Parallel()
				l := labFor(t, kt)
				s, seen := startServer(t, l, r, nil)
				for _, v := range vhost.Versions() {
					cfg := vhost.Range{Min: v, Max: v}.ClientConfig()
					cfg.RootCAs, cfg.ServerName = l.auth.Pool(), portal
					cs, local, err := handshake(t, s.Addr(), cfg)
					hs := seen.next(t, local)
					assert.Equal(t, portal, hs.ServerName)
					if r.Contains(v) {
						if assert.NoError(t, err, "client TLS %s", vhost.VersionName(v)) {
							assert.Equal(t, v, cs.Version)
							assert.NoError(t, hs.Err)
							assert.Equal(t, v, hs.Version)
							assert.Equal(t, cs.CipherSuite, hs.CipherSuite)
						}
						continue
					}
					alert, ok := tlsalert.FromError(err)
					if assert.True(t, ok, "client TLS %s: want an alert, got %v", vhost.VersionName(v), err) {
						assert.Equal(t, tlsalert.ProtocolVersion, alert)
					}
					assert.ErrorContains(t, hs.Err, "client offered only unsupported versions")
					assert.Contains(t, hs.Offered, v)
					assert.NotContains(t, hs.Offered, r.Min, "a pinned client offers only its version")
				}
			})
		}
	}
}

// TestVersionMatrixOpenSSL repeats the matrix with openssl s_client as the
// peer. Debian's OpenSSL 3 refuses TLS 1.0 and 1.1 at its default security
// level on its own side, so every run lowers it (DEFAULT@SECLEVEL=0): a
// failure is then a real version mismatch.
//
// Unlike Go, OpenSSL pinned to TLS 1.1 or 1.2 sends a legacy ClientHello
// without the supported_versions extension, as Windows 7 and 8.1 Schannel
// do. Such a hello claims every version up to its own, so a server whose
// range ends lower answers with its highest version, and it is the client
// that refuses ("unsupported protocol"). OpenSSL sends its alert in a record
// stamped with its own version, which the Go server rejects before reading
// it ("received record with version 303 when expecting version 302"). The
// server's observer tells the two refusals apart, and the test asserts which
// one happened.
func TestVersionMatrixOpenSSL(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "openssl")
	flags := map[uint16]string{tls.VersionTLS10: "-tls1", tls.VersionTLS11: "-tls1_1", tls.VersionTLS12: "-tls1_2", tls.VersionTLS13: "-tls1_3"}
	for _, kt := range keyTypes {
		for _, r := range ranges() {
			t.Run(fmt.Sprintf("%s/server %s", kt, r), func(t *testing.T) {
				t.Parallel()
				l := labFor(t, kt)
				s, seen := startServer(t, l, r, nil)
				for _, v := range vhost.Versions() {
					out, code, err := testtool.Run(t, "openssl", "s_client", "-connect", s.Addr(), "-servername", portal,
						flags[v], "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", l.caFile, "-verify_return_error", "-brief")
					require.NoError(t, err)
					hs := seen.next(t, "")
					what := fmt.Sprintf("openssl %s against %s", flags[v], r)
					switch {
					case r.Contains(v):
						assert.Equal(t, 0, code, out)
						assert.Contains(t, out, "Protocol version: "+opensslName(v)+"\n", what)
						assert.Contains(t, out, "Verification: OK", what)
						assert.NoError(t, hs.Err, what)
						assert.Equal(t, v, hs.Version, what)
					case v < r.Min || v == tls.VersionTLS13:
						// The server refuses: the client receives alert 70.
						assert.Equal(t, 1, code, out)
						assert.Contains(t, out, "alert protocol version", what)
						assert.Contains(t, out, "SSL alert number 70", what)
						assert.ErrorContains(t, hs.Err, "client offered only unsupported versions", what)
					default:
						// The server answers with r.Max; the client refuses it.
						assert.Equal(t, 1, code, out)
						assert.Contains(t, out, "unsupported protocol", what)
						assert.ErrorContains(t, hs.Err, fmt.Sprintf("received record with version %x when expecting version %x", v, r.Max), what)
						assert.Equal(t, v, hs.Offered[0], what)
					}
				}
			})
		}
	}
}

func opensslName(v uint16) string {
	if v == tls.VersionTLS10 {
		return "TLSv1"
	}
	return "TLSv" + vhost.VersionName(v)
}

// TestLegacyVersionsServeHTTP proves TLS 1.0 and 1.1 are served for real,
// not merely negotiated: a request completes and the handler sees the
// version.
func TestLegacyVersionsServeHTTP(t *testing.T) {
	t.Parallel()
	for _, kt := range keyTypes {
		for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
			t.Run(fmt.Sprintf("%s/TLS %s", kt, vhost.VersionName(v)), func(t *testing.T) {
				t.Parallel()
				l := labFor(t, kt)
				s, _ := startServer(t, l, vhost.Range{Min: v, Max: v}, nil)
				cfg := vhost.Range{Min: v, Max: v}.ClientConfig()
				cfg.RootCAs = l.auth.Pool()
				resp, err := s.Client(cfg).Get("https://" + portal + "/n/passwordreset")
				require.NoError(t, err)
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Equal(t, "hello over TLS "+vhost.VersionName(v)+"\n", string(body))
				require.NotNil(t, resp.TLS)
				assert.True(t, strings.Contains(tls.CipherSuiteName(resp.TLS.CipherSuite), "CBC_SHA"),
					"TLS %s negotiates a CBC suite, got %s", vhost.VersionName(v), tls.CipherSuiteName(resp.TLS.CipherSuite))
			})
		}
	}
}
