package mock

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
)

// The portal's page template and style sheet (inlined in every page).
var (
	//go:embed assets/portal.html
	portalHTML string
	//go:embed assets/portal.css
	portalCSS string

	portalTemplate = template.Must(template.New("portal").Parse(portalHTML))
)

// page is what the portal template renders.
type page struct {
	Page    string // names the page for tests and style: "identify", "verify", ...
	Title   string // the <title>, before " - Password reset"
	Heading string // the h1
	Lead    string
	Intro   []string
	Steps   []progressStep

	CSS        template.CSS
	ScriptURL  string
	Integrity  string
	WaitMillis int64
	Broken     bool // show only "Something went wrong", no form

	Notice  string
	Error   *formError
	Outcome *outcomeView
	Problem *problemView

	Action     string // the form's action field; "" for no form
	PostPath   string
	CancelPath string
	StartPath  string
	StartAgain bool // a "Start again" button below
	Submit     string
	Client     string
	FlowToken  string

	UserID         string
	CaptchaID      string
	CaptchaImage   string
	CaptchaWidth   int
	CaptchaHeight  int
	NewPicturePath string

	Methods   []methodChoice
	Method    Method
	SentTo    *sentTo
	CodeLabel string
	Questions []question
}

type progressStep struct {
	Label         string
	Done, Current bool
}

type outcomeView struct{ Outcome, Code, Body, Correlation string }

type problemView struct {
	Kind   string
	Status int
	Body   string
}

type methodChoice struct {
	Value          Method
	Label, Contact string
}

// sentTo says where a code went: Before, the masked contact, After.
type sentTo struct{ Before, Contact, After string }

type question struct{ Name, Text string }

// Attrs returns the accessibility attributes of a form field: invalid
// and described by the error when the error is about it, else described
// by its hint if it has one.
func (p page) Attrs(field string) template.HTMLAttr {
	if p.Error != nil && slices.Contains(p.Error.Fields, field) {
		return ` aria-invalid="true" aria-describedby="error"`
	}
	if field == "newPassword" && p.Error == nil {
		return ` aria-describedby="password-hint"`
	}
	return ""
}

// methodLabels are the choices as a person reads them.
var methodLabels = map[Method]string{
	MethodEmail:             "Email my alternate email",
	MethodSMS:               "Text my mobile phone",
	MethodVoice:             "Call my phone",
	MethodSecurityQuestions: "Answer my security questions",
	MethodAppCode:           "Enter a code from my authenticator app",
	MethodAppNotification:   "Approve a notification on my authenticator app",
}

// methodLabel is m's label, or m itself for a method the portal does not
// know.
func methodLabel(m Method) string {
	if l, ok := methodLabels[m]; ok {
		return l
	}
	return string(m)
}

// outcomePages are the headings and texts of the outcome pages. The
// service's message for an outcome is its heading's sentence; the text
// says what to do, and never repeats it.
var outcomePages = map[string]struct{ heading, body string }{
	OutcomeSuccess:        {"Your password has been reset", "You can now sign in with your new password."},
	OutcomeContactAdmin:   {"Please contact your administrator", "Your password can't be reset here. Your administrator or help desk can reset it for you."},
	OutcomeNotEnabled:     {"Your account is not enabled for password reset", "Your administrator has not set up your account to use this service. Contact your administrator or help desk to reset your password."},
	OutcomeCouldNotVerify: {"We couldn't verify your account", "Check that you entered your user ID correctly. If it is right, your account isn't set up with the verification methods needed to reset your password here: contact your administrator or help desk."},
	OutcomeBlocked:        {"You've tried too many times", "Your account is blocked from self-service password reset for 24 hours. Contact your administrator or help desk if you need your password reset sooner."},
}

// problemPages are the pages of a flow that cannot go on, by the kind of
// the service's refusal.
var problemPages = map[string]struct{ heading, body string }{
	"flow-expired": {"Your session has expired", "For your security, a password reset has to be finished within a few minutes. Start again to reset your password."},
	"unknown-flow": {"We can't find your password reset", "It may have ended or expired. Start again to reset your password."},
	"out-of-order": {"This page is out of date", "Your password reset went on in another window or tab, or has ended. Start again to reset your password."},
	"user-removed": {"We can't find your account", "Your account changed while you were resetting your password. Start again, or contact your administrator or help desk."},
}

var genericProblem = struct{ heading, body string }{"We couldn't continue", "Start again to reset your password. If this keeps happening, contact your administrator or help desk."}

func (s *Service) newPage(client string) page {
	return page{
		CSS: template.CSS(portalCSS), ScriptURL: s.cdnBase + s.script.path, Integrity: s.script.integrity,
		WaitMillis: ScriptWait.Milliseconds(), Client: client, PostPath: PortalPath, CancelPath: PortalCancelPath,
		StartPath: startPath(client),
	}
}

// renderPage renders p whole before it writes anything, so that a
// template error is a 500, not half a page.
func (s *Service) renderPage(w http.ResponseWriter, status int, p page) {
	var buf bytes.Buffer
	if err := portalTemplate.Execute(&buf, p); err != nil {
		s.logger.Error("mock: portal page", "page", p.Page, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client may have gone
}

// brokenPage is what the portal shows when it cannot go on: only
// "Something went wrong", without the script or a form.
func (s *Service) brokenPage(w http.ResponseWriter, status int) {
	p := s.newPage("")
	p.Page, p.Title, p.Broken = "broken", "Something went wrong", true
	s.renderPage(w, status, p)
}

// apply shows what a post said, if it said it about the page at path.
func (p *page) apply(res *postResult, path string) {
	if res == nil || res.page != path {
		return
	}
	p.Error, p.Notice = res.error, res.notice
}

// identify is "Get back into your account".
func (p *page) identify(c Captcha) {
	p.Page, p.Title, p.Heading = "identify", "Get back into your account", "Get back into your account"
	p.Lead = "Who are you?"
	p.Intro = []string{"To recover your account, begin by entering your user ID and the characters in the picture below."}
	p.Action, p.Submit = "begin", "Next"
	p.CaptchaID, p.CaptchaImage = c.ID, captchaImagePath(c.ID)
	p.CaptchaWidth, p.CaptchaHeight = captchaWidth, captchaHeight
	p.NewPicturePath = startPath(p.Client)
}

// progress is the trail of steps, with step current (1-based; gates+1 is
// the new password).
func progress(gates, current int) []progressStep {
	var out []progressStep
	for i := 1; i <= gates+1; i++ {
		label := "choose a new password"
		if i <= gates {
			label = "verification step " + strconv.Itoa(i)
		}
		out = append(out, progressStep{Label: label, Done: i < current, Current: i == current})
	}
	return out
}

// pageFor is the page of the step a flow's view is at.
func (s *Service) pageFor(v *FlowView, client string) page {
	p := s.newPage(client)
	p.FlowToken = v.FlowToken
	switch v.Step {
	case StepDone, StepFailed:
		op, ok := outcomePages[v.Outcome]
		if !ok {
			op.heading, op.body = "We couldn't reset your password", v.Message
		}
		p.Page, p.Title, p.Heading = "done", op.heading, op.heading
		p.Outcome = &outcomeView{Outcome: v.Outcome, Code: v.Code, Body: op.body, Correlation: v.CorrelationID}
	case StepPassword:
		p.Page, p.Title, p.Heading = "password", "Choose a new password", "Choose a new password"
		p.Steps = progress(v.GatesRequired, v.GatesRequired+1)
		p.Action, p.Submit = "password", "Finish"
	default:
		p.verify(v)
	}
	return p
}

// verify is a verification gate: the choice of a method, or the method
// under way.
func (p *page) verify(v *FlowView) {
	p.Page, p.Heading = "verify", fmt.Sprintf("Verification step %d of %d", v.Gate, v.GatesRequired)
	p.Steps = progress(v.GatesRequired, v.Gate)
	p.Submit = "Next"
	if v.Method == "" {
		p.Title, p.Action = p.Heading+": choose a method", "send"
		for _, m := range v.Methods {
			p.Methods = append(p.Methods, methodChoice{Value: m.Method, Label: methodLabel(m.Method), Contact: m.Contact})
		}
		return
	}
	p.Action, p.Method = "verify", v.Method
	contact := ""
	for _, m := range v.Methods {
		if m.Method == v.Method {
			contact = m.Contact
		}
	}
	sub := ": enter the code"
	switch v.Method {
	case MethodEmail:
		p.SentTo = &sentTo{"We've sent an email with a verification code to ", contact, "."}
		p.CodeLabel = "Enter your verification code"
	case MethodSMS:
		p.SentTo = &sentTo{"We've sent a text message with a verification code to ", contact, "."}
		p.CodeLabel = "Enter your verification code"
	case MethodVoice:
		p.SentTo = &sentTo{"We're calling ", contact, ". Answer, and enter the verification code you hear."}
		p.CodeLabel = "Enter your verification code"
	case MethodAppCode:
		p.SentTo = &sentTo{Before: "Open your authenticator app and enter the code it shows for your account."}
		p.CodeLabel, sub = "Enter the code from your authenticator app", ": enter the code from your app"
	case MethodAppNotification:
		p.SentTo = &sentTo{Before: "We've sent a notification to your authenticator app. Approve it, then select Next."}
		sub = ": approve the notification"
	case MethodSecurityQuestions:
		for i, q := range v.Questions {
			p.Questions = append(p.Questions, question{Name: answerField(i), Text: q})
		}
		sub = ": answer your security questions"
	default:
		p.CodeLabel = "Enter your verification code"
	}
	p.Title = p.Heading + sub
}

// problem is the page of a flow that cannot go on.
func (p *page) problem(e *apiError) {
	pp, ok := problemPages[e.Kind]
	if !ok {
		pp = genericProblem
	}
	p.Page, p.Title, p.Heading = "problem", pp.heading, pp.heading
	p.Problem = &problemView{Kind: e.Kind, Status: e.Status, Body: pp.body}
	p.StartAgain = true
}

// cancelled is the page after Cancel.
func (p *page) cancelled() {
	p.Page, p.Title, p.Heading = "cancelled", "Password reset cancelled", "Password reset cancelled"
	p.Intro = []string{"Your password hasn't changed. You can close this window."}
	p.StartAgain = true
}
