package vhost_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })

func TestServerDefaults(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	s, err := vhost.New(okHandler, vhost.WithCertificate(leaf.TLS), vhost.WithHost(portal))
	require.NoError(t, err)
	defer s.Close()

	assert.Equal(t, vhost.ServiceRange(), s.Versions, "the service's range by default")
	assert.Regexp(t, `^https://127\.0\.0\.1:[1-9][0-9]*$`, s.URL)
	assert.Equal(t, []string{"http/1.1"}, s.TLS.NextProtos)

	resp, err := s.Client(&tls.Config{RootCAs: l.auth.Pool()}).Get("https://" + portal + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ok", string(body))
	assert.Equal(t, "HTTP/1.1", resp.Proto)
	assert.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version)
}

func TestServerBadInput(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	cert := vhost.WithCertificate(leaf.TLS)
	tests := map[string]struct {
		h    http.Handler
		opts []vhost.Option
		want string
	}{
		"nil handler":       {nil, []vhost.Option{cert}, "nil handler"},
		"min above max":     {okHandler, []vhost.Option{cert, vhost.WithVersions(vhost.Range{Min: tls.VersionTLS13, Max: tls.VersionTLS12})}, "min 1.3 is above max 1.2"},
		"unknown version":   {okHandler, []vhost.Option{cert, vhost.WithVersions(vhost.Range{Min: 0x0300 /* SSL 3.0 */, Max: tls.VersionTLS12})}, "unsupported min version 0x0300"},
		"zero range":        {okHandler, []vhost.Option{cert, vhost.WithVersions(vhost.Range{})}, "unsupported min version"},
		"empty host":        {okHandler, []vhost.Option{cert, vhost.WithHost(" ")}, "empty host name"},
		"public address":    {okHandler, []vhost.Option{cert, vhost.WithAddr("0.0.0.0:0")}, "not a loopback address"},
		"bad address":       {okHandler, []vhost.Option{cert, vhost.WithAddr("localhost")}, `listen address "localhost"`},
		"empty certificate": {okHandler, []vhost.Option{vhost.WithCertificate(tls.Certificate{})}, "without a chain or a private key"},
		"no certificate":    {okHandler, nil, "no certificate"},
		"nil logger":        {okHandler, []vhost.Option{cert, vhost.WithLogger(nil)}, "nil logger"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := vhost.New(tc.h, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestServerStartTwice(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	s, err := vhost.New(okHandler, vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	assert.ErrorContains(t, s.Start(), "already started")
	s.Close()
	s.Close()
	assert.ErrorContains(t, s.Start(), "already started or closed")

	u, err := vhost.NewUnstarted(okHandler, vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	u.Close() // closing an unstarted server is fine
	assert.Empty(t, u.Addr())
}

// TestCloseWaitsForHandlers: Close returns only after a running handler
// has returned, and the handler sees its context cancelled.
// blockingServer serves a handler that blocks until its request's context
// ends, and says when it was entered and whether it returned.
func blockingServer(t *testing.T) (s *vhost.Server, pool *x509.CertPool, entered chan struct{}, returned *atomic.Bool) {
	t.Helper()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	entered, returned = make(chan struct{}), &atomic.Bool{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		returned.Store(true)
	})
	s, err = vhost.New(h, vhost.WithCertificate(leaf.TLS), vhost.WithHost(portal))
	require.NoError(t, err)
	return s, l.auth.Pool(), entered, returned
}

func TestCloseWaitsForHandlers(t *testing.T) {
	t.Parallel()
	s, pool, entered, returned := blockingServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+portal+"/", nil)
		resp, err := s.Client(&tls.Config{RootCAs: pool}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	s.Close()
	assert.True(t, returned.Load(), "Close waited for the handler")
	assert.Error(t, <-errc, "the client's connection was closed")
}

// TestCloseEndsHandlersThatNeverRead: a handler that never reads its POST
// body learns nothing from net/http when the client goes (that is noticed
// only while reading); Close cancels its context all the same.
func TestCloseEndsHandlersThatNeverRead(t *testing.T) {
	t.Parallel()
	s, pool, entered, returned := blockingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+portal+"/", strings.NewReader(`{"userId":"x"}`))
		resp, err := s.Client(&tls.Config{RootCAs: pool}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel() // the client gives up first
	assert.Error(t, <-errc)
	s.Close()
	assert.True(t, returned.Load(), "Close ended the handler")
}

func TestParseRange(t *testing.T) {
	t.Parallel()
	ok := map[[2]string]vhost.Range{
		{"1.2", ""}:           vhost.ServiceRange(),
		{"", ""}:              vhost.AllVersions(),
		{"TLS 1.0", "tls1.1"}: {Min: tls.VersionTLS10, Max: tls.VersionTLS11},
		{"TLSv1.3", "1.3"}:    {Min: tls.VersionTLS13, Max: tls.VersionTLS13},
	}
	for in, want := range ok {
		got, err := vhost.ParseRange(in[0], in[1])
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	bad := map[[2]string]string{
		{"1.3", "1.2"}: "min 1.3 is above max 1.2",
		{"1.4", ""}:    `min: unknown TLS version "1.4" (want 1.0, 1.1, 1.2 or 1.3)`,
		{"", "ssl3"}:   `max: unknown TLS version "ssl3"`,
	}
	for in, want := range bad {
		_, err := vhost.ParseRange(in[0], in[1])
		assert.ErrorContains(t, err, want, in)
	}
	assert.Equal(t, "TLS 1.2-1.3", vhost.ServiceRange().String())
	assert.Equal(t, "TLS 1.0", vhost.Range{Min: tls.VersionTLS10, Max: tls.VersionTLS10}.String())
}

// TestHandshakeTimeout: a client that connects and never says hello is
// cut off after HandshakeTimeout, and the observer is told why.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	seen := make(handshakes, 4)
	s, err := vhost.NewUnstarted(okHandler, vhost.WithCertificate(leaf.TLS), vhost.WithObserver(seen.observe))
	require.NoError(t, err)
	s.HandshakeTimeout = 50 * time.Millisecond
	require.NoError(t, s.Start())
	defer s.Close()

	c, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer c.Close()
	hs := seen.next(t, c.LocalAddr().String())
	assert.ErrorContains(t, hs.Err, "TLS handshake timed out after 50ms")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server closed the connection")

	u, err := vhost.NewUnstarted(okHandler, vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	u.HandshakeTimeout = -time.Second
	assert.ErrorContains(t, u.Start(), "negative handshake timeout")
}

// TestGetConfigForClientKeepsRange: a per-client configuration set by the
// caller cannot widen the server's version range.
func TestGetConfigForClientKeepsRange(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	s, err := vhost.NewUnstarted(okHandler, vhost.WithVersions(vhost.Range{Min: tls.VersionTLS13, Max: tls.VersionTLS13}))
	require.NoError(t, err)
	s.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS10}, nil
	}, Certificates: []tls.Certificate{leaf.TLS}}
	require.NoError(t, s.Start())
	defer s.Close()

	_, _, err = handshake(t, s.Addr(), &tls.Config{RootCAs: l.auth.Pool(), ServerName: portal, MaxVersion: tls.VersionTLS12})
	alert, ok := tlsalert.FromError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, tlsalert.ProtocolVersion, alert)
	cs, _, err := handshake(t, s.Addr(), &tls.Config{RootCAs: l.auth.Pool(), ServerName: portal})
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS13), cs.Version)
}

func TestWithAddr(t *testing.T) {
	t.Parallel()
	l := labFor(t, pki.ECDSAP256)
	leaf, err := l.auth.Issue(pki.Request{Hosts: []string{portal}})
	require.NoError(t, err)
	s, err := vhost.New(okHandler, vhost.WithCertificate(leaf.TLS), vhost.WithAddr("127.0.0.2:0"))
	require.NoError(t, err)
	defer s.Close()
	assert.Regexp(t, `^127\.0\.0\.2:[1-9][0-9]*$`, s.Addr())
	_, _, err = handshake(t, s.Addr(), &tls.Config{RootCAs: l.auth.Pool(), ServerName: portal})
	assert.NoError(t, err)
}
