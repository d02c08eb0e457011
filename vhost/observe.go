package vhost

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultHandshakeTimeout bounds a TLS handshake, so that a client that
// connects and never says hello does not hold a goroutine for long.
const DefaultHandshakeTimeout = 10 * time.Second

// handshakeListener completes the TLS handshake of every accepted
// connection before http.Server sees it, in a goroutine per connection, so
// that the outcome of each handshake (a typed error, or the negotiated
// version) can be reported. http.Server's own handshake call then finds it
// done.
type handshakeListener struct {
	raw     net.Listener
	cfg     *tls.Config
	timeout time.Duration
	observe func(Handshake) // may be nil
	logger  *slog.Logger
	hellos  sync.Map // raw net.Conn -> Handshake with ClientHello fields

	ready   chan net.Conn // handshaken connections; never closed
	stopped chan struct{} // closed when the accept loop ends
	err     error         // why it ended, set before stopped is closed
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newHandshakeListener(raw net.Listener, cfg *tls.Config, timeout time.Duration, observe func(Handshake), logger *slog.Logger) *handshakeListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &handshakeListener{raw: raw, cfg: cfg, timeout: timeout, observe: observe, logger: logger,
		ready: make(chan net.Conn), stopped: make(chan struct{}), ctx: ctx, cancel: cancel}
	if observe != nil {
		prev := cfg.GetConfigForClient
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			l.hellos.Store(hello.Conn, Handshake{ServerName: hello.ServerName, Offered: append([]uint16(nil), hello.SupportedVersions...)})
			if prev != nil {
				return prev(hello)
			}
			return nil, nil
		}
	}
	// The observer's hook must not hold the handshake up for ever: Close
	// waits for the observer calls under way.
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// acceptLoop accepts until the listener is closed. Other errors (running
// out of file descriptors, say) are retried with a growing pause, as
// net/http does, so that a burst of connections does not stop the server.
func (l *handshakeListener) acceptLoop() {
	defer l.wg.Done()
	defer close(l.stopped)
	var pause time.Duration
	for {
		raw, err := l.raw.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.ctx.Err() != nil {
				l.err = err
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			l.logger.Warn("vhost accept failed; retrying", "err", err, "pause", pause)
			select {
			case <-time.After(pause):
				continue
			case <-l.ctx.Done():
				l.err = net.ErrClosed
				return
			}
		}
		pause = 0
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

func (l *handshakeListener) handshake(raw net.Conn) {
	defer l.wg.Done()
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	err := tc.HandshakeContext(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("TLS handshake timed out after %s: %w", l.timeout, err)
	}
	cancel()
	hs := Handshake{}
	if v, ok := l.hellos.LoadAndDelete(raw); ok {
		hs = v.(Handshake)
	}
	if err != nil {
		l.logger.Debug("TLS handshake refused", "remote", raw.RemoteAddr().String(), "err", err)
		raw.Close()
	}
	if l.observe != nil {
		hs.Time, hs.Remote, hs.Err = time.Now(), raw.RemoteAddr().String(), err
		if err == nil {
			cs := tc.ConnectionState()
			hs.Version, hs.CipherSuite = cs.Version, cs.CipherSuite
		}
		l.observe(hs)
	}
	if err != nil {
		return
	}
	select {
	case l.ready <- tc:
	case <-l.ctx.Done():
		tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded. Once the
// raw listener has failed or been closed, it returns that error.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.stopped:
		return nil, l.err
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting, interrupts handshakes under way and waits for
// their goroutines.
func (l *handshakeListener) Close() error {
	l.cancel()
	err := l.raw.Close()
	l.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (l *handshakeListener) Addr() net.Addr { return l.raw.Addr() }
