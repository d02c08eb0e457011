package fault_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/fault"
)

// startBodyProxy starts an upstream serving content with a Content-Length,
// and in front of it a minimal plain-HTTP proxy: an http.Server handler
// that fetches from upstream, sends upstream's status and Content-Length,
// and copies the body wrapped by fault.WrapBody in 1 KiB reads, aborting
// the response when the copy fails. Copy errors arrive on the returned channel.
func startBodyProxy(t *testing.T, content []byte, spec *fault.Spec) (url string, copyErrs <-chan error) {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		_, _ = w.Write(content)
	}))
	t.Cleanup(upstream.Close)
	errs := make(chan error, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := upstream.Client().Get(upstream.URL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		body := fault.WrapBody(r.Context(), resp.Body, spec)
		defer body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		w.WriteHeader(resp.StatusCode)
		// struct{ io.Writer } hides ReadFrom, so reads are 1 KiB chunks.
		_, err = io.CopyBuffer(struct{ io.Writer }{w}, body, make([]byte, 1<<10))
		errs <- err
		if err != nil {
			// Send what was copied, then abort: the client must not see
			// a clean end (with a chunked body, a return would give one).
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(proxy.Close)
	return proxy.URL, errs
}

func TestWrapBody(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spec    fault.Spec
		size    int
		wantErr error // from the client's body read
		wantLen int
		atLeast time.Duration
	}{
		"close-after cuts the body": {
			spec: fault.Spec{Kind: fault.CloseAfter, Bytes: 1000}, size: 64 << 10,
			wantErr: io.ErrUnexpectedEOF, wantLen: 1000,
		},
		"close-after at the body's end passes it whole": {
			spec: fault.Spec{Kind: fault.CloseAfter, Bytes: 4096}, size: 4096, wantLen: 4096,
		},
		"close-after 0 sends no body": {
			spec: fault.Spec{Kind: fault.CloseAfter}, size: 4096,
			wantErr: io.ErrUnexpectedEOF, wantLen: 0,
		},
		"latency: 4 chunks, 50ms each": {
			spec: fault.Spec{Kind: fault.Latency, Delay: ms(50)}, size: 4 << 10, // four 1 KiB reads
			wantLen: 4 << 10, atLeast: 200 * time.Millisecond,
		},
		"bandwidth: 64 KiB at 256 KiB/s": {
			spec: fault.Spec{Kind: fault.Bandwidth, Rate: 256 << 10}, size: 64 << 10,
			wantLen: 64 << 10, atLeast: 200 * time.Millisecond, // 250ms in theory
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			content := random(t, tc.size)
			url, copyErrs := startBodyProxy(t, content, &tc.spec)
			client := &http.Client{Timeout: wait}
			t.Cleanup(client.CloseIdleConnections)

			start := time.Now()
			resp, err := client.Get(url)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.EqualValues(t, tc.size, resp.ContentLength, "upstream's length was announced")
			body, err := io.ReadAll(resp.Body)
			elapsed := time.Since(start)

			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Len(t, body, tc.wantLen, "bytes that reached the client")
			assert.Equal(t, content[:min(tc.wantLen, len(body))], body[:min(tc.wantLen, len(body))], "data intact")
			assert.GreaterOrEqual(t, elapsed, tc.atLeast)

			copyErr := await(t, copyErrs)
			if tc.wantErr != nil {
				require.Error(t, copyErr, "the proxy's copy failed")
				assert.NotErrorIs(t, copyErr, io.EOF)
				assert.Contains(t, copyErr.Error(), "close-after")
			} else {
				assert.NoError(t, copyErr)
			}
		})
	}
}

// closeCounter is a body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestWrapBodyLeavesOtherKindsAlone(t *testing.T) {
	t.Parallel()
	tests := map[string]*fault.Spec{
		"nil":       nil,
		"reset":     {Kind: fault.Reset},
		"stall":     {Kind: fault.Stall},
		"status":    {Kind: fault.Status, Status: 503},
		"malformed": {Kind: fault.Malformed},
		"invalid":   {Kind: fault.Bandwidth}, // no rate: it would never let a byte through
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := &closeCounter{Reader: strings.NewReader("x")}
			got := fault.WrapBody(context.Background(), body, spec)
			assert.Same(t, body, got)
		})
	}
}

func TestWrapBodyCloses(t *testing.T) {
	t.Parallel()
	body := &closeCounter{Reader: strings.NewReader("x")}
	require.NoError(t, fault.WrapBody(context.Background(), body, &fault.Spec{Kind: fault.Latency, Delay: ms(1)}).Close())
	assert.Equal(t, 1, body.closed)
}

func TestWrapBodyWaitsEndWithTheContext(t *testing.T) {
	t.Parallel()
	tests := map[string]fault.Spec{
		"latency":   {Kind: fault.Latency, Delay: fault.Duration(time.Hour)},
		"bandwidth": {Kind: fault.Bandwidth, Rate: 1},
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			body := fault.WrapBody(ctx, io.NopCloser(strings.NewReader("some bytes")), &spec)
			done := make(chan error, 1)
			go func() {
				_, err := body.Read(make([]byte, 64))
				done <- err
			}()
			cancel()
			err := await(t, done)
			assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
		})
	}
}
