package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// WrapBody applies a [CloseAfter], [Latency] or [Bandwidth] spec to a
// plain-HTTP response body that the proxy reads from upstream; for a nil or
// invalid spec and for other kinds it returns body unchanged. Closing the
// result closes body. Waits end early, with ctx's error, when ctx is done.
//
// After Bytes bytes, when upstream sends more, a CloseAfter body returns a
// non-EOF error, so that a proxy which has already sent Content-Length
// aborts the response and its client reads [io.ErrUnexpectedEOF]. (A proxy
// should then end the handler with panic(http.ErrAbortHandler): only that
// cuts a chunked response, which a normal return would end cleanly.) A
// body of at most Bytes bytes passes whole.
func WrapBody(ctx context.Context, body io.ReadCloser, spec *Spec) io.ReadCloser {
	if body == nil || spec == nil || spec.Validate() != nil {
		return body
	}
	var r io.Reader
	switch spec.Kind {
	case CloseAfter:
		r = cutBody(body, spec.Bytes)
	case Latency, Bandwidth:
		r = shape(ctx, body, spec)
	default:
		return body
	}
	return struct {
		io.Reader
		io.Closer
	}{r, body}
}

// shape wraps r, the upstream to client direction, for the Latency and
// Bandwidth kinds; other kinds return r itself.
func shape(ctx context.Context, r io.Reader, spec *Spec) io.Reader {
	switch spec.Kind {
	case Latency:
		return &latencyReader{ctx: ctx, r: r, delay: time.Duration(spec.Delay)}
	case Bandwidth:
		return newBandwidthReader(ctx, r, spec.Rate)
	}
	return r
}

// latencyReader waits delay after each chunk it reads before handing it
// over. Unlike Toxiproxy, which stamps chunks as they arrive and so lets
// the waits of back-to-back chunks overlap, it reads the next chunk only
// when asked: each chunk of a bulk transfer adds the full delay.
type latencyReader struct {
	ctx   context.Context
	r     io.Reader
	delay time.Duration
}

func (l *latencyReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		if werr := sleep(l.ctx, l.delay); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// bandwidthReader lets at most a rate's worth of bytes per second through.
type bandwidthReader struct {
	ctx   context.Context
	r     io.Reader
	lim   *rate.Limiter
	burst int
}

func newBandwidthReader(ctx context.Context, r io.Reader, bytesPerSec int64) *bandwidthReader {
	// Chunks of at most a tenth of a second's worth (and of io.Copy's
	// buffer size) keep the flow smooth.
	burst := int(min(max(bytesPerSec/10, 1), 32<<10))
	lim := rate.NewLimiter(rate.Limit(bytesPerSec), burst)
	// A limiter starts full; drained, the first bytes wait like the
	// others, so n bytes take at least n/rate seconds.
	lim.AllowN(time.Now(), burst)
	return &bandwidthReader{ctx: ctx, r: r, lim: lim, burst: burst}
}

func (b *bandwidthReader) Read(p []byte) (int, error) {
	if len(p) > b.burst {
		p = p[:b.burst]
	}
	n, err := b.r.Read(p)
	if n > 0 {
		if werr := b.lim.WaitN(b.ctx, n); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

// errCut is what a CloseAfter body returns at the cut.
var errCut = errors.New("response cut")

// cut hands over at most left bytes of r. Then it waits for the first byte
// past the limit: if r ends there instead, nothing was cut and cut ends as
// r did; otherwise cut drops that byte and ends with end: io.EOF in a tunnel
// (the client reads a FIN where that byte would have been), an error
// wrapping errCut for a body (the proxy must abort the response).
type cut struct {
	r    io.Reader
	left int64
	end  error
}

func cutTunnel(r io.Reader, n int64) *cut { return &cut{r: r, left: n, end: io.EOF} }

func cutBody(r io.Reader, n int64) *cut {
	return &cut{r: r, left: n, end: fmt.Errorf("fault: close-after %d bytes: %w", n, errCut)}
}

func (c *cut) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.past()
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// WriteTo lets io.Copy move the bytes before the cut through an
// *io.LimitedReader, which (*net.TCPConn).ReadFrom still splices.
func (c *cut) WriteTo(w io.Writer) (int64, error) {
	n, err := io.Copy(w, &io.LimitedReader{R: c.r, N: c.left})
	c.left -= n
	if err != nil || c.left > 0 { // r ended or failed before the limit
		return n, err
	}
	if err := c.past(); err != io.EOF {
		return n, err
	}
	return n, nil
}

// past waits for the first byte past the limit and returns how the stream
// ends.
func (c *cut) past() error {
	var probe [1]byte
	for {
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return c.end
		}
		if err != nil {
			return err
		}
	}
}
