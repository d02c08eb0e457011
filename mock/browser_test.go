//go:build browser

// The portal in a real browser: headless Chromium, driven over the
// DevTools protocol by chromedp, through the lab's proxy. Run with
// `make test-browser` (go test -tags browser); Debian's chromium package
// provides the browser. Without it these tests fail, unless
// EGRESSLAB_ALLOW_MISSING_TOOLS=1.
//
// Chromium always runs with --proxy-server (the lab proxy's 127.0.0.1
// address, loopback included via <-loopback>), --disable-background-networking,
// and a host resolver that resolves nothing but 127.0.0.1, so every name
// is resolved by the lab's proxy inside the lab and nothing reaches the
// internet. It trusts the lab's certificate by its public key
// (--ignore-certificate-errors-spki-list), test-only: the lab root is not
// in Chromium's trust store.
package mock_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"iter"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// browserTimeout bounds each test's browser session: a hung page fails
// the test instead of hanging the run. It is a bound, not a wait.
const browserTimeout = 2 * time.Minute

// ssprHosts is the documented allow-list remedy.
var ssprHosts = []string{mock.PortalHost, mock.CDNHost, ".digicert.com"}

// browserLab starts a lab whose proxy lets the SSPR hosts through (after
// the rules given first) and denies everything else.
func browserLab(t *testing.T, first ...proxy.Rule) *harness.Lab {
	t.Helper()
	rules := append(first, proxy.Rule{Name: "sspr hosts", Hosts: ssprHosts, Action: proxy.Allow})
	return harness.Start(t, harness.WithProxy(proxy.WithRules(rules...), proxy.WithDefault(proxy.Deny)))
}

// labSPKI returns the base64 SHA-256 of the public key the lab's portal
// and CDN present, as --ignore-certificate-errors-spki-list wants it.
func labSPKI(t *testing.T, l *harness.Lab) string {
	t.Helper()
	var hashes []string
	for _, h := range []string{mock.PortalHost, mock.CDNHost} {
		addr, ok := l.Resolve(h + ":443") // its loopback listener
		require.True(t, ok)
		conn, err := (&net.Dialer{}).Dial("tcp", addr)
		require.NoError(t, err)
		tc := tls.Client(conn, &tls.Config{ServerName: h, RootCAs: l.Roots()})
		require.NoError(t, tc.Handshake())
		sum := sha256.Sum256(tc.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
		tc.Close()
		if b := base64.StdEncoding.EncodeToString(sum[:]); !slices.Contains(hashes, b) {
			hashes = append(hashes, b)
		}
	}
	return strings.Join(hashes, ",")
}

// newBrowser starts headless Chromium for the lab; it ends with the test.
func newBrowser(t *testing.T, l *harness.Lab) context.Context {
	t.Helper()
	chromium := testtool.Need(t, "chromium")
	require.NotEmpty(t, l.ProxyURL(), "the browser goes through the lab's proxy, always")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900),
		chromedp.ProxyServer(l.ProxyURL()),
		// Chromium sends loopback names direct unless told otherwise.
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.Flag("disable-background-networking", true),
		// Chromium's own calls home (updates, sign-in, autofill and
		// optimisation hints): off as far as flags turn them off; the
		// lab's proxy denies the rest.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-service-autorun", true),
		chromedp.Flag("disable-features", strings.Join([]string{"Translate", "BlinkGenPropertyTrees",
			"AutofillServerCommunication", "OptimizationHints", "OptimizationHintsFetching",
			"OptimizationGuideModelDownloading", "MediaRouter", "DialMediaRouteProvider",
			"CertificateTransparencyComponentUpdater", "PrivacySandboxSettings4", "NetworkTimeServiceQuerying",
			"PasswordLeakDetection"}, ",")),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.Flag("no-pings", true),
		// Nothing is resolved by the browser: only the proxy's literal
		// address is left alone.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", labSPKI(t, l)),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	t.Cleanup(func() { assertNothingElseLetThrough(t, l) })
	return bctx
}

// assertNothingElseLetThrough: the proxy let the browser reach the SSPR
// hosts and nothing else. Chromium still calls home now and then (update,
// sign-in) whatever its flags say; those requests are logged, and the
// proxy must have denied them (its dialer reaches only the lab's
// listeners anyway).
func assertNothingElseLetThrough(t *testing.T, l *harness.Lab) {
	t.Helper()
	for _, e := range l.Journal().Entries() {
		host, _, err := net.SplitHostPort(e.Target)
		if err != nil {
			host = e.Target
		}
		if host == mock.PortalHost || host == mock.CDNHost || strings.HasSuffix(host, ".digicert.com") {
			continue
		}
		t.Logf("chromium asked the proxy for %s %s%s: %s", e.Method, e.Target, e.Path, e.Result)
		// Denied, or (a served lab's default scenario) asked for
		// credentials Chromium does not have.
		assert.Contains(t, []string{proxy.ResultDenied, proxy.ResultAuthRequired}, e.Result, "%s %s was let through", e.Method, e.Target)
	}
}

// shots is where screenshots go: EGRESSLAB_SCREENSHOT_DIR when set (to
// keep them), else the test's temporary directory.
func shots(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("EGRESSLAB_SCREENSHOT_DIR"); d != "" {
		d = filepath.Join(d, t.Name())
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

var shotCount atomic.Int64

// screenshot saves the whole page as a PNG and logs its path.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	p := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", shotCount.Add(1), name))
	require.NoError(t, os.WriteFile(p, buf, 0o644))
	t.Logf("screenshot: %s", p)
}

// run runs actions, failing the test with what it was doing.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, actions...), what)
}

// call sends one protocol command, failing the test with what it was doing.
func call[P, R any](t *testing.T, ctx context.Context, what string, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	r, err := chromedp.Call(ctx, cmd, params)
	require.NoError(t, err, what)
	return r
}

// textContent reads the visible text of the first element sel matches,
// with runs of white space made one space.
func textContent(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, "read "+sel)
	return strings.Join(strings.Fields(s), " ")
}

func eval[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	require.NoError(t, err, js)
	return v
}

// waitPage waits until the script has shown the page named name.
func waitPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, "wait for the "+name+" page", chromedp.WaitVisible(chromedp.CSS(`body[data-page="`+name+`"] #app`)))
}

// next presses the form's primary button.
func next(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "press Next", chromedp.Click(chromedp.CSS(`#flow button[type="submit"]`)))
}

// typeIn types text into the field with the id.
func typeIn(id, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.ID(id), text)
}

// identify fills in "Get back into your account" and goes on: the CAPTCHA
// is read from the lab, as the lab's automation does.
func identify(t *testing.T, ctx context.Context, l *harness.Lab, upn string) {
	t.Helper()
	id := eval[string](t, ctx, `document.querySelector('input[name="captchaId"]').value`)
	answer, ok := l.Service.CaptchaAnswer(id)
	require.True(t, ok)
	run(t, ctx, "fill in the user ID and CAPTCHA", typeIn("userId", upn), typeIn("captchaAnswer", answer))
	next(t, ctx)
}

// goBack goes one entry back in the tab's history, as the Back button
// does, and waits until another document has loaded. (chromedp's
// NavigateBack waits for a load event, which a redirect or a restore from
// the back/forward cache may not send.)
func goBack(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, `window.egresslabBefore = true`)
	h := call(t, ctx, "read the history", page.GetNavigationHistory, cdp.Empty{})
	require.Positive(t, h.CurrentIndex)
	call(t, ctx, "go back", page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID})
	// The poll runs in the page, and ends with an error when the page it
	// runs in goes away: poll again, in the next one.
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.egresslabBefore === undefined && document.readyState === "complete"`))
		if err == nil {
			return
		}
		require.NoError(t, ctx.Err(), "wait for the page before: %v", err)
	}
}

func portalURL() string { return "https://" + mock.PortalHost + mock.PortalPath }

// TestBrowserOneGate: the whole flow with an email code, a Next with no
// method chosen on the way, and Back after a step.
func TestBrowserOneGate(t *testing.T) { oneGate(t, browserLab(t)) }

// The same flows through a served lab (package labserver, what
// `egresslab serve` runs): the browser's proxy is the server's listener,
// which outlives scenario switches.
func TestBrowserOneGateThroughServe(t *testing.T) { oneGate(t, servedLab(t, "")) }

func TestBrowserTwoGatesThroughServe(t *testing.T) { twoGates(t, servedLab(t, "")) }

func TestBrowserCDNBlockedThroughServe(t *testing.T) { cdnBlocked(t, servedLab(t, "cdn-blocked")) }

// servedLab serves a built-in scenario (default: labserver's) and
// returns its lab, switched to after the server started, as a person
// switches one.
func servedLab(t *testing.T, scenario string) *harness.Lab {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := labserver.New(context.Background(), labserver.Config{ProxyListener: ln})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	if scenario != "" {
		sc, err := labserver.Builtin(scenario)
		require.NoError(t, err)
		require.NoError(t, srv.Switch(context.Background(), sc))
	}
	l := srv.Lab()
	require.Equal(t, "http://"+ln.Addr().String(), l.ProxyURL(), "the browser goes to the served listener")
	return l
}

func oneGate(t *testing.T, l *harness.Lab) {
	ctx := newBrowser(t, l)
	dir := shots(t)
	const upn = "adele@contoso.com"

	run(t, ctx, "open the portal", chromedp.Navigate(portalURL()))
	waitPage(t, ctx, "identify")
	assert.False(t, eval[bool](t, ctx, `getComputedStyle(document.getElementById("sww")).display !== "none"`), "the script hid the message")
	assert.Equal(t, "Get back into your account - Password reset", eval[string](t, ctx, `document.title`))
	assert.Positive(t, eval[int](t, ctx, `document.getElementById("captcha-image").naturalWidth`), "the CAPTCHA picture loaded")
	assert.Equal(t, "userId", eval[string](t, ctx, `document.activeElement.id`), "focus starts in the first field")
	screenshot(t, ctx, dir, "identify")

	identify(t, ctx, l, upn)
	waitPage(t, ctx, "verify")
	assert.Equal(t, "Text my mobile phone +1 XXXXXXXX00", textContent(t, ctx, `label[for="method-sms"]`))

	// Next with no method: an error on the same page, which takes focus.
	next(t, ctx)
	run(t, ctx, "wait for the error", chromedp.WaitVisible(chromedp.ID("error")))
	assert.Equal(t, "Choose a verification method.", textContent(t, ctx, "#error"))
	assert.Equal(t, "error", eval[string](t, ctx, `document.activeElement.id`), "focus moved to the error")
	assert.Equal(t, "true", eval[string](t, ctx, `document.getElementById("method-email").getAttribute("aria-invalid")`))
	screenshot(t, ctx, dir, "no-method")

	run(t, ctx, "choose email", chromedp.Click(chromedp.ID("method-email")))
	next(t, ctx)
	run(t, ctx, "wait for the code field", chromedp.WaitVisible(chromedp.ID("code")))
	assert.Equal(t, "We've sent an email with a verification code to ad*********@outlook.example.", textContent(t, ctx, "#sent-to"))
	screenshot(t, ctx, dir, "code")
	msg, ok := l.Outbox().Last(upn, mock.MethodEmail)
	require.True(t, ok)
	run(t, ctx, "enter the code", typeIn("code", msg.Code))
	next(t, ctx)
	waitPage(t, ctx, "password")

	// Back: the browser loads the earlier page with GET, which sends it
	// to the step the flow is at; nothing is posted again.
	goBack(t, ctx)
	waitPage(t, ctx, "password")
	assert.Len(t, l.Outbox().Messages(upn), 1, "no second code")
	assert.Equal(t, "Choose a new password", textContent(t, ctx, "h1:not(#sww h1)"))

	run(t, ctx, "a weak password",
		typeIn("newPassword", "P@ssw0rd1"), typeIn("confirmPassword", "P@ssw0rd1"))
	next(t, ctx)
	run(t, ctx, "wait for the error", chromedp.WaitVisible(chromedp.ID("error")))
	assert.Equal(t, 1, eval[int](t, ctx, `document.body.innerText.split("too easy to guess").length - 1`), "the message shows once")
	screenshot(t, ctx, dir, "weak-password")

	run(t, ctx, "a strong password",
		typeIn("newPassword", strongPassword), typeIn("confirmPassword", strongPassword))
	next(t, ctx)
	waitPage(t, ctx, "done")
	assert.Equal(t, "Your password has been reset", textContent(t, ctx, "h1:not(#sww h1)"))
	screenshot(t, ctx, dir, "done")
}

// TestBrowserTwoGates: an email code, then an authenticator notification
// the lab approves.
func TestBrowserTwoGates(t *testing.T) { twoGates(t, browserLab(t)) }

func twoGates(t *testing.T, l *harness.Lab) {
	ctx := newBrowser(t, l)
	dir := shots(t)
	const upn = "alex@fabrikam.com"

	run(t, ctx, "open the portal", chromedp.Navigate(portalURL()))
	waitPage(t, ctx, "identify")
	identify(t, ctx, l, upn)
	waitPage(t, ctx, "verify")
	assert.Equal(t, "Verification step 1 of 2: choose a method - Password reset", eval[string](t, ctx, `document.title`))
	screenshot(t, ctx, dir, "gate1")
	run(t, ctx, "choose email", chromedp.Click(chromedp.ID("method-email")))
	next(t, ctx)
	run(t, ctx, "wait for the code field", chromedp.WaitVisible(chromedp.ID("code")))
	msg, ok := l.Outbox().Last(upn, mock.MethodEmail)
	require.True(t, ok)
	run(t, ctx, "enter the code", typeIn("code", msg.Code))
	next(t, ctx)

	run(t, ctx, "wait for gate 2", chromedp.WaitVisible(chromedp.ID("method-appNotification")))
	assert.Equal(t, "Verification step 2 of 2: choose a method - Password reset", eval[string](t, ctx, `document.title`))
	screenshot(t, ctx, dir, "gate2")
	run(t, ctx, "choose the notification", chromedp.Click(chromedp.ID("method-appNotification")))
	next(t, ctx)
	run(t, ctx, "wait for the notification page", chromedp.WaitVisible(chromedp.ID("sent-to")))
	require.NoError(t, l.Service.Authenticator().Answer(upn, true))
	next(t, ctx)
	waitPage(t, ctx, "password")
	run(t, ctx, "a strong password",
		typeIn("newPassword", strongPassword), typeIn("confirmPassword", strongPassword))
	next(t, ctx)
	waitPage(t, ctx, "done")
	assert.Equal(t, "Your password has been reset", textContent(t, ctx, "h1:not(#sww h1)"))
	screenshot(t, ctx, dir, "done")
}

// TestBrowserCDNBlocked: the proxy denies the CDN; the page's script fails
// to load and the user sees only "Something went wrong".
func TestBrowserCDNBlocked(t *testing.T) {
	cdnBlocked(t, browserLab(t, proxy.Rule{Name: "block the CDN", Hosts: []string{mock.CDNHost}, Action: proxy.Deny}))
}

func cdnBlocked(t *testing.T, l *harness.Lab) {
	ctx := newBrowser(t, l)
	dir := shots(t)

	run(t, ctx, "open the portal", chromedp.Navigate(portalURL()))
	run(t, ctx, "wait for the message", chromedp.WaitVisible(chromedp.ID("sww")))
	assert.Equal(t, mock.SomethingWentWrong, strings.TrimSpace(eval[string](t, ctx, `document.querySelector("main").innerText`)),
		"the message is all the page shows")
	assert.True(t, eval[bool](t, ctx, `window.ssprGaveUp === true`), "the script's error event ended the wait")
	screenshot(t, ctx, dir, "cdn-blocked")
	denied := false
	for _, e := range l.Journal().Entries() {
		if e.Target == mock.CDNHost+":443" && e.Result == proxy.ResultDenied {
			denied = true
		}
	}
	assert.True(t, denied, "the proxy denied the CDN")
}

// TestBrowserSlowCDN: while the script is on its way the page says
// "Please wait", not "Something went wrong", and the form comes when the
// script does. The script's request is held in the browser (the DevTools
// Fetch domain) until the test lets it go: no clock is involved. Then,
// with the request held again, the page's own timeout runs on virtual
// time and the page gives up.
func TestBrowserSlowCDN(t *testing.T) {
	l := browserLab(t)
	ctx := newBrowser(t, l)
	dir := shots(t)

	// The CDN's script is cacheable for a year: the second load must
	// still go to the network to be held.
	call(t, ctx, "enable the network domain", network.Enable, network.EnableParams{})
	call(t, ctx, "disable the cache", network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	nextPaused, stop := iter.Pull2(chromedp.Events(ctx, fetch.RequestPaused))
	defer stop()
	call(t, ctx, "hold the script's requests", fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*sspr.min.js*"}}})
	// Navigate without waiting for the load event, which a held script
	// delays.
	open := func() {
		t.Helper()
		call(t, ctx, "open the portal", page.Navigate, page.NavigateParams{URL: portalURL()})
	}
	held := func() fetch.RequestID {
		t.Helper()
		ev, err, ok := nextPaused()
		require.True(t, ok, "the script's request never came")
		require.NoError(t, err)
		return ev.RequestID
	}

	open()
	id := held()
	run(t, ctx, "wait for the waiting page", chromedp.WaitVisible(chromedp.ID("wait")))
	assert.Equal(t, "none", eval[string](t, ctx, `getComputedStyle(document.getElementById("sww")).display`), "no error while waiting")
	assert.Equal(t, "Please wait…", textContent(t, ctx, "#wait"))
	screenshot(t, ctx, dir, "waiting")
	call(t, ctx, "let the script go", fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
	waitPage(t, ctx, "identify")

	// Held again, the script never comes: the page's timeout, on virtual
	// time, ends the wait.
	open()
	id = held()
	run(t, ctx, "wait for the waiting page", chromedp.WaitVisible(chromedp.ID("wait")))
	call(t, ctx, "let the page's time run past its wait", emulation.SetVirtualTimePolicy, emulation.SetVirtualTimePolicyParams{
		Policy: emulation.VirtualTimePolicyAdvance, Budget: new(float64((mock.ScriptWait + time.Second).Milliseconds())),
	})
	run(t, ctx, "wait for the message", chromedp.WaitVisible(chromedp.ID("sww")))
	assert.True(t, eval[bool](t, ctx, `window.ssprGaveUp === true`))
	screenshot(t, ctx, dir, "gave-up")
	// A script that comes after the page gave up does not bring the form.
	// (Virtual time stops when its budget is spent: let it run again.)
	call(t, ctx, "let time run", emulation.SetVirtualTimePolicy, emulation.SetVirtualTimePolicyParams{Policy: emulation.VirtualTimePolicyAdvance})
	call(t, ctx, "let the script go", fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
	assert.True(t, eval[bool](t, ctx,
		`new Promise(done => document.readyState === "complete" ? done(true) : addEventListener("load", () => done(true)))`,
		chromedp.EvalAwaitPromise), "the page loaded")
	assert.Equal(t, "none", eval[string](t, ctx, `getComputedStyle(document.getElementById("app")).display`), "the form stays hidden")
}
