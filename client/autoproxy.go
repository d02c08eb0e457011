package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/egresslab/egresslab/pac"
)

// Auto-proxy methods, as AutoProxy.Method names them.
const (
	AutoProxyWPAD          = "wpad"          // WPAD's DNS discovery (autoDetect)
	AutoProxyAutoConfigURL = "autoConfigURL" // the settings' AutoConfigURL
)

// AutoProxy is what proxy auto-configuration did in a run, when the
// settings that apply use it (autoDetect with a DNS suffix, or an
// autoConfigURL). The client tries automatic detection first, then the
// automatic configuration script, then the static proxy server: the
// order of Internet Options and of INTERNET_PER_CONN_FLAGS
// (INTERNET_PER_CONN_OPTION, Microsoft Learn), assumed to be WinINet's
// (not stated on a Microsoft page). A PAC file that cannot be had, or
// whose script fails for a URL, leaves the static settings (or a direct
// connection) in force for that URL.
type AutoProxy struct {
	// Method is where the PAC file in force came from, "wpad" or
	// "autoConfigURL"; empty when none is in force.
	Method string `json:"method,omitempty"`
	// URL is the PAC file's URL.
	URL string `json:"url,omitempty"`
	// Errors say why each method gave no PAC file (a WPAD search that
	// found nothing, a download or a script that failed), and the
	// script's failures for the URLs it failed on (at most 8).
	Errors []string `json:"errors,omitempty"`
	// Fallback is the route used where auto-proxy gave none: "PROXY
	// host:port" (the static settings) or "DIRECT".
	Fallback string `json:"fallback,omitempty"`
	// Used is the entry that the portal's traffic went to ("PROXY
	// proxy.corp.example:3128", "DIRECT"): the one that carried it, or
	// the last one tried when the request failed.
	Used string `json:"used,omitempty"`
	// Failed lists the proxies that could not be connected to, with why,
	// in the order they failed; the client went on to the next entry and
	// skipped them for the rest of the run.
	Failed []string `json:"failed,omitempty"`
}

// maxAutoErrors bounds AutoProxy.Errors.
const maxAutoErrors = 8

// AutoProxyError is a request that could not connect on its fallback
// route after proxy auto-configuration failed for it: the PAC file at URL
// (found by Method) could not be fetched, or its script failed (Script).
// Err is why; Then is how the fallback route (Fallback: the static proxy
// or DIRECT) failed to connect. Diagnose names it pac-unavailable or
// pac-script-error. A fallback that connected and was then refused (a
// proxy's 403 or 407) is not one: its own cause stands.
type AutoProxyError struct {
	Method, URL string
	Script      bool
	Err         error
	Fallback    string
	Then        error
}

func (e *AutoProxyError) Error() string {
	what := "could not be fetched"
	if e.Script {
		what = "failed"
	}
	return fmt.Sprintf("proxy auto-config %s %s: %v; fell back to %s, which failed: %v", e.URL, what, e.Err, e.Fallback, e.Then)
}

// Unwrap gives both errors: errors.Is(err, context.Canceled) and the
// like see through it.
func (e *AutoProxyError) Unwrap() []error { return []error{e.Err, e.Then} }

// FailoverError is a request that could not connect through any entry
// of a PAC result: Tried lists them in order, Err is the last one's
// failure (AutoProxy.Failed says why each proxy failed).
type FailoverError struct {
	Tried []string
	Err   error
}

func (e *FailoverError) Error() string {
	return fmt.Sprintf("every entry of the PAC result failed to connect (%s); the last: %v", strings.Join(e.Tried, "; "), e.Err)
}

func (e *FailoverError) Unwrap() error { return e.Err }

// autoFailure is why a request runs on the fallback route.
type autoFailure struct {
	method, url string
	script      bool
	err         error
}

// route decides which proxies a request tries, in order: the PAC
// script's list when one is in force, else the static settings' proxy or
// DIRECT. It is shared by the run's flow and revocation clients when the
// same settings apply to both.
type route struct {
	static *proxyRoute // the static settings; nil: direct
	script *pac.Script

	mu    sync.Mutex
	auto  *AutoProxy
	setup *autoFailure    // why no PAC file is in force, when one was configured
	bad   map[string]bool // proxies that failed to connect
	used  map[string]string
}

func newRouteFor(static *proxyRoute) *route {
	return &route{static: static, bad: map[string]bool{}, used: map[string]string{}}
}

// noteError records an auto-proxy error and that the fallback is used.
func (rt *route) noteError(msg string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.auto.Errors) < maxAutoErrors && !slices.Contains(rt.auto.Errors, msg) {
		rt.auto.Errors = append(rt.auto.Errors, msg)
	}
	rt.auto.Fallback = rt.staticEntry("https", "").String()
}

func (rt *route) staticEntry(scheme, host string) pac.Proxy {
	if u := rt.static.proxyFor(scheme, host); u != nil {
		return pac.Proxy{Kind: "PROXY", Host: u.Host}
	}
	return pac.Direct
}

// candidates returns the entries to try for a request to host over
// scheme (rawURL is the request's URL, for the PAC script), and why they
// are the fallback route, when they are.
func (rt *route) candidates(ctx context.Context, scheme, host, rawURL string) ([]pac.Proxy, *autoFailure) {
	if rt == nil {
		return []pac.Proxy{pac.Direct}, nil
	}
	static := []pac.Proxy{rt.staticEntry(scheme, host)}
	if rt.script == nil {
		return static, rt.setup
	}
	list, err := rt.script.FindProxy(ctx, rawURL)
	if err == nil {
		usable := slices.DeleteFunc(slices.Clone(list), func(p pac.Proxy) bool {
			switch p.Kind {
			case "DIRECT", "PROXY", "HTTP":
				return false
			}
			return true
		})
		if len(usable) > 0 {
			return usable, nil
		}
		// WinHTTP and the lab's client speak to HTTP proxies only.
		err = fmt.Errorf("no usable entry in %q: only PROXY and DIRECT entries are used", pac.Format(list))
	}
	if ctx.Err() != nil {
		return static, nil // the request ends with ctx's error anyway
	}
	f := &autoFailure{method: rt.auto.Method, url: rt.auto.URL, script: true, err: fmt.Errorf("FindProxyForURL(%q): %w", rawURL, err)}
	rt.noteError(f.err.Error())
	return static, f
}

// try runs attempt on each entry in order until one connects: attempt
// gets nil for DIRECT. An entry whose proxy cannot be connected to (a
// DialError to the proxy) is marked bad and the next is tried; any other
// error, a proxy's refusal included, ends the request. Browsers do this,
// and WinHTTP's automatic proxy (WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY,
// Windows 8.1 on: "automatically attempts to handle failover between
// multiple proxies", WinHttpOpen); the bad-proxy list, skipped for the
// rest of the run unless every entry is on it, is modelled on Chromium's.
func (rt *route) try(ctx context.Context, scheme, host, rawURL string, attempt func(proxy *url.URL) error) error {
	list, fallback := rt.candidates(ctx, scheme, host, rawURL)
	if fresh := slices.DeleteFunc(slices.Clone(list), func(p pac.Proxy) bool { return rt.isBad(p.String()) }); len(fresh) > 0 {
		list = fresh
	}
	var tried []string
	for i, p := range list {
		var proxy *url.URL
		if p.Kind != "DIRECT" {
			proxy = &url.URL{Scheme: "http", Host: p.Host}
		}
		err := attempt(proxy)
		var de *DialError
		connectFailed := err != nil && errors.As(err, &de) && ctx.Err() == nil
		if connectFailed && de.ToProxy && len(list) > 1 {
			rt.markBad(p.String(), err)
		}
		if connectFailed && i < len(list)-1 {
			tried = append(tried, p.String())
			continue
		}
		rt.noteUsed(host, p.String())
		if connectFailed && len(tried) > 0 {
			err = &FailoverError{Tried: append(tried, p.String()), Err: err}
		}
		if connectFailed && fallback != nil {
			err = &AutoProxyError{Method: fallback.method, URL: fallback.url, Script: fallback.script, Err: fallback.err, Fallback: p.String(), Then: err}
		}
		return err
	}
	return nil // not reached: list is never empty
}

func (rt *route) isBad(key string) bool {
	if rt == nil {
		return false
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.bad[key]
}

func (rt *route) markBad(key string, err error) {
	if rt == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.bad[key] {
		rt.bad[key] = true
		if rt.auto != nil {
			rt.auto.Failed = append(rt.auto.Failed, key+": "+err.Error())
		}
	}
}

func (rt *route) noteUsed(host, key string) {
	if rt == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, ok := rt.used[host]; !ok {
		rt.used[host] = key
	}
}

// report returns a copy of what auto-proxy did, with the entry that
// carried portal's traffic; nil when the settings use no auto-proxy.
func (rt *route) report(portal string) *AutoProxy {
	if rt == nil || rt.auto == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	a := *rt.auto
	a.Errors = slices.Clone(a.Errors)
	a.Failed = slices.Clone(a.Failed)
	a.Used = rt.used[portal]
	return &a
}

// portalProxy is the proxy ("host:port") the portal's traffic went to,
// or "" for a direct connection.
func (rt *route) portalProxy(portal string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if kind, host, ok := strings.Cut(rt.used[portal], " "); ok && kind != "DIRECT" {
		return host
	}
	return ""
}

// pacURLOK checks an AutoConfigURL: http or https with a host.
func pacURLOK(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return fmt.Errorf("%q does not parse as a URL", raw)
	case u.Scheme == "file":
		return fmt.Errorf("%q: file:// PAC URLs are not supported (Windows 10's WinINet and WinHTTP ignore them unless EnableLegacyAutoProxyFeatures is set)", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", raw)
	case u.Hostname() == "":
		return fmt.Errorf("%q: no host", raw)
	case u.User != nil:
		return errors.New("credentials do not belong in the PAC URL")
	}
	return nil
}

// newRoute builds the route for settings s (nil: a new profile's
// defaults, automatic detection on): it runs WPAD's DNS discovery when
// automatic detection is on and the profile has a DNS suffix, then
// fetches the AutoConfigURL, and keeps the first PAC file that compiles.
// Every fetch is direct, on the workstation's network. Failures are
// recorded, never fatal: the static settings (or DIRECT) stay in force.
func (c *Client) newRoute(ctx context.Context, s *ProxySetting, static *proxyRoute) *route {
	rt := newRouteFor(static)
	detect := s == nil || s.AutoDetect == nil || *s.AutoDetect
	cfgURL := ""
	if s != nil {
		cfgURL = strings.TrimSpace(s.AutoConfigURL)
	}
	detect = detect && c.profile.DNSSuffix != ""
	if !detect && cfgURL == "" {
		return rt
	}
	rt.auto = &AutoProxy{}
	get := c.pacGet()
	var opts []pac.Option
	if c.resolver != nil {
		opts = append(opts, pac.WithResolver(c.resolver))
	}
	opts = append(opts, pac.WithClock(c.now))
	use := func(method, u string, src []byte) bool {
		script, err := pac.Compile(u, src, opts...)
		if err != nil {
			rt.setup = &autoFailure{method: method, url: u, script: true, err: err}
			rt.noteError(method + ": " + err.Error())
			return false
		}
		rt.script, rt.auto.Method, rt.auto.URL = script, method, u
		return true
	}
	if detect {
		if c.resolver == nil {
			rt.noteError("wpad: no resolver (client.WithResolver): WPAD looks nothing up")
		} else if u, body, err := pac.Discover(ctx, c.profile.DNSSuffix, c.resolver, get); err != nil {
			rt.noteError("wpad: " + err.Error())
		} else if use(AutoProxyWPAD, u, body) {
			return rt
		}
	}
	if cfgURL != "" {
		body, err := get(ctx, cfgURL)
		if err == nil && len(body) > pac.MaxWPADSize {
			err = fmt.Errorf("more than %d bytes", pac.MaxWPADSize)
		}
		if err != nil {
			err = fmt.Errorf("GET %s: %w", cfgURL, err)
			rt.setup = &autoFailure{method: AutoProxyAutoConfigURL, url: cfgURL, err: err}
			rt.noteError(AutoProxyAutoConfigURL + ": " + err.Error())
		} else if use(AutoProxyAutoConfigURL, cfgURL, body) {
			return rt
		}
	}
	rt.mu.Lock()
	rt.auto.Fallback = rt.staticEntry("https", "").String()
	rt.mu.Unlock()
	return rt
}

// pacGet fetches a PAC file with pacHTTP; its errors do not repeat the
// URL (the caller names it).
func (c *Client) pacGet() func(ctx context.Context, u string) ([]byte, error) {
	get := pac.HTTPGet(c.pacHTTP())
	return func(ctx context.Context, u string) ([]byte, error) {
		b, err := get(ctx, u)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return b, err
	}
}

// pacHTTP is the client for PAC downloads: direct, on the workstation's
// network, trusting the client's roots, bounded by the request timeout.
func (c *Client) pacHTTP() *http.Client {
	connect := c.profile.Timeouts.Connect
	return &http.Client{
		Timeout: c.profile.Timeouts.Request,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				ctx, cancel := context.WithTimeout(ctx, connect)
				defer cancel()
				return c.dial(ctx, network, addr)
			},
			TLSClientConfig:   &tls.Config{RootCAs: c.roots, MinVersion: c.minTLS, MaxVersion: c.maxTLS, CipherSuites: c.suites, Time: c.now},
			DisableKeepAlives: true,
			IdleConnTimeout:   time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
