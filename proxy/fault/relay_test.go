package fault_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/fault"
)

// relayAsync runs fault.Relay in a goroutine.
func relayAsync(ctx context.Context, client, upstream net.Conn, spec *fault.Spec) <-chan relayResult {
	ch := make(chan relayResult, 1)
	go func() {
		var r relayResult
		r.up, r.down, r.err = fault.Relay(ctx, client, upstream, spec)
		ch <- r
	}()
	return ch
}

// exchange sends n random bytes each way between client and upstream at
// once, each side half-closing when done, and checks that each side read
// exactly what the other sent.
func exchange(t *testing.T, client, upstream *net.TCPConn, n int) {
	t.Helper()
	a, b := random(t, n), random(t, n)
	for _, c := range []*net.TCPConn{client, upstream} {
		require.NoError(t, c.SetDeadline(time.Now().Add(wait)))
	}
	send := func(c *net.TCPConn, p []byte) error {
		_, err := c.Write(p)
		return errors.Join(err, c.CloseWrite())
	}
	var (
		wg             sync.WaitGroup
		upSum, downSum [32]byte
		upN, downN     int64
		errs           [4]error
	)
	wg.Go(func() { errs[0] = send(client, a) })
	wg.Go(func() { errs[1] = send(upstream, b) })
	wg.Go(func() { upSum, upN, errs[2] = sum(upstream) })
	wg.Go(func() { downSum, downN, errs[3] = sum(client) })
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, n, upN, "bytes upstream read")
	assert.EqualValues(t, n, downN, "bytes the client read")
	assert.Equal(t, sha(a), upSum, "data upstream read")
	assert.Equal(t, sha(b), downSum, "data the client read")
}

func sha(p []byte) [32]byte {
	s, _, _ := sum(bytes.NewReader(p))
	return s
}

// readChars returns the bytes this process has read with read(2) and the
// like (rchar in /proc/self/io); splice(2) does not count.
func readChars(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no per-process I/O accounting here: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Skip("no rchar in /proc/self/io")
	return 0
}

func TestRelayWithoutFaultKeepsTheSplicePath(t *testing.T) {
	// Not parallel: it swaps the io.Copy that Relay calls and reads the
	// process-wide read counter.
	const n = 8 << 20
	type call struct {
		dst io.Writer
		src io.Reader
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	t.Cleanup(fault.SetCopyFunc(func(dst io.Writer, src io.Reader) (int64, error) {
		mu.Lock()
		calls = append(calls, call{dst, src})
		mu.Unlock()
		return io.Copy(dst, src)
	}))

	client, proxyClient := pair(t)
	proxyUpstream, upstream := pair(t)
	results := relayAsync(t.Context(), proxyClient, proxyUpstream, nil)
	exchange(t, client, upstream, n)
	r := await(t, results)
	require.NoError(t, r.err)
	assert.EqualValues(t, n, r.up, "bytes up")
	assert.EqualValues(t, n, r.down, "bytes down")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 2, "one io.Copy per direction")
	for _, c := range calls {
		// The very *net.TCPConn values, unwrapped: io.Copy then calls
		// (*net.TCPConn).ReadFrom, which splices from a *net.TCPConn.
		if c.dst == io.Writer(proxyUpstream) {
			assert.Same(t, proxyClient, c.src, "up: from the client connection itself")
		} else {
			assert.Same(t, proxyClient, c.dst, "down: to the client connection itself")
			assert.Same(t, proxyUpstream, c.src, "down: from the upstream connection itself")
		}
	}
}

func TestRelayReadsNothingInUserSpace(t *testing.T) {
	// Not parallel: it reads the process-wide read counter, and its
	// control swaps the io.Copy that Relay calls.
	const n = 8 << 20
	// The two ends read 2n bytes with read(2) between them. A relay that
	// splices adds nothing to that; one that copies through user space
	// reads 2n more.
	measure := func(t *testing.T, spec *fault.Spec) int64 {
		client, proxyClient := pair(t)
		proxyUpstream, upstream := pair(t)
		before := readChars(t)
		results := relayAsync(t.Context(), proxyClient, proxyUpstream, spec)
		exchange(t, client, upstream, n)
		r := await(t, results)
		require.NoError(t, r.err)
		return readChars(t) - before
	}
	assert.Less(t, measure(t, nil), int64(3*n), "without a fault, Relay splices: only the two ends read")
	assert.Less(t, measure(t, &fault.Spec{Kind: fault.CloseAfter, Bytes: 2 * n}), int64(3*n),
		"before its cut, close-after splices too")

	// The control shows the meter tells the two apart: the same relay
	// with its copies forced through a user-space buffer.
	restore := fault.SetCopyFunc(func(dst io.Writer, src io.Reader) (int64, error) {
		return io.Copy(struct{ io.Writer }{dst}, struct{ io.Reader }{src})
	})
	defer restore()
	assert.GreaterOrEqual(t, measure(t, nil), int64(4*n), "a user-space copy reads every byte once more")
}

func TestRelayWithoutFaultEndsOnAnUpstreamReset(t *testing.T) {
	t.Parallel()
	upstream := serve(t, func(c *net.TCPConn) {
		if _, err := c.Write([]byte("partial")); err == nil {
			_ = fault.ResetConn(c)
		}
	})
	addr, results := startTunnel(t, upstream, nil)
	c := dial(t, addr)
	_, _ = io.ReadAll(c)
	r := await(t, results)
	assert.ErrorIs(t, r.err, syscall.ECONNRESET, "the reset is Relay's error")
}

func TestRelayResetReachesTheClientAsECONNRESET(t *testing.T) {
	t.Parallel()
	tests := map[string]func(c net.Conn) error{
		"tls client hello": func(c net.Conn) error {
			return tls.Client(c, &tls.Config{ServerName: "passwordreset.microsoftonline.com"}).Handshake()
		},
		"raw bytes": func(c net.Conn) error {
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: passwordreset.microsoftonline.com\r\n\r\n"); err != nil {
				return err
			}
			_, err := c.Read(make([]byte, 1))
			return err
		},
	}
	for name, talk := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			received := make(chan int64, 1)
			upstream := serve(t, func(c *net.TCPConn) {
				_, n, _ := sum(c)
				received <- n
			})
			addr, results := startTunnel(t, upstream, &fault.Spec{Kind: fault.Reset})

			err := talk(dial(t, addr))
			assert.ErrorIs(t, err, syscall.ECONNRESET)
			r := await(t, results)
			assert.NoError(t, r.err)
			assert.Zero(t, r.up+r.down, "nothing relayed")
			assert.Zero(t, await(t, received), "upstream got nothing, then its connection closed")
		})
	}
}

// countingConn counts the bytes read from it.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestRelayCloseAfterCutsTheResponse(t *testing.T) {
	t.Parallel()
	content := random(t, 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		_, _ = w.Write(content)
	}))
	t.Cleanup(srv.Close)

	tests := map[string]struct {
		bytes int64
		check func(t *testing.T, resp *http.Response, err error)
	}{
		"inside the body": {1000, func(t *testing.T, resp *http.Response, err error) {
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the body stops short of Content-Length")
			assert.NotEmpty(t, body)
			assert.Equal(t, content[:len(body)], body, "what arrived is upstream's")
		}},
		"before the first byte": {0, func(t *testing.T, _ *http.Response, err error) {
			assert.ErrorIs(t, err, io.EOF, "the connection ends without a response")
		}},
		"inside the status line": {5, func(t *testing.T, _ *http.Response, err error) {
			assert.ErrorContains(t, err, "malformed HTTP", `"HTTP/" then nothing`)
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, results := startTunnel(t, srv.Listener.Addr().String(), &fault.Spec{Kind: fault.CloseAfter, Bytes: tc.bytes})
			var received atomic.Int64
			tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					return nil, err
				}
				return countingConn{c, &received}, nil
			}}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr, Timeout: wait}

			resp, err := client.Get(srv.URL)
			tc.check(t, resp, err)
			r := await(t, results)
			assert.NoError(t, r.err)
			assert.Equal(t, tc.bytes, r.down, "Relay's count")
			assert.Equal(t, tc.bytes, received.Load(), "exactly that many bytes reached the client")
			assert.Positive(t, r.up, "the request went up")
		})
	}
}

func TestRelayShapesTheDownstream(t *testing.T) {
	t.Parallel()
	const chunk = 512
	content := random(t, 64<<10)
	tests := map[string]struct {
		spec     fault.Spec
		upstream func(c *net.TCPConn)
		client   func(t *testing.T, c *net.TCPConn)
		down     int64
		atLeast  time.Duration
	}{
		"latency: 4 chunks, 50ms each": {
			spec: fault.Spec{Kind: fault.Latency, Delay: fault.Duration(50 * time.Millisecond)},
			// Ping-pong: each chunk is sent only after the client got the
			// previous one, so the chunks cannot merge.
			upstream: func(c *net.TCPConn) {
				for i := range 4 {
					if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
						return
					}
					if _, err := c.Write(bytes.Repeat([]byte{byte('a' + i)}, chunk)); err != nil {
						return
					}
				}
			},
			client: func(t *testing.T, c *net.TCPConn) {
				for i := range 4 {
					_, err := c.Write([]byte{'?'})
					require.NoError(t, err)
					got := make([]byte, chunk)
					_, err = io.ReadFull(c, got)
					require.NoError(t, err)
					assert.Equal(t, bytes.Repeat([]byte{byte('a' + i)}, chunk), got)
				}
				require.NoError(t, c.CloseWrite())
				_, err := io.ReadAll(c)
				require.NoError(t, err)
			},
			down:    4 * chunk,
			atLeast: 4 * 50 * time.Millisecond,
		},
		"bandwidth: 64 KiB at 256 KiB/s": {
			spec: fault.Spec{Kind: fault.Bandwidth, Rate: 256 << 10},
			upstream: func(c *net.TCPConn) {
				_, _ = c.Write(content)
			},
			client: func(t *testing.T, c *net.TCPConn) {
				require.NoError(t, c.CloseWrite())
				got, err := io.ReadAll(c)
				require.NoError(t, err)
				assert.Equal(t, sha(content), sha(got), "data intact")
			},
			down:    int64(len(content)),
			atLeast: 200 * time.Millisecond, // 250ms in theory
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, results := startTunnel(t, serve(t, tc.upstream), &tc.spec)
			c := dial(t, addr)
			start := time.Now()
			tc.client(t, c)
			elapsed := time.Since(start)
			assert.GreaterOrEqual(t, elapsed, tc.atLeast)
			r := await(t, results)
			assert.NoError(t, r.err)
			assert.Equal(t, tc.down, r.down)
		})
	}
}

func TestRelayStallTimesOutTheClient(t *testing.T) {
	t.Parallel()
	tests := map[string]func(c net.Conn) error{
		"tls handshake": func(c net.Conn) error {
			return tls.Client(c, &tls.Config{ServerName: "passwordreset.microsoftonline.com"}).Handshake()
		},
		"raw bytes": func(c net.Conn) error {
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: passwordreset.microsoftonline.com\r\n\r\n"); err != nil {
				return err
			}
			_, err := c.Read(make([]byte, 1))
			return err
		},
		"silent client": func(c net.Conn) error {
			_, err := c.Read(make([]byte, 1))
			return err
		},
	}
	for name, talk := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			received := make(chan int64, 1)
			upstream := serve(t, func(c *net.TCPConn) {
				_, n, _ := sum(c)
				received <- n
			})
			addr, results := startTunnel(t, upstream, &fault.Spec{Kind: fault.Stall})
			c := dial(t, addr)
			require.NoError(t, c.SetDeadline(time.Now().Add(200*time.Millisecond)))

			err := talk(c)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout(), "want a timeout, got %v", err)

			require.NoError(t, c.Close())
			r := await(t, results)
			assert.NoError(t, r.err)
			assert.Zero(t, r.up+r.down, "nothing relayed")
			assert.Zero(t, await(t, received), "upstream got nothing, then its connection closed")
		})
	}
}

func TestRelayAnswersInPlaceOfUpstream(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spec  fault.Spec
		check func(t *testing.T, resp *http.Response, err error)
	}{
		"status 502": {fault.Spec{Kind: fault.Status, Status: 502}, wantStatus(502)},
		"status 503": {fault.Spec{Kind: fault.Status, Status: 503}, wantStatus(503)},
		"status 504": {fault.Spec{Kind: fault.Status, Status: 504}, wantStatus(504)},
		"malformed": {fault.Spec{Kind: fault.Malformed}, func(t *testing.T, _ *http.Response, err error) {
			assert.ErrorContains(t, err, "malformed HTTP response")
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			received := make(chan int64, 1)
			upstream := serve(t, func(c *net.TCPConn) {
				_, n, _ := sum(c)
				received <- n
			})
			addr, results := startTunnel(t, upstream, &tc.spec)
			tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			}}
			t.Cleanup(tr.CloseIdleConnections)
			resp, err := (&http.Client{Transport: tr, Timeout: wait}).Get("http://passwordreset.microsoftonline.com/")
			tc.check(t, resp, err)
			r := await(t, results)
			assert.NoError(t, r.err)
			assert.Zero(t, await(t, received), "upstream got nothing")
		})
	}
}

func wantStatus(code int) func(t *testing.T, resp *http.Response, err error) {
	return func(t *testing.T, resp *http.Response, err error) {
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, code, resp.StatusCode)
		_, err = io.ReadAll(resp.Body)
		assert.NoError(t, err, "a whole response")
	}
}

func TestRelayReturnsWhenContextIsDone(t *testing.T) {
	t.Parallel()
	tests := map[string]*fault.Spec{
		"no fault":                      nil,
		"stall":                         {Kind: fault.Stall},
		"reset, before the first bytes": {Kind: fault.Reset},
		"malformed, before the request": {Kind: fault.Malformed},
		"latency, mid-wait":             {Kind: fault.Latency, Delay: fault.Duration(time.Hour)},
		"bandwidth, mid-wait":           {Kind: fault.Bandwidth, Rate: 1},
		"close-after":                   {Kind: fault.CloseAfter, Bytes: 1 << 20},
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			client, proxyClient := pair(t)
			proxyUpstream, upstream := pair(t)
			ctx, cancel := context.WithCancel(t.Context())
			results := relayAsync(ctx, proxyClient, proxyUpstream, spec)
			_, err := upstream.Write([]byte("waiting"))
			require.NoError(t, err)
			cancel()

			r := await(t, results)
			assert.ErrorIs(t, r.err, context.Canceled)
			for end, c := range map[string]*net.TCPConn{"client": client, "upstream": upstream} {
				require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
				_, err := io.ReadAll(bufio.NewReader(c))
				var ne net.Error
				assert.False(t, errors.As(err, &ne) && ne.Timeout(), "%s: Relay closed its connection, got %v", end, err)
			}
		})
	}
}

func TestRelayRefusesAnInvalidSpec(t *testing.T) {
	t.Parallel()
	client, proxyClient := pair(t)
	proxyUpstream, upstream := pair(t)
	_, _, err := fault.Relay(t.Context(), proxyClient, proxyUpstream, &fault.Spec{Kind: fault.Status, Status: 200})
	assert.ErrorContains(t, err, "status: 200 is not one of 502, 503, 504")
	for _, c := range []*net.TCPConn{client, upstream} {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
		n, err := c.Read(make([]byte, 1))
		assert.Zero(t, n)
		assert.ErrorIs(t, err, io.EOF, "closed")
	}
}
