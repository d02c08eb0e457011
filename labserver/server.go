package labserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// DefaultScenario is what a server runs when given none: the documented
// remedy for an authenticating proxy, whose proxy lets the SSPR hosts
// (the portal, the CDN, the OCSP responder) through without
// authentication and asks for credentials (Negotiate, NTLM; user
// CONTOSO\alice) for everything else.
const DefaultScenario = "remedy-per-machine-proxy-auth-exemption"

// Role is the part of a lab a server serves: the whole lab (RoleLab), or
// one node of the container backend's lab, where the services and the
// proxy run in containers of their own.
type Role string

// The roles.
const (
	// RoleLab serves the whole lab in one process: its services on
	// loopback and its proxy on ProxyListener.
	RoleLab Role = "lab"
	// RoleServices serves the scenario's services (portal, CDN, OCSP
	// responder, CRL hosts) without a proxy; LabOptions say where each
	// host listens (harness.WithHostAddr). ProxyListener must be nil.
	RoleServices Role = "services"
	// RoleProxy serves the scenario's proxy alone on ProxyListener, its
	// upstream the real network (LabOptions: harness.WithUpstream).
	RoleProxy Role = "proxy"
)

// NodeReady is the line a node (RoleServices, RoleProxy) served by
// egresslab serve prints once it serves: what the container backend
// waits for.
const NodeReady = "egresslab node ready"

// Roles are the roles, in order.
var Roles = []Role{RoleLab, RoleServices, RoleProxy}

// Config is what a Server serves.
type Config struct {
	// Role is the part of the lab served (default RoleLab). A node
	// (RoleServices, RoleProxy) serves one scenario: it cannot switch.
	Role Role
	// LabOptions are further harness options for every lab the server
	// builds, after the scenario's own.
	LabOptions []harness.Option
	// Scenario is the lab to start with (nil: the catalog's DefaultScenario).
	Scenario *scenarios.Scenario
	// ProxyListener is where the lab's proxy takes connections. It stays
	// the same across scenario switches; the server closes it. Required,
	// but for RoleServices, which has no proxy.
	ProxyListener net.Listener
	// Authority is the lab's certificate authority, kept across switches
	// (and across restarts when it comes from pki.Open). Nil: a new one.
	Authority *pki.Authority
	// Journal, when set, receives every proxy decision as a JSON line
	// (a Record).
	Journal io.Writer
	// Token, when set, must come with every admin request, as
	// "Authorization: Bearer TOKEN" or "?token=TOKEN" (for the dashboard
	// and its event stream).
	Token string
	// JournalLimit bounds the decisions kept in memory (default 10,000).
	JournalLimit int
	// Logger receives the labs' logs (default: discarded).
	Logger *slog.Logger
}

// Server is a lab served for outside clients: its proxy on a fixed
// listener, an admin API and a dashboard (Handler), and scenarios
// switched at run time.
type Server struct {
	cfg     Config
	feed    *feed
	handoff *handoff

	mu      sync.Mutex // serialises switches
	cur     *running
	started time.Time

	acceptDone chan struct{}
	closeOnce  sync.Once
	streams    atomic.Int32 // journal streams being served
}

// running is the lab of the scenario in force.
type running struct {
	sc      *scenarios.Scenario
	lab     *harness.Lab
	ln      *laneListener
	since   time.Time
	openLab bool // the scenario has no proxy: an open one stands for the direct path
}

// New starts a server with cfg's scenario. On error nothing is left
// running (the proxy listener included).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Role == "" {
		cfg.Role = RoleLab
	}
	switch {
	case !slices.Contains(Roles, cfg.Role):
		if cfg.ProxyListener != nil {
			cfg.ProxyListener.Close()
		}
		return nil, fmt.Errorf("labserver: no role %q (want lab, services or proxy)", cfg.Role)
	case cfg.Role == RoleServices && cfg.ProxyListener != nil:
		cfg.ProxyListener.Close()
		return nil, errors.New("labserver: a services node has no proxy listener")
	case cfg.Role != RoleServices && cfg.ProxyListener == nil:
		return nil, errors.New("labserver: no proxy listener")
	}
	closeLn := func() {
		if cfg.ProxyListener != nil {
			cfg.ProxyListener.Close()
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Authority == nil {
		a, err := pki.New()
		if err != nil {
			closeLn()
			return nil, fmt.Errorf("labserver: %w", err)
		}
		cfg.Authority = a
	}
	sc := cfg.Scenario
	if sc == nil {
		var err error
		if sc, err = Builtin(DefaultScenario); err != nil {
			closeLn()
			return nil, err
		}
	}
	s := &Server{cfg: cfg, feed: newFeed(cfg.JournalLimit, cfg.Journal), started: time.Now(), acceptDone: make(chan struct{})}
	if cfg.ProxyListener != nil {
		s.handoff = newHandoff(cfg.ProxyListener)
	}
	if err := s.Switch(ctx, sc); err != nil {
		closeLn()
		return nil, err
	}
	go func() {
		defer close(s.acceptDone)
		if s.handoff != nil {
			s.handoff.run()
		}
	}()
	return s, nil
}

// Builtin returns the catalog's scenario by name.
func Builtin(name string) (*scenarios.Scenario, error) {
	cat, err := scenarios.Catalog()
	if err != nil {
		return nil, fmt.Errorf("built-in catalog: %w", err)
	}
	for _, sc := range cat {
		if sc.Name == name {
			return sc, nil
		}
	}
	return nil, &NotFoundError{What: "built-in scenario", Name: name}
}

// NotFoundError names a scenario (or other thing) that does not exist.
type NotFoundError struct{ What, Name string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s named %q (see 'egresslab list')", e.What, e.Name)
}

// InvalidError is a scenario or rule set that does not validate; Err
// carries the field errors (file, line and field where there are some).
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Switch replaces the lab with sc's: the new lab is built first, then
// takes the proxy listener's new connections, then the old lab closes
// (its tunnels end). On error the lab in force stays. The journal goes on
// across the switch; the service's state (outbox, audit log, clock) is
// the new lab's.
func (s *Server) Switch(ctx context.Context, sc *scenarios.Scenario) error {
	if err := sc.Validate(); err != nil {
		return &InvalidError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cfg.Role != RoleLab {
		return &RoleError{Role: s.cfg.Role, What: "switch scenarios"}
	}
	name := sc.Name
	opts := []harness.Option{harness.WithAuthority(s.cfg.Authority), harness.WithLogger(s.cfg.Logger.With("scenario", name))}
	var ln *laneListener
	open := false
	switch s.cfg.Role {
	case RoleServices:
		opts = append(opts, harness.WithoutProxy())
	default:
		ln = s.handoff.newLane()
		popts := []proxy.Option{proxy.WithObserver(func(e proxy.Entry) { s.feed.add(name, e) })}
		if open = sc.Lab.Proxy == nil; open {
			if s.cfg.Role == RoleProxy {
				ln.Close()
				return &InvalidError{Err: fmt.Errorf("scenario %s has no proxy for a proxy node to serve", name)}
			}
			// The direct path, for clients outside the lab that can only
			// come through the proxy listener.
			popts = append(popts, proxy.WithDefault(proxy.Allow))
		}
		opts = append(opts, harness.WithProxy(popts...), harness.WithProxyListener(ln))
		if s.cfg.Role == RoleProxy {
			opts = append(opts, harness.WithoutServices())
		}
	}
	lab, err := scenarios.NewLab(ctx, sc, append(opts, s.cfg.LabOptions...)...)
	if err != nil {
		lab.Close()
		if ln != nil {
			ln.Close()
		}
		return fmt.Errorf("scenario %s: %w", name, err)
	}
	old := s.cur
	s.cur = &running{sc: sc, lab: lab, ln: ln, since: time.Now(), openLab: open}
	if ln != nil {
		s.handoff.use(ln)
	}
	if old != nil {
		old.lab.Close()
	}
	s.cfg.Logger.Info("lab switched", "scenario", name)
	return nil
}

// RoleError is what a node cannot do: switch scenarios, or reach a part
// of the lab it does not serve.
type RoleError struct {
	Role Role
	What string
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("a %s node cannot %s", e.Role, e.What)
}

// SetRules replaces the rules and default action of the running lab's
// proxy; the lab and its state stay.
func (s *Server) SetRules(def proxy.Action, rules []proxy.Rule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.lab.Proxy == nil {
		return &RoleError{Role: s.cfg.Role, What: "set proxy rules: it has no proxy"}
	}
	if err := s.cur.lab.Proxy.SetRules(def, rules...); err != nil {
		return &InvalidError{Err: err}
	}
	return nil
}

// Lab returns the lab in force (it is closed by a later Switch).
func (s *Server) Lab() *harness.Lab {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.lab
}

// Scenario returns the scenario in force.
func (s *Server) Scenario() *scenarios.Scenario {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.sc
}

// ProxyAddr is the address outside clients use for the proxy; nil for a
// services node.
func (s *Server) ProxyAddr() net.Addr {
	if s.cfg.ProxyListener == nil {
		return nil
	}
	return s.cfg.ProxyListener.Addr()
}

// Role is the part of the lab the server serves.
func (s *Server) Role() Role { return s.cfg.Role }

// Authority is the lab's certificate authority.
func (s *Server) Authority() *pki.Authority { return s.cfg.Authority }

// Shutdown stops taking connections, lets the lab's requests and tunnels
// end on their own until ctx is done, then closes everything; the journal
// has every decision when it returns. It may be called more than once.
func (s *Server) Shutdown(ctx context.Context) {
	s.closeOnce.Do(func() {
		if s.handoff != nil {
			s.handoff.close()
		}
		<-s.acceptDone
		s.mu.Lock()
		cur := s.cur
		s.mu.Unlock()
		if cur != nil {
			if cur.lab.Proxy != nil {
				cur.lab.Proxy.Shutdown(ctx)
			}
			cur.lab.Close()
		}
		s.feed.close(ctx)
	})
}

// Close is Shutdown without waiting.
func (s *Server) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
}
