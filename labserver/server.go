package labserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// Config is what a Server serves.
type Config struct {
	// Scenario is the lab to start with (nil: the catalog's DefaultScenario).
	Scenario *scenarios.Scenario
	// ProxyListener is where the lab's proxy takes connections. It stays
	// the same across scenario switches; the server closes it. Required.
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
	if cfg.ProxyListener == nil {
		return nil, errors.New("labserver: no proxy listener")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Authority == nil {
		a, err := pki.New()
		if err != nil {
			cfg.ProxyListener.Close()
			return nil, fmt.Errorf("labserver: %w", err)
		}
		cfg.Authority = a
	}
	sc := cfg.Scenario
	if sc == nil {
		var err error
		if sc, err = Builtin(DefaultScenario); err != nil {
			cfg.ProxyListener.Close()
			return nil, err
		}
	}
	s := &Server{cfg: cfg, feed: newFeed(cfg.JournalLimit, cfg.Journal), handoff: newHandoff(cfg.ProxyListener), started: time.Now(), acceptDone: make(chan struct{})}
	if err := s.Switch(ctx, sc); err != nil {
		cfg.ProxyListener.Close()
		return nil, err
	}
	go func() {
		defer close(s.acceptDone)
		s.handoff.run()
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
	ln := s.handoff.newLane()
	name := sc.Name
	popts := []proxy.Option{proxy.WithObserver(func(e proxy.Entry) { s.feed.add(name, e) })}
	open := sc.Lab.Proxy == nil
	if open {
		// The direct path, for clients outside the lab that can only
		// come through the proxy listener.
		popts = append(popts, proxy.WithDefault(proxy.Allow))
	}
	lab, err := scenarios.NewLab(ctx, sc,
		harness.WithAuthority(s.cfg.Authority),
		harness.WithLogger(s.cfg.Logger.With("scenario", name)),
		harness.WithProxy(popts...),
		harness.WithProxyListener(ln))
	if err != nil {
		lab.Close()
		ln.Close()
		return fmt.Errorf("scenario %s: %w", name, err)
	}
	old := s.cur
	s.cur = &running{sc: sc, lab: lab, ln: ln, since: time.Now(), openLab: open}
	s.handoff.use(ln)
	if old != nil {
		old.lab.Close()
	}
	s.cfg.Logger.Info("lab switched", "scenario", name)
	return nil
}

// SetRules replaces the rules and default action of the running lab's
// proxy; the lab and its state stay.
func (s *Server) SetRules(def proxy.Action, rules []proxy.Rule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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

// ProxyAddr is the address outside clients use for the proxy.
func (s *Server) ProxyAddr() net.Addr { return s.cfg.ProxyListener.Addr() }

// Authority is the lab's certificate authority.
func (s *Server) Authority() *pki.Authority { return s.cfg.Authority }

// Shutdown stops taking connections, lets the lab's requests and tunnels
// end on their own until ctx is done, then closes everything; the journal
// has every decision when it returns. It may be called more than once.
func (s *Server) Shutdown(ctx context.Context) {
	s.closeOnce.Do(func() {
		s.handoff.close()
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
