package pac

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// stubResolver answers from a map and counts lookups; it never reaches
// the system's resolver.
type stubResolver struct {
	mu      sync.Mutex
	names   map[string][]string
	lookups map[string]int
}

func newStub(names map[string][]string) *stubResolver {
	return &stubResolver{names: names, lookups: map[string]int{}}
}

func (s *stubResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups[network+" "+host]++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range s.names[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func (s *stubResolver) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups[key]
}

var netipZero netip.Addr
