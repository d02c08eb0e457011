//go:build browser

package labserver_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/labserver"
)

// browser starts headless Chromium for a test. It always goes through the
// lab's proxy (--proxy-server; loopback addresses such as the dashboard's
// are reached directly, as Chromium never proxies them) with background
// networking off, so that nothing reaches the real internet.
func browser(t *testing.T, proxyAddr string) context.Context {
	t.Helper()
	path := testtool.Need(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI
		chromedp.ProxyServer("http://"+proxyAddr),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-features", "AutofillServerCommunication,OptimizationHints,MediaRouter,Translate"),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// TestDashboardInChromium: the dashboard loads without console errors,
// shows a proxy decision soon after it is made, and switches scenario.
func TestDashboardInChromium(t *testing.T) { dashboard(t, "") }

// TestDashboardWithTokenInChromium: with a token (serve --allow-remote),
// the page loads its files without it and calls the API with the token
// from its URL.
func TestDashboardWithTokenInChromium(t *testing.T) { dashboard(t, "t0ken") }

func dashboard(t *testing.T, token string) {
	s := serve(t, labserver.Config{Token: token})
	ctx := browser(t, s.proxy)
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx) // subscribed from here on
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				problems = append(problems, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.admin.URL+"/?token="+token),
		chromedp.WaitReady(chromedp.CSS("#scenario-select option")),
	))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("scenario-name").textContent === "`+labserver.DefaultScenario+`"`))
	require.NoError(t, err)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("status").textContent.startsWith("Live")`))
	require.NoError(t, err)

	// A decision reaches the page through the event stream.
	made := time.Now()
	require.Equal(t, http.StatusProxyAuthRequired, connectStatus(t, s.proxy, "seen-by-the-dashboard.example:443"))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.Search(`//table[@id="journal"]//td[contains(., "seen-by-the-dashboard.example:443")]`))))
	t.Logf("the decision showed on the dashboard %v after it was made", time.Since(made).Round(time.Millisecond))

	// The switcher switches the lab.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("scenario-select"), "cdn-blocked"),
		chromedp.Click(chromedp.CSS("#switch button")),
	))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("scenario-name").textContent === "cdn-blocked"`))
	require.NoError(t, err)
	st, err := s.api.State(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "cdn-blocked", st.Scenario.Name)

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100) /* 100: PNG */)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "dashboard.png")
	if dir := os.Getenv("EGRESSLAB_SCREENSHOTS"); dir != "" {
		file = filepath.Join(dir, "dashboard.png")
	}
	require.NoError(t, os.WriteFile(file, shot, 0o644))
	t.Logf("screenshot: %s", file)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems, "the page logged errors:\n%s", strings.Join(problems, "\n"))
}
