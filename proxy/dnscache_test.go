package proxy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestDNSCacheExpiresAndIsBounded: an answer is kept for the TTL and no
// longer, the cache never holds more than maxCachedNames, and a TTL of 0
// keeps nothing.
func TestDNSCacheExpiresAndIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &dnsCache{ttl: 30 * time.Second, now: func() time.Time { return now }}
	a := []netip.Addr{netip.MustParseAddr("198.18.0.1")}
	c.put("a.example", a)
	now = now.Add(29 * time.Second)
	got, ok := c.get("a.example")
	assert.True(t, ok)
	assert.Equal(t, a, got)
	now = now.Add(time.Second)
	_, ok = c.get("a.example")
	assert.False(t, ok, "expired at the TTL")

	for i := range maxCachedNames + 10 {
		c.put(fmt.Sprintf("h%d.example", i), a)
		assert.LessOrEqual(t, len(c.m), maxCachedNames)
	}
	_, ok = c.get(fmt.Sprintf("h%d.example", maxCachedNames+9))
	assert.True(t, ok, "the latest answer is kept")

	off := &dnsCache{now: time.Now}
	off.put("a.example", a)
	_, ok = off.get("a.example")
	assert.False(t, ok)
}
