package harness

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/labdns"
	"github.com/egresslab/egresslab/mock"
)

// TestNetworkUpstream: the proxy node's upstream asks its DNS (here the
// lab's DNS server on loopback) for lab names only, and dials only what a
// lab name resolved to, on that name's ports.
func TestNetworkUpstream(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	portal, cdn := netip.MustParseAddr("127.0.0.7"), netip.MustParseAddr("127.0.0.8")
	dns, err := labdns.New(map[string][]netip.Addr{mock.PortalHost: {portal}, mock.CDNHost: {cdn}, "decoy.example": {portal}},
		labdns.WithObserver(func(name, _, _ string) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, name)
		}))
	require.NoError(t, err)
	udp, _, err := dns.ListenAndServe("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = dns.Close() })
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, udp.String())
	}}
	res, _ := NetworkUpstream(r)
	u := res.(*networkUpstream)
	var dialled []string
	u.connect = func(_ context.Context, _, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return nil, errors.New("not dialled in this test")
	}
	ctx := context.Background()

	_, err = u.LookupNetIP(ctx, "ip", "decoy.example")
	var de *net.DNSError
	require.ErrorAs(t, err, &de)
	assert.True(t, de.IsNotFound, "a name outside the lab is not found")
	mu.Lock()
	assert.Empty(t, asked, "without a query")
	mu.Unlock()

	addrs, err := u.LookupNetIP(ctx, "ip", "PasswordReset.MicrosoftOnline.com.")
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{portal}, addrs)

	_, _ = u.dial(ctx, "tcp", "127.0.0.7:443")
	assert.Equal(t, []string{"127.0.0.7:443"}, dialled, "what was resolved, on the name's port")
	for _, a := range []string{"127.0.0.7:8128", "127.0.0.9:443", "not-an-address:443"} {
		_, err := u.dial(ctx, "tcp", a)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED, a)
	}
	_, _ = u.dial(ctx, "tcp", "127.0.0.8:80")
	assert.Equal(t, []string{"127.0.0.7:443", "127.0.0.8:80"}, dialled, "a lab host's address literal, looked up on demand")
	assert.Len(t, dialled, 2)
}
