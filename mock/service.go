package mock

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Host names the mock services stand for.
const (
	PortalHost = "passwordreset.microsoftonline.com"
	CDNHost    = "ajax.aspnetcdn.com"
	OCSPHost   = "ocsp.digicert.com"
	// CRL3Host and CRL4Host serve the CRL (the lab's leaves name both).
	CRL3Host = "crl3.digicert.com"
	CRL4Host = "crl4.digicert.com"
	// PortalPath is where the Windows sign-in screen opens the portal.
	PortalPath = "/n/passwordreset"
	// AdminPrefix is the admin API's route prefix, served only by
	// [Service.AdminHandler], never by the portal's handler.
	AdminPrefix = "/_egresslab"
)

// Defaults.
const (
	DefaultFlowTTL    = 15 * time.Minute
	DefaultCodeTTL    = 10 * time.Minute
	DefaultCaptchaTTL = 10 * time.Minute
	DefaultCDNBase    = "https://" + CDNHost
	// MaxBodyBytes bounds every request body; bigger ones get 413.
	MaxBodyBytes = 64 << 10
)

// Option configures a [Service].
type Option func(*Service) error

// WithDirectory sets the tenants and users; it is validated first. It is
// the service's starting state: unlike [Service.SetDirectory], it records
// no registration in the audit log.
func WithDirectory(d *DirectoryData) Option {
	return func(s *Service) error { return s.setDirectory(d, false) }
}

// WithClock makes the service read c, which the caller then controls.
func WithClock(c *Clock) Option {
	return func(s *Service) error {
		if c == nil {
			return errors.New("nil clock")
		}
		s.clock = c
		return nil
	}
}

// WithFlowTTL sets how long a flow token lives.
func WithFlowTTL(d time.Duration) Option {
	return func(s *Service) error {
		if d <= 0 {
			return fmt.Errorf("flow TTL must be positive, got %v", d)
		}
		s.flowTTL = d
		return nil
	}
}

// WithCDNBase sets the base URL the portal page loads its script from.
func WithCDNBase(base string) Option {
	return func(s *Service) error {
		if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
			return fmt.Errorf("CDN base %q is not an http(s) URL", base)
		}
		s.cdnBase = strings.TrimRight(base, "/")
		return nil
	}
}

// WithLogger sets the service's logger. It never receives a password or a
// code.
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) error {
		if l == nil {
			return errors.New("nil logger")
		}
		s.logger = l
		return nil
	}
}

// Service is the mock SSPR service of passwordreset.microsoftonline.com.
// It is an http.Handler for the portal and the JSON API; the admin API is a
// separate handler ([Service.AdminHandler]). It is safe for concurrent use.
type Service struct {
	clock   *Clock
	outbox  *Outbox
	audit   *AuditLog
	app     *Authenticator
	thr     *throttle
	logger  *slog.Logger
	flowTTL time.Duration
	cdnBase string
	script  script

	retention Retention

	mu       sync.Mutex
	tenants  map[string]*Tenant
	users    map[string]*User
	userList []string // UPNs in insertion order, for stable listings
	// flows holds every flow the service knows, by token; each is in live
	// (under way, in the order they began) or in ended (in the order they
	// ended), so that letting go of old flows never walks them all.
	flows        map[string]*flow
	live, ended  list[*flow]
	flowsDropped int // over the retention's limit
	flowsExpired int // EndedFlowTTL after they ended
	captchas     captchaStore
	faults       map[string]StepFault
	release      map[string]chan struct{} // by step: closed when its fault changes, to free the requests it stalls
	stalled      int                      // requests held by stall faults now

	portal    http.Handler
	admin     http.Handler
	adminOnce sync.Once
}

// New creates a service. Without WithDirectory it starts with an empty
// directory, to be filled through SetDirectory or the admin API.
func New(opts ...Option) (*Service, error) {
	s := &Service{
		clock:     &Clock{},
		outbox:    &Outbox{},
		audit:     &AuditLog{},
		thr:       newThrottle(),
		logger:    slog.Default(),
		flowTTL:   DefaultFlowTTL,
		cdnBase:   DefaultCDNBase,
		retention: defaultRetention(),
		tenants:   map[string]*Tenant{},
		users:     map[string]*User{},
		flows:     map[string]*flow{},
		faults:    map[string]StepFault{},
		release:   map[string]chan struct{}{},
	}
	for _, step := range faultSteps {
		s.release[step] = make(chan struct{})
	}
	var err error
	if s.app, err = newAuthenticator(s.clock); err != nil {
		return nil, fmt.Errorf("mock service: %w", err)
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("mock service: %w", err)
		}
	}
	s.app.clock = s.clock // WithClock may have replaced it
	s.captchas.limit = s.retention.Captchas
	s.outbox.limit, s.audit.limit = s.retention.Messages, s.retention.AuditEntries
	if s.script, err = newScript(); err != nil {
		return nil, fmt.Errorf("mock service: %w", err)
	}
	s.portal = s.portalRoutes()
	return s, nil
}

// ServeHTTP serves the portal (/n/passwordreset) and the JSON API
// (/n/passwordreset/api/...).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.portal.ServeHTTP(w, r) }

// AdminHandler returns the admin API, under AdminPrefix. Serve it on a
// listener of its own: it is not reachable through the portal's handler.
//
// Its routes are built on first use: most labs never need them.
func (s *Service) AdminHandler() http.Handler {
	s.adminOnce.Do(func() { s.admin = s.adminRoutes() })
	return s.admin
}

// Clock returns the service's clock.
func (s *Service) Clock() *Clock { return s.clock }

// Outbox returns the messages the service sent.
func (s *Service) Outbox() *Outbox { return s.outbox }

// Audit returns the audit log.
func (s *Service) Audit() *AuditLog { return s.audit }

// Authenticator returns the simulated authenticator apps.
func (s *Service) Authenticator() *Authenticator { return s.app }

// ScriptAssets returns the portal's script as the CDN must serve it, at
// the path the portal page references ([Service.ScriptPath]) and at an
// unversioned alias ([ScriptAliasPath]).
func (s *Service) ScriptAssets() []Asset { return s.script.assets() }

// ScriptPath returns the CDN path the portal page loads its script from:
// /ajax/passwordreset/<the first 16 hex digits of the script's SHA-256>/sspr.min.js.
// The script differs for every service (its canary is random), and so
// does the path.
func (s *Service) ScriptPath() string { return s.script.path }

// SetDirectory replaces the directory. It is validated first; on error
// nothing changes. A security answer given as [RedactedAnswer] keeps the
// answer stored for the same user and question text; without one it is an
// error naming the field. Each user whose registered methods were added or
// changed gets a "User registered for self-service password reset" audit
// entry; users left out are deleted as by [Service.DeleteUser]. Flows
// under way go on against the new data: each of their next steps checks
// the user again.
func (s *Service) SetDirectory(d *DirectoryData) error { return s.setDirectory(d, true) }

func (s *Service) setDirectory(d *DirectoryData, record bool) error {
	if d == nil {
		return errors.New("nil directory")
	}
	c := cloneDirectory(d)
	c.applyDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := range c.Users {
		errs = append(errs, c.Users[i].restoreRedacted(s.users[c.Users[i].UPN], fmt.Sprintf("users[%d].", i)))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	tenants := map[string]*Tenant{}
	for i := range c.Tenants {
		tenants[c.Tenants[i].ID] = &c.Tenants[i]
	}
	users := map[string]*User{}
	var list []string
	for i := range c.Users {
		users[c.Users[i].UPN] = &c.Users[i]
		list = append(list, c.Users[i].UPN)
	}
	if record {
		now := s.clock.Now()
		for _, upn := range list {
			s.auditRegistrationLocked(s.users[upn], users[upn], now)
		}
	}
	for upn := range s.users {
		if users[upn] == nil {
			s.forgetUser(upn)
		}
	}
	s.tenants, s.users, s.userList = tenants, users, list
	return nil
}

// auditRegistrationLocked records the change of u's registered methods
// from old's (nil: a new user), if any.
func (s *Service) auditRegistrationLocked(old, u *User, now time.Time) {
	reason := registrationChange(old, u)
	if reason == "" {
		return
	}
	corr, _ := randomToken() // crypto/rand does not fail on supported platforms
	s.audit.add(AuditEntry{Time: now, Activity: ActivityRegistered, Result: ResultSuccess, ResultReason: reason,
		TargetUser: u.UPN, CorrelationID: corr})
	s.logger.Debug("mock: registration changed", "upn", u.UPN)
}

// forgetUser drops what the service holds about a deleted user beyond the
// audit log and the outbox: throttling events, a block, authenticator
// notifications.
func (s *Service) forgetUser(upn string) {
	s.thr.unblock(upn)
	s.app.forgetUser(upn)
}

// Directory returns a copy of the directory, with security answers as
// they are (the admin API redacts them).
func (s *Service) Directory() *DirectoryData {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.directoryLocked()
}

func (s *Service) directoryLocked() *DirectoryData {
	d := &DirectoryData{Tenants: []Tenant{}, Users: []User{}}
	ids := make([]string, 0, len(s.tenants))
	for id := range s.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d.Tenants = append(d.Tenants, *s.tenants[id])
	}
	for _, upn := range s.userList {
		d.Users = append(d.Users, *s.users[upn])
	}
	return cloneDirectory(d)
}

// PutUser adds or replaces a user, checked against the current tenants.
// As with [Service.SetDirectory], a [RedactedAnswer] keeps the stored
// answer, and a change of registered methods is audited.
func (s *Service) PutUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.directoryLocked()
	u = cloneUser(u)
	u.UPN = strings.ToLower(strings.TrimSpace(u.UPN))
	if err := u.restoreRedacted(s.users[u.UPN], ""); err != nil {
		return err
	}
	replaced := false
	for i := range d.Users {
		if d.Users[i].UPN == u.UPN {
			d.Users[i], replaced = u, true
		}
	}
	if !replaced {
		d.Users = append(d.Users, u)
	}
	d.applyDefaults()
	if err := d.Validate(); err != nil {
		return err
	}
	for i := range d.Users {
		if d.Users[i].UPN == u.UPN {
			nu := d.Users[i]
			s.auditRegistrationLocked(s.users[u.UPN], &nu, s.clock.Now())
			s.users[u.UPN] = &nu
		}
	}
	if !replaced {
		s.userList = append(s.userList, u.UPN)
	}
	return nil
}

// DeleteUser removes a user, with their throttling events, block and
// authenticator notifications; it reports whether the user existed.
func (s *Service) DeleteUser(upn string) bool {
	upn = strings.ToLower(upn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[upn]; !ok {
		return false
	}
	delete(s.users, upn)
	s.userList = slices.DeleteFunc(s.userList, func(x string) bool { return x == upn })
	s.forgetUser(upn)
	return true
}

// Tenant returns a copy of the tenant with the given ID, if there is one.
func (s *Service) Tenant(id string) (Tenant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[id]
	if !ok {
		return Tenant{}, false
	}
	c := cloneDirectory(&DirectoryData{Tenants: []Tenant{*t}})
	return c.Tenants[0], true
}

// PutTenant adds or replaces a tenant.
func (s *Service) PutTenant(t Tenant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.directoryLocked()
	replaced := false
	for i := range d.Tenants {
		if d.Tenants[i].ID == t.ID {
			d.Tenants[i], replaced = t, true
		}
	}
	if !replaced {
		d.Tenants = append(d.Tenants, t)
	}
	d.applyDefaults()
	if err := d.Validate(); err != nil {
		return err
	}
	for i := range d.Tenants {
		if d.Tenants[i].ID == t.ID {
			nt := d.Tenants[i]
			s.tenants[t.ID] = &nt
		}
	}
	return nil
}

// DeleteTenant removes a tenant that no user belongs to.
func (s *Service) DeleteTenant(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[id]; !ok {
		return fmt.Errorf("unknown tenant %q", id)
	}
	for _, u := range s.users {
		if u.Tenant == id {
			return fmt.Errorf("tenant %q still has users (for example %s)", id, u.UPN)
		}
	}
	delete(s.tenants, id)
	return nil
}

// Block returns the user's block, if one is in force.
func (s *Service) Block(upn string) (Block, bool) {
	return s.thr.blockedAt(strings.ToLower(upn), s.clock.Now())
}

// Unblock lifts a user's block and forgets their throttling events.
func (s *Service) Unblock(upn string) { s.thr.unblock(strings.ToLower(upn)) }

func cloneDirectory(d *DirectoryData) *DirectoryData {
	c := &DirectoryData{Tenants: make([]Tenant, len(d.Tenants)), Users: make([]User, len(d.Users))}
	for i, t := range d.Tenants {
		t.Domains = slices.Clone(t.Domains)
		t.AllowedMethods = slices.Clone(t.AllowedMethods)
		t.BannedPasswords = slices.Clone(t.BannedPasswords)
		c.Tenants[i] = t
	}
	for i, u := range d.Users {
		c.Users[i] = cloneUser(u)
	}
	return c
}

func cloneUser(u User) User {
	u.Methods.SecurityQuestions = slices.Clone(u.Methods.SecurityQuestions)
	u.Enabled, u.Licensed, u.InEnabledGroup = cloneBool(u.Enabled), cloneBool(u.Licensed), cloneBool(u.InEnabledGroup)
	return u
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// StepFault makes one step of the service fail, for service-side failures.
// A fault has either a Status or Stall.
type StepFault struct {
	// Status is the HTTP status the step answers with (500 to 599); 0 with
	// Stall.
	Status int `json:"status,omitempty" yaml:"status,omitempty"`
	// Stall makes the step accept the request and never answer, until the
	// client gives up or the step's fault is cleared or changed.
	Stall bool `json:"stall,omitempty" yaml:"stall,omitempty"`
	// Times is how many requests the fault applies to; 0 means until
	// cleared.
	Times int `json:"times,omitempty" yaml:"times,omitempty"`
}

// Steps a fault can be set on.
var faultSteps = []string{"page", "captcha", "begin", "send", "verify", "password"}

// SetFault sets (or, with a zero StepFault, clears) a fault on step. It
// lets go of the requests that the step's earlier fault stalls, and of no
// others.
func (s *Service) SetFault(step string, f StepFault) error {
	if !slices.Contains(faultSteps, step) {
		return fmt.Errorf("unknown step %q (want one of %s)", step, strings.Join(faultSteps, ", "))
	}
	if f.Stall && f.Status != 0 {
		return errors.New("a fault either stalls or answers with a status, not both")
	}
	if f != (StepFault{}) && !f.Stall && f.Status == 0 {
		return errors.New("a fault needs a status or stall (times alone is no fault); a zero fault clears it")
	}
	if !f.Stall && f.Status != 0 && (f.Status < 500 || f.Status > 599) {
		return fmt.Errorf("fault status must be a 5xx server error, got %d", f.Status)
	}
	if f.Times < 0 {
		return fmt.Errorf("times must not be negative, got %d", f.Times)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (StepFault{}) {
		delete(s.faults, step)
	} else {
		s.faults[step] = f
	}
	close(s.release[step])
	s.release[step] = make(chan struct{})
	return nil
}

// Stalled returns how many requests stall faults are holding now.
func (s *Service) Stalled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

// Faults returns the faults in force, by step.
func (s *Service) Faults() map[string]StepFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]StepFault, len(s.faults))
	for k, v := range s.faults {
		out[k] = v
	}
	return out
}

// injectFault applies the fault on step, if any, and reports whether it
// answered the request.
func (s *Service) injectFault(w http.ResponseWriter, r *http.Request, step string) bool {
	s.mu.Lock()
	f, ok := s.faults[step]
	if ok && f.Times > 0 {
		if f.Times == 1 {
			delete(s.faults, step)
		} else {
			f.Times--
			s.faults[step] = f
		}
	}
	release := s.release[step]
	s.mu.Unlock()
	if !ok {
		return false
	}
	s.logger.Debug("mock: injected fault", "step", step, "status", f.Status, "stall", f.Stall)
	if f.Stall {
		// Read the request first: net/http notices that the client has
		// gone (and cancels the request's context) only once the body
		// has been read.
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		s.mu.Lock()
		s.stalled++
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-release:
		}
		s.mu.Lock()
		s.stalled--
		s.mu.Unlock()
		// Still no answer: the client sees the connection close.
		panic(http.ErrAbortHandler)
	}
	http.Error(w, http.StatusText(f.Status), f.Status)
	return true
}
