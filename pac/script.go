package pac

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// MaxScriptSize bounds, in bytes, the PAC file Compile accepts (1 MiB; the
// largest real PAC files are a few hundred KiB of host lists).
const MaxScriptSize = 1 << 20

// DefaultTimeout is how long one evaluation may run unless WithTimeout
// says otherwise.
const DefaultTimeout = time.Second

// DefaultDNSTimeout bounds each name lookup a script causes (dnsResolve,
// isResolvable, isInNet on a name, and their Ex forms); the evaluation's
// own deadline bounds it too.
const DefaultDNSTimeout = 2 * time.Second

// ClientVersion is what getClientVersion answers (Microsoft: "currently
// this function returns version 1.0").
const ClientVersion = "1.0"

// Resolver answers a name with its addresses, the shape of
// [net.Resolver.LookupNetIP] and of the lab's proxy.Resolver, so either
// fits. The script's helpers call it with network "ip" and a lower-case
// name without a trailing dot; IP literals never reach it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Option configures Compile.
type Option func(*config) error

type config struct {
	resolver Resolver
	myIP     netip.Addr
	now      func() time.Time
	timeout  time.Duration
}

// WithResolver sets the resolver for dnsResolve, dnsResolveEx,
// isResolvable, isResolvableEx, isInNet and isInNetEx on names. Without
// it names never resolve (dnsResolve is null, isResolvable false) and
// only IP literals work: the package never reaches the system's resolver
// on its own. A caller that wants the system's answers says so with
// WithResolver(net.DefaultResolver), as the CLI's probe does; tests give
// a stub.
func WithResolver(r Resolver) Option {
	return func(c *config) error {
		if r == nil {
			return errors.New("pac: nil resolver")
		}
		c.resolver = r
		return nil
	}
}

// WithMyIP sets what myIpAddress and myIpAddressEx answer. Default
// 127.0.0.1: finding "the" address of the machine would mean choosing an
// interface (browsers open a UDP socket towards a public address to see
// the route), which this package does not do. myIpAddress is IPv4-only: for
// an IPv6 a it answers 127.0.0.1 and myIpAddressEx answers a.
func WithMyIP(a netip.Addr) Option {
	return func(c *config) error {
		if !a.IsValid() {
			return errors.New("pac: invalid address for myIpAddress")
		}
		c.myIP = a.Unmap().WithZone("")
		return nil
	}
}

// WithClock sets the clock of weekdayRange, dateRange, timeRange and of
// the script's Date (default time.Now). "Local" time is the location of
// the clock's answer; a last "GMT" argument makes the helpers use UTC.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("pac: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithTimeout bounds each evaluation (Compile's run of the top level,
// each FindProxy) to d, default DefaultTimeout (1 s); past it, or when
// the caller's context ends first, the runtime is interrupted and the call
// returns an error, so a looping PAC file is an error, not a hang.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("pac: timeout %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// Script is a compiled PAC file. It is safe for concurrent use: every
// evaluation runs in a fresh goja runtime (the script's top level runs
// again each time), so a script cannot carry state from one call to the
// next, nor race with itself. Measured (BenchmarkFindProxy, a 30-line
// PAC file): about 50 µs and 30 KB per call, of which about 27 µs is the
// fresh runtime with its helpers (BenchmarkNewRuntime). A pool would save
// only that, small beside the connection the answer is for, and would
// carry the script's globals from one call to the next.
type Script struct {
	name string
	prog *goja.Program
	cfg  config
}

// Compile compiles a PAC file's source; name is used in errors ("name:line:col:
// message"). src must be at most MaxScriptSize bytes. Compile runs the
// top level once, under the same bounds as FindProxy, and fails unless
// it defines a function FindProxyForURLEx or FindProxyForURL; a top level
// that throws or loops is an error here too.
func Compile(name string, src []byte, opts ...Option) (*Script, error) {
	if len(src) > MaxScriptSize {
		return nil, fmt.Errorf("pac: %s is %d bytes, more than %d", name, len(src), MaxScriptSize)
	}
	cfg := config{myIP: netip.MustParseAddr("127.0.0.1"), now: time.Now, timeout: DefaultTimeout}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	// Parse first, so that a syntax error keeps its position (goja.Compile
	// flattens it into a message).
	ast, err := parser.ParseFile(nil, name, string(src), 0)
	if err != nil {
		return nil, fmt.Errorf("pac: %w", syntaxError(name, err))
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		return nil, fmt.Errorf("pac: %w", syntaxError(name, err))
	}
	s := &Script{name: name, prog: prog, cfg: cfg}
	err = s.run(context.Background(), func(rt *goja.Runtime) error {
		_, _, err := findFunc(rt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// syntaxError rewrites goja's parse errors as "name:line:col: message".
func syntaxError(name string, err error) error {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		p := list[0].Position
		more := ""
		if len(list) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(list)-1)
		}
		return fmt.Errorf("%s:%d:%d: syntax error: %s%s", name, p.Line, p.Column, list[0].Message, more)
	}
	var se *goja.CompilerSyntaxError
	if errors.As(err, &se) && se.File != nil {
		p := se.File.Position(se.Offset)
		return fmt.Errorf("%s:%d:%d: syntax error: %s", name, p.Line, p.Column, se.Message)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// findFunc picks FindProxyForURLEx when the script defines it (as
// Windows does), else FindProxyForURL.
func findFunc(rt *goja.Runtime) (goja.Callable, string, error) {
	for _, n := range []string{"FindProxyForURLEx", "FindProxyForURL"} {
		if fn, ok := goja.AssertFunction(rt.Get(n)); ok {
			return fn, n, nil
		}
	}
	return nil, "", errors.New("defines neither FindProxyForURLEx nor FindProxyForURL")
}

// run evaluates the program in a fresh runtime with the helpers bound to
// ctx, interrupts it when ctx ends or the timeout passes, then calls f in
// the same runtime and under the same interruption.
func (s *Script) run(ctx context.Context, f func(rt *goja.Runtime) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	rt := goja.New()
	stop := context.AfterFunc(ctx, func() { rt.Interrupt(context.Cause(ctx)) })
	defer stop()
	rt.SetTimeSource(s.cfg.now)
	res := &resolver{ctx: ctx, r: s.cfg.resolver, timeout: DefaultDNSTimeout}
	s.bind(rt, res)
	err := func() error {
		if _, err := rt.RunProgram(s.prog); err != nil {
			return err
		}
		return f(rt)
	}()
	if err == nil {
		return nil
	}
	return s.evalError(ctx, err)
}

// evalError names the file and position of a script's exception and
// says when the evaluation was interrupted.
func (s *Script) evalError(ctx context.Context, err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("pac: %s: evaluation interrupted (limit %v): %w", s.name, s.cfg.timeout, context.Cause(ctx))
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		msg := "exception"
		if v := ex.Value(); v != nil {
			msg = v.String()
		}
		for _, fr := range ex.Stack() {
			if p := fr.Position(); p.Line > 0 {
				return fmt.Errorf("pac: %s:%d:%d: %s", s.name, p.Line, p.Column, msg)
			}
		}
		return fmt.Errorf("pac: %s: %s", s.name, msg)
	}
	return fmt.Errorf("pac: %s: %w", s.name, err)
}

// bind defines the helper functions in rt.
func (s *Script) bind(rt *goja.Runtime, res *resolver) {
	str := func(c goja.FunctionCall, i int) string {
		if i >= len(c.Arguments) {
			return "undefined"
		}
		return c.Arguments[i].String()
	}
	strs := func(c goja.FunctionCall) []string {
		out := make([]string, len(c.Arguments))
		for i, a := range c.Arguments {
			out[i] = a.String()
		}
		return out
	}
	boolFn := func(f func(c goja.FunctionCall) bool) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value { return rt.ToValue(f(c)) }
	}
	set := func(name string, fn func(goja.FunctionCall) goja.Value) {
		// Set only fails for an unconvertible value, which a func is not.
		_ = rt.Set(name, fn)
	}
	set("isPlainHostName", boolFn(func(c goja.FunctionCall) bool { return isPlainHostName(str(c, 0)) }))
	set("dnsDomainIs", boolFn(func(c goja.FunctionCall) bool { return dnsDomainIs(str(c, 0), str(c, 1)) }))
	set("localHostOrDomainIs", boolFn(func(c goja.FunctionCall) bool { return localHostOrDomainIs(str(c, 0), str(c, 1)) }))
	set("isResolvable", boolFn(func(c goja.FunctionCall) bool { return res.isResolvable(str(c, 0)) }))
	set("isResolvableEx", boolFn(func(c goja.FunctionCall) bool { return res.isResolvableEx(str(c, 0)) }))
	set("isInNet", boolFn(func(c goja.FunctionCall) bool { return res.isInNet(str(c, 0), str(c, 1), str(c, 2)) }))
	set("isInNetEx", boolFn(func(c goja.FunctionCall) bool { return res.isInNetEx(str(c, 0), str(c, 1)) }))
	set("dnsResolve", func(c goja.FunctionCall) goja.Value {
		if ip, ok := res.dnsResolve(str(c, 0)); ok {
			return rt.ToValue(ip)
		}
		return goja.Null()
	})
	set("dnsResolveEx", func(c goja.FunctionCall) goja.Value { return rt.ToValue(res.dnsResolveEx(str(c, 0))) })
	set("myIpAddress", func(goja.FunctionCall) goja.Value {
		if s.cfg.myIP.Is4() {
			return rt.ToValue(s.cfg.myIP.String())
		}
		return rt.ToValue("127.0.0.1")
	})
	set("myIpAddressEx", func(goja.FunctionCall) goja.Value { return rt.ToValue(s.cfg.myIP.String()) })
	set("dnsDomainLevels", func(c goja.FunctionCall) goja.Value { return rt.ToValue(dnsDomainLevels(str(c, 0))) })
	set("shExpMatch", boolFn(func(c goja.FunctionCall) bool { return shExpMatch(str(c, 0), str(c, 1)) }))
	set("weekdayRange", boolFn(func(c goja.FunctionCall) bool { return weekdayRange(strs(c), s.cfg.now()) }))
	set("dateRange", boolFn(func(c goja.FunctionCall) bool { return dateRange(strs(c), s.cfg.now()) }))
	set("timeRange", boolFn(func(c goja.FunctionCall) bool { return timeRange(strs(c), s.cfg.now()) }))
	set("sortIpAddressList", func(c goja.FunctionCall) goja.Value {
		if l, ok := sortIpAddressList(str(c, 0)); ok {
			return rt.ToValue(l)
		}
		return rt.ToValue(false)
	})
	set("getClientVersion", func(goja.FunctionCall) goja.Value { return rt.ToValue(ClientVersion) })
	// alert is what browsers offer for debugging; its output is dropped.
	set("alert", func(goja.FunctionCall) goja.Value { return goja.Undefined() })
}

// scriptURL is the URL and host handed to the script for rawURL. As
// Chromium does, credentials and the fragment are always removed, and for
// https and wss the path and query too, leaving "scheme://host[:port]/":
// Chromium strips them since version 52 (2016, after the "badWPAD" and
// "Crippling HTTPS with unholy PAC" reports, CVE-2016-5134) because a PAC
// file served by whoever answers wpad could otherwise read every HTTPS
// URL's path. Windows' WinHTTP kept passing full URLs for a long time; the
// lab models browsers. host is the URL's host in lower case, without
// port, and without brackets for an IPv6 address.
func scriptURL(rawURL string) (string, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", fmt.Errorf("pac: URL: %w", err)
	}
	if u.Scheme == "" || u.Host == "" || u.Hostname() == "" {
		return "", "", fmt.Errorf("pac: URL %q has no scheme or host", rawURL)
	}
	u.Host = strings.ToLower(u.Host)
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.Scheme == "https" || u.Scheme == "wss" {
		u.Path, u.RawPath, u.RawQuery, u.ForceQuery = "/", "", "", false
	}
	return u.String(), u.Hostname(), nil
}

// FindProxy evaluates the script for rawURL ("https://host/path"): it
// calls FindProxyForURLEx(url, host) when the script defines it, else
// FindProxyForURL(url, host), with url and host as scriptURL describes,
// and parses the answer with ParseResult. Errors: a URL without scheme or
// host; an exception (named "file:line:col"); an interruption after the
// timeout or ctx's end; an answer that is not a string, longer than
// MaxResultLen or not a valid result.
func (s *Script) FindProxy(ctx context.Context, rawURL string) ([]Proxy, error) {
	u, host, err := scriptURL(rawURL)
	if err != nil {
		return nil, err
	}
	var out string
	err = s.run(ctx, func(rt *goja.Runtime) error {
		fn, name, err := findFunc(rt)
		if err != nil {
			return err
		}
		v, err := fn(goja.Undefined(), rt.ToValue(u), rt.ToValue(host))
		if err != nil {
			return err
		}
		str, ok := v.Export().(string)
		if !ok {
			return fmt.Errorf("%s returned %s, not a string", name, describe(v))
		}
		if len(str) > MaxResultLen {
			return fmt.Errorf("%s returned %d bytes, more than %d", name, len(str), MaxResultLen)
		}
		out = str
		return nil
	})
	if err != nil {
		return nil, err
	}
	ps, err := ParseResult(out)
	if err != nil {
		return nil, fmt.Errorf("pac: %s: %w", s.name, err)
	}
	return ps, nil
}

func describe(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	return "a " + v.ExportType().String()
}
