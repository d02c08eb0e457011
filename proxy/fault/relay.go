package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// copyFunc is io.Copy; tests replace it to see what Relay hands to it.
var copyFunc = io.Copy

// Relay copies between client and upstream, an established tunnel (the
// proxy has answered the CONNECT), until both directions end, and returns
// the bytes that went each way: up from client to upstream, down from
// upstream to client. It closes both connections before it returns; when
// ctx is done it closes them at once and returns ctx's error. Closed
// connections are not errors; a reset or another failure in one direction
// closes both and is returned.
//
// With a nil spec it hands the two connections, unwrapped, to io.Copy, so
// that two *net.TCPConn values stay on the kernel's splice path on Linux,
// and half-closes (CloseWrite) the destination when a direction ends, as
// goproxy does. The spec, if any, must be valid ([Spec.Validate]):
//
//   - CloseAfter, Latency, Bandwidth shape the upstream to client direction
//     only. CloseAfter relays Bytes bytes (through an *io.LimitedReader,
//     which keeps the splice path), then half-closes the client when
//     upstream sends the next byte: the client reads a FIN where that byte
//     would have been. If upstream ends first, nothing is cut.
//   - Reset relays nothing: at the client's first bytes (a TLS ClientHello,
//     say) it resets the client ([ResetConn]) and closes upstream.
//   - Stall relays nothing and neither reads nor writes ([Hold]) until the
//     client closes its side or ctx is done.
//   - Status and Malformed (which the proxy normally answers before any
//     tunnel) answer the client's first bytes in upstream's place with an
//     HTTP error response or [MalformedResponse], then close.
func Relay(ctx context.Context, client, upstream net.Conn, spec *Spec) (up, down int64, err error) {
	if spec == nil {
		return relay(ctx, client, upstream, nil)
	}
	if err := spec.Validate(); err != nil {
		_ = client.Close()
		_ = upstream.Close()
		return 0, 0, fmt.Errorf("relay: fault: %w", err)
	}
	switch spec.Kind {
	case CloseAfter:
		return relay(ctx, client, upstream, func(_ context.Context, r io.Reader) io.Reader {
			return cutTunnel(r, spec.Bytes)
		})
	case Latency, Bandwidth:
		return relay(ctx, client, upstream, func(ctx context.Context, r io.Reader) io.Reader {
			return shape(ctx, r, spec)
		})
	case Reset:
		return 0, 0, relayReset(ctx, client, upstream)
	case Stall:
		Hold(ctx, client)
		_ = upstream.Close()
		return 0, 0, ctxErr(ctx)
	case Status:
		return 0, 0, relayAnswer(ctx, client, upstream, statusResponse(spec.Status))
	case Malformed:
		return 0, 0, relayAnswer(ctx, client, upstream, MalformedResponse)
	}
	panic("fault: Relay: unhandled kind " + string(spec.Kind)) // Validate knows every kind
}

// relay copies both ways; wrap, if not nil, wraps upstream as the source of
// the upstream to client direction, with a context that ends with the relay.
func relay(ctx context.Context, client, upstream net.Conn, wrap func(context.Context, io.Reader) io.Reader) (up, down int64, err error) {
	inner, abort := context.WithCancel(ctx)
	defer abort()
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = client.Close()
			_ = upstream.Close()
		})
	}
	stop := context.AfterFunc(inner, closeBoth)

	var src io.Reader = upstream
	if wrap != nil {
		src = wrap(inner, upstream)
	}
	var upErr, downErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		up, upErr = half(upstream, client, abort)
	}()
	down, downErr = half(client, src, abort)
	<-done
	stop()
	closeBoth() // waits for the AfterFunc's close if that one started
	return up, down, relayErr(ctx, upErr, downErr)
}

// half copies src to dst, then half-closes dst so that its peer reads EOF.
// On a failure it aborts the relay: the other direction may never end on
// its own.
func half(dst net.Conn, src io.Reader, abort context.CancelFunc) (int64, error) {
	n, err := copyFunc(dst, src)
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			// A peer that has closed altogether needs no EOF: its socket
			// answers ENOTCONN, which is not the relay's failure.
			if err = cw.CloseWrite(); errors.Is(err, syscall.ENOTCONN) {
				err = nil
			}
		} else {
			err = dst.Close() // no half-close: the only way to say EOF
		}
	}
	if err != nil {
		abort()
	}
	return n, err
}

// relayErr is the error Relay returns: ctx's if it ended the relay, else
// the failures, leaving out the closed connections and canceled waits that
// follow an abort.
func relayErr(ctx context.Context, errs ...error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	var kept []error
	for _, err := range errs {
		if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) {
			continue
		}
		kept = append(kept, err)
	}
	return errors.Join(kept...)
}

func ctxErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// relayReset waits for the client's first bytes, then resets it.
func relayReset(ctx context.Context, client, upstream net.Conn) error {
	defer upstream.Close()
	n, err := readFirst(ctx, client, make([]byte, 1))
	if n > 0 {
		_ = upstream.Close()
		return ResetConn(client)
	}
	_ = client.Close()
	return quietErr(ctx, err)
}

// relayAnswer waits for the client's first bytes (its request), answers
// them with answer in upstream's place and closes, lingering so that the
// unread rest of the request does not turn the close into a reset.
func relayAnswer(ctx context.Context, client, upstream net.Conn, answer []byte) error {
	_ = upstream.Close()
	defer client.Close()
	n, err := readFirst(ctx, client, make([]byte, 64<<10))
	if n == 0 {
		return quietErr(ctx, err)
	}
	if _, err := client.Write(answer); err != nil {
		return quietErr(ctx, err)
	}
	if cw, ok := client.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = client.SetReadDeadline(time.Now().Add(time.Second))
		discardUntilGone(client)
	}
	return ctxErr(ctx)
}

// readFirst reads once from c, giving up when ctx is done.
func readFirst(ctx context.Context, c net.Conn, buf []byte) (int, error) {
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(longAgo) })
	defer stop()
	return c.Read(buf)
}

// quietErr is err unless it only says the client went away: io.EOF, a
// closed connection, or the deadline set because ctx is done.
func quietErr(ctx context.Context, err error) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}
