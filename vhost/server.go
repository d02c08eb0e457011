package vhost

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/egresslab/egresslab/pki"
)

// DefaultAddr is where servers listen unless told otherwise: an ephemeral
// port on the IPv4 loopback address.
const DefaultAddr = "127.0.0.1:0"

// Handshake is what the server saw of one TLS handshake.
type Handshake struct {
	Time   time.Time
	Remote string // the client's address
	// ServerName is the SNI the client sent; "" when the handshake failed
	// before a ClientHello was read.
	ServerName string
	// Offered are the TLS versions the client offered, newest first (from
	// supported_versions, or derived from the legacy version field).
	Offered []uint16
	// Version and CipherSuite are the negotiated ones, on success.
	Version     uint16
	CipherSuite uint16
	// Err is nil on success; otherwise crypto/tls's error, for example
	// "tls: client offered only unsupported versions: [301]", or a
	// *net.OpError "remote error" carrying the alert the client sent
	// (see package tlsalert).
	Err error
}

// Option configures a [Server].
type Option func(*Server) error

// WithHost sets the virtual host name the server stands for; [Server.Client]
// sends it as SNI. It must be a valid DNS name or IP address.
func WithHost(host string) Option {
	return func(s *Server) error {
		h, err := pki.NormalizeHost(host)
		if err != nil {
			return err
		}
		s.Host = h
		return nil
	}
}

// WithVersions restricts the server to r. The default is [ServiceRange].
func WithVersions(r Range) Option {
	return func(s *Server) error {
		if err := r.Validate(); err != nil {
			return err
		}
		s.Versions = r
		return nil
	}
}

// WithCertificate sets the certificate the server presents.
func WithCertificate(c tls.Certificate) Option {
	return func(s *Server) error {
		if len(c.Certificate) == 0 || c.PrivateKey == nil {
			return errors.New("certificate without a chain or a private key")
		}
		s.certificate = &c
		return nil
	}
}

// WithAddr sets the listening address, which must be a loopback IP address
// with a port (0 for an ephemeral one). The default is [DefaultAddr].
func WithAddr(addr string) Option {
	return func(s *Server) error {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", addr, err)
		}
		if !ap.Addr().IsLoopback() {
			return fmt.Errorf("listen address %q: not a loopback address (the lab serves only on 127.0.0.0/8 and ::1)", addr)
		}
		s.addr = addr
		return nil
	}
}

// WithListener makes the server take connections from ln (the caller's,
// on any address: the container backend's services node binds each host
// to its Docker network's address) instead of listening on WithAddr's.
// The server closes ln.
func WithListener(ln net.Listener) Option {
	return func(s *Server) error {
		if ln == nil {
			return errors.New("WithListener: nil listener")
		}
		s.ln = ln
		return nil
	}
}

// WithObserver calls fn after every TLS handshake, successful or not. fn
// must be safe for concurrent use and should return quickly: the
// connection waits for it, and so does Close.
func WithObserver(fn func(Handshake)) Option {
	return func(s *Server) error {
		s.observe = fn
		return nil
	}
}

// WithLogger sets where the server's own messages go. Failed handshakes are
// logged at debug level (refusing clients is the lab's job), anything else
// net/http reports at warn level. The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error {
		if l == nil {
			return errors.New("nil logger")
		}
		s.logger = l
		return nil
	}
}

// Server is an HTTPS server for one virtual host on a loopback port.
type Server struct {
	// Host is the virtual host name, for example
	// "passwordreset.microsoftonline.com"; it may be empty.
	Host string
	// URL is the base URL of the listener, "https://127.0.0.1:PORT".
	URL string
	// Listener is the raw TCP listener; set after Start.
	Listener net.Listener
	// TLS may be set after NewUnstarted and before Start; Start clones it
	// and sets the version range, the certificate (unless TLS already has
	// one) and HTTP/1.1 as the only application protocol.
	TLS *tls.Config
	// Config may be changed after NewUnstarted and before Start.
	Config *http.Server
	// Versions is the range the server accepts.
	Versions Range

	// HandshakeTimeout bounds each TLS handshake; set it before Start.
	// Zero means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	certificate *tls.Certificate
	addr        string
	ln          net.Listener // WithListener's, else one on addr
	observe     func(Handshake)
	logger      *slog.Logger

	mu       sync.Mutex
	started  bool
	closed   bool
	inflight sync.WaitGroup
	conns    sync.WaitGroup // the server's connections, until closed or hijacked
	served   chan struct{}
	cancel   context.CancelFunc // ends every request's context, at Close
}

// New starts a server for h. It is listening when New returns; the caller
// must Close it.
func New(h http.Handler, opts ...Option) (*Server, error) {
	s, err := NewUnstarted(h, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// NewUnstarted returns a server for h that is not yet listening. Call Start
// once its TLS or Config fields are as wanted.
func NewUnstarted(h http.Handler, opts ...Option) (*Server, error) {
	if h == nil {
		return nil, errors.New("vhost: nil handler")
	}
	s := &Server{Versions: ServiceRange(), HandshakeTimeout: DefaultHandshakeTimeout, addr: DefaultAddr, logger: slog.Default(), served: make(chan struct{})}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("vhost %s: %w", s.name(), err)
		}
	}
	s.Config = &http.Server{
		Handler:           s.track(h),
		ReadHeaderTimeout: 30 * time.Second,
		// An empty map turns HTTP/2 off: the clients the lab stands in for
		// speak HTTP/1.1 to the SSPR service.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	return s, nil
}

func (s *Server) name() string {
	if s.Host == "" {
		return "server"
	}
	return s.Host
}

// Start starts listening and serving. It fails if the server has no
// certificate, its range is invalid, or it was started or closed before.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return fmt.Errorf("vhost %s: already started or closed", s.name())
	}
	if err := s.Versions.Validate(); err != nil {
		return fmt.Errorf("vhost %s: %w", s.name(), err)
	}
	if s.HandshakeTimeout < 0 {
		return fmt.Errorf("vhost %s: negative handshake timeout %v", s.name(), s.HandshakeTimeout)
	}
	if s.HandshakeTimeout == 0 {
		s.HandshakeTimeout = DefaultHandshakeTimeout
	}
	cfg := &tls.Config{}
	if s.TLS != nil {
		cfg = s.TLS.Clone()
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		if s.certificate == nil {
			return fmt.Errorf("vhost %s: no certificate (use WithCertificate or set TLS.Certificates)", s.name())
		}
		cfg.Certificates = []tls.Certificate{*s.certificate}
	}
	restrict := func(c *tls.Config) {
		s.Versions.apply(c)
		c.NextProtos = []string{"http/1.1"}
	}
	restrict(cfg)
	if user := cfg.GetConfigForClient; user != nil {
		// A per-client configuration may not escape the server's range.
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := user(hello)
			if c == nil || err != nil {
				return c, err
			}
			c = c.Clone()
			restrict(c)
			return c, nil
		}
	}
	s.TLS = cfg
	s.Config.ErrorLog = slog.NewLogLogger(s.logger.With("host", s.Host).Handler(), slog.LevelWarn)
	// Close cancels every request's context, also of handlers that never
	// read their request's body (net/http notices a gone client only
	// while it reads).
	base, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if user := s.Config.BaseContext; user != nil {
		s.Config.BaseContext = func(l net.Listener) context.Context {
			ctx, stop := context.WithCancel(user(l))
			context.AfterFunc(base, stop)
			return ctx
		}
	} else {
		s.Config.BaseContext = func(net.Listener) context.Context { return base }
	}

	// Close waits for every connection's goroutine too: http.Server.Close
	// does not, and net/http lingers half a second on a connection after
	// answering a request itself (431 for an oversized head).
	userState := s.Config.ConnState
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.conns.Done()
		}
		if userState != nil {
			userState(c, st)
		}
	}

	ln := s.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.addr); err != nil {
			return fmt.Errorf("vhost %s: listen: %w", s.name(), err)
		}
	}
	s.Listener = ln
	s.URL = "https://" + ln.Addr().String()
	s.started = true
	hl := newHandshakeListener(ln, cfg.Clone(), s.HandshakeTimeout, s.observe, s.logger)
	go func() {
		defer close(s.served)
		// Serve returns http.ErrServerClosed after Close; anything else
		// was a listener failure worth a line.
		if err := s.Config.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
			s.logger.Warn("vhost serve stopped", "host", s.Host, "err", err)
		}
	}()
	return nil
}

// Addr returns the listener's address, "127.0.0.1:PORT"; "" before Start.
func (s *Server) Addr() string {
	if s.Listener == nil {
		return ""
	}
	return s.Listener.Addr().String()
}

// Close stops the server: it closes the listener and every connection, then
// waits for running handlers to return (their request contexts are
// cancelled) and for the connections' goroutines to end. It may be called
// more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	_ = s.Config.Close() // the only error is the listener's, closed either way
	<-s.served           // no connection is accepted now: conns only falls
	s.cancel()
	s.inflight.Wait()
	s.conns.Wait()
}

// track counts running handlers so that Close can wait for them. A request
// that arrives after Close began is not served.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "server closing", http.StatusServiceUnavailable)
			return
		}
		s.inflight.Add(1)
		s.mu.Unlock()
		defer s.inflight.Done()
		h.ServeHTTP(w, r)
	})
}

// Client returns an HTTP client that reaches this server for any URL, by
// dialing its listener whatever the URL's host, so that
// "https://passwordreset.microsoftonline.com/" works against the lab. tlsCfg
// supplies trust (RootCAs) and any version pinning; it is cloned, and its
// ServerName defaults to the server's Host. A nil tlsCfg trusts nothing
// but the system roots, which do not hold the lab's CA.
func (s *Server) Client(tlsCfg *tls.Config) *http.Client {
	cfg := &tls.Config{}
	if tlsCfg != nil {
		cfg = tlsCfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.Host
	}
	addr := s.Addr()
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: false,
	}}
}
