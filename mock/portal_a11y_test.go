package mock_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
)

// assertAccessible checks what every page of the flow needs: a language,
// a main landmark, one h1 in what the script shows, a label for every
// field, and a live region for the "Something went wrong" message.
func assertAccessible(t *testing.T, d doc) {
	t.Helper()
	htmlEl := elements(d.root, "html")
	require.Len(t, htmlEl, 1)
	assert.Equal(t, "en", attrOf(htmlEl[0], "lang"))
	assert.Len(t, elements(d.root, "main"), 1, "a main landmark")
	d.heading(t)
	assert.Equal(t, "alert", attrOf(byID(d.root, "sww"), "role"))
	labelled := map[string]bool{}
	for _, l := range elements(d.root, "label") {
		labelled[attrOf(l, "for")] = true
	}
	for _, in := range elements(d.root, "input") {
		if attrOf(in, "type") == "hidden" {
			continue
		}
		id := attrOf(in, "id")
		assert.True(t, id != "" && labelled[id], "input %s has a label", attrOf(in, "name"))
	}
	for _, img := range elements(d.root, "img") {
		_, ok := attr(img, "alt")
		assert.True(t, ok, "image %s has alt text", attrOf(img, "src"))
	}
}

// TestPortalTitlesAndHeadings: each step of a two-gate flow has a <title>
// of its own and one h1, and every page passes the accessibility checks.
func TestPortalTitlesAndHeadings(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	const upn = "alex@fabrikam.com"
	var titles []string
	visit := func(d doc) doc {
		t.Helper()
		require.Equal(t, http.StatusOK, d.status, d.text)
		assertAccessible(t, d)
		assert.NotContains(t, titles, d.title(), "%s has a title of its own", d.url)
		titles = append(titles, d.title())
		return d
	}
	d, canary := w.open(t, "")
	visit(d)
	d = visit(w.submit(t, d, canary, map[string]string{"userId": upn, "captchaAnswer": w.captchaAnswer(t, d)}))
	d = visit(w.submit(t, d, canary, map[string]string{"method": "email"}))
	d = visit(w.submit(t, d, canary, map[string]string{"code": w.lastCode(t, upn, mock.MethodEmail)}))
	d = visit(w.submit(t, d, canary, map[string]string{"method": "appNotification"}))
	require.NoError(t, w.svc.Authenticator().Answer(upn, true))
	d = visit(w.submit(t, d, canary, nil))
	d = visit(w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword}))
	assertNoRepeatedHeading(t, d)
	assert.Equal(t, []string{
		"Get back into your account",
		"Verification step 1 of 2: choose a method",
		"Verification step 1 of 2: enter the code",
		"Verification step 2 of 2: choose a method",
		"Verification step 2 of 2: approve the notification",
		"Choose a new password",
		"Your password has been reset",
	}, titles)
}

// TestPortalProgressTrail: the verification and password pages show the
// steps, with the current one marked for assistive technology.
func TestPortalProgressTrail(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, canary := w.startPortal(t, "alex@fabrikam.com")
	trail := func(d doc) (steps []string, current string) {
		for _, li := range elements(d.root, "li") {
			steps = append(steps, textOf(li))
			if attrOf(li, "aria-current") == "step" {
				current = textOf(li)
			}
		}
		return steps, current
	}
	steps, current := trail(d)
	assert.Equal(t, []string{"verification step 1", "verification step 2", "choose a new password"}, steps)
	assert.Equal(t, "verification step 1", current)
	d = w.submit(t, d, canary, map[string]string{"method": "email"})
	d = w.submit(t, d, canary, map[string]string{"code": w.lastCode(t, "alex@fabrikam.com", mock.MethodEmail)})
	_, current = trail(d)
	assert.Equal(t, "verification step 2", current)
}

// TestPortalWaitsForScript: the page shows "Please wait" to a browser
// until its script's load or error event, at most ScriptWait, and only
// "Something went wrong" to a reader without JavaScript.
func TestPortalWaitsForScript(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath, nil)
	wait := byID(d.root, "wait")
	require.NotNil(t, wait)
	assert.Equal(t, "status", attrOf(wait, "role"))
	var inline, external *html.Node
	for _, s := range elements(d.root, "script") {
		if _, ok := attr(s, "src"); ok {
			external = s
		} else {
			inline = s
		}
	}
	require.NotNil(t, inline)
	require.NotNil(t, external)
	code := textOf(inline)
	assert.Contains(t, code, "setTimeout(giveUp, "+strconv.FormatInt(mock.ScriptWait.Milliseconds(), 10)+" )")
	assert.Equal(t, "ssprScriptLoaded()", attrOf(external, "onload"))
	assert.Equal(t, "ssprScriptFailed()", attrOf(external, "onerror"))
	_, deferred := attr(external, "defer")
	assert.True(t, deferred)
	assert.NotContains(t, code, w.runScript(t, d), "the canary is only in the CDN's script")
	// The style hides the message only while the page waits.
	style := textOf(elements(d.root, "style")[0])
	assert.Contains(t, style, ".sspr-wait #sww { display: none; }")
	assert.True(t, strings.Index(d.text, `id="sww"`) > 0)
}

// TestScriptWaitIsTheClientTimeout: the page and the lab's client call a
// CDN too slow at the same point.
func TestScriptWaitIsTheClientTimeout(t *testing.T) {
	t.Parallel()
	assert.Equal(t, client.DefaultRequestTimeout, mock.ScriptWait)
}
