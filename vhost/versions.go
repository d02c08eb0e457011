package vhost

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/egresslab/egresslab/internal/tlsversion"
)

// Range is an inclusive range of TLS versions, as tls.VersionTLS10 ...
// tls.VersionTLS13. Both ends must be set; see [ParseRange] for the
// defaults of a range read from text.
type Range struct {
	Min, Max uint16
}

// ServiceRange is what passwordreset.microsoftonline.com accepts: TLS 1.2
// and up.
func ServiceRange() Range { return Range{tls.VersionTLS12, tls.VersionTLS13} }

// AllVersions is every version the lab can serve.
func AllVersions() Range { return Range{tls.VersionTLS10, tls.VersionTLS13} }

// Versions are the versions a host can be restricted to, oldest first.
func Versions() []uint16 { return tlsversion.All() }

// VersionName returns "1.0" ... "1.3" for a supported version, and the hex
// code otherwise.
func VersionName(v uint16) string { return tlsversion.Name(v) }

// ParseVersion parses "1.0", "1.1", "1.2" or "1.3", with an optional "TLS"
// or "TLSv" prefix in any case ("TLS 1.2", "tlsv1.2", "TLS1.2").
func ParseVersion(s string) (uint16, error) { return tlsversion.Parse(s) }

// ParseRange parses a range's two ends. An empty min means 1.0 and an empty
// max means 1.3, so that "min: 1.2" alone reads as "1.2 and up".
func ParseRange(min, max string) (Range, error) {
	r := AllVersions()
	var err error
	if strings.TrimSpace(min) != "" {
		if r.Min, err = ParseVersion(min); err != nil {
			return Range{}, fmt.Errorf("min: %w", err)
		}
	}
	if strings.TrimSpace(max) != "" {
		if r.Max, err = ParseVersion(max); err != nil {
			return Range{}, fmt.Errorf("max: %w", err)
		}
	}
	return r, r.Validate()
}

// Validate reports whether both ends are supported versions and min is not
// above max.
func (r Range) Validate() error {
	if !supported(r.Min) {
		return fmt.Errorf("TLS range: unsupported min version %s (want 1.0, 1.1, 1.2 or 1.3)", VersionName(r.Min))
	}
	if !supported(r.Max) {
		return fmt.Errorf("TLS range: unsupported max version %s (want 1.0, 1.1, 1.2 or 1.3)", VersionName(r.Max))
	}
	if r.Min > r.Max {
		return fmt.Errorf("TLS range: min %s is above max %s", VersionName(r.Min), VersionName(r.Max))
	}
	return nil
}

// Contains reports whether v is in the range.
func (r Range) Contains(v uint16) bool { return v >= r.Min && v <= r.Max }

// String returns "TLS 1.2-1.3", or "TLS 1.2" for a single version.
func (r Range) String() string {
	if r.Min == r.Max {
		return "TLS " + VersionName(r.Min)
	}
	return "TLS " + VersionName(r.Min) + "-" + VersionName(r.Max)
}

func supported(v uint16) bool {
	return v >= tls.VersionTLS10 && v <= tls.VersionTLS13
}

// apply restricts cfg to the range, with cipher suites that work on every
// version in it.
func (r Range) apply(cfg *tls.Config) {
	cfg.MinVersion, cfg.MaxVersion = r.Min, r.Max
	if r.Min < tls.VersionTLS12 && cfg.CipherSuites == nil {
		cfg.CipherSuites = tlsversion.LegacyCipherSuites
	}
}

// ClientConfig returns a client configuration pinned to the range, with the
// cipher suites needed for TLS 1.0 and 1.1: what a Windows client with that
// protocol setting offers. The caller sets RootCAs and ServerName.
func (r Range) ClientConfig() *tls.Config {
	cfg := &tls.Config{}
	r.apply(cfg)
	return cfg
}
