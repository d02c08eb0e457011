package mock

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// SomethingWentWrong is the portal's one message for every failure it
// cannot name, as the real one shows it.
const SomethingWentWrong = "Something went wrong. Please try again later."

// page is what the portal template renders.
type page struct {
	Title     string
	ScriptURL string
	Integrity string
	Broken    bool // show only "Something went wrong", no form
	Notice    string
	Client    string
	Action    string // the form's action field; "" for no form
	FlowToken string
	Captcha   *Captcha
	Methods   []MethodOption
	Method    Method
	Questions []string
	Gate      int
	Gates     int
	Outcome   string
	Code      string
	Message   string
	Submit    string
}

var portalTemplate = template.Must(template.New("portal").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Microsoft Online Password Reset</title>
<script src="{{.ScriptURL}}" integrity="{{.Integrity}}" crossorigin="anonymous" defer></script>
</head>
<body>
<div id="sww" role="alert">Something went wrong. Please try again later.</div>
{{if not .Broken}}<div id="app" hidden>
<h1>{{.Title}}</h1>
{{if .Notice}}<p id="notice">{{.Notice}}</p>{{end}}
{{if .Outcome}}<p id="outcome" data-outcome="{{.Outcome}}" data-code="{{.Code}}">{{.Message}}</p>
{{if .Code}}<p>Additional details: {{.Code}}</p>{{end}}{{end}}
{{if .Action}}<form method="post" action="/n/passwordreset" id="flow">
<input type="hidden" name="action" value="{{.Action}}">
<input type="hidden" name="canary" value="">
<input type="hidden" name="client" value="{{.Client}}">
{{if .FlowToken}}<input type="hidden" name="flowToken" value="{{.FlowToken}}">{{end}}
{{if eq .Action "begin"}}<label>User ID: <input type="text" name="userId" autocomplete="username"></label>
<p>Enter the characters in the picture: <span id="captcha-challenge">{{.Captcha.Challenge}}</span></p>
<input type="hidden" name="captchaId" value="{{.Captcha.ID}}">
<label>Characters: <input type="text" name="captchaAnswer"></label>
{{else if eq .Action "send"}}<p>Verification step {{.Gate}} of {{.Gates}}: choose the contact method we should use.</p>
{{range .Methods}}<label><input type="radio" name="method" value="{{.Method}}"> {{.Method}} {{.Contact}}</label>
{{end}}{{else if eq .Action "verify"}}<input type="hidden" name="method" value="{{.Method}}">
{{if eq .Method "securityQuestions"}}{{range $i, $q := .Questions}}<label>{{$q}} <input type="text" name="answer{{$i}}"></label>
{{end}}{{else if eq .Method "appNotification"}}<p>We've sent a notification to your mobile device. Approve it, then continue.</p>
{{else}}<label>Enter your verification code: <input type="text" name="code" autocomplete="one-time-code"></label>
{{end}}{{else if eq .Action "password"}}<label>Enter new password: <input type="password" name="newPassword" autocomplete="new-password"></label>
<label>Confirm new password: <input type="password" name="confirmPassword" autocomplete="new-password"></label>
{{end}}<button type="submit">{{.Submit}}</button>
</form>{{end}}
</div>{{end}}
</body>
</html>
`))

// portalRoutes builds the portal's handler: the HTML flow at PortalPath and
// the JSON API below it. The admin API is not here.
func (s *Service) portalRoutes() http.Handler {
	r := mux.NewRouter()
	s.apiRoutes(r)
	r.HandleFunc(PortalPath, s.step("page", s.servePortalPage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(PortalPath, s.postPortal).Methods(http.MethodPost)
	r.HandleFunc(captchaImagePath("{id:[0-9a-f]+}"), s.serveCaptchaImage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(FaviconPath, s.serveFavicon).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/", http.RedirectHandler(PortalPath, http.StatusFound))
	return r
}

func (s *Service) newPage(client string) page {
	return page{ScriptURL: s.cdnBase + s.script.path, Integrity: s.script.integrity, Client: client}
}

func (s *Service) renderPage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = portalTemplate.Execute(w, p) // the client may have gone
}

// brokenPage is what the portal shows when it cannot go on.
func (s *Service) brokenPage(w http.ResponseWriter, status int, client string) {
	p := s.newPage(client)
	p.Title, p.Broken = SomethingWentWrong, true
	s.renderPage(w, status, p)
}

func (s *Service) servePortalPage(w http.ResponseWriter, r *http.Request) {
	client := r.URL.Query().Get("client")
	if _, e := requestInfo(r, client); e != nil {
		s.brokenPage(w, e.Status, "")
		return
	}
	s.identifyPage(w, http.StatusOK, client, "")
}

func (s *Service) identifyPage(w http.ResponseWriter, status int, client, notice string) {
	c, err := s.NewCaptcha()
	if err != nil {
		s.brokenPage(w, http.StatusInternalServerError, client)
		return
	}
	p := s.newPage(client)
	p.Title, p.Action, p.Captcha, p.Notice, p.Submit = "Get back into your account", "begin", &c, notice, "Next"
	s.renderPage(w, status, p)
}

func (s *Service) postPortal(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		s.brokenPage(w, status, "")
		return
	}
	client := r.PostForm.Get("client")
	info, e := requestInfo(r, client)
	if e != nil {
		s.brokenPage(w, e.Status, "")
		return
	}
	// Without the script, there is no canary: the real portal cannot go
	// on without its script either.
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("canary")), []byte(s.script.canary)) != 1 {
		s.brokenPage(w, http.StatusBadRequest, client)
		return
	}
	action := r.PostForm.Get("action")
	if !slices.Contains([]string{"begin", "send", "verify", "password"}, action) {
		s.brokenPage(w, http.StatusBadRequest, client)
		return
	}
	if s.injectFault(w, r, action) {
		return
	}
	token := r.PostForm.Get("flowToken")
	var (
		v   *FlowView
		err *apiError
	)
	switch action {
	case "begin":
		v, err = s.begin(info, r.PostForm.Get("userId"), r.PostForm.Get("captchaId"), r.PostForm.Get("captchaAnswer"))
		if err == nil && v.Status == StatusWrongCaptcha {
			s.identifyPage(w, http.StatusOK, client, v.Message)
			return
		}
	case "send":
		v, err = s.send(token, Method(r.PostForm.Get("method")))
	case "verify":
		m := Method(r.PostForm.Get("method"))
		var answers []string
		for i := 0; ; i++ {
			a, ok := r.PostForm["answer"+strconv.Itoa(i)]
			if !ok {
				break
			}
			answers = append(answers, strings.Join(a, ""))
		}
		v, err = s.verify(token, m, r.PostForm.Get("code"), answers)
	case "password":
		if r.PostForm.Get("newPassword") != r.PostForm.Get("confirmPassword") {
			v, err = s.peek(token, StepPassword)
			if err == nil && v.Step == StepPassword {
				v.Status, v.Message = StatusPasswordBad, "The passwords don't match."
			}
			break
		}
		v, err = s.setPassword(token, r.PostForm.Get("newPassword"))
	}
	if err != nil {
		p := s.newPage(client)
		p.Title, p.Outcome, p.Message = SomethingWentWrong, "error", err.Message
		s.renderPage(w, err.Status, p)
		return
	}
	s.renderPage(w, http.StatusOK, s.pageFor(v, client))
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

var statusNotices = map[string]string{
	StatusWrongCode:         "That code didn't work. Check the code and try again.",
	StatusTooManyWrongCodes: "You entered too many wrong codes. Choose a method to get a new one.",
	StatusWrongAnswers:      "One or more of your answers is incorrect. Please try again.",
	StatusCodeExpired:       "The code has expired. Choose a method to get a new one.",
	StatusDenied:            "The notification was denied. Choose a method to try again.",
	StatusGateAdded:         "Your organization now requires another verification step before you can reset your password.",
}

// pageFor turns a flow's view into the page the user sees next.
func (s *Service) pageFor(v *FlowView, client string) page {
	p := s.newPage(client)
	p.FlowToken, p.Gate, p.Gates, p.Notice = v.FlowToken, v.Gate, v.GatesRequired, statusNotices[v.Status]
	switch {
	case v.Step == StepDone:
		p.Title, p.Outcome, p.Message = "Your password has been reset", v.Outcome, v.Message
	case v.Step == StepFailed:
		p.Title, p.Outcome, p.Code, p.Message = v.Message, v.Outcome, v.Code, v.Message
	case v.Step == StepPassword:
		p.Title, p.Action, p.Submit = "Create a new password", "password", "Finish"
		if v.Status == StatusPasswordBad {
			p.Notice, p.Outcome, p.Code, p.Message = v.Message, v.Outcome, v.Code, v.Message
		}
	case v.Method != "":
		p.Title, p.Action, p.Method, p.Questions, p.Submit = "Verification step "+strconv.Itoa(v.Gate), "verify", v.Method, v.Questions, "Next"
	default:
		p.Title, p.Action, p.Methods, p.Submit = "Verification step "+strconv.Itoa(v.Gate), "send", v.Methods, "Next"
	}
	return p
}
