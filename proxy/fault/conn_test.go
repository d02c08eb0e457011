package fault_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/fault"
)

func TestMalformedResponseFailsAGoClient(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(c *net.TCPConn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = c.Write(fault.MalformedResponse)
	})
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	_, err := (&http.Client{Transport: tr, Timeout: wait}).Get("http://" + addr + "/n/passwordreset")
	assert.ErrorContains(t, err, "malformed HTTP response")
}

func TestResetConn(t *testing.T) {
	t.Parallel()
	tests := map[string]func(c net.Conn) net.Conn{
		"tcp": func(c net.Conn) net.Conn { return c },
		// A TLS connection is reset underneath: no close_notify first.
		"tls on tcp": func(c net.Conn) net.Conn { return tls.Server(c, &tls.Config{}) },
	}
	for name, wrap := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			peer, c := pair(t)
			require.NoError(t, fault.ResetConn(wrap(c)))
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(wait)))
			n, err := peer.Read(make([]byte, 1))
			assert.Zero(t, n)
			assert.ErrorIs(t, err, syscall.ECONNRESET)
		})
	}
}

func TestResetConnWithoutTCP(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	err := fault.ResetConn(a)
	assert.ErrorContains(t, err, "cannot send a TCP reset; closed it instead")
	_, err = b.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "closed anyway")
}

func TestHold(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		peer func(t *testing.T, peer *net.TCPConn, cancel context.CancelFunc)
		// peerReads checks what the peer reads once Hold has returned.
		peerReads func(t *testing.T, n int, err error)
	}{
		"peer closes": {
			peer: func(t *testing.T, peer *net.TCPConn, _ context.CancelFunc) { require.NoError(t, peer.CloseWrite()) },
			peerReads: func(t *testing.T, n int, err error) {
				assert.ErrorIs(t, err, io.EOF, "closed by Hold, nothing written")
			},
		},
		"peer sends, then closes": {
			peer: func(t *testing.T, peer *net.TCPConn, _ context.CancelFunc) {
				_, err := peer.Write([]byte("\x16\x03\x01 a client hello"))
				require.NoError(t, err)
				require.NoError(t, peer.CloseWrite())
			},
		},
		"peer resets": {
			peer: func(t *testing.T, peer *net.TCPConn, _ context.CancelFunc) { require.NoError(t, fault.ResetConn(peer)) },
		},
		"context done": {
			peer: func(t *testing.T, _ *net.TCPConn, cancel context.CancelFunc) { cancel() },
			peerReads: func(t *testing.T, n int, err error) {
				assert.ErrorIs(t, err, io.EOF, "closed by Hold, nothing written")
			},
		},
		"context done, with unread data": {
			peer: func(t *testing.T, peer *net.TCPConn, cancel context.CancelFunc) {
				_, err := peer.Write([]byte("unread"))
				require.NoError(t, err)
				cancel()
			},
			peerReads: func(t *testing.T, n int, err error) {
				if runtime.GOOS != "linux" {
					return // elsewhere Hold reads and discards
				}
				// Closing with unread data sends a reset: the proof that
				// Hold read nothing.
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			peer, c := pair(t)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			done := make(chan struct{})
			go func() {
				defer close(done)
				fault.Hold(ctx, c)
			}()
			tc.peer(t, peer, cancel)
			await(t, done)
			if tc.peerReads == nil {
				return
			}
			require.NoError(t, peer.SetReadDeadline(time.Now().Add(wait)))
			n, err := peer.Read(make([]byte, 1))
			assert.Zero(t, n, "Hold wrote nothing")
			tc.peerReads(t, n, err)
		})
	}
}

func TestHoldWaitsForThePeer(t *testing.T) {
	t.Parallel()
	// Hold must not return while the peer is there: after the peer wrote
	// and waited 200ms for an answer, it is still holding (and wrote
	// nothing), though c had a read deadline that would have ended a read.
	peer, c := pair(t)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Millisecond)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fault.Hold(ctx, c)
	}()
	_, err := peer.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = peer.Read(make([]byte, 1))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "want a timeout, got %v", err)
	select {
	case <-done:
		t.Fatal("Hold returned while the peer was still connected")
	default:
	}
	cancel()
	await(t, done)
}
