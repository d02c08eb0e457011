package mock_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// TestPortalMissingMethodIsAFormError: Next without a method chosen is an
// error on the same page, not the end of the flow; the choice then works.
func TestPortalMissingMethodIsAFormError(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, canary := w.startPortal(t, "adele@contoso.com")
	before := d.title()

	d = w.submit(t, d, canary, nil)
	require.Equal(t, http.StatusOK, d.status, d.text)
	assert.Equal(t, portalBase+mock.PortalVerifyPath, d.url)
	assert.Equal(t, before, d.title(), "the same page")
	assertFieldInvalid(t, d, "method", "Choose a verification method.")
	assert.Len(t, radios(d), 3, "the choices are still there")
	assert.Empty(t, w.svc.Outbox().Messages(""))

	d = w.submit(t, d, canary, map[string]string{"method": "email"})
	assert.Contains(t, textOf(byID(d.root, "sent-to")), "ad*********@outlook.example")
	assert.Nil(t, byID(d.root, "error"), "the error is gone")
}

// TestPortalWrongCaptchaKeepsUserID: a wrong or missing CAPTCHA answer,
// and a missing user ID, are errors on the first page; the user ID typed
// stays, and a new CAPTCHA is shown.
func TestPortalWrongCaptchaKeepsUserID(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, canary := w.open(t, "")
	firstID := formValues(t, d).Get("captchaId")

	d = w.submit(t, d, canary, map[string]string{"userId": "adele@contoso.com", "captchaAnswer": "WRONG1"})
	require.Equal(t, http.StatusOK, d.status)
	assert.Equal(t, portalBase+mock.PortalPath, d.url)
	assert.Equal(t, "adele@contoso.com", attrOf(byID(d.root, "userId"), "value"), "the user ID stays")
	assertFieldInvalid(t, d, "captchaAnswer", "The characters you entered didn't match. Please try again.")
	assert.Empty(t, attrOf(byID(d.root, "userId"), "aria-invalid"))
	assert.NotEqual(t, firstID, formValues(t, d).Get("captchaId"), "a new CAPTCHA")
	assert.Equal(t, mock.StatusWrongCaptcha, attrOf(byID(d.root, "error"), "data-status"))

	d = w.submit(t, d, canary, map[string]string{"userId": "adele@contoso.com", "captchaAnswer": ""})
	assertFieldInvalid(t, d, "captchaAnswer", "Enter the characters in the picture.")
	d = w.submit(t, d, canary, map[string]string{"userId": "  ", "captchaAnswer": "ABCDEF"})
	assertFieldInvalid(t, d, "userId", "Enter your user ID.")

	d = w.submit(t, d, canary, map[string]string{"userId": "adele@contoso.com", "captchaAnswer": strings.ToLower(w.captchaAnswer(t, d))})
	assert.Equal(t, "Verification step 1 of 1", d.heading(t))
	assert.Empty(t, w.svc.Audit().Entries("adele@contoso.com")[1:], "one flow started, after the right answer")
}

// TestPortalPostRedirectGet: every post is answered with 303 to the page
// of the step the flow is at, which a GET shows; reloading it runs
// nothing again, and an earlier step's page (Back) sends to the current
// one. The first page, reached by Back, starts afresh.
func TestPortalPostRedirectGet(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	const upn = "adele@contoso.com"
	first, canary := w.open(t, "?client=windows-logon")

	res := w.postOnly(t, first, canary, map[string]string{"userId": upn, "captchaAnswer": w.captchaAnswer(t, first)})
	require.Equal(t, http.StatusSeeOther, res.status)
	assert.Equal(t, mock.PortalVerifyPath, res.location)
	d := w.fetch(t, http.MethodGet, portalBase+res.location, nil)
	require.Equal(t, http.StatusOK, d.status)
	assert.Equal(t, "Verification step 1 of 1: choose a method", d.title())

	res = w.postOnly(t, d, canary, map[string]string{"method": "email"})
	require.Equal(t, http.StatusSeeOther, res.status)
	assert.Equal(t, mock.PortalVerifyPath, res.location, "the code is entered on the same step's page")
	code := w.fetch(t, http.MethodGet, portalBase+res.location, nil)
	assert.Equal(t, "Verification step 1 of 1: enter the code", code.title())
	reload := w.fetch(t, http.MethodGet, portalBase+res.location, nil)
	assert.Equal(t, code.title(), reload.title())
	assert.Len(t, w.svc.Outbox().Messages(upn), 1, "a reload sends no second code")

	d = w.submit(t, code, canary, map[string]string{"code": w.lastCode(t, upn, mock.MethodEmail)})
	assert.Equal(t, portalBase+mock.PortalPasswordPath, d.url)
	back := w.fetch(t, http.MethodGet, portalBase+mock.PortalVerifyPath, nil)
	assert.Equal(t, http.StatusSeeOther, back.status, "Back to a gate passed")
	assert.Equal(t, mock.PortalPasswordPath, back.location)

	d = w.submit(t, d, canary, map[string]string{"newPassword": strongPassword, "confirmPassword": strongPassword})
	assert.Equal(t, portalBase+mock.PortalDonePath, d.url)
	for _, p := range []string{mock.PortalVerifyPath, mock.PortalPasswordPath} {
		back = w.fetch(t, http.MethodGet, portalBase+p, nil)
		assert.Equal(t, http.StatusSeeOther, back.status, p)
		assert.Equal(t, mock.PortalDonePath, back.location, p)
	}
	again := w.fetch(t, http.MethodGet, portalBase+mock.PortalDonePath, nil)
	assert.Equal(t, "Your password has been reset", again.heading(t))
	start := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath, nil)
	assert.Equal(t, "Get back into your account", start.heading(t), "Back to the first page starts afresh")
	assert.Equal(t, "windows-logon", formValues(t, start).Get("client"), "the session keeps the client type")

	// A browser without the session (no cookies) is sent to the start.
	fresh := newWebLab(t)
	lost := fresh.fetch(t, http.MethodGet, portalBase+mock.PortalPasswordPath, nil)
	assert.Equal(t, http.StatusSeeOther, lost.status)
	assert.Equal(t, mock.PortalPath, lost.location)
}

// TestPortalMethodLabels: the choices read as sentences with the masked
// contact, and the code page says where the code went.
func TestPortalMethodLabels(t *testing.T) {
	t.Parallel()
	labelsOf := func(d doc) []string {
		var labels []string
		for _, l := range elements(byID(d.root, "methods"), "label") {
			labels = append(labels, textOf(l))
		}
		return labels
	}
	w := newWebLab(t)
	d, _ := w.startPortal(t, "adele@contoso.com")
	assert.Equal(t, []string{
		"Email my alternate email ad*********@outlook.example",
		"Text my mobile phone +1 XXXXXXXX00",
		"Call my phone +1 XXXXXXXX01",
	}, labelsOf(d))
	legend := elements(byID(d.root, "methods"), "legend")
	require.Len(t, legend, 1, "the group has a legend")
	assert.Equal(t, "fieldset", byID(d.root, "methods").Data)

	for m, want := range map[string]string{
		"sms":   "We've sent a text message with a verification code to +1 XXXXXXXX00.",
		"voice": "We're calling +1 XXXXXXXX01. Answer, and enter the verification code you hear.",
		"email": "We've sent an email with a verification code to ad*********@outlook.example.",
	} {
		w := newWebLab(t)
		d, canary := w.startPortal(t, "adele@contoso.com")
		d = w.submit(t, d, canary, map[string]string{"method": m})
		assert.Equal(t, want, textOf(byID(d.root, "sent-to")), m)
	}

	w2 := newWebLab(t)
	d, canary := w2.startPortal(t, "alex@fabrikam.com")
	labels := labelsOf(d)
	assert.Contains(t, labels, "Approve a notification on my authenticator app")
	assert.Contains(t, labels, "Enter a code from my authenticator app")
	assert.Contains(t, labels, "Text my mobile phone +44 XXXXXXXX23")
	d = w2.submit(t, d, canary, map[string]string{"method": "appCode"})
	assert.Equal(t, "Verification step 1 of 2: enter the code from your app", d.title())
	assert.Equal(t, "Enter the code from your authenticator app", textOf(elements(d.app(t), "label")[0]))
}

// TestPortalCancel: Cancel ends the session; the next page starts afresh.
func TestPortalCancel(t *testing.T) {
	t.Parallel()
	w := newWebLab(t)
	d, _ := w.startPortal(t, "adele@contoso.com")
	links := elements(byID(d.root, "flow"), "a")
	require.Len(t, links, 1)
	require.Equal(t, "Cancel", textOf(links[0]))
	c := w.fetch(t, http.MethodGet, portalBase+attrOf(links[0], "href"), nil)
	require.Equal(t, http.StatusOK, c.status)
	assert.Equal(t, "Password reset cancelled", c.heading(t))
	back := w.fetch(t, http.MethodGet, portalBase+mock.PortalVerifyPath, nil)
	assert.Equal(t, http.StatusSeeOther, back.status)
	assert.Equal(t, mock.PortalPath, back.location)
	start := w.fetch(t, http.MethodGet, portalBase+mock.PortalPath, nil)
	assert.Empty(t, attrOf(byID(start.root, "userId"), "value"), "the session is gone")
}
