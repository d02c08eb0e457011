package mock

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Outcomes: what the user sees, in the project's diagnosis vocabulary.
const (
	OutcomeSuccess        = "success"
	OutcomeContactAdmin   = "contact-admin"
	OutcomeNotEnabled     = "not-enabled"
	OutcomeCouldNotVerify = "could-not-verify"
	OutcomeBlocked        = "blocked"
	OutcomeWeakPassword   = "weak-password"
)

// The SSPR error codes the service gives, with the screen's text.
const (
	CodeTenantDisabled       = "SSPR_0009" // TenantSSPRFlagDisabled
	CodeWritebackDisabled    = "SSPR_0010" // WritebackNotEnabled
	CodeNoPolicy             = "SSPR_0011"
	CodeUserNotLicensed      = "SSPR_0012" // UserNotLicensed
	CodeNotInGroup           = "SSPR_0013"
	CodeNotRegistered        = "SSPR_0014" // UserNotProperlyConfigured
	CodeOnPremAdminAction    = "SSPR_0029" // OnPremisesAdminActionRequired
	CodeOnPremConnectivity   = "SSPR_0030" // OnPremisesConnectivityError
	CodeUserNotFound         = "UserNotFound"
	CodeUserDisabled         = "UserDisabled"
	CodeBlocked              = "UserBlocked"
	CodeFuzzyPolicyViolation = "FuzzyPolicyViolationInvalidPassword"
)

var outcomeMessages = map[string]string{
	OutcomeSuccess:        "Your password has been reset.",
	OutcomeContactAdmin:   "Please contact your administrator.",
	OutcomeNotEnabled:     "Your account is not enabled for password reset.",
	OutcomeCouldNotVerify: "We couldn't verify your account.",
	OutcomeBlocked:        "You've tried to reset your password too many times. Your account is blocked from self-service password reset for 24 hours.",
	OutcomeWeakPassword:   "The password you chose is too easy to guess. Please choose a password that is harder to guess.",
}

// Flow steps.
const (
	StepVerify   = "verify"   // pass a verification gate
	StepPassword = "password" // choose the new password
	StepDone     = "done"     // reset
	StepFailed   = "failed"   // ended with an outcome other than success
)

// Statuses of a single call within a step.
const (
	StatusOK                = "ok"
	StatusWrongCaptcha      = "wrong-captcha"
	StatusCodeSent          = "code-sent"
	StatusQuestions         = "questions"
	StatusPending           = "pending" // notification not answered yet
	StatusDenied            = "denied"  // notification denied
	StatusWrongCode         = "wrong-code"
	StatusTooManyWrongCodes = "too-many-wrong-codes" // the challenge is cancelled: send a new code
	StatusWrongAnswers      = "wrong-answers"
	StatusCodeExpired       = "code-expired"
	StatusGateAdded         = "gate-added" // the tenant now needs another gate: verify again first
	StatusPasswordBad       = "password-rejected"
)

// MaxWrongCodes is how many wrong codes one email or authenticator-code
// challenge takes: the last of them cancels it, and the user must send a
// new code. SMS and voice codes are bounded by the phone throttle instead.
const MaxWrongCodes = 5

// passwordRulesMessage is what the user sees when a password is too short,
// too long or too simple.
var passwordRulesMessage = fmt.Sprintf("Your password must have %d to %d characters and use three of: lower-case letters, upper-case letters, numbers and symbols.",
	DefaultPasswordMinLength, DefaultPasswordMaxLength)

// MethodOption is a method the flow offers, with the contact data masked
// as the portal shows it.
type MethodOption struct {
	Method  Method `json:"method"`
	Contact string `json:"contact,omitempty"`
}

// FlowView is what the service answers after every call: where the flow
// stands and what the user sees. It never holds a code, an answer or a
// password.
type FlowView struct {
	FlowToken     string         `json:"flowToken,omitempty"`
	CorrelationID string         `json:"correlationId,omitempty"`
	Step          string         `json:"step,omitempty"`
	Status        string         `json:"status"`
	Gate          int            `json:"gate,omitempty"`
	GatesRequired int            `json:"gatesRequired,omitempty"`
	Methods       []MethodOption `json:"methods,omitempty"`
	Method        Method         `json:"method,omitempty"` // the method under way
	Questions     []string       `json:"questions,omitempty"`
	Outcome       string         `json:"outcome,omitempty"`
	Code          string         `json:"code,omitempty"`
	Message       string         `json:"message,omitempty"`
	Reason        string         `json:"reason,omitempty"` // why a password was rejected
}

// Captcha is a challenge the user must copy back. The lab's is plain text:
// what matters is that the flow needs it, not that a robot cannot read it.
type Captcha struct {
	ID        string `json:"captchaId"`
	Challenge string `json:"challenge"`
}

// request describes who is calling, for the audit log.
type request struct {
	clientIP   string
	clientType string
}

// ClientTypeHeader names the client in a JSON API request; the portal takes
// the same values from its "client" query or form field.
const ClientTypeHeader = "X-SSPR-Client"

func clientTypeValid(t string) bool {
	return t == ClientBrowser || t == ClientWindowsLogon || t == ClientWindows7Addin
}

func requestInfo(r *http.Request, clientType string) (request, *apiError) {
	if clientType == "" {
		clientType = ClientBrowser
	}
	if !clientTypeValid(clientType) {
		return request{}, badRequest("clientType", "unknown client type %q (want browser, windows-logon or windows7-addin)", clientType)
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return request{clientIP: ip, clientType: clientType}, nil
}

type flow struct {
	token, correlation string
	upn                string
	req                request
	expires            time.Time
	step               string
	gates              int
	usable             []Method
	passed             []Method
	ch                 *challenge
	outcome, code      string

	// node is the flow's place in the service's list of flows under way
	// (s.live) or, once it ended, of ended flows (s.ended); ended is when.
	node  *elem[*flow]
	ended time.Time
}

// challenge is the verification under way. A code is kept only as its
// SHA-256, so that not even the flow's memory holds it.
type challenge struct {
	method    Method
	codeHash  [32]byte
	expires   time.Time
	questions []string // the security questions asked, by their text
	wrong     int      // wrong email or app codes so far
}

// captchaAlphabet has 32 symbols, so that a random byte modulo its length
// picks each with the same chance.
const captchaAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewCaptcha issues a single-use captcha.
func (s *Service) NewCaptcha() (Captcha, error) {
	id, err := randomToken()
	if err != nil {
		return Captcha{}, err
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return Captcha{}, fmt.Errorf("captcha: %w", err)
	}
	for i := range b {
		b[i] = captchaAlphabet[int(b[i])%len(captchaAlphabet)]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.captchas.issue(id, string(b), s.clock.Now())
	return Captcha{ID: id, Challenge: string(b)}, nil
}

// CaptchaAnswer returns the text of the CAPTCHA id while it can still be
// used: the portal shows it only as a picture, and the lab reads it here
// to automate the page (the JSON API's [Captcha] carries it as Challenge).
func (s *Service) CaptchaAnswer(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.captchas.peek(id, s.clock.Now())
	if !ok {
		return "", false
	}
	return c.answer, true
}

// begin starts a flow: "Get back into your account".
func (s *Service) begin(req request, userID, captchaID, captchaAnswer string) (*FlowView, *apiError) {
	upn := strings.ToLower(strings.TrimSpace(userID))
	if upn == "" {
		return nil, badRequest("userId", "required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	c, ok := s.captchas.take(captchaID, now) // single use, right or wrong
	if !ok || !strings.EqualFold(strings.TrimSpace(captchaAnswer), c.answer) {
		return &FlowView{Status: StatusWrongCaptcha, Message: "The characters you entered didn't match. Please try again."}, nil
	}
	token, err := randomToken()
	if err != nil {
		return nil, internalError(err)
	}
	corr, err := randomToken()
	if err != nil {
		return nil, internalError(err)
	}
	f := &flow{token: token, correlation: corr, upn: upn, req: req, expires: now.Add(s.flowTTL), step: StepVerify}
	s.addFlowLocked(f, now)

	u, t := s.users[upn], (*Tenant)(nil)
	if u != nil {
		t = s.tenants[u.Tenant]
	}
	if u == nil || t == nil {
		// Nothing to audit: there is no such user.
		f.step, f.outcome, f.code = StepFailed, OutcomeCouldNotVerify, CodeUserNotFound
		s.flowEndedLocked(f, now)
		return s.answerLocked("begin", f, StatusOK), nil
	}
	s.audit.add(s.auditEntry(f, ActivityProgress, ResultSuccess, "User started the password reset flow", now))
	if blk, ok := s.thr.blockedAt(upn, now); ok {
		s.endLocked(f, OutcomeBlocked, CodeBlocked, blockedReason(blk), now)
		return s.answerLocked("begin", f, StatusOK), nil
	}
	usable, why := eligible(t, u, req.clientType, t.Gates)
	if why != nil {
		s.endLocked(f, why.outcome, why.code, why.reason, now)
		return s.answerLocked("begin", f, StatusOK), nil
	}
	f.gates, f.usable = t.Gates, usable
	return s.answerLocked("begin", f, StatusOK), nil
}

func blockedReason(blk Block) string {
	return "User is blocked from self-service password reset until " + blk.Until.UTC().Format(time.RFC3339)
}

// refusal is why a user cannot, or can no longer, reset: the outcome and
// code the user sees, and the audit log's reason.
type refusal struct{ outcome, code, reason string }

// eligible checks the user against the tenant's policy, in the documented
// order, for a flow that needs gates. It returns the methods the user can
// use, or why the user cannot reset.
func eligible(t *Tenant, u *User, clientType string, gates int) ([]Method, *refusal) {
	switch {
	case t.SSPR == SSPROff:
		return nil, &refusal{OutcomeNotEnabled, CodeTenantDisabled, "Self-service password reset is not enabled for the tenant"}
	case t.SSPR == SSPRSelected && t.EnabledGroup == "":
		return nil, &refusal{OutcomeNotEnabled, CodeNoPolicy, "No password reset policy applies to the user"}
	case !u.IsLicensed():
		return nil, &refusal{OutcomeNotEnabled, CodeUserNotLicensed, "User is not licensed for self-service password reset"}
	case t.SSPR == SSPRSelected && !u.IsInEnabledGroup():
		return nil, &refusal{OutcomeNotEnabled, CodeNotInGroup, "User is not a member of the group enabled for self-service password reset"}
	case !u.IsEnabled():
		return nil, &refusal{OutcomeContactAdmin, CodeUserDisabled, "User account is disabled"}
	}
	usable := usableMethods(t, u, clientType, gates)
	if gatesAvailable(usable) < gates {
		reason := "User is not registered for enough verification methods"
		if clientType == ClientWindows7Addin && slices.ContainsFunc(u.Registered(), Method.isApp) {
			reason += " usable from the Windows 7 sign-in add-in, which does not support the authenticator app"
		}
		return nil, &refusal{OutcomeCouldNotVerify, CodeNotRegistered, reason}
	}
	if u.PasswordSource == PasswordOnPremises && t.Writeback == WritebackOff {
		return nil, &refusal{OutcomeContactAdmin, CodeWritebackDisabled, "User's password is managed on-premises"}
	}
	return usable, nil
}

// usableMethods are the user's registered methods that the tenant's
// policy enables and the client supports. With one gate the authenticator
// app can only give a code (notifications need two gates); the Windows 7
// add-in supports no authenticator method; the security questions need as
// many registered questions as the policy asks.
func usableMethods(t *Tenant, u *User, clientType string, gates int) []Method {
	var out []Method
	for _, m := range u.Registered() {
		switch {
		case len(t.AllowedMethods) > 0 && !slices.Contains(t.AllowedMethods, m):
		case clientType == ClientWindows7Addin && m.isApp():
		case gates == 1 && m == MethodAppNotification:
		case m == MethodSecurityQuestions && len(u.Methods.SecurityQuestions) < t.QuestionsRequired:
		default:
			out = append(out, m)
		}
	}
	return out
}

// gatesAvailable counts how many gates the methods can pass: the app's
// two methods count once, and the app cannot be the only method.
func gatesAvailable(ms []Method) int {
	n, app := 0, false
	for _, m := range ms {
		if m.isApp() {
			app = true
		} else {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	if app {
		n++
	}
	return n
}

// flowForLocked returns the flow for token, ready for a call (op) of the
// wanted step, with its user and tenant, or the error to answer with. It
// must be called with s.mu held.
//
// Before it looks at the step, it checks the user again as the throttle
// and the directory stand now: a block, or a change that makes the user
// ineligible (the checks of begin), ends the flow; when the tenant now
// needs more gates than the flow has passed, a flow at the password step
// goes back to verification. Gates never drop during a flow; a gate
// passed stays passed. In those cases answer is the view to answer the
// call with, and the step does not run.
func (s *Service) flowForLocked(op, token, step string, now time.Time) (f *flow, u *User, t *Tenant, answer *FlowView, aerr *apiError) {
	if token == "" {
		return nil, nil, nil, nil, badRequest("flowToken", "required")
	}
	f, ok := s.flows[token]
	if !ok {
		return nil, nil, nil, nil, &apiError{Status: http.StatusNotFound, Kind: "unknown-flow", Message: "unknown flow token", Field: "flowToken"}
	}
	if now.After(f.expires) {
		return nil, nil, nil, nil, &apiError{Status: http.StatusGone, Kind: "flow-expired", Message: "the flow has expired; start again", Field: "flowToken"}
	}
	outOfOrder := func() (*flow, *User, *Tenant, *FlowView, *apiError) {
		return nil, nil, nil, nil, &apiError{Status: http.StatusConflict, Kind: "out-of-order",
			Message: fmt.Sprintf("the flow is at step %q, not %q", f.step, step)}
	}
	if f.step == StepDone || f.step == StepFailed {
		return outOfOrder()
	}
	u = s.users[f.upn]
	if u == nil || s.tenants[u.Tenant] == nil {
		return nil, nil, nil, nil, &apiError{Status: http.StatusConflict, Kind: "user-removed", Message: "the user or their tenant was removed from the directory during the flow"}
	}
	t = s.tenants[u.Tenant]
	if blk, ok := s.thr.blockedAt(f.upn, now); ok {
		s.endLocked(f, OutcomeBlocked, CodeBlocked, blockedReason(blk), now)
		return f, u, t, s.answerLocked(op, f, StatusOK), nil
	}
	gates := max(f.gates, t.Gates)
	usable, why := eligible(t, u, f.req.clientType, gates)
	if why != nil {
		s.endLocked(f, why.outcome, why.code, why.reason, now)
		return f, u, t, s.answerLocked(op, f, StatusOK), nil
	}
	f.gates, f.usable = gates, usable
	if f.step == StepPassword && len(f.passed) < f.gates {
		f.step = StepVerify
		s.audit.add(s.auditEntry(f, ActivityProgress, ResultSuccess,
			fmt.Sprintf("The policy now requires %d verification gates: user must pass another", f.gates), now))
		if step == StepPassword {
			return f, u, t, s.answerLocked(op, f, StatusGateAdded), nil
		}
	}
	if f.step != step {
		return outOfOrder()
	}
	return f, u, t, nil, nil
}

// addFlowLocked keeps a new flow, after letting go of the flows whose
// time is up and, at the retention's limit, of the flow that ended first
// (or, when none has ended, of the oldest under way).
func (s *Service) addFlowLocked(f *flow, now time.Time) {
	s.purgeFlowsLocked(now)
	for s.live.len()+s.ended.len() >= s.retention.Flows {
		oldest := s.ended.front()
		if oldest == nil {
			oldest = s.live.front()
		}
		s.dropFlowLocked(oldest.v)
		s.flowsDropped++
	}
	s.flows[f.token] = f
	f.node = s.live.pushBack(f)
}

// flowEndedLocked moves a flow that has just ended (done or failed) to the
// ended flows, where it stays EndedFlowTTL. What only a flow under way
// needs goes now.
func (s *Service) flowEndedLocked(f *flow, now time.Time) {
	// Flows expired by now ended before this one: they go first, so
	// that the ended flows stay in the order they ended.
	s.expireFlowsLocked(now)
	if f.ended.IsZero() {
		s.moveToEndedLocked(f, now)
	}
	f.usable, f.passed, f.ch = nil, nil, nil
}

func (s *Service) moveToEndedLocked(f *flow, at time.Time) {
	f.node.remove()
	f.ended = at
	f.node = s.ended.pushBack(f)
	s.app.forgetFlow(f.token)
}

// expireFlowsLocked ends the flows under way whose time is up: they ended
// when they expired. Flows under way are in the order they began, and so
// in the order they expire (all live the same flow TTL).
func (s *Service) expireFlowsLocked(now time.Time) {
	for e := s.live.front(); e != nil && now.After(e.v.expires); e = s.live.front() {
		s.moveToEndedLocked(e.v, e.v.expires)
	}
}

// purgeFlowsLocked ends the flows whose time is up, then lets go of the
// flows that ended more than EndedFlowTTL ago. After the clock was set
// back, flows may go later than their time, never earlier: each list is
// walked from its front only as far as the first flow whose time is not
// up.
func (s *Service) purgeFlowsLocked(now time.Time) {
	s.expireFlowsLocked(now)
	for e := s.ended.front(); e != nil && now.Sub(e.v.ended) > s.retention.EndedFlowTTL; e = s.ended.front() {
		s.dropFlowLocked(e.v)
		s.flowsExpired++
	}
}

// dropFlowLocked forgets a flow: its token is then unknown.
func (s *Service) dropFlowLocked(f *flow) {
	f.node.remove()
	delete(s.flows, f.token)
	s.app.forgetFlow(f.token)
}

// send starts verification with a method: sends a code, pushes a
// notification, or asks the security questions.
func (s *Service) send(token string, m Method) (*FlowView, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	f, u, t, answer, aerr := s.flowForLocked("send", token, StepVerify, now)
	if aerr != nil || answer != nil {
		return answer, aerr
	}
	if aerr := f.methodAllowed(m, u, t); aerr != nil {
		return nil, aerr
	}
	ch := &challenge{method: m, expires: now.Add(DefaultCodeTTL)}
	status := StatusCodeSent
	switch m {
	case MethodEmail, MethodSMS, MethodVoice:
		if m != MethodEmail {
			if blk, blocked := s.thr.hit(f.upn, bucketPhone, now, ""); blocked {
				s.blockLocked(f, blk, now)
				return s.answerLocked("send", f, StatusOK), nil
			}
		}
		code, err := randomCode(6)
		if err != nil {
			return nil, internalError(err)
		}
		ch.codeHash = sha256.Sum256([]byte(code))
		to, text := u.Methods.Email, "Your Microsoft account verification code is "+code+"."
		switch m {
		case MethodSMS:
			to, text = u.Methods.SMS, "Use verification code "+code+" for Microsoft authentication."
		case MethodVoice:
			to, text = u.Methods.Voice, "Your verification code is "+spaced(code)+". Again, your code is "+spaced(code)+"."
		}
		s.outbox.add(Message{Time: now, Channel: m, UPN: f.upn, To: to, Code: code, Text: text, CorrelationID: f.correlation})
	case MethodAppNotification:
		s.app.notify(f.upn, f.token)
		status = StatusPending
	case MethodAppCode:
		status = StatusOK
	case MethodSecurityQuestions:
		// methodAllowed made sure the user has enough questions.
		for _, q := range u.Methods.SecurityQuestions[:t.QuestionsRequired] {
			ch.questions = append(ch.questions, q.Question)
		}
		status = StatusQuestions
	}
	f.ch = ch
	return s.answerLocked("send", f, status), nil
}

func spaced(code string) string { return strings.Join(strings.Split(code, ""), " ") }

// methodAllowed says whether the flow may verify with m now.
func (f *flow) methodAllowed(m Method, u *User, t *Tenant) *apiError {
	if !m.valid() {
		return badRequest("method", "unknown method %q (want one of %s)", m, methodNames())
	}
	if !slices.Contains(f.usable, m) {
		msg := fmt.Sprintf("method %q is not available to this user in this flow", m)
		if m == MethodSecurityQuestions && u.registered(m) && len(u.Methods.SecurityQuestions) < t.QuestionsRequired {
			msg = fmt.Sprintf("the user has %d security questions registered and the policy asks %d", len(u.Methods.SecurityQuestions), t.QuestionsRequired)
		}
		return &apiError{Status: http.StatusConflict, Kind: "method-unavailable", Field: "method", Message: msg}
	}
	if f.passedLike(m) {
		return &apiError{Status: http.StatusConflict, Kind: "method-used", Field: "method",
			Message: fmt.Sprintf("method %q already passed a gate in this flow; choose another", m)}
	}
	return nil
}

// passedLike reports whether m, or the app's other method, passed a gate.
func (f *flow) passedLike(m Method) bool {
	return slices.ContainsFunc(f.passed, func(p Method) bool { return p == m || (p.isApp() && m.isApp()) })
}

// verify checks the user's answer to the challenge under way. send
// checked the method; verify checks only what may have changed since.
func (s *Service) verify(token string, m Method, code string, answers []string) (*FlowView, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	f, u, _, answer, aerr := s.flowForLocked("verify", token, StepVerify, now)
	if aerr != nil || answer != nil {
		return answer, aerr
	}
	if f.ch == nil || f.ch.method != m {
		if !m.valid() {
			return nil, badRequest("method", "unknown method %q (want one of %s)", m, methodNames())
		}
		return nil, &apiError{Status: http.StatusConflict, Kind: "out-of-order", Field: "method",
			Message: fmt.Sprintf("no verification with %q is under way: send it first", m)}
	}
	if !slices.Contains(f.usable, m) {
		f.ch = nil
		return nil, &apiError{Status: http.StatusConflict, Kind: "method-unavailable", Field: "method",
			Message: fmt.Sprintf("method %q is no longer available to this user: the directory changed during the flow", m)}
	}
	switch m {
	case MethodEmail, MethodSMS, MethodVoice:
		if code == "" {
			return nil, badRequest("code", "required for method %q", m)
		}
		if now.After(f.ch.expires) {
			f.ch = nil
			return s.answerLocked("verify", f, StatusCodeExpired), nil
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(code)))
		if subtle.ConstantTimeCompare(sum[:], f.ch.codeHash[:]) != 1 {
			if m != MethodEmail {
				reason := wrongSMSReason
				if m == MethodVoice {
					reason = wrongVoiceReason
				}
				if blk, blocked := s.thr.hit(f.upn, bucketPhone, now, reason); blocked {
					s.blockLocked(f, blk, now)
					return s.answerLocked("verify", f, StatusOK), nil
				}
			}
			return s.answerLocked("verify", f, s.wrongCodeLocked(f, now)), nil
		}
	case MethodAppCode:
		if code == "" {
			return nil, badRequest("code", "required for method %q", m)
		}
		if !s.app.checkCode(f.upn, strings.TrimSpace(code)) {
			return s.answerLocked("verify", f, s.wrongCodeLocked(f, now)), nil
		}
	case MethodAppNotification:
		switch s.app.take(f.token) {
		case NotificationPending:
			return s.answerLocked("verify", f, StatusPending), nil
		case NotificationDenied:
			f.ch = nil
			s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User denied the authenticator app notification", now))
			return s.answerLocked("verify", f, StatusDenied), nil
		}
	case MethodSecurityQuestions:
		if len(f.ch.questions) == 0 {
			f.ch = nil
			return nil, &apiError{Status: http.StatusConflict, Kind: "out-of-order", Field: "method", Message: "no security questions were asked: send them first"}
		}
		if len(answers) != len(f.ch.questions) {
			return nil, badRequest("answers", "want %d answers, got %d", len(f.ch.questions), len(answers))
		}
		want := make([]string, len(f.ch.questions))
		for i, q := range f.ch.questions {
			j := slices.IndexFunc(u.Methods.SecurityQuestions, func(r SecurityQuestion) bool { return r.Question == q })
			if j < 0 {
				f.ch = nil
				return nil, &apiError{Status: http.StatusConflict, Kind: "method-unavailable", Field: "method",
					Message: "the user's security questions changed during the flow: send them again"}
			}
			want[i] = u.Methods.SecurityQuestions[j].Answer
		}
		if blk, blocked := s.thr.hit(f.upn, bucketQuestions, now, ""); blocked {
			s.blockLocked(f, blk, now)
			return s.answerLocked("verify", f, StatusOK), nil
		}
		for i := range want {
			if !answerMatches(want[i], answers[i]) {
				s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User entered incorrect answers to security questions", now))
				return s.answerLocked("verify", f, StatusWrongAnswers), nil
			}
		}
	}
	f.passed = append(f.passed, m)
	f.ch = nil
	s.audit.add(s.auditEntry(f, ActivityProgress, ResultSuccess, fmt.Sprintf("User passed verification gate %d with %s", len(f.passed), m), now))
	if len(f.passed) >= f.gates {
		f.step = StepPassword
	}
	return s.answerLocked("verify", f, StatusOK), nil
}

// wrongCodeLocked audits a wrong code and returns the call's status. An
// email or app-code challenge takes MaxWrongCodes wrong codes: the last
// cancels it.
func (s *Service) wrongCodeLocked(f *flow, now time.Time) string {
	m := f.ch.method
	s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User entered an invalid verification code ("+string(m)+")", now))
	if m != MethodEmail && m != MethodAppCode {
		return StatusWrongCode
	}
	f.ch.wrong++
	if f.ch.wrong < MaxWrongCodes {
		return StatusWrongCode
	}
	f.ch = nil
	s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure,
		fmt.Sprintf("User entered %d invalid verification codes (%s); the verification was cancelled", MaxWrongCodes, m), now))
	return StatusTooManyWrongCodes
}

func answerMatches(want, got string) bool {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	return subtle.ConstantTimeCompare([]byte(norm(want)), []byte(norm(got))) == 1
}

// setPassword sets the new password: "Create a new password".
func (s *Service) setPassword(token, password string) (*FlowView, *apiError) {
	if password == "" {
		return nil, badRequest("newPassword", "required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	f, u, t, answer, aerr := s.flowForLocked("password", token, StepPassword, now)
	if aerr != nil || answer != nil {
		return answer, aerr
	}
	policy := PasswordPolicy{TenantNames: nonEmpty(t.ID, t.Name), CustomBanned: t.BannedPasswords}
	verdict := policy.Check(password, PasswordUser{UPN: u.UPN, DisplayName: u.DisplayName, GivenName: u.GivenName, Surname: u.Surname})
	if !verdict.OK {
		code, msg := "", passwordRulesMessage
		if verdict.Reason == PasswordBanned {
			code, msg = CodeFuzzyPolicyViolation, outcomeMessages[OutcomeWeakPassword]
		}
		s.audit.add(s.auditEntry(f, ActivityReset, ResultFailure, "User chose a password that does not meet the password policy: "+verdict.Reason, now))
		v := s.viewLocked(f, StatusPasswordBad)
		v.Outcome, v.Code, v.Message, v.Reason = OutcomeWeakPassword, code, msg, verdict.Reason
		s.logViewLocked("password", f, v)
		return v, nil
	}
	if u.PasswordSource == PasswordOnPremises {
		switch t.Writeback {
		case WritebackBroken:
			s.endLocked(f, OutcomeContactAdmin, CodeOnPremConnectivity, "Password writeback could not reach the on-premises directory", now)
			return s.answerLocked("password", f, StatusOK), nil
		case WritebackAdminActionRequired:
			s.endLocked(f, OutcomeContactAdmin, CodeOnPremAdminAction, "The on-premises directory refused the password: administrator action required", now)
			return s.answerLocked("password", f, StatusOK), nil
		}
	}
	if blk, blocked := s.thr.hit(f.upn, bucketReset, now, ""); blocked {
		s.blockLocked(f, blk, now)
		return s.answerLocked("password", f, StatusOK), nil
	}
	f.step, f.outcome, f.ch = StepDone, OutcomeSuccess, nil
	s.flowEndedLocked(f, now)
	s.audit.add(s.auditEntry(f, ActivityReset, ResultSuccess, "User successfully reset password", now))
	return s.answerLocked("password", f, StatusOK), nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// endLocked ends a flow with a failure outcome and audits it.
func (s *Service) endLocked(f *flow, outcome, code, reason string, now time.Time) {
	f.step, f.outcome, f.code, f.ch = StepFailed, outcome, code, nil
	s.flowEndedLocked(f, now)
	s.audit.add(s.auditEntry(f, ActivityReset, ResultFailure, reason, now))
}

func (s *Service) blockLocked(f *flow, blk Block, now time.Time) {
	s.audit.add(s.auditEntry(f, ActivityBlocked, ResultFailure, blk.Reason, now))
	s.endLocked(f, OutcomeBlocked, CodeBlocked, blk.Reason, now)
}

func (s *Service) auditEntry(f *flow, activity, result, reason string, now time.Time) AuditEntry {
	return AuditEntry{Time: now, Activity: activity, Result: result, ResultReason: reason, TargetUser: f.upn,
		ClientIP: f.req.clientIP, ClientType: f.req.clientType, CorrelationID: f.correlation}
}

// answerLocked renders the flow's state as the answer to a call (op), and
// logs it.
func (s *Service) answerLocked(op string, f *flow, status string) *FlowView {
	v := s.viewLocked(f, status)
	s.logViewLocked(op, f, v)
	return v
}

// logViewLocked logs a call's answer at debug level: who, which call, where
// the flow stands. Never a code, an answer or a password.
func (s *Service) logViewLocked(op string, f *flow, v *FlowView) {
	s.logger.Debug("mock: flow step", "op", op, "upn", f.upn, "step", v.Step, "status", v.Status,
		"outcome", v.Outcome, "errorCode", v.Code, "correlationId", f.correlation)
}

// viewLocked renders the flow's state for the client.
func (s *Service) viewLocked(f *flow, status string) *FlowView {
	v := &FlowView{FlowToken: f.token, CorrelationID: f.correlation, Step: f.step, Status: status,
		GatesRequired: f.gates, Outcome: f.outcome, Code: f.code}
	if f.outcome != "" {
		v.Message = outcomeMessages[f.outcome]
	}
	if f.step == StepVerify {
		v.Gate = len(f.passed) + 1
		u := s.users[f.upn]
		for _, m := range f.usable {
			if u != nil && !f.passedLike(m) {
				v.Methods = append(v.Methods, MethodOption{Method: m, Contact: maskContact(u, m)})
			}
		}
		if f.ch != nil {
			v.Method, v.Questions = f.ch.method, slices.Clone(f.ch.questions)
		}
	}
	return v
}

// maskContact shows contact data as the portal does: "+X XXXXXXXX12",
// "ad*****@contoso.com".
func maskContact(u *User, m Method) string {
	switch m {
	case MethodEmail:
		local, dom, ok := strings.Cut(u.Methods.Email, "@")
		if !ok {
			return ""
		}
		keep := min(2, len(local))
		return local[:keep] + strings.Repeat("*", max(len(local)-keep, 3)) + "@" + dom
	case MethodSMS, MethodVoice:
		p := u.Methods.SMS
		if m == MethodVoice {
			p = u.Methods.Voice
		}
		return maskPhone(p)
	}
	return ""
}

// maskPhone hides every digit of a phone number but the last two, and
// keeps its country code and grouping: "+1 4255550100" is "+1 XXXXXXXX00".
func maskPhone(p string) string {
	p = strings.TrimSpace(p)
	prefix, rest := "", p
	if cc, national, ok := strings.Cut(p, " "); ok && strings.HasPrefix(cc, "+") {
		prefix, rest = cc+" ", national
	}
	digits := strings.Count(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '0'
		}
		return -1
	}, rest), "0")
	keep := 2
	if digits <= keep {
		keep = 0
	}
	var b strings.Builder
	b.WriteString(prefix)
	seen := 0
	for _, r := range rest {
		if r >= '0' && r <= '9' {
			if seen++; seen <= digits-keep {
				r = 'X'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
