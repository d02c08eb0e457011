// Package tlsversion names and parses the TLS versions the lab speaks, 1.0
// to 1.3, and holds the cipher suites a range that reaches below TLS 1.2
// needs. The lab's hosts (package vhost) and the proxy's interception
// (package proxy) both read versions this way.
package tlsversion

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// All are the versions, oldest first.
func All() []uint16 {
	return []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}
}

// Name returns "1.0" ... "1.3" for a version of All, and the hex code
// otherwise.
func Name(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// Parse reads "1.0", "1.1", "1.2" or "1.3", with an optional "TLS" or
// "TLSv" prefix in any case ("TLS 1.2", "tlsv1.2", "TLS1.2").
func Parse(s string) (uint16, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "tls")
	t = strings.TrimPrefix(t, "v")
	t = strings.TrimSpace(t)
	for _, v := range All() {
		if t == Name(v) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", s)
}

// LegacyCipherSuites are offered when a range includes TLS 1.0 or 1.1: the
// ECDHE suites, CBC ones included, which are what Windows 7 and 8.1
// Schannel negotiate on those versions. Go 1.26's defaults hold the same
// suites today; the list pins them on purpose, so that a later Go that
// drops CBC from its defaults does not silently turn a TLS 1.0 host into
// one that refuses everyone. The RSA key exchange suites (gone from Go's
// defaults since 1.22) are left out, as Schannel prefers ECDHE.
var LegacyCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
}
