package vhost_test

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

// TestLeafKeyTypeAndSuites: a leaf of its own key type (pki.Request's
// KeyType, under a root of either type) serves a client whose suites are
// for that key, on TLS 1.2 and on TLS 1.0, and refuses one whose suites
// are all for the other key with handshake_failure (40), which the
// server's observer records as a failed handshake.
func TestLeafKeyTypeAndSuites(t *testing.T) {
	t.Parallel()
	suites := map[pki.KeyType]map[uint16][]uint16{
		pki.ECDSAP256: {
			tls.VersionTLS12: {tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			tls.VersionTLS10: {tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
		},
		pki.RSA2048: {
			tls.VersionTLS12: {tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
			tls.VersionTLS10: {tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
		},
	}
	for _, root := range keyTypes {
		for _, leafKey := range pki.KeyTypes() {
			for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS10} {
				for _, offered := range pki.KeyTypes() {
					name := "root " + root.String() + "/leaf " + leafKey.String() + "/" + vhost.VersionName(v) + "/suites for " + offered.String()
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						l := labFor(t, root)
						leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}, KeyType: &leafKey})
						require.NoError(t, err)
						s, seen := startServer(t, l, vhost.AllVersions(), leaf)
						cfg := &tls.Config{ServerName: portal, RootCAs: l.auth.Pool(), MinVersion: v, MaxVersion: v, CipherSuites: suites[offered][v]}
						cs, local, err := handshake(t, s.Addr(), cfg)
						hs := seen.next(t, local)
						if offered == leafKey {
							require.NoError(t, err)
							assert.Equal(t, suites[offered][v][0], cs.CipherSuite)
							assert.Equal(t, suites[offered][v][0], hs.CipherSuite)
							assert.NoError(t, hs.Err)
							return
						}
						a, ok := tlsalert.FromError(err)
						require.True(t, ok, "%v", err)
						assert.Equal(t, tlsalert.HandshakeFailure, a)
						assert.Error(t, hs.Err)
						assert.Zero(t, hs.Version)
					})
				}
			}
		}
	}
}
