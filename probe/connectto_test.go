package probe_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
)

// noDNS is a resolver that knows no name: with --connect-to nothing is
// looked up.
type noDNS struct{}

func (noDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// loopbackOnly dials 127.0.0.0/8 and refuses anything else.
func loopbackOnly(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, errors.New("test dialer: not a loopback address: " + addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// TestProbeConnectTo reaches each endpoint at an address given for its
// name, as curl's --connect-to does, with no DNS at all.
func TestProbeConnectTo(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t) // no proxy: the workstation reaches every host
	var over []string
	for _, e := range probe.Endpoints {
		addr, ok := lab.Resolve(e.Name())
		require.True(t, ok, e.Name())
		over = append(over, e.Name()+"="+addr)
	}
	connectTo, err := probe.ParseConnectTo(over)
	require.NoError(t, err)
	r, err := probe.Run(context.Background(), probe.Config{
		ConnectTo: connectTo, Dial: loopbackOnly, Resolver: noDNS{}, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{OS: client.Windows11, Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	assert.Equal(t, client.SourceNone, r.ProxySource)
	assert.Equal(t, "TLS 1.2 to TLS 1.3", r.TLSOffered)
	portal := r.Endpoints[0]
	assert.Equal(t, "none", portal.DNS.ResolvedBy)
	assert.Equal(t, "direct", portal.TCP.Via)
	require.NotNil(t, portal.TLS)
	assert.True(t, portal.TLS.TLS12)
	assert.False(t, portal.TLS.Windows7Default, "the lab's portal takes TLS 1.2 and up")
	assert.Equal(t, "TLS 1.3", portal.TLS.Negotiated)
	assert.Nil(t, portal.TLS.Inspection)
	require.NotEmpty(t, portal.Revocation)
	assert.Equal(t, "good", portal.Revocation[0].Status)
	require.NotNil(t, r.Portal.ScriptCheck)
	assert.True(t, r.Portal.ScriptCheck.OK)
	assert.NotEmpty(t, r.Portal.Integrity)
}

func TestProbeParseConnectTo(t *testing.T) {
	t.Parallel()
	// Two addresses of listeners of the test's own (nothing is dialled).
	addr := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		return ln.Addr().String()
	}
	a, b := addr(), addr()
	m, err := probe.ParseConnectTo([]string{"Portal.Example:443=" + a, "cdn.example:80:" + b})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"portal.example:443": a, "cdn.example:80": b}, m)
	for _, bad := range []string{"nonsense", "a:443=b", "a:0=b:1", ":443=b:1", "a:443=b:x"} {
		_, err := probe.ParseConnectTo([]string{bad})
		assert.Error(t, err, bad)
	}
}

// TestProbeExtended: the wider identity list is checked, and its failures
// (here: names the lab does not have) warn without blocking.
func TestProbeExtended(t *testing.T) {
	t.Parallel()
	lab := harness.Start(t)
	r, err := probe.Run(context.Background(), probe.Config{
		Extended: true, Dial: lab.Dial, Resolver: lab, Roots: lab.Roots(), Issuers: harness.ServiceIssuers,
		Profile: client.Profile{Timeouts: client.Timeouts{Connect: 2 * time.Second, Request: 4 * time.Second}},
	})
	require.NoError(t, err)
	require.Len(t, r.Endpoints, len(probe.Endpoints)+len(probe.ExtendedEndpoints))
	assert.True(t, r.Works, "verdicts: %+v", r.Verdicts)
	last := r.Endpoints[len(r.Endpoints)-1]
	assert.False(t, last.Required)
	assert.False(t, last.OK)
	assert.Equal(t, client.CauseDNSFailure, last.Cause)
	assert.NotEmpty(t, last.DNS.Error)
	var warned bool
	for _, v := range r.Verdicts {
		assert.False(t, v.Blocking)
		warned = warned || v.Endpoint == last.Name
	}
	assert.True(t, warned)
}
