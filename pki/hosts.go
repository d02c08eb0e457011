package pki

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// hostProfile maps a name as a resolver would (UTS #46, STD3 rules) and
// checks DNS lengths: labels of 1 to 63 octets, 253 in all.
var hostProfile = idna.New(idna.MapForLookup(), idna.VerifyDNSLength(true), idna.BidiRule())

// NormalizeHost returns the form of a host name that goes into a
// certificate: an IP literal in canonical form (brackets removed), or a DNS
// name in lower-case ASCII (IDNA), without a trailing dot. A leading "*."
// wildcard label is kept. It rejects empty names, ports, and names that are
// not valid DNS names.
func NormalizeHost(host string) (string, error) {
	h := strings.TrimSpace(host)
	if h == "" {
		return "", fmt.Errorf("empty host name")
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.Zone() != "" {
			return "", fmt.Errorf("host %q: IP address with a zone cannot go into a certificate", host)
		}
		return ip.Unmap().String(), nil
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return "", fmt.Errorf("host %q: a certificate names hosts, not host:port", host)
	}
	wildcard := strings.HasPrefix(h, "*.")
	name := strings.TrimSuffix(strings.TrimPrefix(h, "*."), ".")
	ascii, err := hostProfile.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("host %q: not a valid DNS name: %v", host, err)
	}
	if ascii == "" {
		return "", fmt.Errorf("host %q: not a valid DNS name", host)
	}
	if wildcard {
		ascii = "*." + ascii
	}
	return ascii, nil
}
