package fault_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/fault"
)

// wait bounds every wait on a goroutine, a server or Relay.
const wait = 10 * time.Second

// serve starts a loopback TCP server that runs handle on each connection
// and closes it afterwards; it is ready when serve returns. Cleanup closes
// the listener and the open connections, and waits for the handlers.
func serve(t testing.TB, handle func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed bool
		conns  = map[net.Conn]struct{}{}
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				return
			}
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c.(*net.TCPConn))
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// relayResult is what one fault.Relay call returned.
type relayResult struct {
	up, down int64
	err      error
}

// startTunnel starts the proxy side of a tunnel: for each connection it
// accepts, it dials upstream and runs fault.Relay with spec, and sends the
// result on the returned channel. Cleanup cancels the relays and waits.
func startTunnel(t testing.TB, upstream string, spec *fault.Spec) (string, <-chan relayResult) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan relayResult, 16)
	addr := serve(t, func(c *net.TCPConn) {
		var r relayResult
		u, err := net.Dial("tcp", upstream)
		if err != nil {
			r.err = err
		} else {
			r.up, r.down, r.err = fault.Relay(ctx, c, u, spec)
		}
		select {
		case results <- r:
		case <-ctx.Done():
		}
	})
	t.Cleanup(cancel) // runs before serve's cleanup waits
	return addr, results
}

// dial connects to addr; cleanup closes the connection.
func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(wait)))
	return c.(*net.TCPConn)
}

// pair returns the two ends of a loopback TCP connection.
func pair(t testing.TB) (dialed, accepted *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	type accept struct {
		c   net.Conn
		err error
	}
	ch := make(chan accept, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accept{c, err}
	}()
	d, err := net.DialTimeout("tcp", ln.Addr().String(), wait)
	require.NoError(t, err)
	a := await(t, ch)
	require.NoError(t, a.err)
	t.Cleanup(func() {
		_ = d.Close()
		_ = a.c.Close()
	})
	return d.(*net.TCPConn), a.c.(*net.TCPConn)
}

// await receives from ch, failing the test after wait.
func await[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("nothing within %s", wait)
		panic("unreachable")
	}
}

// random returns n random bytes.
func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// sum reads r to its end and returns the SHA-256 of what it read, how many
// bytes that was, and the read error (nil at EOF).
func sum(r io.Reader) ([32]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return [32]byte(h.Sum(nil)), n, err
}
