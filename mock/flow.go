package mock

import (
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
	StatusOK           = "ok"
	StatusWrongCaptcha = "wrong-captcha"
	StatusCodeSent     = "code-sent"
	StatusQuestions    = "questions"
	StatusPending      = "pending" // notification not answered yet
	StatusDenied       = "denied"  // notification denied
	StatusWrongCode    = "wrong-code"
	StatusWrongAnswers = "wrong-answers"
	StatusCodeExpired  = "code-expired"
	StatusPasswordBad  = "password-rejected"
)

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

type captcha struct {
	answer  string
	expires time.Time
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
}

// challenge is the verification under way. A code is kept only as its
// SHA-256, so that not even the flow's memory holds it.
type challenge struct {
	method    Method
	codeHash  [32]byte
	expires   time.Time
	questions []int
}

// NewCaptcha issues a single-use captcha.
func (s *Service) NewCaptcha() (Captcha, error) {
	id, err := randomToken()
	if err != nil {
		return Captcha{}, err
	}
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	code, err := randomCode(6)
	if err != nil {
		return Captcha{}, err
	}
	var b strings.Builder
	for i := range 6 {
		b.WriteByte(alphabet[(int(code[i]-'0')*7+i*5)%len(alphabet)])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for k, c := range s.captchas {
		if now.After(c.expires) {
			delete(s.captchas, k)
		}
	}
	s.captchas[id] = captcha{answer: b.String(), expires: now.Add(DefaultCaptchaTTL)}
	return Captcha{ID: id, Challenge: b.String()}, nil
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
	c, ok := s.captchas[captchaID]
	delete(s.captchas, captchaID) // single use, right or wrong
	if !ok || now.After(c.expires) || !strings.EqualFold(strings.TrimSpace(captchaAnswer), c.answer) {
		return &FlowView{Status: StatusWrongCaptcha, Message: "The characters you entered didn't match. Please try again."}, nil
	}
	s.purgeFlowsLocked(now)
	token, err := randomToken()
	if err != nil {
		return nil, internalError(err)
	}
	corr, err := randomToken()
	if err != nil {
		return nil, internalError(err)
	}
	f := &flow{token: token, correlation: corr, upn: upn, req: req, expires: now.Add(s.flowTTL), step: StepVerify}
	s.flows[token] = f

	u, t := s.users[upn], (*Tenant)(nil)
	if u != nil {
		t = s.tenants[u.Tenant]
	}
	fail := func(outcome, code, reason string) (*FlowView, *apiError) {
		s.endLocked(f, outcome, code, reason, now)
		return s.viewLocked(f, StatusOK), nil
	}
	if u == nil || t == nil {
		// Nothing to audit: there is no such user.
		f.step, f.outcome, f.code = StepFailed, OutcomeCouldNotVerify, CodeUserNotFound
		return s.viewLocked(f, StatusOK), nil
	}
	s.audit.add(s.auditEntry(f, ActivityProgress, ResultSuccess, "User started the password reset flow", now))
	if blk, ok := s.thr.blockedAt(upn, now); ok {
		return fail(OutcomeBlocked, CodeBlocked, "User is blocked from self-service password reset until "+blk.Until.UTC().Format(time.RFC3339))
	}
	switch {
	case t.SSPR == SSPROff:
		return fail(OutcomeNotEnabled, CodeTenantDisabled, "Self-service password reset is not enabled for the tenant")
	case t.Gates == 0 || (t.SSPR == SSPRSelected && t.EnabledGroup == ""):
		return fail(OutcomeNotEnabled, CodeNoPolicy, "No password reset policy applies to the user")
	case !u.IsLicensed():
		return fail(OutcomeNotEnabled, CodeUserNotLicensed, "User is not licensed for self-service password reset")
	case t.SSPR == SSPRSelected && !u.IsInEnabledGroup():
		return fail(OutcomeNotEnabled, CodeNotInGroup, "User is not a member of the group enabled for self-service password reset")
	case !u.IsEnabled():
		return fail(OutcomeContactAdmin, CodeUserDisabled, "User account is disabled")
	}
	f.gates = t.Gates
	f.usable = usableMethods(t, u, req.clientType)
	if gatesAvailable(f.usable) < t.Gates {
		reason := "User is not registered for enough verification methods"
		if req.clientType == ClientWindows7Addin && slices.ContainsFunc(u.Registered(), Method.isApp) {
			reason += " usable from the Windows 7 sign-in add-in, which does not support the authenticator app"
		}
		return fail(OutcomeCouldNotVerify, CodeNotRegistered, reason)
	}
	if u.PasswordSource == PasswordOnPremises && t.Writeback == WritebackOff {
		return fail(OutcomeContactAdmin, CodeWritebackDisabled, "User's password is managed on-premises")
	}
	if s.thr.full(upn, bucketReset, now) {
		blk := s.thr.block(upn, bucketReset, now, "")
		s.audit.add(s.auditEntry(f, ActivityBlocked, ResultFailure, blk.Reason, now))
		return fail(OutcomeBlocked, CodeBlocked, blk.Reason)
	}
	return s.viewLocked(f, StatusOK), nil
}

// usableMethods are the user's registered methods that the tenant's
// policy enables and the client supports. With one gate the authenticator
// app can only give a code (notifications need two gates); the Windows 7
// add-in supports no authenticator method.
func usableMethods(t *Tenant, u *User, clientType string) []Method {
	var out []Method
	for _, m := range u.Registered() {
		switch {
		case len(t.AllowedMethods) > 0 && !slices.Contains(t.AllowedMethods, m):
		case clientType == ClientWindows7Addin && m.isApp():
		case t.Gates == 1 && m == MethodAppNotification:
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

// flowForLocked returns the flow for token in the wanted step, with its
// user and tenant, or the error to answer with. It must be called with
// s.mu held.
func (s *Service) flowForLocked(token, step string, now time.Time) (*flow, *User, *Tenant, *apiError) {
	if token == "" {
		return nil, nil, nil, badRequest("flowToken", "required")
	}
	f, ok := s.flows[token]
	if !ok {
		return nil, nil, nil, &apiError{Status: http.StatusNotFound, Kind: "unknown-flow", Message: "unknown flow token", Field: "flowToken"}
	}
	if now.After(f.expires) {
		return nil, nil, nil, &apiError{Status: http.StatusGone, Kind: "flow-expired", Message: "the flow has expired; start again", Field: "flowToken"}
	}
	if f.step != step {
		return nil, nil, nil, &apiError{Status: http.StatusConflict, Kind: "out-of-order",
			Message: fmt.Sprintf("the flow is at step %q, not %q", f.step, step)}
	}
	u := s.users[f.upn]
	if u == nil || s.tenants[u.Tenant] == nil {
		return nil, nil, nil, &apiError{Status: http.StatusConflict, Kind: "user-removed", Message: "the user or their tenant was removed from the directory during the flow"}
	}
	return f, u, s.tenants[u.Tenant], nil
}

func (s *Service) purgeFlowsLocked(now time.Time) {
	for k, f := range s.flows {
		if now.Sub(f.expires) > time.Hour {
			delete(s.flows, k)
		}
	}
}

// send starts verification with a method: sends a code, pushes a
// notification, or asks the security questions.
func (s *Service) send(token string, m Method) (*FlowView, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	f, u, t, aerr := s.flowForLocked(token, StepVerify, now)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := f.methodAllowed(m); aerr != nil {
		return nil, aerr
	}
	ch := &challenge{method: m, expires: now.Add(DefaultCodeTTL)}
	status := StatusCodeSent
	switch m {
	case MethodEmail, MethodSMS, MethodVoice:
		if m != MethodEmail {
			if blk, blocked := s.thr.hit(f.upn, bucketPhone, now, ""); blocked {
				s.blockLocked(f, blk, now)
				return s.viewLocked(f, StatusOK), nil
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
		s.outbox.add(Message{Time: now, Channel: m, UPN: f.upn, To: to, Code: code, Text: text})
	case MethodAppNotification:
		s.app.notify(f.upn)
		status = StatusPending
	case MethodAppCode:
		status = StatusOK
	case MethodSecurityQuestions:
		n := t.QuestionsRequired
		for i := range min(n, len(u.Methods.SecurityQuestions)) {
			ch.questions = append(ch.questions, i)
		}
		status = StatusQuestions
	}
	f.ch = ch
	v := s.viewLocked(f, status)
	return v, nil
}

func spaced(code string) string { return strings.Join(strings.Split(code, ""), " ") }

func (f *flow) methodAllowed(m Method) *apiError {
	if !m.valid() {
		return badRequest("method", "unknown method %q (want one of %s)", m, methodNames())
	}
	if !slices.Contains(f.usable, m) {
		return &apiError{Status: http.StatusConflict, Kind: "method-unavailable", Field: "method",
			Message: fmt.Sprintf("method %q is not available to this user in this flow", m)}
	}
	for _, p := range f.passed {
		if p == m || (p.isApp() && m.isApp()) {
			return &apiError{Status: http.StatusConflict, Kind: "method-used", Field: "method",
				Message: fmt.Sprintf("method %q already passed a gate in this flow; choose another", m)}
		}
	}
	return nil
}

// verify checks the user's answer to the challenge under way.
func (s *Service) verify(token string, m Method, code string, answers []string) (*FlowView, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	f, u, _, aerr := s.flowForLocked(token, StepVerify, now)
	if aerr != nil {
		return nil, aerr
	}
	if !m.valid() {
		return nil, badRequest("method", "unknown method %q (want one of %s)", m, methodNames())
	}
	if f.ch == nil || f.ch.method != m {
		return nil, &apiError{Status: http.StatusConflict, Kind: "out-of-order", Field: "method",
			Message: fmt.Sprintf("no verification with %q is under way: send it first", m)}
	}
	switch m {
	case MethodEmail, MethodSMS, MethodVoice:
		if code == "" {
			return nil, badRequest("code", "required for method %q", m)
		}
		if now.After(f.ch.expires) {
			f.ch = nil
			return s.viewLocked(f, StatusCodeExpired), nil
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(code)))
		if subtle.ConstantTimeCompare(sum[:], f.ch.codeHash[:]) != 1 {
			if m != MethodEmail {
				if blk, blocked := s.thr.hit(f.upn, bucketPhone, now, wrongSMSReason); blocked {
					s.blockLocked(f, blk, now)
					return s.viewLocked(f, StatusOK), nil
				}
			}
			s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User entered an invalid verification code ("+string(m)+")", now))
			return s.viewLocked(f, StatusWrongCode), nil
		}
	case MethodAppCode:
		if code == "" {
			return nil, badRequest("code", "required for method %q", m)
		}
		if !s.app.checkCode(f.upn, strings.TrimSpace(code)) {
			s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User entered an invalid verification code (appCode)", now))
			return s.viewLocked(f, StatusWrongCode), nil
		}
	case MethodAppNotification:
		switch s.app.take(f.upn) {
		case NotificationPending:
			return s.viewLocked(f, StatusPending), nil
		case NotificationDenied:
			f.ch = nil
			s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User denied the authenticator app notification", now))
			return s.viewLocked(f, StatusDenied), nil
		}
	case MethodSecurityQuestions:
		if len(answers) != len(f.ch.questions) {
			return nil, badRequest("answers", "want %d answers, got %d", len(f.ch.questions), len(answers))
		}
		if blk, blocked := s.thr.hit(f.upn, bucketQuestions, now, ""); blocked {
			s.blockLocked(f, blk, now)
			return s.viewLocked(f, StatusOK), nil
		}
		for i, qi := range f.ch.questions {
			if qi >= len(u.Methods.SecurityQuestions) || !answerMatches(u.Methods.SecurityQuestions[qi].Answer, answers[i]) {
				s.audit.add(s.auditEntry(f, ActivityProgress, ResultFailure, "User entered incorrect answers to security questions", now))
				return s.viewLocked(f, StatusWrongAnswers), nil
			}
		}
	}
	f.passed = append(f.passed, m)
	f.ch = nil
	s.audit.add(s.auditEntry(f, ActivityProgress, ResultSuccess, fmt.Sprintf("User passed verification gate %d with %s", len(f.passed), m), now))
	if len(f.passed) >= f.gates {
		f.step = StepPassword
	}
	return s.viewLocked(f, StatusOK), nil
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
	f, u, t, aerr := s.flowForLocked(token, StepPassword, now)
	if aerr != nil {
		return nil, aerr
	}
	policy := PasswordPolicy{TenantNames: nonEmpty(t.ID, t.Name), CustomBanned: t.BannedPasswords}
	verdict := policy.Check(password, PasswordUser{UPN: u.UPN, DisplayName: u.DisplayName, GivenName: u.GivenName, Surname: u.Surname})
	if !verdict.OK {
		code := ""
		if verdict.Reason == PasswordBanned {
			code = CodeFuzzyPolicyViolation
		}
		s.audit.add(s.auditEntry(f, ActivityReset, ResultFailure, "User chose a password that does not meet the password policy: "+verdict.Reason, now))
		v := s.viewLocked(f, StatusPasswordBad)
		v.Outcome, v.Code, v.Message, v.Reason = OutcomeWeakPassword, code, outcomeMessages[OutcomeWeakPassword], verdict.Reason
		return v, nil
	}
	if u.PasswordSource == PasswordOnPremises {
		switch t.Writeback {
		case WritebackOff:
			s.endLocked(f, OutcomeContactAdmin, CodeWritebackDisabled, "User's password is managed on-premises", now)
			return s.viewLocked(f, StatusOK), nil
		case WritebackBroken:
			s.endLocked(f, OutcomeContactAdmin, CodeOnPremConnectivity, "Password writeback could not reach the on-premises directory", now)
			return s.viewLocked(f, StatusOK), nil
		case WritebackAdminActionRequired:
			s.endLocked(f, OutcomeContactAdmin, CodeOnPremAdminAction, "The on-premises directory refused the password: administrator action required", now)
			return s.viewLocked(f, StatusOK), nil
		}
	}
	s.thr.add(f.upn, bucketReset, now)
	f.step, f.outcome = StepDone, OutcomeSuccess
	s.audit.add(s.auditEntry(f, ActivityReset, ResultSuccess, "User successfully reset password", now))
	return s.viewLocked(f, StatusOK), nil
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
			if u != nil && f.methodAllowed(m) == nil {
				v.Methods = append(v.Methods, MethodOption{Method: m, Contact: maskContact(u, m)})
			}
		}
		if f.ch != nil {
			v.Method = f.ch.method
			if u != nil {
				for _, qi := range f.ch.questions {
					if qi < len(u.Methods.SecurityQuestions) {
						v.Questions = append(v.Questions, u.Methods.SecurityQuestions[qi].Question)
					}
				}
			}
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
		digits := []rune(p)
		if len(digits) <= 2 {
			return strings.Repeat("X", len(digits))
		}
		return strings.Repeat("X", len(digits)-2) + string(digits[len(digits)-2:])
	}
	return ""
}
