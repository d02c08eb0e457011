package proxy

import (
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
	}
	bad := []string{"", "a b.com", "evil.com%2f", "user@host", "a..b", "08.0.0.1", "1.2.3.256", "256.1.1.1", "[::1", "[fe80::1%eth0]", "host.123", "1.2.3.4.5", "x/y", "-bad-.com\x00"}
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
