package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/egresslab/egresslab/internal/redact"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy/fault"
)

// DialFunc dials an upstream address: "ip:port" (brackets for IPv6) of
// an address the rules were checked against, or, when the proxy has no
// resolver (see WithDialer), "name:port" as the client asked for it. It
// also dials the parent proxy's "host:port" as WithParent gives it. The
// lab passes its virtual network and firewall here.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Option configures a [Proxy].
type Option func(*Proxy) error

// WithRules sets the ordered rules; the first match wins.
func WithRules(rules ...Rule) Option {
	return func(p *Proxy) error { p.ruleList = append(p.ruleList, rules...); return nil }
}

// WithDefault sets what happens to a request no rule matches: Allow,
// Authenticate or Deny (the default, as Squid's "http_access deny all").
func WithDefault(a Action) Option {
	return func(p *Proxy) error {
		if a != Allow && a != Deny && a != Authenticate {
			return fmt.Errorf("default action %q: want allow, authenticate or deny", a)
		}
		p.def = a
		return nil
	}
}

// WithAuth sets the accounts and schemes for rules that authenticate.
func WithAuth(a Auth) Option {
	return func(p *Proxy) error {
		au, err := newAuthenticator(a)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		p.auth = au
		return nil
	}
}

// WithClock sets the clock the proxy's IP surrogates (Auth.SurrogateTTL)
// read; default time.Now. Tests move it on instead of sleeping.
func WithClock(now func() time.Time) Option {
	return func(p *Proxy) error {
		if now == nil {
			return errors.New("nil clock")
		}
		p.now = now
		return nil
	}
}

// WithDialer sets how the proxy reaches upstream addresses and the parent
// proxy. The default is a net.Dialer (10 s timeout).
//
// With WithResolver too, the resolver answers names and d dials the
// checked addresses, "ip:port". Without it, d is the resolver as well:
// the proxy passes it "name:port" as the client asked and cannot see the
// addresses behind a name, so address patterns (IPs and CIDR prefixes in
// Rule.Hosts, Squid's dst) could only match IP-literal targets; New
// refuses such rules then, naming the first one, and asks for
// WithResolver.
func WithDialer(d DialFunc) Option {
	return func(p *Proxy) error {
		if d == nil {
			return errors.New("nil dialer")
		}
		p.dial = d
		return nil
	}
}

// WithUpstreamRoots sets the roots the proxy trusts when it talks TLS to
// upstream itself, in interception. Default: the system roots.
func WithUpstreamRoots(pool *x509.CertPool) Option {
	return func(p *Proxy) error { p.upstreamRoots = pool; return nil }
}

// WithInterceptor sets the interception root's minter for Intercept rules.
func WithInterceptor(ic *pki.Interceptor) Option {
	return func(p *Proxy) error { p.interceptor = ic; return nil }
}

// WithParent chains to a parent proxy, "http://[user:password@]host:port".
// Basic credentials in the URL are sent to the parent on CONNECT and on
// plain HTTP; they are never logged. Without address patterns in the
// rules, targets go to the parent by name, unresolved. With them the
// proxy resolves and decides as without a parent, and asks the parent to
// CONNECT to the checked address ("CONNECT 192.0.2.1:443"), for plain
// HTTP too (the request then goes inside that tunnel), so the parent must
// allow CONNECT to those ports.
func WithParent(rawURL string) Option {
	return func(p *Proxy) error {
		u, err := url.Parse(rawURL)
		if err != nil {
			return fmt.Errorf("parent proxy: %w", err)
		}
		if u.Scheme != "http" || u.Host == "" || u.Path != "" && u.Path != "/" {
			return fmt.Errorf("parent proxy %q: want http://host:port", u.Redacted())
		}
		if _, _, err := splitHostPort(u.Host, 0); err != nil {
			return fmt.Errorf("parent proxy %q: %v", u.Redacted(), err)
		}
		p.parent = u
		return nil
	}
}

// WithLogger routes the proxy's and goproxy's messages to l.
func WithLogger(l *slog.Logger) Option {
	return func(p *Proxy) error {
		if l == nil {
			return errors.New("nil logger")
		}
		p.logger = l
		return nil
	}
}

// WithObserver calls fn with every journal entry, after it is recorded:
// once per decision, final (a tunnel when it ends, never while it is
// [ResultOpen]).
func WithObserver(fn func(Entry)) Option {
	return func(p *Proxy) error { p.journal.observe = fn; return nil }
}

// WithJournalWriter also writes every entry to w as a JSON line: one per
// decision, final (a tunnel when it ends, never while it is [ResultOpen]).
func WithJournalWriter(w io.Writer) Option {
	return func(p *Proxy) error { p.journal.w = w; return nil }
}

// WithJournalLimit sets how many entries the journal keeps in memory
// (default DefaultJournalLimit); older ones are dropped from memory only.
func WithJournalLimit(n int) Option {
	return func(p *Proxy) error {
		if n <= 0 {
			return fmt.Errorf("journal limit must be positive, got %d", n)
		}
		p.journal.limit = n
		return nil
	}
}

// WithAddr sets the listening address for Start: a loopback IP with a port
// (0 for ephemeral). The default is 127.0.0.1:0.
func WithAddr(addr string) Option {
	return func(p *Proxy) error {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", addr, err)
		}
		if !ap.Addr().IsLoopback() {
			return fmt.Errorf("listen address %q: not a loopback address", addr)
		}
		p.addr = addr
		return nil
	}
}

// WithListener makes Start serve on ln instead of listening on the
// address of WithAddr: the caller chose the address (a served lab may bind
// a non-loopback one when asked to). Close closes ln.
func WithListener(ln net.Listener) Option {
	return func(p *Proxy) error {
		if ln == nil {
			return errors.New("nil listener")
		}
		p.ln = ln
		return nil
	}
}

// Proxy is the lab's forward proxy: an http.Handler, and a server on a
// loopback port once started.
type Proxy struct {
	// URL is "http://127.0.0.1:PORT" once started.
	URL string
	// Listener is the proxy's listener once started.
	Listener net.Listener

	ruleList      []Rule
	def           Action
	now           func() time.Time // the surrogates' clock
	auth          *authenticator
	dial          DialFunc
	upstreamRoots *x509.CertPool
	interceptor   *pki.Interceptor
	parent        *url.URL
	logger        *slog.Logger
	addr          string
	ln            net.Listener // from WithListener
	journal       *Journal
	gp            *goproxy.ProxyHttpServer
	// defaultIntercept is the default TLS of intercept rules; transports
	// are every intercept transport made, for Close.
	defaultIntercept *interceptTLS
	transports       []*http.Transport
	// pol is the rules in force (SetRules replaces them).
	pol atomic.Pointer[policy]
	up  *upstream

	// resolver answers the names of targets; nil when dial resolves
	// them itself.
	resolver Resolver
	// resolveNames is whether the proxy resolves names (it has a
	// resolver, and no parent or address patterns in the rules); else
	// names go on unresolved, to dial or to the parent.
	resolveNames bool
	dns          dnsCache

	srv    *http.Server
	closed sync.Once
	// inflight counts the requests a started proxy is serving (a tunnel
	// for its whole life) and the intercepted tunnels goproxy serves
	// (until it closes their connection), so that Close can wait for
	// their journal entries; closing refuses new ones.
	inflight sync.WaitGroup
	// conns counts the connections of the started proxy's server until
	// it has closed (or handed over) each, so that Close returns with
	// none of their goroutines left: net/http's http.Server.Close does
	// not wait for them, and after answering a request itself (an
	// oversized head) it lingers half a second before closing.
	conns   sync.WaitGroup
	mu      sync.Mutex
	closing bool
	// ended: Close has closed the intercepted tunnels in mitm; any taken
	// later is closed at once.
	ended  bool
	mitm   map[*mitmConn]struct{}
	served chan struct{}
	// life ends when the proxy closes: tunnels and stalls end with it.
	life context.Context
	stop context.CancelFunc
}

// New builds a proxy; it is a handler until Start makes it listen.
func New(opts ...Option) (*Proxy, error) {
	p := &Proxy{def: Deny, logger: slog.Default(), addr: "127.0.0.1:0", journal: &Journal{},
		dns: dnsCache{ttl: DefaultDNSCacheTTL, now: time.Now}}
	p.life, p.stop = context.WithCancel(context.Background())
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
	}
	if p.dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		p.dial = d.DialContext
		if p.resolver == nil {
			p.resolver = net.DefaultResolver
		}
	}
	if p.auth != nil && p.now != nil {
		p.auth.now = p.now
	}
	def, _ := (*TLSPolicy)(nil).settings()
	p.defaultIntercept = &interceptTLS{client: def, upstream: p.newInterceptTransport(def)}
	pol, err := p.compilePolicy(p.ruleList, p.def)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p.pol.Store(pol)
	p.resolveNames = p.resolver != nil && (p.parent == nil || pol.rules.firstAddr != nil)
	p.dial = p.reportExhaustion(p.dial)
	p.gp = p.newGoproxy()
	p.up = &upstream{dial: p.dialChecked}
	return p, nil
}

// policy is the rules in force: the compiled list, what a request no
// rule matches gets, and each intercept rule's TLS. A decision keeps the
// policy it was made under, so replacing the rules never changes a
// tunnel under way.
type policy struct {
	rules      *ruleSet
	def        Rule
	intercepts map[*Rule]*interceptTLS
}

// compilePolicy checks and compiles rules with a default action; errors
// name the rule's index and field.
func (p *Proxy) compilePolicy(list []Rule, def Action) (*policy, error) {
	if def != Allow && def != Deny && def != Authenticate {
		return nil, fmt.Errorf("default action %q: want allow, authenticate or deny", def)
	}
	rs, err := compileRules(list)
	if err != nil {
		return nil, err
	}
	if c := rs.firstAddr; c != nil && p.resolver == nil {
		return nil, fmt.Errorf("rules[%d] (%s) has address patterns, which must match the addresses a name resolves to, "+
			"but the dialer set with WithDialer resolves names itself: add WithResolver", c.index, c.rule.Name)
	}
	for _, c := range rs.rules {
		if c.rule.needsAuth() && p.auth == nil {
			return nil, fmt.Errorf("rules[%d] (%s) requires authentication but no accounts are configured (WithAuth)", c.index, c.rule.Name)
		}
		if c.rule.Action == Intercept && p.interceptor == nil {
			return nil, fmt.Errorf("rules[%d] (%s) intercepts but no interception root is configured (WithInterceptor)", c.index, c.rule.Name)
		}
	}
	if def == Authenticate && p.auth == nil {
		return nil, errors.New("the default action authenticates but no accounts are configured (WithAuth)")
	}
	ic, err := p.compileIntercepts(rs)
	if err != nil {
		return nil, err
	}
	return &policy{rules: rs, def: Rule{Name: defaultRuleName, Action: def}, intercepts: ic}, nil
}

// SetRules replaces the rules and the default action (Allow, Deny or
// Authenticate) of a running proxy, as WithRules and WithDefault set
// them; the listener and the connections stay. Requests decided from now
// on meet the new rules; tunnels under way, and connections NTLM has
// authenticated, keep what they were given. On error (naming the rule and
// field, as New does) the rules in force stay. A proxy with a parent
// cannot switch between passing names on unresolved and resolving them:
// the new rules must have address patterns if and only if the old ones do.
func (p *Proxy) SetRules(def Action, rules ...Rule) error {
	pol, err := p.compilePolicy(rules, def)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if p.parent != nil && (pol.rules.firstAddr != nil) != p.resolveNames {
		return errors.New("proxy: with a parent proxy, the new rules must have address patterns if and only if the old ones do")
	}
	p.pol.Store(pol)
	return nil
}

// Rules returns the rules in force (each named, "rule N" when it had no
// name) and the default action.
func (p *Proxy) Rules() ([]Rule, Action) {
	pol := p.pol.Load()
	out := make([]Rule, 0, len(pol.rules.rules))
	for _, c := range pol.rules.rules {
		out = append(out, c.rule)
	}
	return out, pol.def.Action
}

// Journal returns the proxy's journal.
func (p *Proxy) Journal() *Journal { return p.journal }

// Start listens on the configured loopback address and serves. The proxy
// is ready when Start returns.
func (p *Proxy) Start() error {
	ln := p.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", p.addr); err != nil {
			return fmt.Errorf("proxy: listen: %w", err)
		}
	}
	p.Listener = ln
	p.URL = "http://" + ln.Addr().String()
	p.served = make(chan struct{})
	p.srv = &http.Server{
		Handler:     http.HandlerFunc(p.serveTracked),
		ConnContext: connContext,
		// Every request reaches ServeHTTP, OPTIONS * included, so that
		// each request head sniffed is matched with its request.
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            30 * time.Second,
		ErrorLog:                     slog.NewLogLogger(p.logger.Handler(), slog.LevelDebug),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				p.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				if p.auth != nil {
					p.auth.forget(c)
				}
				p.conns.Done()
			}
		},
	}
	go func() {
		defer close(p.served)
		if err := p.srv.Serve(sniffListener{Listener: ln, refused: p.journalRefusal}); !errors.Is(err, http.ErrServerClosed) {
			p.logger.Warn("proxy serve stopped", "err", err)
		}
	}()
	return nil
}

// Shutdown stops a started proxy gracefully: it refuses new requests
// (503; inside intercepted tunnels too, which then close), lets the
// requests and tunnels under way end on their own (their clients close
// them) until ctx is done, then closes what is left as Close does. Their
// journal entries are in place when it returns.
func (p *Proxy) Shutdown(ctx context.Context) {
	p.refuseNew()
	done := make(chan struct{})
	go func() {
		p.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	p.Close()
}

// isClosing reports whether the proxy is shutting down.
func (p *Proxy) isClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing
}

// refuseNew makes serveTracked refuse requests from now on, so that
// inflight only falls.
func (p *Proxy) refuseNew() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
}

// serveTracked serves a request of the started proxy, counted in
// inflight.
func (p *Proxy) serveTracked(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		w.Header().Set("Connection", "close")
		http.Error(w, "proxy closing", http.StatusServiceUnavailable)
		return
	}
	p.inflight.Add(1)
	p.mu.Unlock()
	defer p.inflight.Done()
	p.ServeHTTP(w, r)
}

// Close stops a started proxy: the listener, idle and active connections
// (tunnels under way end with it, intercepted ones and the requests
// inside them included). It returns when the requests and tunnels it was
// serving have ended and are in the journal, and its connections'
// goroutines are gone (which may take net/http's half second after it
// refused an oversized head). It may be called more than once.
func (p *Proxy) Close() {
	p.closed.Do(func() {
		p.refuseNew()
		p.stop()
		if p.srv != nil {
			_ = p.srv.Close()
			<-p.served // no connection is accepted now: conns only falls
		}
		p.endIntercepted()
		p.inflight.Wait()
		p.conns.Wait() // zero for a proxy never started
		p.gp.Tr.CloseIdleConnections()
		p.up.closeIdle()
		p.mu.Lock()
		transports := p.transports
		p.mu.Unlock()
		for _, tr := range transports {
			tr.CloseIdleConnections()
		}
	})
}

// decision is what ServeHTTP decided: for an intercepted tunnel it reaches
// goproxy's handlers through the CONNECT request's context and ProxyCtx.UserData.
type decision struct {
	entry  Entry
	target Target
	rule   *Rule
	pol    *policy // the rules the decision was made under
	// addrs are the addresses of a name target that the rule was decided
	// on and that the proxy may dial, in the resolver's order; nil for an
	// IP literal or a name passed on unresolved.
	addrs []netip.Addr
	cut   atomic.Bool // a faulted response body was cut
	// conn is an intercepted tunnel's client connection, once goproxy
	// has taken it.
	conn *mitmConn
}

type decisionKey struct{}

var defaultRuleName = "default"

// ServeHTTP handles one proxy request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := Entry{Time: time.Now(), Client: r.RemoteAddr, Method: r.Method, Target: redact.Userinfo(r.RequestURI)}
	t, err := requestTarget(r)
	if err == nil {
		err = checkHead(r, t)
	}
	if err != nil {
		w.Header().Set("Connection", "close")
		badRequestPage(err).write(w)
		p.finish(&e, http.StatusBadRequest, ResultBadRequest, err.Error())
		return
	}
	target := t.String()
	e.Target = target
	if !t.Connect {
		e.Path = r.URL.Path
	}
	// A name is resolved once: here when an address pattern may decide
	// it, else below when the request goes upstream. A failed lookup
	// matches no address pattern, as in Squid; it fails the request only
	// if that goes upstream.
	var addrs []netip.Addr
	var resolveErr error
	resolved := false
	pol := p.pol.Load()
	q := newRequest(r, pol.rules.needSrc)
	var all []netip.Addr // every address of the name, once resolved
	var rule *Rule
	for {
		c := pol.rules.match(t, &q)
		if !t.IP.IsValid() && pol.rules.needsAddrs(c) {
			if !resolved {
				all, resolveErr = p.resolve(r.Context(), t.Host)
				resolved = true
			}
			if resolveErr == nil {
				c, addrs = pol.rules.matchAddrs(t, &q, c, all)
			}
		}
		if resolveErr == nil && addrs == nil {
			addrs = all
		}
		rule = &pol.def
		if c != nil {
			rule = &c.rule
		}
		e.Rule, e.Line, e.Action = rule.Name, rule.Line, rule.Action
		if rule.needsAuth() {
			// net/http closes after answering a request that asked to close
			// (HTTP/1.0 without keep-alive, Connection: close); so does a
			// proxy shutting down.
			closing := r.Close || p.isClosing()
			res := p.auth.check(r, connOf(r), closing)
			if res.user == "" {
				authPage(res.challenges).write(w)
				p.finish(&e, http.StatusProxyAuthRequired, ResultAuthRequired, res.reason)
				return
			}
			e.User, e.Surrogate = res.user, res.surrogate
			if rule.Action == Challenge {
				authPage(p.auth.challenges(closing)).write(w)
				p.finish(&e, http.StatusProxyAuthRequired, ResultAuthRequired, "denied with a challenge (the rule's last condition is authentication)")
				return
			}
		}
		if rule.Action != Continue || c == nil {
			break
		}
		// Authenticated: the rules after this one decide.
		q.from = c.index + 1
		addrs = nil
	}
	r.Header.Del("Proxy-Authorization")
	if rule.Fault != nil {
		e.Fault = string(rule.Fault.Kind)
	}
	switch rule.Action {
	case Deny:
		deniedPage(target).write(w)
		p.finish(&e, http.StatusForbidden, ResultDenied, "")
		return
	case Fault:
		if p.answerFault(w, r, &e, t, rule.Fault) {
			return
		}
	}
	if !t.IP.IsValid() && p.resolveNames {
		if !resolved {
			addrs, resolveErr = p.resolve(r.Context(), t.Host)
		}
		if resolveErr != nil {
			page, result := upstreamErrorPage(resolveErr), ResultUpstreamError
			var refused *refusedAnswer
			if errors.As(resolveErr, &refused) {
				result = ResultDenied
			}
			page.write(w)
			p.finish(&e, page.status, result, resolveErr.Error())
			return
		}
	}
	d := &decision{entry: e, target: t, rule: rule, pol: pol, addrs: addrs}
	if t.Connect {
		stopSniffing(r) // what follows on this connection is the tunnel's
		if rule.Action == Intercept {
			// goproxy's MITM; its CONNECT handler finds the decision in
			// the request's context. interceptWriter keeps what the
			// client sent with its CONNECT.
			var gw http.ResponseWriter = w
			if r.ProtoMajor == 1 {
				gw = interceptWriter{w, d, p}
			}
			p.gp.ServeHTTP(gw, r.WithContext(context.WithValue(r.Context(), decisionKey{}, d)))
			return
		}
		// Take the connection here rather than through goproxy, whose
		// hijack drops bytes net/http has already read past the CONNECT
		// (a client may send its TLS hello in the same write).
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "cannot hijack: "+err.Error(), http.StatusInternalServerError)
			p.finish(&d.entry, http.StatusInternalServerError, ResultUpstreamError, err.Error())
			return
		}
		var early []byte
		if n := brw.Reader.Buffered(); n > 0 {
			early, _ = brw.Reader.Peek(n)
		}
		p.tunnel(r.Context(), d, bare(conn), early)
		return
	}
	// Forward to the target the rules matched, not to the raw spelling.
	r.URL.Host = target
	r.Host = target // bracketed when IPv6
	if t.Port == 80 {
		r.Host = strings.TrimSuffix(target, ":80")
	}
	cw := &countingWriter{ResponseWriter: w}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength > 0 {
		// Only real bodies: a wrapped empty one would go upstream as a
		// body of unknown length, chunked.
		r.Body = &countingBody{ReadCloser: r.Body}
	}
	p.forward(cw, r, d)
	if cb, ok := r.Body.(*countingBody); ok {
		d.entry.BytesUp = cb.n
	}
	d.entry.BytesDown = cw.n
	result := ResultOK
	if d.entry.Detail != "" {
		result = ResultUpstreamError
	}
	if rule.Action == Fault {
		result = ResultFault
	}
	p.finish(&d.entry, cw.status, result, d.entry.Detail)
	if d.cut.Load() {
		// Send what was allowed through, then drop the connection
		// without ending the response: the client reads a truncated
		// body (io.ErrUnexpectedEOF), as after a real cut.
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
}

// journalRefusal records a request net/http's server refused before any
// handler ran; line is its request line as it came.
func (p *Proxy) journalRefusal(c *sniffConn, status int, reason, line string) {
	method, target, _ := strings.Cut(line, " ")
	target, _, _ = strings.Cut(target, " ")
	e := Entry{Time: time.Now(), Client: c.RemoteAddr().String(), Method: method, Target: redact.Userinfo(target)}
	p.finish(&e, status, ResultBadRequest, "refused by the HTTP server: "+reason)
}

// finish journals a decision that has ended.
func (p *Proxy) finish(e *Entry, status int, result, detail string) {
	e.Duration = time.Since(e.Time)
	e.Status, e.Result, e.Detail = status, result, detail
	p.journal.record(*e)
}

// complete journals the end of a tunnel opened in the journal as id.
func (p *Proxy) complete(id uint64, e *Entry, status int, result, detail string) {
	e.Duration = time.Since(e.Time)
	e.Status, e.Result, e.Detail = status, result, detail
	p.journal.complete(id, *e)
}

// answerFault applies the faults that need no upstream; it reports
// whether it answered the request.
func (p *Proxy) answerFault(w http.ResponseWriter, r *http.Request, e *Entry, t Target, f *fault.Spec) bool {
	switch f.Kind {
	case fault.Status:
		faultStatusPage(f.Status).write(w)
		p.finish(e, f.Status, ResultFault, "")
		return true
	case fault.Malformed, fault.Reset, fault.Stall:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "cannot hijack: "+err.Error(), http.StatusInternalServerError)
			p.finish(e, http.StatusInternalServerError, ResultFault, err.Error())
			return true
		}
		conn = bare(conn)
		// A CONNECT that a reset or a stall accepts is a tunnel to its
		// client: the journal shows it from then on, as open.
		var id uint64
		opened := false
		establish := func() {
			open := *e
			open.Status, open.Result = http.StatusOK, ResultOpen
			id, opened = p.journal.open(open), true // before the client can read the 200
			_, _ = io.WriteString(conn, connectEstablished)
		}
		switch f.Kind {
		case fault.Malformed:
			_, _ = conn.Write(fault.MalformedResponse)
			conn.Close()
		case fault.Reset:
			if t.Connect {
				// An inspecting product accepts the tunnel and resets
				// it at the client's first bytes (its TLS hello).
				establish()
				one := make([]byte, 1)
				_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
				// The wait for a silent client ends with the proxy.
				stop := context.AfterFunc(p.life, func() { _ = conn.SetReadDeadline(time.Now()) })
				if buf.Reader.Buffered() == 0 {
					_, _ = conn.Read(one)
				}
				stop()
			}
			_ = fault.ResetConn(conn)
		case fault.Stall:
			if t.Connect {
				establish()
			}
			ctx, cancel := context.WithCancel(r.Context())
			stop := context.AfterFunc(p.life, cancel)
			fault.Hold(ctx, conn)
			stop()
			cancel()
		}
		if opened {
			p.complete(id, e, 0, ResultFault, "")
		} else {
			p.finish(e, 0, ResultFault, "")
		}
		return true
	}
	return false // shaping faults (close-after, latency, bandwidth) forward
}

// dialUpstream reaches hostport ("ip:port" of a checked address, or a
// target as it is), through the parent proxy if there is one.
func (p *Proxy) dialUpstream(ctx context.Context, hostport string) (net.Conn, error) {
	if p.parent == nil {
		return p.dial(ctx, "tcp", hostport)
	}
	conn, err := p.dial(ctx, "tcp", p.parent.Host)
	if err != nil {
		return nil, fmt.Errorf("parent proxy %s: %w", p.parent.Host, err)
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: hostport}, Host: hostport, Header: http.Header{}}
	if u := p.parent.User; u != nil {
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
		req.Header["Proxy-Authorization"] = req.Header["Authorization"]
		req.Header.Del("Authorization")
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("parent proxy %s: %w", p.parent.Host, err)
	}
	br := newSingleByteReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("parent proxy %s: %w", p.parent.Host, err)
	}
	resp.Body.Close()
	_ = conn.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, &parentError{status: resp.StatusCode, addr: p.parent.Host}
	}
	return conn, nil
}

type parentError struct {
	status int
	addr   string
}

func (e *parentError) Error() string {
	return fmt.Sprintf("parent proxy %s answered CONNECT with %d %s", e.addr, e.status, http.StatusText(e.status))
}

// outOfDescriptors reports whether err is the process (EMFILE) or the
// system (ENFILE) running out of file descriptors.
func outOfDescriptors(err error) (syscall.Errno, bool) {
	for _, no := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(err, no) {
			return no, true
		}
	}
	return 0, false
}

// reportExhaustion logs a dial that failed for want of file descriptors:
// the proxy's own trouble, which its operator must hear of (the client
// gets Squid's ERR_SOCKET_FAILURE page, see upstreamErrorPage).
func (p *Proxy) reportExhaustion(dial DialFunc) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if _, ok := outOfDescriptors(err); ok {
			p.logger.Error("proxy out of file descriptors: cannot open a connection upstream", "addr", redact.Userinfo(addr), "err", err)
		}
		return c, err
	}
}

// upstreamErrorPage maps a failure to reach upstream to Squid's page.
func upstreamErrorPage(err error) squidPage {
	var dnsErr *net.DNSError
	var pe *parentError
	var ne net.Error
	if no, ok := outOfDescriptors(err); ok {
		// Squid's page when it cannot open a socket, with the errno.
		return squidPage{status: http.StatusServiceUnavailable, errorID: fmt.Sprintf("%s %d", squidSocketFailure, int(no)),
			title: "Socket Failure.", detail: "The proxy ran out of resources (file descriptors): " + err.Error()}
	}
	var refused *refusedAnswer
	switch {
	case errors.As(err, &refused):
		return squidPage{status: http.StatusForbidden, errorID: squidAccessDenied, title: "Access Denied.", detail: err.Error()}
	case errors.As(err, &pe):
		return squidPage{status: http.StatusBadGateway, errorID: squidConnectFail, title: "Connection to the parent proxy failed.", detail: err.Error()}
	case errors.As(err, &dnsErr):
		return squidPage{status: http.StatusServiceUnavailable, errorID: squidDNSFail, title: "Unable to determine IP address from host name.", detail: err.Error()}
	case errors.As(err, &ne) && ne.Timeout():
		return squidPage{status: http.StatusGatewayTimeout, errorID: squidConnectTimeout, title: "Connection timed out.", detail: err.Error()}
	case errors.Is(err, syscall.ECONNREFUSED):
		return squidPage{status: http.StatusServiceUnavailable, errorID: squidConnectFail, title: "Connection refused.", detail: err.Error()}
	case errors.As(err, new(*upstreamTLSError)):
		return squidPage{status: http.StatusBadGateway, errorID: squidSecureConnectFail, title: "Failed to establish a secure connection to the origin.", detail: err.Error()}
	}
	return squidPage{status: http.StatusBadGateway, errorID: squidConnectFail, title: "Connection failed.", detail: err.Error()}
}

// countingWriter counts the bytes and status written to the client.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
	c.ResponseWriter.WriteHeader(s)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// ReadFrom keeps net/http's own copy path (no 32 KiB buffer per
// response): without it io.Copy would allocate one for every request.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		c.n += n
		return n, err
	}
	n, err := io.Copy(writerOnly{c.ResponseWriter}, r)
	c.n += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy cannot recurse.
type writerOnly struct{ io.Writer }

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Hijack lets goproxy take over the connection for a WebSocket upgrade.
func (c *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(c.ResponseWriter).Hijack()
	if err == nil {
		conn = bare(conn)
	}
	return conn, rw, err
}

// connectEstablished is the proxy's answer to an accepted CONNECT.
const connectEstablished = "HTTP/1.1 200 Connection established\r\n\r\n"

// countingBody counts a request body's bytes.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n += int64(n)
	return n, err
}

// tlsConfigFor is the interception TLS configuration for host, under the
// tunnel's rule.
func (p *Proxy) tlsConfigFor(host string, ctx *goproxy.ProxyCtx) (*tls.Config, error) {
	name, _, err := splitHostPort(host, 443)
	if err != nil {
		return nil, err
	}
	cert, err := p.interceptor.Mint(strings.Trim(name, "[]"))
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}}
	p.interceptTLSOf(ctx).client.apply(cfg)
	return cfg, nil
}
