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
// autoConfigURL). WinINet tries automatic detection first, then the
// automatic configuration script, then the static proxy server
// ("Automatic detection ... takes precedence", Microsoft's "Use a proxy
// auto-config file" and WinHTTP AutoProxy documentation); a PAC file that
// cannot be had, or whose script fails, leaves the static settings (or a
// direct connection) in force.
type AutoProxy struct {
	// Method is where the PAC file in force came from, "wpad" or
	// "autoConfigURL"; empty when none is in force.
	Method string `json:"method,omitempty"`
	// URL is the PAC file's URL.
	URL string `json:"url,omitempty"`
	// Errors say why each method gave no PAC file (a WPAD search that
	// found nothing, a download that failed), and the first failure of
	// the script in force, if any.
	Errors []string `json:"errors,omitempty"`
	// Fallback is the route used when no PAC file could be had or its
	// script failed: "PROXY host:port" (the static settings) or "DIRECT".
	Fallback string `json:"fallback,omitempty"`
	// Used is the entry of the PAC result that the portal's traffic went
	// to ("PROXY proxy.corp.example:3128", "DIRECT"): the one that carried
	// it, or the last one tried when the request failed.
	Used string `json:"used,omitempty"`
	// Failed lists the entries that could not be connected to, with why,
	// in the order they failed; the client went on to the next entry, as
	// WinHTTP does, and skipped them for the rest of the run.
	Failed []string `json:"failed,omitempty"`
}

// AutoProxyError is a run that failed on its fallback route after proxy
// auto-configuration failed: the PAC file at URL could not be fetched, or
// its script failed (Script). Err is why; Then is how the fallback route
// (Fallback: the static proxy or DIRECT) failed. Diagnose names it
// pac-unavailable or pac-script-error.
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
	where := e.URL
	if where == "" {
		where = e.Method
	}
	return fmt.Sprintf("proxy auto-config %s %s: %v; fell back to %s, which failed: %v", where, what, e.Err, e.Fallback, e.Then)
}

// Unwrap gives both errors: errors.Is(err, context.Canceled) and the
// like see through it.
func (e *AutoProxyError) Unwrap() []error { return []error{e.Err, e.Then} }

// route decides which proxies a request tries, in order: the PAC
// script's list when one is in force, else the static settings' proxy or
// DIRECT. It is shared by the run's flow and revocation clients when the
// same settings apply to both.
type route struct {
	static *proxyRoute // the static settings; nil: direct
	script *pac.Script

	mu           sync.Mutex
	auto         *AutoProxy
	failed       error           // the auto-proxy failure a fallback runs under
	scriptFailed bool            // failed is the script's, not the download's
	bad          map[string]bool // entries that failed to connect
	used         map[string]string
}

// autoFailed records that auto-proxy failed with err (script: the
// script's failure) and that the fallback route is in force.
func (rt *route) autoFailed(err error, script bool) {
	if rt == nil || rt.auto == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.failed == nil {
		rt.failed, rt.scriptFailed = err, script
		rt.auto.Errors = append(rt.auto.Errors, err.Error())
		rt.auto.Fallback = rt.staticEntry("https", "").String()
	}
}

func (rt *route) staticEntry(scheme, host string) pac.Proxy {
	if u := rt.static.proxyFor(scheme, host); u != nil {
		return pac.Proxy{Kind: "PROXY", Host: u.Host}
	}
	return pac.Direct
}

// candidates returns the entries to try for a request to host over
// scheme (rawURL is the request's URL, for the PAC script).
func (rt *route) candidates(ctx context.Context, scheme, host, rawURL string) []pac.Proxy {
	if rt == nil {
		return []pac.Proxy{pac.Direct}
	}
	if rt.script != nil {
		list, err := rt.script.FindProxy(ctx, rawURL)
		if err == nil {
			return list
		}
		if ctx.Err() == nil {
			rt.autoFailed(fmt.Errorf("FindProxyForURL(%q): %w", rawURL, err), true)
		}
	}
	return []pac.Proxy{rt.staticEntry(scheme, host)}
}

// try runs attempt on each usable entry in order until one connects:
// attempt gets nil for DIRECT. An entry whose proxy cannot be connected
// to (a DialError to the proxy) is marked bad and the next is tried, as
// WinHTTP fails over; any other error ends the request. Entries the lab
// client cannot use (SOCKS, HTTPS proxies) are skipped and reported.
func (rt *route) try(ctx context.Context, scheme, host, rawURL string, attempt func(proxy *url.URL) error) error {
	list := rt.candidates(ctx, scheme, host, rawURL)
	usable := make([]pac.Proxy, 0, len(list))
	for _, p := range list {
		switch p.Kind {
		case "DIRECT", "PROXY", "HTTP":
			usable = append(usable, p)
		default:
			rt.markBad(p.String(), fmt.Errorf("%s proxies are not supported (WinHTTP uses only PROXY and DIRECT entries)", p.Kind))
		}
	}
	if len(usable) == 0 {
		err := fmt.Errorf("no usable entry in the PAC result %q", pac.Format(list))
		rt.autoFailed(err, true)
		return rt.wrap(&DialError{Addr: host, ToProxy: true, Err: err})
	}
	// Entries that failed earlier in the run are skipped, unless every
	// one has: then all are tried again.
	fresh := slices.DeleteFunc(slices.Clone(usable), func(p pac.Proxy) bool { return rt.isBad(p.String()) })
	if len(fresh) > 0 {
		usable = fresh
	}
	var tried []string
	var err error
	for i, p := range usable {
		var proxy *url.URL
		if p.Kind != "DIRECT" {
			proxy = &url.URL{Scheme: "http", Host: p.Host}
		}
		err = attempt(proxy)
		var de *DialError
		if err != nil && i < len(usable)-1 && errors.As(err, &de) && de.ToProxy && ctx.Err() == nil {
			rt.markBad(p.String(), err)
			tried = append(tried, p.String())
			continue
		}
		rt.noteUsed(host, p.String())
		if err != nil && len(tried) > 0 {
			rt.markBad(p.String(), err)
			err = &FailoverError{Tried: append(tried, p.String()), Err: err}
		}
		break
	}
	return rt.wrap(err)
}

// FailoverError is a request that failed on every entry of a PAC result
// it tried: Tried lists them in order, Err is the last one's failure (the
// earlier ones could not be connected to; AutoProxy.Failed says why).
type FailoverError struct {
	Tried []string
	Err   error
}

func (e *FailoverError) Error() string {
	return fmt.Sprintf("every entry of the PAC result failed (%s); the last: %v", strings.Join(e.Tried, "; "), e.Err)
}

func (e *FailoverError) Unwrap() error { return e.Err }

// wrap makes err an AutoProxyError when the route runs on its fallback.
func (rt *route) wrap(err error) error {
	if err == nil || rt == nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.failed == nil {
		return err
	}
	return &AutoProxyError{Method: rt.auto.Method, URL: rt.auto.URL, Script: rt.scriptFailed, Err: rt.failed, Fallback: rt.auto.Fallback, Then: err}
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
	a.Errors = append([]string(nil), a.Errors...)
	a.Failed = append([]string(nil), a.Failed...)
	if rt.script != nil || rt.failed == nil {
		a.Used = rt.used[portal]
	}
	return &a
}

// portalProxy is the proxy ("host:port") the portal's traffic went to,
// or "" for a direct connection: the PAC entry used, else the static
// settings' proxy.
func (rt *route) portalProxy(portal string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if used := rt.used[portal]; used != "" {
		if kind, host, ok := strings.Cut(used, " "); ok && kind != "DIRECT" {
			return host
		}
		return ""
	}
	if p := rt.static.proxyFor("https", portal); p != nil && (rt.script == nil || rt.failed != nil) {
		return p.Host
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
// fetches the AutoConfigURL, and compiles the first PAC file it gets.
// Every fetch is direct, on the workstation's network: Windows fetches a
// PAC file without a proxy. Failures are recorded, never fatal: the
// static settings (or DIRECT) stay in force.
func (c *Client) newRoute(ctx context.Context, s *ProxySetting, static *proxyRoute) *route {
	rt := &route{static: static, bad: map[string]bool{}, used: map[string]string{}}
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
	get := pac.HTTPGet(c.pacHTTP())
	var src []byte
	if detect {
		u, body, err := pac.Discover(ctx, c.profile.DNSSuffix, c.resolver, get)
		if err == nil {
			rt.auto.Method, rt.auto.URL, src = AutoProxyWPAD, u, body
		} else {
			rt.auto.Errors = append(rt.auto.Errors, "wpad: "+err.Error())
		}
	}
	if src == nil && cfgURL != "" {
		rt.auto.Method, rt.auto.URL = AutoProxyAutoConfigURL, cfgURL
		body, err := get(ctx, cfgURL)
		switch {
		case err != nil:
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text repeats the URL
			}
			rt.autoFailed(fmt.Errorf("GET %s: %w", cfgURL, err), false)
			return rt
		case len(body) > pac.MaxWPADSize:
			rt.autoFailed(fmt.Errorf("GET %s: more than %d bytes", cfgURL, pac.MaxWPADSize), false)
			return rt
		}
		src = body
	}
	if src == nil {
		rt.auto.Fallback = rt.staticEntry("https", "").String()
		return rt // no PAC file: WPAD found none; the static settings apply
	}
	script, err := pac.Compile(rt.auto.URL, src, pac.WithResolver(c.resolver), pac.WithClock(c.now))
	if err != nil {
		rt.autoFailed(err, true)
		return rt
	}
	rt.script = script
	return rt
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
			TLSClientConfig:   &tls.Config{RootCAs: c.roots, MinVersion: c.minTLS, MaxVersion: c.maxTLS},
			DisableKeepAlives: true,
			IdleConnTimeout:   time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
