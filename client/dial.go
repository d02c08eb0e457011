package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DialFunc dials "host:port" on the workstation's network. The lab passes
// its virtual DNS and firewall; the default is a net.Dialer.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// netClient is the client's network stack for one route (the flow's web
// traffic, or revocation fetches): the proxy settings that apply, the
// credentials (nil for defaultuser1), TLS versions and trust. It records
// the certificates each host presented, for the revocation step.
type netClient struct {
	dial    DialFunc
	route   *route
	creds   *Credentials
	tlsBase *tls.Config
	issuers []string // the service's CAs (WithServiceIssuers)
	connect time.Duration
	http    *http.Client

	mu        sync.Mutex
	seen      map[string]seenConn // host -> what its last handshake gave
	authUsed  string              // the proxy auth scheme that succeeded
	transport *http.Transport
}

// seenConn is what a TLS handshake with a host gave.
type seenConn struct {
	version uint16
	chain   []*x509.Certificate // the verified chain: leaf first
}

func newNetClient(dial DialFunc, route *route, creds *Credentials, tlsBase *tls.Config, connect, request time.Duration) *netClient {
	nc := &netClient{dial: dial, route: route, creds: creds, tlsBase: tlsBase, connect: connect, seen: map[string]seenConn{}}
	nc.transport = &http.Transport{
		Proxy:                 nil, // the route decides, in the dialers
		DialContext:           nc.dialPlain,
		DialTLSContext:        nc.dialTLS,
		ForceAttemptHTTP2:     false,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: request,
		DisableCompression:    true,
	}
	nc.http = &http.Client{
		Transport: nc,
		Timeout:   request,
		// The flow follows no redirects: the service answers directly.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return nc
}

func (nc *netClient) close() { nc.transport.CloseIdleConnections() }

// RoundTrip sends plain HTTP through the proxy itself (absolute form,
// answering the proxy's challenges) and everything else through the
// transport, whose dialers tunnel through the proxy or connect directly.
// The route gives the entries to try; a proxy that cannot be connected to
// passes the request to the next entry.
func (nc *netClient) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return nc.transport.RoundTrip(req)
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	var resp *http.Response
	err = nc.route.try(req.Context(), "http", req.URL.Hostname(), req.URL.String(), func(proxy *url.URL) error {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		var err error
		if proxy != nil {
			resp, err = nc.proxyRoundTrip(r, proxy)
		} else {
			resp, err = nc.transport.RoundTrip(r)
		}
		return err
	})
	return resp, err
}

// dialDirect connects to addr without a proxy.
func (nc *netClient) dialDirect(ctx context.Context, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, nc.connect)
	defer cancel()
	c, err := nc.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, &DialError{Addr: addr, Err: err}
	}
	return c, nil
}

func (nc *netClient) dialProxy(ctx context.Context, proxy *url.URL) (*proxyConn, error) {
	ctx, cancel := context.WithTimeout(ctx, nc.connect)
	defer cancel()
	c, err := nc.dial(ctx, "tcp", proxy.Host)
	if err != nil {
		return nil, &DialError{Addr: proxy.Host, ToProxy: true, Err: err}
	}
	return &proxyConn{Conn: c, br: bufio.NewReader(c), name: proxy.Host}, nil
}

// dialPlain is the transport's dialer for plain HTTP that goes direct.
func (nc *netClient) dialPlain(ctx context.Context, _, addr string) (net.Conn, error) {
	return nc.dialDirect(ctx, addr)
}

// tunnel reaches addr for TLS: through a CONNECT tunnel or directly, as
// the route's entries say, in order.
func (nc *netClient) tunnel(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	// The URL the PAC script sees: the default port left out, an IPv6
	// literal in brackets.
	hp := net.JoinHostPort(host, port)
	if port == "443" {
		hp = strings.TrimSuffix(hp, ":443")
	}
	u := "https://" + hp + "/"
	var conn net.Conn
	err = nc.route.try(ctx, "https", host, u, func(proxy *url.URL) error {
		var err error
		if proxy == nil {
			conn, err = nc.dialDirect(ctx, addr)
		} else {
			conn, err = nc.connectTunnel(ctx, proxy, addr)
		}
		return err
	})
	return conn, err
}

// connectTunnel opens a CONNECT tunnel to addr through proxy, answering its
// challenges.
func (nc *netClient) connectTunnel(ctx context.Context, proxy *url.URL, addr string) (net.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, nc.connect)
	defer cancel()
	newReq := func() (*http.Request, error) {
		return &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr,
			Header: http.Header{"User-Agent": {userAgent}}}, nil
	}
	resp, pc, scheme, err := nc.exchange(cctx, proxy, addr, http.MethodConnect, newReq)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		// The refusal's body is not read: the connection is not used
		// again, and a body without a length would run until the proxy
		// closes it.
		pc.Close()
		return nil, proxyError(proxy, addr, http.MethodConnect, resp, scheme, nc.creds != nil)
	}
	_ = pc.SetDeadline(time.Time{})
	nc.noteAuth(scheme)
	if pc.br.Buffered() == 0 {
		return pc.Conn, nil // the bare connection: nothing buffered to replay
	}
	return pc, nil
}

func (nc *netClient) noteAuth(scheme string) {
	if scheme == "" {
		return
	}
	nc.mu.Lock()
	nc.authUsed = scheme
	nc.mu.Unlock()
}

// authScheme returns the proxy auth scheme that last succeeded.
func (nc *netClient) authScheme() string {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return nc.authUsed
}

// TLSError is a failed TLS handshake with a host.
type TLSError struct {
	Host string
	// Offered is the range of versions the client offered.
	MinVersion, MaxVersion uint16
	// ServerVersion is the version the server chose in its ServerHello,
	// when one arrived (0 otherwise).
	ServerVersion uint16
	// Inspection is the issuer of the certificate the other side showed
	// when it is not one of the service's (WithServiceIssuers): a device
	// on the path re-signs the service, and the handshake ended there.
	Inspection string
	// ServerKey describes the key of the certificate the server showed
	// ("ECDSA P-256", "RSA 2048-bit") after it refused the handshake with
	// handshake_failure (40), learnt from one more handshake that offers
	// every suite the client knows only to see it; NoSuiteForKey is set
	// when none of the suites the client offered is for that key.
	ServerKey     string
	NoSuiteForKey bool
	// Suites are the TLS 1.0-1.2 cipher suites the client offered.
	Suites []uint16
	Err    error
}

func (e *TLSError) Error() string {
	msg := fmt.Sprintf("TLS handshake with %s (client offers %s to %s", e.Host, versionName(e.MinVersion), versionName(e.MaxVersion))
	if e.ServerVersion != 0 {
		msg += ", server chose " + versionName(e.ServerVersion)
	}
	msg += "): " + e.Err.Error()
	if e.Inspection != "" {
		msg += fmt.Sprintf("; the certificate shown was issued by %q, not by the service's CA: HTTPS inspection", e.Inspection)
	}
	if e.ServerKey != "" {
		msg += fmt.Sprintf("; the server's certificate has an %s key", e.ServerKey)
		if e.NoSuiteForKey {
			names := make([]string, len(e.Suites))
			for i, id := range e.Suites {
				names[i] = tls.CipherSuiteName(id)
			}
			msg += fmt.Sprintf(", and none of the client's cipher suites is for it (it offers %s)", strings.Join(names, ", "))
		}
	}
	return msg
}

func (e *TLSError) Unwrap() error { return e.Err }

// dialTLS is the transport's TLS dialer: tunnel or direct, then the
// handshake, watched for the version the server chose.
func (nc *netClient) dialTLS(ctx context.Context, _, addr string) (net.Conn, error) {
	raw, err := nc.tunnel(ctx, addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg := nc.tlsBase.Clone()
	cfg.ServerName = host
	watch := &helloWatcher{Conn: raw}
	tc := tls.Client(watch, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		te := &TLSError{Host: host, MinVersion: cfg.MinVersion, MaxVersion: cfg.MaxVersion, ServerVersion: watch.serverVersion(), Suites: cfg.CipherSuites, Err: err}
		nc.inspect(ctx, addr, host, te)
		return nil, te
	}
	cs := tc.ConnectionState()
	nc.mu.Lock()
	s := seenConn{version: cs.Version}
	if len(cs.VerifiedChains) > 0 {
		s.chain = cs.VerifiedChains[0]
	}
	nc.seen[host] = s
	nc.mu.Unlock()
	return tc, nil
}

func (nc *netClient) seenHost(host string) (seenConn, bool) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	s, ok := nc.seen[host]
	return s, ok
}

// helloWatcher keeps the first bytes the server sends, enough for the
// version in its ServerHello: Go reports a version it refuses only in
// text, so the client reads it off the wire.
type helloWatcher struct {
	net.Conn
	mu   sync.Mutex
	head []byte
}

const helloHead = 11 // record header (5) + handshake header (4) + version (2)

func (w *helloWatcher) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.mu.Lock()
	if len(w.head) < helloHead && n > 0 {
		w.head = append(w.head, p[:min(n, helloHead-len(w.head))]...)
	}
	w.mu.Unlock()
	return n, err
}

// serverVersion returns the legacy version of the ServerHello, or 0.
// (TLS 1.3 puts 1.2 there and the real version in an extension; a
// refusal of the version concerns only lower versions.)
func (w *helloWatcher) serverVersion() uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.head
	if len(h) < helloHead || h[0] != 22 || h[5] != 2 { // handshake record, ServerHello
		return 0
	}
	return uint16(h[9])<<8 | uint16(h[10])
}

// maxRequestBody bounds the bodies the client sends (the flow's are
// small).
const maxRequestBody = 1 << 20

// readBody reads and closes req's body, so that it can be sent more than
// once; nil for no body, an error for one of more than maxRequestBody.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBody+1))
	if err == nil && len(b) > maxRequestBody {
		err = fmt.Errorf("request body of more than %d bytes", maxRequestBody)
	}
	return b, err
}

// proxyRoundTrip sends a plain-HTTP request through proxy in absolute
// form, answering its challenges, on a connection of its own that closes
// with the response body.
func (nc *netClient) proxyRoundTrip(req *http.Request, proxy *url.URL) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	newReq := func() (*http.Request, error) {
		r := req.Clone(req.Context())
		r.Header.Del("Proxy-Authorization")
		r.Body, r.ContentLength = nil, int64(len(body))
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		return r, nil
	}
	ctx := req.Context()
	target := req.URL.Host
	if req.URL.Port() == "" {
		target = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	resp, pc, scheme, err := nc.exchange(ctx, proxy, target, req.Method, newReq)
	if err != nil {
		return nil, err
	}
	// A proxy's refusal of plain HTTP is told from the origin's answer by
	// its status, 407, or by Squid's X-Squid-Error, which only the proxy's
	// own error pages carry (a 403, or a 503 ERR_DNS_FAIL). Other answers
	// pass as the origin's: a proxy that is not Squid cannot be told from
	// the origin on plain HTTP by its status alone.
	switch {
	case resp.StatusCode == http.StatusProxyAuthRequired,
		resp.StatusCode >= 400 && resp.Header.Get("X-Squid-Error") != "":
		pc.Close()
		return nil, proxyError(proxy, target, req.Method, resp, scheme, nc.creds != nil)
	}
	nc.noteAuth(scheme)
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	resp.Body = &closeBody{ReadCloser: resp.Body, close: func() { stop(); pc.Close() }}
	return resp, nil
}

type closeBody struct {
	io.ReadCloser
	once  sync.Once
	close func()
}

func (b *closeBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.close)
	return err
}

// hostOf returns the host of a URL, without the port.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname())
}
