package harness

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/egresslab/egresslab/client"
)

// DialFrom is the workstation's dialer (Lab.Dial) with its connections to
// the proxy made from the loopback address src ("127.0.0.2"), so that the
// proxy's src rules and IP surrogates see that address; scenarios'
// client.address. Other connections go through Lab.Dial as they are.
func (l *Lab) DialFrom(src string) client.DialFunc {
	local := &net.TCPAddr{IP: net.ParseIP(src)}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if l.Proxy == nil || !strings.EqualFold(addr, l.ProxyAddr) {
			return l.Dial(ctx, network, addr)
		}
		d := net.Dialer{LocalAddr: local}
		return d.DialContext(ctx, network, l.Proxy.Listener.Addr().String())
	}
}

// MovedClock is a clock for a lab's proxy (proxy.WithClock(c.Now)) that
// a test or a scenario moves on instead of waiting: the real time plus
// what Add has added. Its zero value is the real time; it is safe for
// concurrent use.
type MovedClock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now is the real time, moved on.
func (c *MovedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Add moves the clock on by d.
func (c *MovedClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}
