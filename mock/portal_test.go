package mock_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/vhost"
)

const portalBase = "https://" + mock.PortalHost

// webLab serves the portal and the CDN as TLS virtual hosts on loopback,
// and gives a browser-like client that reaches them by name and keeps
// cookies. It follows no redirect by itself: tests check each one.
type webLab struct {
	*lab
	cdn    *mock.CDN
	client *http.Client
}

func newWebLab(t *testing.T, opts ...mock.Option) *webLab {
	t.Helper()
	l := newLab(t, opts...)
	auth, err := pki.New()
	require.NoError(t, err)
	leaf, err := auth.Issue(pki.Request{Hosts: []string{mock.PortalHost, mock.CDNHost}})
	require.NoError(t, err)
	cdn, err := mock.NewCDN(l.svc.ScriptAssets()...)
	require.NoError(t, err)
	portalSrv, err := vhost.New(l.recorded(l.svc, nil), vhost.WithHost(mock.PortalHost), vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	t.Cleanup(portalSrv.Close)
	cdnSrv, err := vhost.New(cdn, vhost.WithHost(mock.CDNHost), vhost.WithCertificate(leaf.TLS))
	require.NoError(t, err)
	t.Cleanup(cdnSrv.Close)
	addrs := map[string]string{mock.PortalHost + ":443": portalSrv.Addr(), mock.CDNHost + ":443": cdnSrv.Addr()}
	d := &net.Dialer{}
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{
		Jar: jar,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: auth.Pool()},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				to, ok := addrs[addr]
				if !ok {
					return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such virtual host", Name: addr, IsNotFound: true}}
				}
				return d.DialContext(ctx, network, to)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &webLab{lab: l, cdn: cdn, client: client}
}

// doc is a parsed portal page.
type doc struct {
	url      string
	status   int
	location string
	root     *html.Node
	text     string
}

func (w *webLab) fetch(t *testing.T, method, u string, form url.Values) doc {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	root, err := html.Parse(bytes.NewReader(raw))
	require.NoError(t, err)
	return doc{url: u, status: resp.StatusCode, location: resp.Header.Get("Location"), root: root, text: string(raw)}
}

func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func elements(n *html.Node, tag string) []*html.Node {
	return find(n, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag })
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attrOf(n *html.Node, key string) string {
	v, _ := attr(n, key)
	return v
}

func byID(n *html.Node, id string) *html.Node {
	nodes := find(n, func(n *html.Node) bool { return n.Type == html.ElementNode && attrOf(n, "id") == id })
	if len(nodes) == 0 {
		return nil
	}
	return nodes[0]
}

// textOf is the text of n with runs of white space made one space.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for _, t := range find(n, func(n *html.Node) bool { return n.Type == html.TextNode }) {
		b.WriteString(t.Data)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// title is the page's <title> without the suffix every page has.
func (d doc) title() string {
	return strings.TrimSuffix(textOf(elements(d.root, "title")[0]), " - Password reset")
}

// app is the part of the page the script shows.
func (d doc) app(t *testing.T) *html.Node {
	t.Helper()
	a := byID(d.root, "app")
	require.NotNil(t, a, "page has no app:\n%s", d.text)
	return a
}

// heading is the text of the one h1 the script shows.
func (d doc) heading(t *testing.T) string {
	t.Helper()
	h := elements(d.app(t), "h1")
	require.Len(t, h, 1, "one h1 in the app")
	return textOf(h[0])
}

// formValues returns the form's hidden inputs, as a browser would submit them.
func formValues(t *testing.T, d doc) url.Values {
	t.Helper()
	form := byID(d.root, "flow")
	require.NotNil(t, form, "page has no form:\n%s", d.text)
	v := url.Values{}
	for _, in := range elements(form, "input") {
		if attrOf(in, "type") == "hidden" {
			v.Set(attrOf(in, "name"), attrOf(in, "value"))
		}
	}
	return v
}

var canaryRe = regexp.MustCompile(`var canary = "([0-9a-f]+)"`)

// runScript loads the page's script from the CDN, checks its integrity as
// a browser does, and returns what the script would put in the canary
// fields.
func (w *webLab) runScript(t *testing.T, d doc) string {
	t.Helper()
	var external []*html.Node
	for _, s := range elements(d.root, "script") {
		if _, ok := attr(s, "src"); ok {
			external = append(external, s)
		}
	}
	require.Len(t, external, 1)
	src, integrity := attrOf(external[0], "src"), attrOf(external[0], "integrity")
	require.Equal(t, "https://"+mock.CDNHost+w.svc.ScriptPath(), src)
	resp, err := w.client.Get(src)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	sum := sha512.Sum384(body)
	require.Equal(t, "sha384-"+base64.StdEncoding.EncodeToString(sum[:]), integrity, "Subresource Integrity matches what the CDN served")
	m := canaryRe.FindSubmatch(body)
	require.NotNil(t, m)
	return string(m[1])
}

// captchaAnswer reads the answer to the page's CAPTCHA from the service,
// as the lab's automation does: the page shows it only as a picture.
func (w *webLab) captchaAnswer(t *testing.T, d doc) string {
	t.Helper()
	id := formValues(t, d).Get("captchaId")
	require.NotEmpty(t, id)
	a, ok := w.svc.CaptchaAnswer(id)
	require.True(t, ok, "CAPTCHA %s", id)
	return a
}

// postOnly submits the page's form with the script's canary and the
// fields a user fills in, and returns the answer without following it.
func (w *webLab) postOnly(t *testing.T, d doc, canary string, fields map[string]string) doc {
	t.Helper()
	f := formValues(t, d)
	f.Set("canary", canary)
	for k, v := range fields {
		f.Set(k, v)
	}
	return w.fetch(t, http.MethodPost, portalBase+mock.PortalPath, f)
}

// submit posts the page's form, checks that the portal answers 303 See
// Other (post/redirect/get), and follows it.
func (w *webLab) submit(t *testing.T, d doc, canary string, fields map[string]string) doc {
	t.Helper()
	res := w.postOnly(t, d, canary, fields)
	require.Equal(t, http.StatusSeeOther, res.status, "a form post is answered with a redirect:\n%s", res.text)
	require.NotEmpty(t, res.location)
	return w.fetch(t, http.MethodGet, portalBase+res.location, nil)
}

// open loads the first page and runs its script.
func (w *webLab) open(t *testing.T, query string) (doc, string) {
	t.Helper()
	d := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath+query, nil)
	require.Equal(t, http.StatusOK, d.status, d.text)
	return d, w.runScript(t, d)
}

// startPortal opens the portal, runs its script and submits the user ID.
func (w *webLab) startPortal(t *testing.T, upn string) (doc, string) {
	t.Helper()
	d, canary := w.open(t, "?client=browser")
	d = w.submit(t, d, canary, map[string]string{"userId": upn, "captchaAnswer": w.captchaAnswer(t, d)})
	require.Equal(t, http.StatusOK, d.status, d.text)
	return d, canary
}

// radios returns the values of the page's radio buttons.
func radios(d doc) []string {
	var out []string
	for _, in := range elements(d.root, "input") {
		if attrOf(in, "type") == "radio" {
			out = append(out, attrOf(in, "value"))
		}
	}
	return out
}

// assertFieldInvalid checks that the named field is marked invalid and
// described by the page's one error, which is an alert that takes focus.
func assertFieldInvalid(t *testing.T, d doc, name, message string) {
	t.Helper()
	errs := find(d.root, func(n *html.Node) bool { return attrOf(n, "id") == "error" })
	require.Len(t, errs, 1, "one error on the page:\n%s", d.text)
	e := errs[0]
	assert.Equal(t, message, textOf(e))
	assert.Equal(t, "alert", attrOf(e, "role"), "the error is in a live region")
	assert.Equal(t, "-1", attrOf(e, "tabindex"), "the script can move focus to the error")
	fields := find(d.root, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "input" && attrOf(n, "name") == name
	})
	require.NotEmpty(t, fields, "no field %s", name)
	for _, f := range fields {
		assert.Equal(t, "true", attrOf(f, "aria-invalid"), "%s is marked invalid", name)
		assert.Equal(t, "error", attrOf(f, "aria-describedby"), "%s is described by the error", name)
	}
	assert.Equal(t, 1, strings.Count(textOf(d.app(t)), message), "the message is shown once")
}

// TestPortalEndToEnd completes the HTML flow as a browser would, doing by
// hand the one thing the script does and reading the CAPTCHA's answer
// from the lab.
func TestPortalEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)

	// The root redirects to the portal, as the real one does.
	resp, err := w.client.Get(portalBase + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, mock.PortalPath, resp.Header.Get("Location"))

	d := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath+"?client=windows-logon", nil)
	require.Equal(t, http.StatusOK, d.status)
	// Before the script runs, the user sees only "Something went wrong".
	sww := byID(d.root, "sww")
	require.NotNil(t, sww)
	_, hidden := attr(sww, "hidden")
	assert.False(t, hidden)
	assert.Equal(t, mock.SomethingWentWrong, textOf(sww))
	_, hidden = attr(d.app(t), "hidden")
	assert.True(t, hidden, "the form is hidden until the script shows it")
	assert.Equal(t, "Get back into your account", d.heading(t))

	// The CAPTCHA is a picture.
	img := byID(d.root, "captcha-image")
	require.NotNil(t, img)
	assert.NotEmpty(t, attrOf(img, "alt"))
	answer := w.captchaAnswer(t, d)
	assert.NotContains(t, textOf(d.root), answer, "the answer is not in the page's text")
	resp, err = w.client.Get(portalBase + attrOf(img, "src"))
	require.NoError(t, err)
	pic, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	decoded, err := png.Decode(bytes.NewReader(pic))
	require.NoError(t, err)
	assert.Equal(t, attrOf(img, "width"), strconv.Itoa(decoded.Bounds().Dx()))
	assert.Equal(t, attrOf(img, "height"), strconv.Itoa(decoded.Bounds().Dy()))

	canary := w.runScript(t, d)
	assert.Equal(t, int64(1), w.cdn.Requests())

	// Get back into your account.
	d = w.submit(t, d, canary, map[string]string{"userId": "adele@contoso.com", "captchaAnswer": answer})
	require.Equal(t, http.StatusOK, d.status, d.text)
	assert.Equal(t, portalBase+mock.PortalVerifyPath, d.url)
	assert.Equal(t, "Verification step 1 of 1", d.heading(t))
	require.Len(t, radios(d), 3)

	// Choose email; enter the code from the outbox.
	d = w.submit(t, d, canary, map[string]string{"method": "email"})
	require.Contains(t, d.text, "Enter your verification code")
	d = w.submit(t, d, canary, map[string]string{"code": "999999x"})
	assertFieldInvalid(t, d, "code", "That code didn't work. Check the code and try again.")
	d = w.submit(t, d, canary, map[string]string{"code": w.lastCode(t, "adele@contoso.com", mock.MethodEmail)})
	require.Equal(t, portalBase+mock.PortalPasswordPath, d.url)
	assert.Equal(t, "Choose a new password", d.heading(t))

	// Mismatched confirmation, then a banned password, then a good one.
	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword + "x"})
	assertFieldInvalid(t, d, "confirmPassword", "The passwords don't match.")
	d = w.submit(t, d, canary, map[string]string{"newPassword": "P@ssw0rd1", "confirmPassword": "P@ssw0rd1"})
	assertFieldInvalid(t, d, "newPassword", "The password you chose is too easy to guess. Please choose a password that is harder to guess.")
	assert.Equal(t, "FuzzyPolicyViolationInvalidPassword", attrOf(byID(d.root, "error"), "data-code"))
	assert.Equal(t, mock.OutcomeWeakPassword, attrOf(byID(d.root, "error"), "data-outcome"))
	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword})
	require.Equal(t, portalBase+mock.PortalDonePath, d.url)
	out := byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	assert.Equal(t, mock.OutcomeSuccess, attrOf(out, "data-outcome"))
	assert.Equal(t, "Your password has been reset", d.heading(t))
	assert.Contains(t, textOf(out), "You can now sign in with your new password.")
	assert.Nil(t, byID(d.root, "flow"), "nothing left to submit")

	entries := w.svc.Audit().Entries("adele@contoso.com")
	require.NotEmpty(t, entries)
	assert.Equal(t, mock.ClientWindowsLogon, entries[len(entries)-1].ClientType, "the client type travels with the form")
	w.assertNoSecrets(t, strongPassword, "P@ssw0rd1")
}

// TestPortalWithoutScript: a client that could not load the CDN script has
// no canary, and the portal can go no further than "Something went wrong".
func TestPortalWithoutScript(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath, nil)
	f := formValues(t, d)
	f.Set("userId", "adele@contoso.com")
	f.Set("captchaAnswer", w.captchaAnswer(t, d))
	for _, canary := range []string{"", "0123456789abcdef0123456789abcdef"} {
		f.Set("canary", canary)
		d = w.fetch(t, http.MethodPost, portalBase+mock.PortalPath, f)
		assert.Equal(t, http.StatusBadRequest, d.status)
		assert.Equal(t, mock.SomethingWentWrong, textOf(byID(d.root, "sww")))
		assert.Len(t, elements(d.root, "h1"), 1, "the message is the page's heading")
		assert.Nil(t, byID(d.root, "flow"), "no form to go on with")
		assert.Empty(t, elements(d.root, "script"), "no script that could hide the message")
	}
	assert.Empty(t, w.svc.Audit().Entries(""), "the service never got as far as the user")
	assert.Equal(t, int64(0), w.cdn.Requests())
}

// TestPortalOutcomePage: a refusal's page has the outcome as its heading,
// a text that does not repeat it, and the code.
func TestPortalOutcomePage(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, canary := w.open(t, "?client=windows7-addin")
	d = w.submit(t, d, canary, map[string]string{"userId": "nolicense@contoso.com", "captchaAnswer": w.captchaAnswer(t, d)})
	require.Equal(t, portalBase+mock.PortalDonePath, d.url)
	out := byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	assert.Equal(t, mock.OutcomeNotEnabled, attrOf(out, "data-outcome"))
	assert.Equal(t, "SSPR_0012", attrOf(out, "data-code"))
	assert.Equal(t, "Your account is not enabled for password reset", d.heading(t))
	assertNoRepeatedHeading(t, d)
	assert.Contains(t, textOf(out), "Additional details: SSPR_0012")

	// Unknown client type in the page URL.
	d = w.fetch(t, http.MethodGet, portalBase+mock.PortalPath+"?client=netscape", nil)
	assert.Equal(t, http.StatusBadRequest, d.status)
}

// assertNoRepeatedHeading: no paragraph says what the h1 says.
func assertNoRepeatedHeading(t *testing.T, d doc) {
	t.Helper()
	h := strings.TrimSuffix(d.heading(t), ".")
	for _, p := range elements(d.app(t), "p") {
		assert.NotEqual(t, h, strings.TrimSuffix(textOf(p), "."), "a paragraph repeats the heading")
	}
}

// TestPortalProblemPage: a post the flow cannot take (an unknown or
// expired flow) leads to a page that says so in words, with the status,
// and a way back to the start; never the API's text.
func TestPortalProblemPage(t *testing.T) {
	t.Parallel()
	clock := &mock.Clock{}
	clock.Freeze()
	w := newWebLab(t, mock.WithClock(clock))
	d, canary := w.startPortal(t, "adele@contoso.com")

	forged := formValues(t, d)
	forged.Set("canary", canary)
	forged.Set("flowToken", "nope")
	forged.Set("method", "email")
	res := w.fetch(t, http.MethodPost, portalBase+mock.PortalPath, forged)
	require.Equal(t, http.StatusSeeOther, res.status)
	assert.Equal(t, mock.PortalProblemPath, res.location)
	p := w.fetch(t, http.MethodGet, portalBase+res.location, nil)
	assert.Equal(t, http.StatusNotFound, p.status)
	assert.Equal(t, "We can't find your password reset", p.heading(t))
	assert.Equal(t, "unknown-flow", attrOf(byID(p.root, "problem"), "data-kind"))
	assert.NotContains(t, p.text, "unknown flow token", "no raw API text")
	assertNoRepeatedHeading(t, p)
	links := find(p.app(t), func(n *html.Node) bool { return n.Data == "a" && textOf(n) == "Start again" })
	require.Len(t, links, 1)
	assert.Equal(t, mock.PortalPath, attrOf(links[0], "href"))

	// The flow expires while the page is open.
	d, canary = w.startPortal(t, "adele@contoso.com")
	clock.Advance(mock.DefaultFlowTTL + 1)
	p = w.submit(t, d, canary, map[string]string{"method": "email"})
	assert.Equal(t, http.StatusGone, p.status)
	assert.Equal(t, "Your session has expired", p.heading(t))
	assert.Equal(t, portalBase+mock.PortalProblemPath, p.url)

	// Nothing to show: back to the start.
	d = w.fetch(t, http.MethodGet, portalBase+mock.PortalVerifyPath, nil)
	assert.Equal(t, http.StatusSeeOther, d.status, "the expired flow is gone from the session")
	assert.Equal(t, mock.PortalPath, d.location)
}

// TestPortalTwoGates: email, then an authenticator notification the lab
// approves through the admin API, then the password, all through the forms.
func TestPortalTwoGates(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	const upn = "alex@fabrikam.com"
	d, canary := w.startPortal(t, upn)
	require.Equal(t, "Verification step 1 of 2", d.heading(t))

	d = w.submit(t, d, canary, map[string]string{"method": "email"})
	require.Contains(t, d.text, "Enter your verification code", d.text)
	code := w.lastCode(t, upn, mock.MethodEmail)
	d = w.submit(t, d, canary, map[string]string{"code": code})
	require.Equal(t, "Verification step 2 of 2", d.heading(t))
	assert.ElementsMatch(t, []string{"sms", "appNotification", "appCode"}, radios(d), "email passed already")

	d = w.submit(t, d, canary, map[string]string{"method": "appNotification"})
	require.Equal(t, "We've sent a notification to your authenticator app. Approve it, then select Next.", textOf(byID(d.root, "sent-to")))
	d = w.submit(t, d, canary, nil)
	assert.Equal(t, "We haven't received your approval yet. Approve the notification in your authenticator app, then select Next.",
		textOf(byID(d.root, "notice")), "not approved yet: the same page again")
	assert.Equal(t, "status", attrOf(byID(d.root, "notice"), "role"))
	require.Equal(t, http.StatusNoContent, w.adminDo(t, http.MethodPost, "/authenticator/"+upn+"/approve", nil, nil))
	d = w.submit(t, d, canary, nil)
	require.Equal(t, "Choose a new password", d.heading(t))

	d = w.submit(t, d, canary, map[string]string{"newPassword": "Sh0rt!", "confirmPassword": "Sh0rt!"})
	assertFieldInvalid(t, d, "newPassword", "Your password must have 8 to 256 characters and use three of: lower-case letters, upper-case letters, numbers and symbols.")
	_, hasCode := attr(byID(d.root, "error"), "data-code")
	assert.False(t, hasCode, "a too-short password has no error code")
	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword})
	assert.Equal(t, mock.OutcomeSuccess, attrOf(byID(d.root, "outcome"), "data-outcome"))
	w.assertNoSecrets(t, code, strongPassword, "Sh0rt!")
}

// TestPortalSecurityQuestions: the questions asked on the page, answered
// through the form: one left empty, then a wrong answer, then right.
func TestPortalSecurityQuestions(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, canary := w.startPortal(t, "quinn@contoso.com")
	d = w.submit(t, d, canary, map[string]string{"method": "securityQuestions"})
	require.Equal(t, http.StatusOK, d.status, d.text)
	var asked []string
	for _, l := range elements(byID(d.root, "questions"), "label") {
		asked = append(asked, textOf(l))
	}
	assert.Equal(t, []string{"In what city were you born?", "What was your first pet's name?", "What was your childhood nickname?"}, asked)
	assert.Equal(t, "Answer your security questions", textOf(elements(byID(d.root, "questions"), "legend")[0]))

	d = w.submit(t, d, canary, map[string]string{"answer0": "Porto", "answer1": " ", "answer2": "Q"})
	assertFieldInvalid(t, d, "answer1", "Answer every question.")
	assert.Empty(t, attrOf(byID(d.root, "answer0"), "aria-invalid"), "the answered question is not marked")

	d = w.submit(t, d, canary, map[string]string{"answer0": "Porto", "answer1": "Biscuit", "answer2": "Q"})
	assertFieldInvalid(t, d, "answer0", "One or more of your answers is incorrect. Please try again.")
	d = w.submit(t, d, canary, map[string]string{"answer0": "lisbon", "answer1": "biscuit", "answer2": "q"})
	require.Equal(t, "Choose a new password", d.heading(t))
	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword})
	assert.Equal(t, "Your password has been reset", d.heading(t))
	w.assertNoSecrets(t, "Lisbon", "lisbon", "Biscuit", "biscuit", strongPassword)
}

// TestPortalFaults: a fault on the page and a fault on a form post answer
// with their status; once spent, the portal goes on.
func TestPortalFaults(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)

	require.NoError(t, w.svc.SetFault("page", mock.StepFault{Status: 503, Times: 1}))
	d := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath, nil)
	assert.Equal(t, http.StatusServiceUnavailable, d.status)
	assert.Nil(t, byID(d.root, "flow"), "no form")
	d, canary := w.startPortal(t, "adele@contoso.com")
	require.Equal(t, "Verification step 1 of 1", d.heading(t), "the fault was spent")

	require.NoError(t, w.svc.SetFault("send", mock.StepFault{Status: 500, Times: 1}))
	failed := w.postOnly(t, d, canary, map[string]string{"method": "email"})
	assert.Equal(t, http.StatusInternalServerError, failed.status)
	assert.Empty(t, w.svc.Outbox().Messages(""), "the faulted step did not run")
	d = w.submit(t, d, canary, map[string]string{"method": "email"})
	require.Equal(t, http.StatusOK, d.status)
	assert.Contains(t, d.text, "Enter your verification code", "the same form again works")
}

// TestScriptPathVersioned: the page's script path holds a hash of the
// script, so each service (each canary) has its own; the alias stays.
func TestScriptPathVersioned(t *testing.T) {
	t.Parallel()
	a, err := mock.New()
	require.NoError(t, err)
	b, err := mock.New()
	require.NoError(t, err)
	assert.Regexp(t, `^/ajax/passwordreset/[0-9a-f]{16}/sspr\.min\.js$`, a.ScriptPath())
	assert.NotEqual(t, a.ScriptPath(), b.ScriptPath(), "a new canary, a new path")
	assets := a.ScriptAssets()
	require.Len(t, assets, 2)
	assert.Equal(t, a.ScriptPath(), assets[0].Path)
	assert.Equal(t, mock.ScriptAliasPath, assets[1].Path)
	assert.Equal(t, assets[0].Body, assets[1].Body)
	sum := sha256.Sum256(assets[0].Body)
	assert.Contains(t, a.ScriptPath(), hex.EncodeToString(sum[:8]))
}
