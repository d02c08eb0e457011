package proxy

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"Example.COM":        "example.com",
		"example.com.":       "example.com",
		"ＥＸＡＭＰＬＥ.com":        "example.com", // full-width letters fold
		"bücher.example":     "xn--bcher-kva.example",
		"127.0.0.2":          "127.0.0.2",
		"2130706434":         "127.0.0.2", // decimal
		"0x7f000002":         "127.0.0.2", // hex
		"0177.0.0.2":         "127.0.0.2", // octal
		"0x7f.0.0.2":         "127.0.0.2",
		"127.2":              "127.0.0.2", // short form
		"127.0.2":            "127.0.0.2",
		"[::1]":              "::1",
		"[::ffff:127.0.0.2]": "127.0.0.2", // IPv4-mapped
		"::ffff:7f00:2":      "127.0.0.2",
		"[0:0:0:0:0:0:0:1]":  "::1",
		"１２７.０.０.２":          "127.0.0.2", // full-width digits
		"[::127.0.0.2]":      "127.0.0.2", // IPv4-compatible
		"[::7f00:2]":         "127.0.0.2",
		"[64:ff9b::7f00:2]":  "127.0.0.2", // NAT64, well-known prefix
		"[64:ff9b::1.2.3.4]": "1.2.3.4",
		"[2001:db8::1]":      "2001:db8::1", // neither
	}
	bad := []string{"", "blocked.example..", "blocked.example。。", "blocked.example.。", ".blocked.example", "a b.com", "evil.com%2f", "user@host", "a..b", "08.0.0.1", "1.2.3.256", "256.1.1.1", "[::1", "[fe80::1%eth0]", "host.123", "1.2.3.4.5", "x/y", "-bad-.com\x00",
		"[::]", "[::2]", "0.0.0.0", "0.1.2.3", "[::ffff:0.0.0.0]", "[64:ff9b::]", // unspecified, also once unwrapped
		"[2002:7f00:2::1]", "[2001:0:4136:e378:8000:63bf:80ff:fffd]", "[64:ff9b:1::7f00:2]"} // 6to4, Teredo, local-use NAT64
	// Twice: the second answer comes from normalizeHost's memory.
	for range 2 {
		for in, want := range ok {
			got, ip, err := normalizeHost(in)
			require.NoError(t, err, in)
			assert.Equal(t, want, got, in)
			uh, uip, _ := normalizeHostUncached(in)
			assert.Equal(t, uh, got, in)
			assert.Equal(t, uip, ip, in)
		}
		for _, in := range bad {
			_, _, err := normalizeHost(in)
			assert.ErrorIs(t, err, errBadTarget, "%q", in)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		host string
		port int
	}{
		"a.example:443": {"a.example", 443}, "a.example:0443": {"a.example", 443}, "[::1]:8080": {"[::1]", 8080}, "a.example": {"a.example", 80},
	} {
		h, p, err := splitHostPort(in, 80)
		require.NoError(t, err, in)
		assert.Equal(t, want.host, h)
		assert.Equal(t, want.port, p)
	}
	for _, in := range []string{"a:+443", "a:-1", "a:0", "a:65536", "a:44x", "::1:443", "[::1]x", "a:"} {
		_, _, err := splitHostPort(in, 80)
		assert.Error(t, err, in)
	}
	_, _, err := splitHostPort("a.example", 0)
	assert.ErrorContains(t, err, "has no port")
}

// FuzzNormalizeFixedPoint: normalising a normalised host changes nothing,
// and what comes out is lower-case ASCII (a name) or an IP address.
func FuzzNormalizeFixedPoint(f *testing.F) {
	for _, s := range []string{"Example.COM.", "blocked.example..", "blocked.example。", "ＥＸＡＭＰＬＥ.com", "bücher.example", "127.2", "[::ffff:127.0.0.2]", "0x7f.1", "b\u200blocked.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		n, ip, err := normalizeHost(h)
		if err != nil {
			return
		}
		n2, ip2, err := normalizeHost(n)
		require.NoError(t, err, "%q normalised to %q, which is refused", h, n)
		assert.Equal(t, n, n2, "%q: not a fixed point", h)
		assert.Equal(t, ip, ip2)
		if !ip.IsValid() {
			for _, c := range n {
				if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
					t.Fatalf("%q normalised to %q, with %q in it", h, n, c)
				}
			}
		}
	})
}

func TestCanonicalAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"127.0.0.1": "127.0.0.1", "::1": "::1", "::ffff:10.1.2.3": "10.1.2.3", "::10.1.2.3": "10.1.2.3",
		"64:ff9b::a01:203": "10.1.2.3", "2001:db8::1": "2001:db8::1", "fe80::1": "fe80::1", "64:ff9b:2::1": "64:ff9b:2::1",
	} {
		got, err := canonicalAddr(netip.MustParseAddr(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got.String(), in)
	}
	for in, reason := range map[string]string{
		"0.0.0.0": "unspecified", "0.255.255.255": "unspecified", "::": "unspecified", "::0.0.0.7": "unspecified",
		"::ffff:0.1.2.3": "unspecified", "64:ff9b::": "unspecified",
		"2002:a01:203::1": "6to4", "2001::1": "Teredo", "64:ff9b:1::a01:203": "local-use NAT64", "fe80::1%eth0": "zone",
	} {
		_, err := canonicalAddr(netip.MustParseAddr(in))
		assert.ErrorContains(t, err, reason, in)
	}
}
