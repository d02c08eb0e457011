package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/egresslab/egresslab/internal/redact"
	"github.com/egresslab/egresslab/pac"
)

// DefaultNotificationTimeout is how long the client waits for an
// Authenticator notification to be answered.
const DefaultNotificationTimeout = 2 * time.Minute

// DefaultPortalURL is the SSPR service the Windows sign-in screen opens.
const DefaultPortalURL = "https://passwordreset.microsoftonline.com"

// Paths of the service.
const (
	portalPath = "/n/passwordreset"
	apiPath    = portalPath + "/api"
)

// maxPage bounds the page, script and API answers the client reads.
const maxPage = 1 << 20

// userAgent is what the sign-in screen's web view sends, with the lab's
// name so that a log can tell it apart.
const userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edge/18 egresslab-client"

// Client runs the SSPR flow as a Windows client with a Profile would, and
// diagnoses how it ends. It is safe to Run more than once and from more
// than one goroutine: each run has its own connections.
type Client struct {
	profile Profile
	portal  *url.URL
	roots   *x509.CertPool
	dial    DialFunc
	// resolver answers the PAC script's and WPAD's lookups.
	resolver pac.Resolver
	issuers  []string
	codes    CodeSource
	captcha  func(ctx context.Context, challenge string) (string, error)
	logger   *slog.Logger
	poll     time.Duration
	now      func() time.Time
	// notifyWait bounds the wait for a notification's answer.
	notifyWait time.Duration

	flowRoute, revRoute   *proxyRoute
	flowProxy, revProxy   *ProxySetting
	flowSource, revSource string
	minTLS, maxTLS        uint16
	suites                []uint16
}

// Option configures a Client.
type Option func(*Client) error

// WithPortalURL sets the service's base URL (default DefaultPortalURL).
func WithPortalURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return fmt.Errorf("portal URL %q: want https://host[:port]", redact.Userinfo(raw))
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		c.portal = u
		return nil
	}
}

// WithRoots sets the roots the client trusts: the lab's CA, and the
// interception root when the workstation has it installed. The default is
// the system roots.
func WithRoots(pool *x509.CertPool) Option {
	return func(c *Client) error {
		if pool == nil {
			return errors.New("WithRoots: nil pool")
		}
		c.roots = pool
		return nil
	}
}

// WithDialer sets the workstation's network: how "host:port" (a service
// host or the proxy) is reached.
func WithDialer(d DialFunc) Option {
	return func(c *Client) error {
		if d == nil {
			return errors.New("WithDialer: nil dialer")
		}
		c.dial = d
		return nil
	}
}

// WithResolver sets the workstation's resolver for proxy
// auto-configuration: WPAD's lookups of wpad.<domain> and the PAC script's
// dnsResolve, isResolvable and isInNet. Without it nothing is looked up
// (WPAD finds nothing, names in a PAC script do not resolve), so that a
// client never asks the system's resolver unless told to: the lab passes
// its own, a client on a real workstation net.DefaultResolver.
func WithResolver(r pac.Resolver) Option {
	return func(c *Client) error {
		if r == nil {
			return errors.New("WithResolver: nil resolver")
		}
		c.resolver = r
		return nil
	}
}

// WithCodeSource sets where verification codes and answers come from.
func WithCodeSource(s CodeSource) Option {
	return func(c *Client) error {
		c.codes = s
		return nil
	}
}

// WithCaptcha sets how the CAPTCHA is solved. The default copies the
// challenge text, which is what the lab's plain-text CAPTCHA wants.
func WithCaptcha(solve func(ctx context.Context, challenge string) (string, error)) Option {
	return func(c *Client) error {
		c.captcha = solve
		return nil
	}
}

// WithLogger sets the logger for the steps (never a code, answer,
// password or credential).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithPollInterval sets how often a pending Authenticator notification is
// asked about (default 1s).
func WithPollInterval(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("WithPollInterval: must be positive")
		}
		c.poll = d
		return nil
	}
}

// WithNotificationTimeout sets how long the client waits for an
// Authenticator notification to be answered (default 2 minutes).
func WithNotificationTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("WithNotificationTimeout: must be positive")
		}
		c.notifyWait = d
		return nil
	}
}

// WithClock sets the client's clock, for certificate and OCSP validity
// (default time.Now): a lab whose clock runs elsewhere passes its own.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// New checks the profile and builds a client; nothing connects before Run.
func New(p Profile, opts ...Option) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if p.Revocation == "" {
		p.Revocation = RevocationSoftFail
	}
	if p.Timeouts.Connect == 0 {
		p.Timeouts.Connect = DefaultConnectTimeout
	}
	if p.Timeouts.Request == 0 {
		p.Timeouts.Request = DefaultRequestTimeout
	}
	// A connection must fail before the request's own time is up, so that
	// a firewall that drops packets is told from a slow answer.
	p.Timeouts.Connect = min(p.Timeouts.Connect, p.Timeouts.Request/2)
	c := &Client{profile: p, issuers: DefaultServiceIssuers, poll: time.Second, notifyWait: DefaultNotificationTimeout, now: time.Now, logger: slog.New(slog.DiscardHandler)}
	var d net.Dialer
	c.dial = d.DialContext
	if err := WithPortalURL(DefaultPortalURL)(c); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.captcha == nil {
		c.captcha = func(_ context.Context, challenge string) (string, error) { return challenge, nil }
	}
	var err error
	c.minTLS, c.maxTLS, _ = p.tlsVersions() // validated
	c.suites, _ = p.cipherSuites()          // validated
	c.flowProxy, c.flowSource = p.FlowProxy()
	c.revProxy, c.revSource = p.RevocationProxy()
	if c.flowProxy != nil {
		if c.flowRoute, err = c.flowProxy.parse(); err != nil {
			return nil, err
		}
	}
	if c.revProxy != nil {
		if c.revRoute, err = c.revProxy.parse(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// credentials returns the proxy credentials the account has: the
// signed-in user's, and none for defaultuser1.
func (c *Client) credentials() *Credentials {
	if c.profile.Account != AccountUser {
		return nil
	}
	return c.profile.Credentials
}

// run is one run of the flow.
type run struct {
	c      *Client
	res    *Result
	flow   *netClient
	rev    *netClient
	portal string // the portal's host
	script string // the script's host
	token  string
	used   []string
}

// Run runs the flow and returns its diagnosis; it never returns nil.
func (c *Client) Run(ctx context.Context) *Result {
	// The profile's suites up to TLS 1.2, Schannel's by default (TLS
	// 1.3's are not configurable).
	tlsBase := &tls.Config{RootCAs: c.roots, MinVersion: c.minTLS, MaxVersion: c.maxTLS, Time: c.now, CipherSuites: c.suites}
	r := &run{c: c, res: &Result{ProxySource: c.flowSource}, portal: c.portal.Hostname()}
	flowRT := c.newRoute(ctx, c.flowProxy, c.flowRoute)
	revRT := flowRT
	if c.revProxy != c.flowProxy {
		// The WinHTTP proxy: static settings, no auto-proxy.
		revRT = newRouteFor(c.revRoute)
	}
	r.flow = newNetClient(c.dial, flowRT, c.credentials(), tlsBase, c.profile.Timeouts.Connect, c.profile.Timeouts.Request)
	r.flow.issuers = c.issuers
	r.rev = newNetClient(c.dial, revRT, c.credentials(), tlsBase, c.profile.Timeouts.Connect, c.profile.Timeouts.Request)
	r.rev.issuers = c.issuers
	defer r.flow.close()
	defer r.rev.close()
	r.steps(ctx)
	r.res.ProxyAuth = r.flow.authScheme()
	r.res.AutoProxy = flowRT.report(r.portal)
	r.res.Proxy = flowRT.portalProxy(r.portal)
	if r.res.Outcome == "" {
		r.res.Outcome, r.res.Step = OutcomeSuccess, StepDone
	}
	if r.res.Cause != CauseNone {
		r.res.Remedy = remedyFor(r.res.Cause, r.res.Err)
	}
	if r.res.Err != nil {
		r.res.Error = r.res.Err.Error()
	}
	c.logger.Info("sspr flow ended", "user", c.profile.UserID, "outcome", r.res.Outcome, "cause", r.res.Cause,
		"step", r.res.Step, "host", r.res.Host, "correlationId", r.res.CorrelationID)
	return r.res
}

// fail ends the run at step with err, diagnosed.
func (r *run) fail(step Step, host string, err error) {
	r.res.Outcome, r.res.Step, r.res.Host, r.res.Err = OutcomeSomethingWentWrong, step, host, err
	r.res.Cause = Diagnose(err, r.c.now())
}

func (r *run) steps(ctx context.Context) {
	src, integrity, ok := r.page(ctx)
	if !ok {
		return
	}
	if !r.cdn(ctx, src, integrity) {
		return
	}
	if !r.revocation(ctx) {
		return
	}
	v, ok := r.begin(ctx)
	for ok {
		switch v.Step {
		case "done":
			r.res.Step = StepDone
			return
		case "failed":
			r.serviceOutcome(StepBegin, v)
			return
		case "verify":
			v, ok = r.gate(ctx, v)
		case "password":
			v, ok = r.password(ctx, v)
		default:
			r.fail(StepBegin, r.portal, &HTTPStatusError{URL: r.api("begin"), Status: http.StatusOK, Kind: "unknown-step", Message: fmt.Sprintf("the service answered step %q", v.Step)})
			return
		}
	}
}

func (r *run) api(call string) string { return r.c.portal.String() + apiPath + "/" + call }

// request sends one request with the step's timeout and reads its body.
func (r *run) request(ctx context.Context, nc *netClient, method, u string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-SSPR-Client", r.c.profile.clientType())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := nc.http.Do(req)
	if err != nil {
		return nil, nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return resp, nil, err
	}
	return resp, b, nil
}

// page loads the portal page and finds the script it needs.
func (r *run) page(ctx context.Context) (src, integrity string, ok bool) {
	u := r.c.portal.String() + portalPath
	resp, body, err := r.request(ctx, r.flow, http.MethodGet, u, nil)
	if s, seen := r.flow.seenHost(r.portal); seen {
		r.res.TLSVersion = versionName(s.version)
	}
	if err != nil {
		r.fail(StepPage, r.portal, err)
		return "", "", false
	}
	if resp.StatusCode != http.StatusOK {
		r.fail(StepPage, r.portal, &HTTPStatusError{URL: u, Status: resp.StatusCode})
		return "", "", false
	}
	src, integrity, err = findScript(body, u)
	if err != nil {
		r.fail(StepPage, r.portal, &HTTPStatusError{URL: u, Status: resp.StatusCode, Kind: "no-script", Message: err.Error()})
		return "", "", false
	}
	return src, integrity, true
}

// findScript returns the absolute URL and integrity of the page's first
// external script.
func findScript(page []byte, base string) (string, string, error) {
	root, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return "", "", fmt.Errorf("page does not parse: %w", err)
	}
	var src, integrity string
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "script" {
			src, integrity = "", ""
			for _, a := range n.Attr {
				switch a.Key {
				case "src":
					src = a.Val
				case "integrity":
					integrity = a.Val
				}
			}
			if src != "" {
				return true
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if walk(ch) {
				return true
			}
		}
		return false
	}
	if !walk(root) {
		return "", "", errors.New("the page references no script")
	}
	b, _ := url.Parse(base)
	s, err := b.Parse(src)
	if err != nil {
		return "", "", fmt.Errorf("script URL %q: %w", src, err)
	}
	return s.String(), integrity, nil
}

// cdn loads the page's script and checks its Subresource Integrity, as
// the web view does: without it the page can do nothing.
func (r *run) cdn(ctx context.Context, src, integrity string) bool {
	r.script = hostOf(src)
	resp, body, err := r.request(ctx, r.flow, http.MethodGet, src, nil)
	if err != nil {
		r.fail(StepCDN, r.script, err)
		return false
	}
	if resp.StatusCode != http.StatusOK {
		r.fail(StepCDN, r.script, &HTTPStatusError{URL: src, Status: resp.StatusCode})
		r.res.Cause = CauseCDNUnreachable
		return false
	}
	if err := checkIntegrity(integrity, body); err != nil {
		r.fail(StepCDN, r.script, fmt.Errorf("script %s: %w", src, err))
		r.res.Cause = CauseCDNUnreachable
		return false
	}
	return true
}

// checkIntegrity checks a Subresource Integrity value ("sha384-...",
// space-separated alternatives), as browsers do: a value with no
// algorithm they know passes, and one match among the known ones is
// enough.
func checkIntegrity(integrity string, body []byte) error {
	known := false
	for _, f := range strings.Fields(integrity) {
		alg, want, _ := strings.Cut(f, "-")
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			continue
		}
		known = true
		h.Write(body)
		got := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
			return nil
		}
	}
	if !known {
		return nil
	}
	return fmt.Errorf("integrity check failed: the %d bytes served do not match %q", len(body), integrity)
}

// revocation checks the certificates the portal and the CDN presented,
// each chain but its root, before the user ID is sent.
func (r *run) revocation(ctx context.Context) bool {
	if r.c.profile.Revocation == RevocationOff {
		return true
	}
	hosts := []string{r.portal}
	if r.script != r.portal {
		hosts = append(hosts, r.script)
	}
	start := time.Now()
	defer func() { r.res.RevocationDuration = time.Since(start) }()
	for _, h := range hosts {
		s, ok := r.flow.seenHost(h)
		if !ok || len(s.chain) == 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.c.profile.Timeouts.Request)
		soft := r.c.profile.Revocation == RevocationSoftFail
		sources, errs := checkChain(cctx, r.rev, h, s.chain, r.c.now(), soft)
		cancel()
		for _, source := range sources {
			r.res.addRevocationSource(source)
		}
		for _, err := range errs {
			var re *RevocationError
			if errors.As(err, &re) {
				r.res.addRevocationSource(re.Source)
			}
			if re != nil && !re.Revoked && soft {
				r.res.Warnings = append(r.res.Warnings, "soft-fail: "+err.Error())
				continue
			}
			r.fail(StepRevocation, h, err)
			return false
		}
	}
	return true
}

// flowView is the service's answer to every call.
type flowView struct {
	FlowToken     string `json:"flowToken"`
	CorrelationID string `json:"correlationId"`
	Step          string `json:"step"`
	Status        string `json:"status"`
	Gate          int    `json:"gate"`
	Methods       []struct {
		Method  string `json:"method"`
		Contact string `json:"contact"`
	} `json:"methods"`
	Method    string   `json:"method"`
	Questions []string `json:"questions"`
	Outcome   string   `json:"outcome"`
	Code      string   `json:"code"`
	Message   string   `json:"message"`
}

// call posts a JSON API call and decodes the answer into out.
func (r *run) call(ctx context.Context, step Step, name string, in, out any) bool {
	body, err := json.Marshal(in)
	if err != nil {
		r.fail(step, r.portal, err)
		return false
	}
	u := r.api(name)
	resp, b, err := r.request(ctx, r.flow, http.MethodPost, u, body)
	if err != nil {
		r.fail(step, r.portal, err)
		return false
	}
	isJSON := false
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && mt == "application/json" {
		isJSON = true
	}
	if resp.StatusCode != http.StatusOK {
		he := &HTTPStatusError{URL: u, Status: resp.StatusCode}
		var e struct {
			Error struct{ Kind, Message string } `json:"error"`
		}
		if isJSON && json.Unmarshal(b, &e) == nil {
			he.Kind, he.Message = e.Error.Kind, e.Error.Message
		}
		r.fail(step, r.portal, he)
		return false
	}
	if !isJSON || json.Unmarshal(b, out) != nil {
		r.fail(step, r.portal, &HTTPStatusError{URL: u, Status: resp.StatusCode, Kind: "not-json", Message: "the answer is not the service's JSON"})
		return false
	}
	if v, ok := out.(*flowView); ok && v.CorrelationID != "" {
		r.res.CorrelationID = v.CorrelationID
	}
	return true
}

func (r *run) begin(ctx context.Context) (*flowView, bool) {
	var cap struct {
		ID        string `json:"captchaId"`
		Challenge string `json:"challenge"`
	}
	if !r.call(ctx, StepCaptcha, "captcha", struct{}{}, &cap) {
		return nil, false
	}
	answer, err := r.c.captcha(ctx, cap.Challenge)
	if err != nil {
		r.res.Outcome, r.res.Cause, r.res.Step, r.res.Host = OutcomeCouldNotVerify, CauseVerificationFailed, StepCaptcha, r.portal
		r.res.Err = fmt.Errorf("solve the CAPTCHA: %w", err)
		return nil, false
	}
	var v flowView
	in := map[string]string{"userId": r.c.profile.UserID, "captchaId": cap.ID, "captchaAnswer": answer}
	if !r.call(ctx, StepBegin, "begin", in, &v) {
		return nil, false
	}
	if v.Status == "wrong-captcha" {
		r.res.Outcome, r.res.Step, r.res.Cause = OutcomeCouldNotVerify, StepCaptcha, CauseVerificationFailed
		r.res.Err = errors.New("the service refused the CAPTCHA answer")
		return nil, false
	}
	r.token = v.FlowToken
	return &v, true
}

// serviceOutcome records the service's refusal in v.
func (r *run) serviceOutcome(step Step, v *flowView) {
	r.res.Step, r.res.Code, r.res.Message, r.res.Host = step, v.Code, v.Message, r.portal
	if step == StepVerify {
		r.res.Gate = v.Gate
	}
	r.res.Outcome = Outcome(v.Outcome)
	switch {
	case strings.HasPrefix(v.Code, "SSPR_"):
		r.res.Cause = Cause(v.Code)
	case v.Outcome == string(OutcomeBlocked):
		r.res.Cause = CauseThrottled
	case v.Outcome == string(OutcomeWeakPassword):
		r.res.Cause = CauseWeakPassword
	case v.Code == "UserNotFound":
		r.res.Cause = CauseUserNotFound
	case v.Code == "UserDisabled":
		r.res.Cause = CauseUserDisabled
	default:
		r.res.Cause = CauseUnexpectedResponse
	}
	switch r.res.Outcome {
	case OutcomeSuccess, OutcomeContactAdmin, OutcomeNotEnabled, OutcomeCouldNotVerify, OutcomeBlocked, OutcomeWeakPassword:
	default:
		r.res.Outcome, r.res.Cause = OutcomeSomethingWentWrong, CauseUnexpectedResponse
		r.res.Err = fmt.Errorf("the service ended the flow with outcome %q", v.Outcome)
	}
}

// gate passes one verification gate.
func (r *run) gate(ctx context.Context, v *flowView) (*flowView, bool) {
	gate := v.Gate
	method, contact := r.pickMethod(v)
	if method == "" {
		offered := make([]string, 0, len(v.Methods))
		for _, m := range v.Methods {
			offered = append(offered, m.Method)
		}
		r.res.Outcome, r.res.Cause, r.res.Step, r.res.Gate, r.res.Host = OutcomeCouldNotVerify, CauseNoUsableMethod, StepVerify, gate, r.portal
		r.res.Err = fmt.Errorf("gate %d: the service offers %v; the profile allows %v", gate, offered, r.c.profile.Methods)
		return nil, false
	}
	r.used = append(r.used, method)
	r.res.Methods = append(r.res.Methods, method)
	var sent flowView
	if !r.call(ctx, StepVerify, "send", map[string]string{"flowToken": r.token, "method": method}, &sent) {
		r.res.Gate = gate
		return nil, false
	}
	if sent.Step == "failed" { // blocked when the code was sent (the phone throttle)
		r.serviceOutcome(StepVerify, &sent)
		r.res.Gate = gate
		return nil, false
	}
	if sent.Step != "verify" {
		return &sent, true // moved on
	}
	if r.c.codes == nil {
		r.res.Outcome, r.res.Cause, r.res.Step, r.res.Gate, r.res.Err = OutcomeCouldNotVerify, CauseVerificationFailed, StepVerify, gate, errNoCodeSource
		return nil, false
	}
	answer, err := r.c.codes.Respond(ctx, Challenge{UserID: r.c.profile.UserID, Method: method, Contact: contact,
		Questions: sent.Questions, Gate: gate, CorrelationID: r.res.CorrelationID, FlowToken: r.token})
	if err != nil {
		r.res.Outcome, r.res.Cause, r.res.Step, r.res.Gate = OutcomeCouldNotVerify, CauseVerificationFailed, StepVerify, gate
		r.res.Err = fmt.Errorf("gate %d (%s): no answer: %w", gate, method, err)
		return nil, false
	}
	in := map[string]any{"flowToken": r.token, "method": method}
	if answer.Code != "" {
		in["code"] = answer.Code
	}
	if answer.Answers != nil {
		in["answers"] = answer.Answers
	}
	parent := ctx
	if method == methodAppNotification {
		// Windows stops waiting for an answer in the app after a while.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.c.notifyWait)
		defer cancel()
	}
	unanswered := func() {
		r.res.Outcome, r.res.Cause, r.res.Step, r.res.Gate, r.res.Host = OutcomeCouldNotVerify, CauseVerificationFailed, StepVerify, gate, r.portal
		r.res.Err = fmt.Errorf("gate %d: the Authenticator notification was not answered within %s", gate, r.c.notifyWait)
	}
	for {
		var got flowView
		if !r.call(ctx, StepVerify, "verify", in, &got) {
			if ctx.Err() != nil && parent.Err() == nil {
				unanswered()
				return nil, false
			}
			r.res.Gate = gate
			return nil, false
		}
		switch {
		case got.Status == "pending":
			t := time.NewTimer(r.c.poll)
			select {
			case <-ctx.Done():
				t.Stop()
				if parent.Err() != nil {
					r.fail(StepVerify, r.portal, parent.Err())
					r.res.Gate = gate
					return nil, false
				}
				unanswered()
				return nil, false
			case <-t.C:
			}
			continue
		case got.Step == "verify" && got.Gate == gate && got.Status != "ok":
			r.res.Outcome, r.res.Cause, r.res.Step, r.res.Gate, r.res.Host = OutcomeCouldNotVerify, CauseVerificationFailed, StepVerify, gate, r.portal
			r.res.Err = fmt.Errorf("gate %d (%s): the service answered %q", gate, method, got.Status)
			return nil, false
		case got.Step == "failed":
			r.serviceOutcome(StepVerify, &got)
			r.res.Gate = gate
			return nil, false
		}
		return &got, true
	}
}

// pickMethod chooses the method for a gate: the profile's first choice
// the service offers and the flow has not used (the app's two methods
// count as one), never the app on the Windows 7/8.1 add-in.
func (r *run) pickMethod(v *flowView) (method, contact string) {
	offered := map[string]string{}
	var order []string
	for _, m := range v.Methods {
		offered[m.Method] = m.Contact
		order = append(order, m.Method)
	}
	if len(r.c.profile.Methods) > 0 {
		order = r.c.profile.Methods
	}
	isApp := func(m string) bool { return m == methodAppCode || m == methodAppNotification }
	for _, m := range order {
		c, ok := offered[m]
		if !ok || slices.Contains(r.used, m) || (r.c.profile.legacyAddin() && isApp(m)) {
			continue
		}
		if isApp(m) && slices.ContainsFunc(r.used, isApp) {
			continue
		}
		return m, c
	}
	return "", ""
}

// password sets the new password.
func (r *run) password(ctx context.Context, v *flowView) (*flowView, bool) {
	var got flowView
	if !r.call(ctx, StepPassword, "password", map[string]string{"flowToken": r.token, "newPassword": r.c.profile.NewPassword}, &got) {
		return nil, false
	}
	switch {
	case got.Step == "failed" || got.Outcome == string(OutcomeWeakPassword):
		r.serviceOutcome(StepPassword, &got)
		return nil, false
	case got.Step == "password":
		r.res.Outcome, r.res.Cause, r.res.Step, r.res.Host = OutcomeSomethingWentWrong, CauseUnexpectedResponse, StepPassword, r.portal
		r.res.Err = fmt.Errorf("the service kept the flow at the password step (status %q)", got.Status)
		return nil, false
	}
	return &got, true
}

// schannelSuites are the TLS 1.0-1.2 cipher suites Windows' Schannel
// offers that Go implements, in Schannel's order: ECDHE with AES-GCM, the
// ECDHE CBC suites TLS 1.0 and 1.1 need, then RSA key exchange, which Go
// leaves out by default but Windows still offers (an old load balancer or
// inspection device may speak nothing else).
func schannelSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	}
}
