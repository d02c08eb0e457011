package fault_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/fault"
)

// BenchmarkRelay moves 64 MiB per iteration from a client through a relay
// to a sink, over loopback TCP: fault.Relay without a fault against the
// baseline, a plain io.Copy pair (as goproxy relays), and, for scale, a
// pair that copies through a user-space buffer (what the splice path saves).
func BenchmarkRelay(b *testing.B) {
	const size = 64 << 20
	relays := []struct {
		name  string
		relay func(ctx context.Context, client, upstream *net.TCPConn)
	}{
		{"Relay", func(ctx context.Context, client, upstream *net.TCPConn) {
			_, _, _ = fault.Relay(ctx, client, upstream, nil)
		}},
		{"baseline io.Copy", func(_ context.Context, client, upstream *net.TCPConn) {
			copyPair(client, upstream, func(dst, src *net.TCPConn) { _, _ = io.Copy(dst, src) })
		}},
		{"user-space copy", func(_ context.Context, client, upstream *net.TCPConn) {
			copyPair(client, upstream, func(dst, src *net.TCPConn) {
				_, _ = io.Copy(struct{ io.Writer }{dst}, struct{ io.Reader }{src})
			})
		}},
	}
	chunk := make([]byte, 1<<20)
	for _, r := range relays {
		relay := r.relay
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				client, proxyClient := pair(b)
				proxyUpstream, sink := pair(b)
				relayed := make(chan struct{})
				go func() {
					defer close(relayed)
					relay(b.Context(), proxyClient, proxyUpstream)
				}()
				sunk := make(chan int64, 1)
				go func() {
					buf := make([]byte, 1<<20)
					var n int64
					for {
						k, err := sink.Read(buf)
						n += int64(k)
						if err != nil {
							break
						}
					}
					_ = sink.CloseWrite()
					sunk <- n
				}()
				for range size / len(chunk) {
					_, err := client.Write(chunk)
					require.NoError(b, err)
				}
				require.NoError(b, client.CloseWrite())
				require.EqualValues(b, size, await(b, sunk))
				await(b, relayed)
				_ = client.Close()
				_ = sink.Close()
			}
		})
	}
}

// copyPair relays both ways with copy, half-closing each destination when
// its direction ends, then closes both: what goproxy does.
func copyPair(client, upstream *net.TCPConn, copy func(dst, src *net.TCPConn)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		copy(upstream, client)
		_ = upstream.CloseWrite()
	}()
	copy(client, upstream)
	_ = client.CloseWrite()
	<-done
	_ = client.Close()
	_ = upstream.Close()
}
