package mock_test

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/vhost"
)

// webLab serves the portal and the CDN as TLS virtual hosts on loopback,
// and gives a browser-like client that reaches them by name.
type webLab struct {
	*lab
	cdn    *mock.CDN
	client *http.Client
}

func newWebLab(t *testing.T) *webLab {
	t.Helper()
	l := newLab(t)
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
	client := &http.Client{
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
	status int
	root   *html.Node
	text   string
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
	root, err := html.Parse(strings.NewReader(string(raw)))
	require.NoError(t, err)
	return doc{status: resp.StatusCode, root: root, text: string(raw)}
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

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byID(n *html.Node, id string) *html.Node {
	nodes := find(n, func(n *html.Node) bool { v, _ := attr(n, "id"); return n.Type == html.ElementNode && v == id })
	if len(nodes) == 0 {
		return nil
	}
	return nodes[0]
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for _, t := range find(n, func(n *html.Node) bool { return n.Type == html.TextNode }) {
		b.WriteString(t.Data)
	}
	return strings.TrimSpace(b.String())
}

// formValues returns the form's hidden inputs, as a browser would submit them.
func formValues(t *testing.T, d doc) url.Values {
	t.Helper()
	form := byID(d.root, "flow")
	require.NotNil(t, form, "page has no form:\n%s", d.text)
	v := url.Values{}
	for _, in := range find(form, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "input" }) {
		if typ, _ := attr(in, "type"); typ == "hidden" {
			name, _ := attr(in, "name")
			val, _ := attr(in, "value")
			v.Set(name, val)
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
	scripts := find(d.root, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "script" })
	require.Len(t, scripts, 1)
	src, _ := attr(scripts[0], "src")
	integrity, _ := attr(scripts[0], "integrity")
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

// TestPortalEndToEnd completes the HTML flow as a browser without
// JavaScript would, doing by hand the one thing the script does.
func TestPortalEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	portal := "https://" + mock.PortalHost + mock.PortalPath

	// The root redirects to the portal, as the real one does.
	resp, err := w.client.Get("https://" + mock.PortalHost + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, mock.PortalPath, resp.Header.Get("Location"))

	d := w.fetch(t, http.MethodGet, portal+"?client=windows-logon", nil)
	require.Equal(t, http.StatusOK, d.status)
	// Before the script runs, the user sees only "Something went wrong".
	sww := byID(d.root, "sww")
	require.NotNil(t, sww)
	_, hidden := attr(sww, "hidden")
	assert.False(t, hidden)
	assert.Equal(t, mock.SomethingWentWrong, textOf(sww))
	_, hidden = attr(byID(d.root, "app"), "hidden")
	assert.True(t, hidden, "the form is hidden until the script shows it")
	assert.Equal(t, "Get back into your account", textOf(find(d.root, func(n *html.Node) bool { return n.Data == "h1" })[0]))

	canary := w.runScript(t, d)
	assert.Equal(t, int64(1), w.cdn.Requests())

	// Get back into your account.
	f := formValues(t, d)
	f.Set("canary", canary)
	f.Set("userId", "adele@contoso.com")
	f.Set("captchaAnswer", textOf(byID(d.root, "captcha-challenge")))
	d = w.fetch(t, http.MethodPost, portal, f)
	require.Equal(t, http.StatusOK, d.status, d.text)
	assert.Contains(t, d.text, "Verification step 1 of 1")
	radios := find(d.root, func(n *html.Node) bool { typ, _ := attr(n, "type"); return typ == "radio" })
	require.Len(t, radios, 3)

	// Choose email; enter the code from the outbox.
	f = formValues(t, d)
	f.Set("canary", canary)
	f.Set("method", "email")
	d = w.fetch(t, http.MethodPost, portal, f)
	require.Equal(t, http.StatusOK, d.status, d.text)
	require.Contains(t, d.text, "Enter your verification code")
	f = formValues(t, d)
	f.Set("canary", canary)
	f.Set("code", "999999x")
	d = w.fetch(t, http.MethodPost, portal, f)
	assert.Contains(t, textOf(byID(d.root, "notice")), "That code didn't work")
	f = formValues(t, d)
	f.Set("canary", canary)
	f.Set("code", w.lastCode(t, "adele@contoso.com", mock.MethodEmail))
	d = w.fetch(t, http.MethodPost, portal, f)
	require.Contains(t, d.text, "Create a new password", d.text)

	// Mismatched confirmation, then a banned password, then a good one.
	f = formValues(t, d)
	f.Set("canary", canary)
	f.Set("newPassword", strongPassword)
	f.Set("confirmPassword", strongPassword+"x")
	d = w.fetch(t, http.MethodPost, portal, f)
	assert.Equal(t, "The passwords don't match.", textOf(byID(d.root, "notice")))
	f = formValues(t, d)
	f.Set("canary", canary)
	f.Set("newPassword", "P@ssw0rd1")
	f.Set("confirmPassword", "P@ssw0rd1")
	d = w.fetch(t, http.MethodPost, portal, f)
	out := byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	code, _ := attr(out, "data-code")
	assert.Equal(t, "FuzzyPolicyViolationInvalidPassword", code)
	f = formValues(t, d)
	f.Set("canary", canary)
	f.Set("newPassword", strongPassword)
	f.Set("confirmPassword", strongPassword)
	d = w.fetch(t, http.MethodPost, portal, f)
	out = byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	oc, _ := attr(out, "data-outcome")
	assert.Equal(t, mock.OutcomeSuccess, oc)
	assert.Equal(t, "Your password has been reset.", textOf(out))

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
	portal := "https://" + mock.PortalHost + mock.PortalPath
	d := w.fetch(t, http.MethodGet, portal, nil)
	f := formValues(t, d)
	f.Set("userId", "adele@contoso.com")
	f.Set("captchaAnswer", textOf(byID(d.root, "captcha-challenge")))
	for _, canary := range []string{"", "0123456789abcdef0123456789abcdef"} {
		f.Set("canary", canary)
		d = w.fetch(t, http.MethodPost, portal, f)
		assert.Equal(t, http.StatusBadRequest, d.status)
		assert.Contains(t, d.text, mock.SomethingWentWrong)
		assert.Nil(t, byID(d.root, "flow"), "no form to go on with")
	}
	assert.Empty(t, w.svc.Audit().Entries(""), "the service never got as far as the user")
	assert.Equal(t, int64(0), w.cdn.Requests())
}

func TestPortalOutcomePage(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	portal := "https://" + mock.PortalHost + mock.PortalPath
	d := w.fetch(t, http.MethodGet, portal+"?client=windows7-addin", nil)
	canary := w.runScript(t, d)
	f := formValues(t, d)
	f.Set("canary", canary)
	f.Set("userId", "nolicense@contoso.com")
	f.Set("captchaAnswer", textOf(byID(d.root, "captcha-challenge")))
	d = w.fetch(t, http.MethodPost, portal, f)
	out := byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	assert.Equal(t, "Your account is not enabled for password reset.", textOf(out))
	assert.Contains(t, d.text, "Additional details: SSPR_0012")

	// A step out of order gets the error page with the status.
	f.Set("action", "password")
	f.Set("flowToken", "nope")
	f.Set("newPassword", strongPassword)
	f.Set("confirmPassword", strongPassword)
	d = w.fetch(t, http.MethodPost, portal, f)
	assert.Equal(t, http.StatusNotFound, d.status)
	assert.Contains(t, d.text, "unknown flow token")
	// Unknown client type in the page URL.
	d = w.fetch(t, http.MethodGet, portal+"?client=netscape", nil)
	assert.Equal(t, http.StatusBadRequest, d.status)
}

// submit posts the page's form with the script's canary and the fields a
// user fills in.
func (w *webLab) submit(t *testing.T, d doc, canary string, fields map[string]string) doc {
	t.Helper()
	f := formValues(t, d)
	f.Set("canary", canary)
	for k, v := range fields {
		f.Set(k, v)
	}
	return w.fetch(t, http.MethodPost, "https://"+mock.PortalHost+mock.PortalPath, f)
}

// startPortal opens the portal, runs its script and submits the user ID.
func (w *webLab) startPortal(t *testing.T, upn string) (doc, string) {
	t.Helper()
	d := w.fetch(t, http.MethodGet, "https://"+mock.PortalHost+mock.PortalPath+"?client=browser", nil)
	require.Equal(t, http.StatusOK, d.status)
	canary := w.runScript(t, d)
	d = w.submit(t, d, canary, map[string]string{"userId": upn, "captchaAnswer": textOf(byID(d.root, "captcha-challenge"))})
	require.Equal(t, http.StatusOK, d.status, d.text)
	return d, canary
}

// TestPortalTwoGates: email, then an authenticator notification the lab
// approves through the admin API, then the password, all through the forms.
func TestPortalTwoGates(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	const upn = "alex@fabrikam.com"
	d, canary := w.startPortal(t, upn)
	require.Contains(t, d.text, "Verification step 1 of 2")

	d = w.submit(t, d, canary, map[string]string{"method": "email"})
	require.Contains(t, d.text, "Enter your verification code", d.text)
	code := w.lastCode(t, upn, mock.MethodEmail)
	d = w.submit(t, d, canary, map[string]string{"code": code})
	require.Contains(t, d.text, "Verification step 2 of 2", d.text)
	radios := find(d.root, func(n *html.Node) bool { typ, _ := attr(n, "type"); return typ == "radio" })
	var offered []string
	for _, r := range radios {
		v, _ := attr(r, "value")
		offered = append(offered, v)
	}
	assert.ElementsMatch(t, []string{"sms", "appNotification", "appCode"}, offered, "email passed already")

	d = w.submit(t, d, canary, map[string]string{"method": "appNotification"})
	require.Contains(t, d.text, "We've sent a notification to your mobile device", d.text)
	pending := d
	d = w.submit(t, pending, canary, nil)
	assert.Contains(t, d.text, "We've sent a notification", "not approved yet: the same page again")
	require.Equal(t, http.StatusNoContent, w.adminDo(t, http.MethodPost, "/authenticator/"+upn+"/approve", nil, nil))
	d = w.submit(t, d, canary, nil)
	require.Contains(t, d.text, "Create a new password", d.text)

	d = w.submit(t, d, canary, map[string]string{"newPassword": "Sh0rt!", "confirmPassword": "Sh0rt!"})
	assert.Equal(t, "Your password must have 8 to 256 characters and use three of: lower-case letters, upper-case letters, numbers and symbols.",
		textOf(byID(d.root, "notice")))
	out := byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	oc, _ := attr(out, "data-code")
	assert.Empty(t, oc, "a too-short password has no error code")
	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword})
	out = byID(d.root, "outcome")
	require.NotNil(t, out, d.text)
	oc, _ = attr(out, "data-outcome")
	assert.Equal(t, mock.OutcomeSuccess, oc)
	w.assertNoSecrets(t, code, strongPassword, "Sh0rt!")
}

// TestPortalSecurityQuestions: the questions asked on the page, answered
// through the form, a wrong answer first.
func TestPortalSecurityQuestions(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, canary := w.startPortal(t, "quinn@contoso.com")
	d = w.submit(t, d, canary, map[string]string{"method": "securityQuestions"})
	require.Equal(t, http.StatusOK, d.status, d.text)
	for _, q := range []string{"In what city were you born?", "What was your first pet&#39;s name?", "What was your childhood nickname?"} {
		assert.Contains(t, d.text, q)
	}
	d = w.submit(t, d, canary, map[string]string{"answer0": "Porto", "answer1": "Biscuit", "answer2": "Q"})
	assert.Equal(t, "One or more of your answers is incorrect. Please try again.", textOf(byID(d.root, "notice")))
	d = w.submit(t, d, canary, map[string]string{"answer0": "lisbon", "answer1": "biscuit", "answer2": "q"})
	require.Contains(t, d.text, "Create a new password", d.text)
	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword})
	assert.Contains(t, d.text, "Your password has been reset.")
	w.assertNoSecrets(t, "Lisbon", "lisbon", "Biscuit", "biscuit", strongPassword)
}

// TestPortalFaults: a fault on the page and a fault on a form post answer
// with their status; once spent, the portal goes on.
func TestPortalFaults(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	portal := "https://" + mock.PortalHost + mock.PortalPath

	require.NoError(t, w.svc.SetFault("page", mock.StepFault{Status: 503, Times: 1}))
	d := w.fetch(t, http.MethodGet, portal, nil)
	assert.Equal(t, http.StatusServiceUnavailable, d.status)
	assert.Nil(t, byID(d.root, "flow"), "no form")
	d, canary := w.startPortal(t, "adele@contoso.com")
	require.Contains(t, d.text, "Verification step 1 of 1", "the fault was spent")

	require.NoError(t, w.svc.SetFault("send", mock.StepFault{Status: 500, Times: 1}))
	failed := w.submit(t, d, canary, map[string]string{"method": "email"})
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
