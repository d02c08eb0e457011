package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/egresslab/egresslab/internal/tlsversion"
	"github.com/egresslab/egresslab/pki"
)

// TLSPolicy is the TLS one side of an intercept rule speaks: towards the
// client ([Rule.TLS], Squid's https_port tls-min-version and cipher=) or
// towards the origin ([Rule.UpstreamTLS], Squid's tls_outgoing_options).
type TLSPolicy struct {
	// Min and Max are TLS versions, "1.0" to "1.3" ("TLS 1.2" and
	// "TLSv1.2" are read too). An empty Min means 1.0 and an empty Max
	// 1.3, so that min: "1.2" alone reads as "1.2 and up".
	Min string `json:"min,omitempty" yaml:"min,omitempty"`
	Max string `json:"max,omitempty" yaml:"max,omitempty"`
	// CipherSuites are the suites for TLS 1.0 to 1.2, by their IANA names
	// as crypto/tls names them (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA);
	// those Go calls insecure (RSA key exchange, 3DES, RC4) are allowed,
	// as an old appliance may speak nothing else. Empty means the ECDHE
	// suites, CBC ones included, that Windows 7 and 8.1 negotiate on TLS
	// 1.0 and 1.1, when the range reaches below 1.2, and Go's defaults
	// otherwise. TLS 1.3's suites cannot be chosen: crypto/tls always
	// enables all three.
	CipherSuites []string `json:"cipherSuites,omitempty" yaml:"cipherSuites,omitempty"`
}

// cipherSuitesByName holds every suite crypto/tls implements.
var cipherSuitesByName = func() map[string]*tls.CipherSuite {
	m := map[string]*tls.CipherSuite{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[cs.Name] = cs
	}
	return m
}()

// CipherSuiteNames returns the names [TLSPolicy.CipherSuites] accepts,
// sorted: every TLS 1.0-1.2 suite crypto/tls implements.
func CipherSuiteNames() []string {
	var out []string
	for name, cs := range cipherSuitesByName {
		if !tls13Only(cs) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func tls13Only(cs *tls.CipherSuite) bool {
	return len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
}

// tlsSettings is a validated policy, ready for a tls.Config.
type tlsSettings struct {
	min, max uint16
	suites   []uint16 // nil: Go's defaults
}

// Validate checks the policy: nil, or each invalid value as a
// *FieldError (min, max, cipherSuites[i]), joined when there are several.
func (tp *TLSPolicy) Validate() error {
	_, err := tp.settings()
	return err
}

// settings reads the policy; a nil policy is the default, TLS 1.0 to 1.3
// with the legacy suites.
func (tp *TLSPolicy) settings() (tlsSettings, error) {
	s := tlsSettings{min: tls.VersionTLS10, max: tls.VersionTLS13}
	if tp == nil {
		s.suites = tlsversion.LegacyCipherSuites
		return s, nil
	}
	var errs []error
	var err error
	if strings.TrimSpace(tp.Min) != "" {
		if s.min, err = tlsversion.Parse(tp.Min); err != nil {
			errs = append(errs, &FieldError{"min", err})
		}
	}
	if strings.TrimSpace(tp.Max) != "" {
		if s.max, err = tlsversion.Parse(tp.Max); err != nil {
			errs = append(errs, &FieldError{"max", err})
		}
	}
	if len(errs) == 0 && s.min > s.max {
		errs = append(errs, fieldError("min", "%s is above max %s", tlsversion.Name(s.min), tlsversion.Name(s.max)))
	}
	for i, name := range tp.CipherSuites {
		cs, ok := cipherSuitesByName[name]
		field := fmt.Sprintf("cipherSuites[%d]", i)
		switch {
		case !ok:
			errs = append(errs, fieldError(field, "unknown cipher suite %q (want an IANA name as crypto/tls names it, such as TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)", name))
		case tls13Only(cs):
			errs = append(errs, fieldError(field, "%s is a TLS 1.3 suite, which cannot be chosen: crypto/tls always enables all three", cs.Name))
		case len(errs) == 0 && !slices.ContainsFunc(cs.SupportedVersions, func(v uint16) bool { return v >= s.min && v <= s.max }):
			errs = append(errs, fieldError(field, "%s does not work with TLS %s", cs.Name, rangeName(s.min, s.max)))
		default:
			s.suites = append(s.suites, cs.ID)
		}
	}
	if len(errs) > 0 {
		return tlsSettings{}, errors.Join(errs...)
	}
	if s.suites == nil && s.min < tls.VersionTLS12 {
		s.suites = tlsversion.LegacyCipherSuites
	}
	return s, nil
}

func rangeName(min, max uint16) string {
	if min == max {
		return tlsversion.Name(min)
	}
	return tlsversion.Name(min) + "-" + tlsversion.Name(max)
}

// apply restricts cfg to the settings.
func (s tlsSettings) apply(cfg *tls.Config) {
	cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites = s.min, s.max, s.suites
}

// fitsKey reports whether a handshake below TLS 1.3 can sign with a
// certificate of key type k: some suite of the settings authenticates
// with it (ECDSA suites name ECDSA; the others use RSA).
func (s tlsSettings) fitsKey(k pki.KeyType) bool {
	if s.suites == nil {
		return true // Go's defaults have both kinds
	}
	for _, id := range s.suites {
		ecdsa := strings.Contains(tls.CipherSuiteName(id), "_ECDSA_")
		if ecdsa == (k == pki.ECDSAP256) {
			return true
		}
	}
	return false
}
