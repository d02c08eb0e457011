package mock

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
)

// SomethingWentWrong is the portal's one message for every failure it
// cannot name, as the real one shows it.
const SomethingWentWrong = "Something went wrong. Please try again later."

// ScriptWait is how long a portal page waits for its script from the CDN
// before it gives up and shows [SomethingWentWrong]: the page waits for
// the script's load or error event (a refused or reset connection, a
// proxy's denial or a failed integrity check end the wait at once), and at
// most this long. It is the lab client's default request timeout
// (client.DefaultRequestTimeout), so that a browser and the client give up
// on a silent CDN at the same point.
const ScriptWait = 30 * time.Second

// The portal's pages. The flow starts at PortalPath; every form posts to
// PortalPath and is answered with 303 See Other to the page of the step
// the flow is at (post/redirect/get), so that Back and Reload never post a
// form again.
const (
	PortalVerifyPath   = PortalPath + "/verify"   // verification, each gate
	PortalPasswordPath = PortalPath + "/password" // "Choose a new password"
	PortalDonePath     = PortalPath + "/done"     // the flow's outcome
	PortalProblemPath  = PortalPath + "/problem"  // the flow cannot go on
	PortalCancelPath   = PortalPath + "/cancel"   // the user cancelled
)

// portalSessionCookie names a browser's portal session.
const portalSessionCookie = "egresslab-sspr"

// sessionGrace is how long a session outlives a flow's lifetime since its
// last post, so that a flow that expired is told as such.
const sessionGrace = time.Hour

// portal is the HTML flow: its sessions, and the handlers that use them.
// A session is what a browser needs to see the page of a step after a form
// post redirected it there: the flow's state after the post, and what the
// post said (a form error, a notice). It never holds a code, an answer or
// a password.
type portal struct {
	s        *Service
	mu       sync.Mutex
	sessions map[string]*portalSession
}

type portalSession struct {
	client  string
	userID  string    // as the user typed it, for the first page
	view    *FlowView // the flow after the last post; nil before begin
	result  *postResult
	expires time.Time
}

// postResult is what a form post said, for the page it redirected to.
type postResult struct {
	page    string // the page it is shown on
	error   *formError
	notice  string
	problem *apiError // the flow cannot go on: PortalProblemPath
}

// formError is an error shown on a step's page, with the fields it is
// about.
type formError struct {
	Message string
	Fields  []string
	Status  string // the flow call's status, if the service gave one
	Outcome string
	Code    string
}

// portalRoutes builds the portal's handler: the HTML flow under
// PortalPath and the JSON API below it. The admin API is not here.
func (s *Service) portalRoutes() http.Handler {
	p := &portal{s: s, sessions: map[string]*portalSession{}}
	r := mux.NewRouter()
	s.apiRoutes(r)
	get := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc(PortalPath, s.step("page", p.identifyPage)).Methods(get...)
	r.HandleFunc(PortalPath, p.post).Methods(http.MethodPost)
	for _, path := range []string{PortalVerifyPath, PortalPasswordPath, PortalDonePath} {
		r.HandleFunc(path, s.step("page", p.flowPage)).Methods(get...)
	}
	r.HandleFunc(PortalProblemPath, s.step("page", p.problemPage)).Methods(get...)
	r.HandleFunc(PortalCancelPath, s.step("page", p.cancelPage)).Methods(get...)
	r.HandleFunc(captchaImagePath("{id:[0-9a-f]+}"), s.serveCaptchaImage).Methods(get...)
	r.HandleFunc(FaviconPath, s.serveFavicon).Methods(get...)
	r.Handle("/", http.RedirectHandler(PortalPath, http.StatusFound))
	return r
}

// session returns a copy of the request's session and its ID, or nil.
func (p *portal) session(r *http.Request) (string, *portalSession) {
	c, err := r.Cookie(portalSessionCookie)
	if err != nil {
		return "", nil
	}
	now := p.s.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	sess, ok := p.sessions[c.Value]
	if !ok || now.After(sess.expires) {
		return "", nil
	}
	cp := *sess
	return c.Value, &cp
}

// save stores sess under id (a new session when id is ""), for a flow's
// lifetime and sessionGrace from now, and returns its ID.
func (p *portal) save(id string, sess *portalSession) (string, error) {
	now := p.s.clock.Now()
	sess.expires = now.Add(p.s.flowTTL + sessionGrace)
	p.mu.Lock()
	defer p.mu.Unlock()
	if id == "" {
		var err error
		if id, err = randomToken(); err != nil {
			return "", err
		}
		for k, old := range p.sessions {
			if now.After(old.expires) {
				delete(p.sessions, k)
			}
		}
	}
	p.sessions[id] = sess
	return id, nil
}

func (p *portal) drop(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.sessions, id)
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: portalSessionCookie, Value: id, Path: PortalPath, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// identifyPage is "Get back into your account": the user ID and a new
// CAPTCHA. The user ID typed before, and what the last post said about
// this page, are shown again.
func (p *portal) identifyPage(w http.ResponseWriter, r *http.Request) {
	_, sess := p.session(r)
	client := r.URL.Query().Get("client")
	if client == "" && sess != nil {
		client = sess.client
	}
	if _, e := requestInfo(r, client); e != nil {
		p.s.brokenPage(w, e.Status)
		return
	}
	c, err := p.s.NewCaptcha()
	if err != nil {
		p.s.brokenPage(w, http.StatusInternalServerError)
		return
	}
	pg := p.s.newPage(client)
	pg.identify(c)
	if sess != nil {
		pg.UserID = sess.userID
		pg.apply(sess.result, PortalPath)
	}
	p.s.renderPage(w, http.StatusOK, pg)
}

// flowPage shows the page of the step the session's flow is at; a request
// for another step's page (Back, a bookmark) is sent to it.
func (p *portal) flowPage(w http.ResponseWriter, r *http.Request) {
	_, sess := p.session(r)
	if sess == nil || sess.view == nil {
		http.Redirect(w, r, startPath(""), http.StatusSeeOther)
		return
	}
	if want := pathFor(sess.view); r.URL.Path != want {
		http.Redirect(w, r, want, http.StatusSeeOther)
		return
	}
	pg := p.s.pageFor(sess.view, sess.client)
	pg.apply(sess.result, r.URL.Path)
	p.s.renderPage(w, http.StatusOK, pg)
}

// problemPage says why the flow cannot go on, with the status of the
// service's refusal.
func (p *portal) problemPage(w http.ResponseWriter, r *http.Request) {
	_, sess := p.session(r)
	if sess == nil || sess.result == nil || sess.result.problem == nil {
		http.Redirect(w, r, startPath(""), http.StatusSeeOther)
		return
	}
	pg := p.s.newPage(sess.client)
	pg.problem(sess.result.problem)
	p.s.renderPage(w, sess.result.problem.Status, pg)
}

// cancelPage ends the session: the user chose Cancel.
func (p *portal) cancelPage(w http.ResponseWriter, r *http.Request) {
	id, sess := p.session(r)
	client := ""
	if sess != nil {
		client = sess.client
		p.drop(id)
		setSessionCookie(w, r, "", -1)
	}
	pg := p.s.newPage(client)
	pg.cancelled()
	p.s.renderPage(w, http.StatusOK, pg)
}

// post runs a form's step and redirects to the page that shows what came
// of it. A post the portal cannot take at all (no canary: the script never
// ran; a malformed form) is answered at once with "Something went wrong";
// so is a fault injected on the step.
func (p *portal) post(w http.ResponseWriter, r *http.Request) {
	s := p.s
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		s.brokenPage(w, status)
		return
	}
	form := r.PostForm
	client := form.Get("client")
	info, e := requestInfo(r, client)
	if e != nil {
		s.brokenPage(w, e.Status)
		return
	}
	// Without the script, there is no canary: the real portal cannot go
	// on without its script either.
	if subtle.ConstantTimeCompare([]byte(form.Get("canary")), []byte(s.script.canary)) != 1 {
		s.brokenPage(w, http.StatusBadRequest)
		return
	}
	action := form.Get("action")
	if !slices.Contains([]string{"begin", "send", "verify", "password"}, action) {
		s.brokenPage(w, http.StatusBadRequest)
		return
	}
	if s.injectFault(w, r, action) {
		return
	}
	id, sess := p.session(r)
	if sess == nil {
		sess = &portalSession{}
	}
	sess.client = client
	var (
		v   *FlowView
		res *postResult
	)
	if action == "begin" {
		v, res = p.begin(info, form, sess)
	} else {
		v, res = p.step(action, form, sess)
	}
	sess.result = res
	if v != nil {
		sess.view = v
	} else if res.problem != nil {
		sess.view = nil
	}
	newID, err := p.save(id, sess)
	if err != nil {
		s.brokenPage(w, http.StatusInternalServerError)
		return
	}
	if newID != id {
		setSessionCookie(w, r, newID, 0)
	}
	target := res.page
	if target == PortalPath {
		target = startPath(client)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// begin runs "Get back into your account". A missing field or a wrong
// CAPTCHA is an error on the same page, which keeps the user ID typed.
func (p *portal) begin(info request, form url.Values, sess *portalSession) (*FlowView, *postResult) {
	userID := form.Get("userId")
	sess.userID = strings.TrimSpace(userID)
	onPage := func(msg, field, status string) (*FlowView, *postResult) {
		return nil, &postResult{page: PortalPath, error: &formError{Message: msg, Fields: []string{field}, Status: status}}
	}
	switch {
	case sess.userID == "":
		return onPage("Enter your user ID.", "userId", "")
	case strings.TrimSpace(form.Get("captchaAnswer")) == "":
		return onPage("Enter the characters in the picture.", "captchaAnswer", "")
	}
	v, e := p.s.begin(info, userID, form.Get("captchaId"), form.Get("captchaAnswer"))
	switch {
	case e != nil:
		return nil, problemResult(e)
	case v.Status == StatusWrongCaptcha:
		return onPage(v.Message, "captchaAnswer", v.Status)
	}
	return v, resultFor(v)
}

// step runs a verification or password post on the flow the form names.
// A missing choice or field is an error on the same page, and so is a
// method the service will not take now; the flow is not called for them.
func (p *portal) step(action string, form url.Values, sess *portalSession) (*FlowView, *postResult) {
	token := form.Get("flowToken")
	page, step := PortalVerifyPath, StepVerify
	if action == "password" {
		page, step = PortalPasswordPath, StepPassword
	}
	// onPage shows an error on the step's page as the flow stands: as the
	// session last saw it when the flow was not called (a field is
	// missing), else as the service has it now.
	onPage := func(fresh bool, msg string, fields ...string) (*FlowView, *postResult) {
		v := sess.view
		if fresh || v == nil || v.FlowToken != token || v.Step != step {
			var e *apiError
			if v, e = p.s.peek(token, step); e != nil {
				return nil, problemResult(e)
			}
		}
		if v.Step != step {
			return v, resultFor(v) // the flow ended or went back
		}
		return v, &postResult{page: page, error: &formError{Message: msg, Fields: fields}}
	}
	var (
		v *FlowView
		e *apiError
	)
	switch action {
	case "send":
		m := Method(form.Get("method"))
		if m == "" {
			return onPage(false, "Choose a verification method.", "method")
		}
		v, e = p.s.send(token, m)
	case "verify":
		m := Method(form.Get("method"))
		var answers, empty []string
		for i := 0; ; i++ {
			a, ok := form[answerField(i)]
			if !ok {
				break
			}
			answers = append(answers, strings.Join(a, ""))
			if strings.TrimSpace(answers[i]) == "" {
				empty = append(empty, answerField(i))
			}
		}
		switch {
		case m == MethodSecurityQuestions && len(empty) > 0:
			return onPage(false, "Answer every question.", empty...)
		case (m == MethodEmail || m == MethodSMS || m == MethodVoice || m == MethodAppCode) && strings.TrimSpace(form.Get("code")) == "":
			return onPage(false, "Enter your verification code.", "code")
		}
		v, e = p.s.verify(token, m, form.Get("code"), answers)
	case "password":
		pw := form.Get("newPassword")
		switch {
		case pw == "":
			return onPage(false, "Enter a new password.", "newPassword")
		case pw != form.Get("confirmPassword"):
			return onPage(false, "The passwords don't match.", "confirmPassword")
		}
		v, e = p.s.setPassword(token, pw)
	}
	if e != nil {
		if msg := methodProblems[e.Kind]; msg != "" && e.Status == http.StatusConflict && e.Field == "method" {
			return onPage(true, msg)
		}
		if e.Status == http.StatusBadRequest && e.Field == "method" {
			return onPage(true, "Choose one of the methods shown.", "method")
		}
		return nil, problemResult(e)
	}
	return v, resultFor(v)
}

// methodProblems are the service's refusals of a method that the user can
// mend by choosing another.
var methodProblems = map[string]string{
	"method-unavailable": "That method isn't available for your account now. Choose another.",
	"method-used":        "You've already used that method. Choose another.",
	"out-of-order":       "Choose a verification method to continue.",
}

func answerField(i int) string { return "answer" + strconv.Itoa(i) }

// problemResult sends the browser to the problem page.
func problemResult(e *apiError) *postResult {
	return &postResult{page: PortalProblemPath, problem: e}
}

// statusErrors are the statuses of a flow call that the page shows as an
// error, with the fields they are about ("answers": every answer).
var statusErrors = map[string]formError{
	StatusWrongCode:         {Message: "That code didn't work. Check the code and try again.", Fields: []string{"code"}},
	StatusTooManyWrongCodes: {Message: "You entered too many wrong codes. Choose a method to get a new one."},
	StatusWrongAnswers:      {Message: "One or more of your answers is incorrect. Please try again.", Fields: []string{"answers"}},
	StatusCodeExpired:       {Message: "The code has expired. Choose a method to get a new one."},
	StatusDenied:            {Message: "The notification was denied. Choose a method to try again."},
}

// statusNotices are the statuses the page shows as information.
var statusNotices = map[string]string{
	StatusGateAdded: "Your organization now requires another verification step before you can reset your password.",
	StatusPending:   "We haven't received your approval yet. Approve the notification in your authenticator app, then select Next.",
}

// resultFor is what a flow call's view says on the page it leads to.
func resultFor(v *FlowView) *postResult {
	res := &postResult{page: pathFor(v), notice: statusNotices[v.Status]}
	if fe, ok := statusErrors[v.Status]; ok {
		fe.Status = v.Status
		if slices.Contains(fe.Fields, "answers") {
			fe.Fields = nil
			for i := range v.Questions {
				fe.Fields = append(fe.Fields, answerField(i))
			}
		}
		res.error = &fe
	}
	if v.Status == StatusPasswordBad {
		res.error = &formError{Message: v.Message, Fields: []string{"newPassword"}, Status: v.Status, Outcome: v.Outcome, Code: v.Code}
	}
	return res
}

// pathFor is the page of the step a flow is at.
func pathFor(v *FlowView) string {
	switch v.Step {
	case StepVerify:
		return PortalVerifyPath
	case StepPassword:
		return PortalPasswordPath
	}
	return PortalDonePath
}

// startPath is the first page, for a client type.
func startPath(client string) string {
	if client == "" || client == ClientBrowser {
		return PortalPath
	}
	return PortalPath + "?client=" + url.QueryEscape(client)
}

// peek returns the flow's view, at the wanted step unless the flow ended
// or went back to verification (see flowForLocked).
func (s *Service) peek(token, step string) (*FlowView, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, _, answer, e := s.flowForLocked("peek", token, step, s.clock.Now())
	if e != nil || answer != nil {
		return answer, e
	}
	return s.viewLocked(f, StatusOK), nil
}
