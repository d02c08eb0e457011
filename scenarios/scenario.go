// Package scenarios is the declarative side of the lab: the scenario file
// format (YAML, strict) and its JSON Schema, the runner that builds a lab
// from a file, runs the Windows-like client in it and checks the
// expectations, the reports (text, JSON, JUnit XML), and the built-in
// catalog of every documented cause and remedy.
package scenarios

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/enum"
	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pac"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
	"github.com/egresslab/egresslab/vhost"
)

// Scenario is one scenario file.
type Scenario struct {
	// Name identifies the scenario: lower-case words joined by dashes.
	Name string `json:"name" yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9.-]*$"`
	// Description says what the scenario reproduces and what the user sees.
	Description string `json:"description" yaml:"description" jsonschema:"required"`
	// Reference is the documented cause or remedy it reproduces (a URL
	// or a citation).
	Reference string `json:"reference" yaml:"reference" jsonschema:"required"`
	Lab       Lab    `json:"lab,omitempty" yaml:"lab,omitempty"`
	// Directory replaces the lab's default directory (harness.DefaultDirectory).
	Directory *mock.DirectoryData `json:"directory,omitempty" yaml:"directory,omitempty"`
	Client    Client              `json:"client" yaml:"client" jsonschema:"required"`
	Expect    Expect              `json:"expect" yaml:"expect" jsonschema:"required"`

	// File is where the scenario was read from ("catalog:NAME" for the
	// built-in ones).
	File string `json:"-" yaml:"-"`

	// warnings are Warnings' lines, found by Parse.
	warnings []string
}

// labHosts are the names of the lab's hosts: the TLS hosts, then the
// plain-HTTP ones (OCSP, CRL).
var labHosts = func() []string {
	var out []string
	for _, h := range append(slices.Clone(harness.TLSHosts), harness.PlainHosts...) {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}()

// Warnings are what validation allows but is likely a slip, located as
// errors are ("s.yaml:14: warning: lab.proxy.rules[0].hosts[0]: ..."): a
// proxy rule's host that names none of the lab's hosts. They do not make
// the file invalid.
func Warnings(sc *Scenario) []string { return sc.warnings }

// checkWarnings finds Warnings' values, by path.
func (s *Scenario) checkWarnings() []*yamlfile.FieldError {
	out := s.autoProxyWarnings()
	if s.Lab.Proxy == nil {
		return out
	}
	for i, r := range s.Lab.Proxy.Rules {
		for j, p := range r.Hosts {
			name, matches := hostPatternMatches(p)
			if matches == nil {
				continue // any host, an address or a prefix
			}
			known := slices.Clone(labHosts)
			for h := range s.Lab.Hosts {
				if ownHost(h) {
					known = append(known, h)
				}
			}
			if slices.ContainsFunc(known, matches) {
				continue
			}
			msg := fmt.Sprintf("%q matches none of the lab's hosts (%s)", p, strings.Join(known, ", "))
			if near, ok := enum.Nearest(name, known); ok {
				msg += fmt.Sprintf("; did you mean %q?", strings.TrimSuffix(p, name)+near)
			}
			out = append(out, yamlfile.Field(fmt.Sprintf("lab.proxy.rules[%d].hosts[%d]", i, j), "%s", msg))
		}
	}
	return out
}

// autoProxyWarnings flags auto-proxy settings that cannot do what they
// look like they do: a PAC URL on a host the lab does not have (it will
// not resolve), automatic detection asked for without a DNS suffix (WPAD
// has nowhere to look).
func (s *Scenario) autoProxyWarnings() []*yamlfile.FieldError {
	var out []*yamlfile.FieldError
	known := slices.Clone(labHosts)
	for h := range s.Lab.Hosts {
		if ownHost(h) {
			known = append(known, h)
		}
	}
	for _, src := range []struct {
		name string
		set  *client.ProxySetting
	}{{"perUser", s.Client.Proxy.PerUser}, {"perMachine", s.Client.Proxy.PerMachine}, {"defaultProfile", s.Client.Proxy.DefaultProfile}} {
		if src.set == nil {
			continue
		}
		if u, err := url.Parse(src.set.AutoConfigURL); err == nil && u.Hostname() != "" && !slices.Contains(known, strings.ToLower(u.Hostname())) {
			msg := fmt.Sprintf("%q is none of the lab's hosts (%s): it will not resolve, and the PAC file is never had", u.Hostname(), strings.Join(known, ", "))
			if near, ok := enum.Nearest(strings.ToLower(u.Hostname()), known); ok {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			out = append(out, yamlfile.Field("client.proxy."+src.name+".autoConfigURL", "%s", msg))
		}
		if d := src.set.AutoDetect; d != nil && *d && s.Client.DNSSuffix == "" {
			out = append(out, yamlfile.Field("client.proxy."+src.name+".autoDetect", "true, but the profile has no dnsSuffix: WPAD has nowhere to look (set client.dnsSuffix)"))
		}
	}
	return out
}

// hostPatternMatches returns the name in a proxy rule's host pattern and
// whether a host name matches it; nil for patterns that name no host (any
// host, an address, a prefix).
func hostPatternMatches(p string) (string, func(string) bool) {
	p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
	if p == "" || p == "*" {
		return "", nil
	}
	if _, err := netip.ParseAddr(strings.Trim(p, "[]")); err == nil {
		return "", nil
	}
	if _, err := netip.ParsePrefix(p); err == nil {
		return "", nil
	}
	switch {
	case strings.HasPrefix(p, "*."):
		name := p[2:]
		return name, func(h string) bool { return strings.HasSuffix(h, "."+name) }
	case strings.HasPrefix(p, "."):
		name := p[1:]
		return name, func(h string) bool { return h == name || strings.HasSuffix(h, "."+name) }
	}
	return p, func(h string) bool { return h == p }
}

// proxyName is the host name of the lab's proxy.
func (s *Scenario) proxyName() string {
	addr := harness.DefaultProxyAddr
	if s.Lab.Proxy != nil && s.Lab.Proxy.Address != "" {
		addr = s.Lab.Proxy.Address
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Lab is the lab a scenario builds.
type Lab struct {
	// Hosts configures the TLS hosts by name
	// (passwordreset.microsoftonline.com, ajax.aspnetcdn.com), and adds
	// hosts of one's own under any other name, each answering with a
	// static response.
	Hosts    map[string]Host   `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	Firewall *harness.Firewall `json:"firewall,omitempty" yaml:"firewall,omitempty"`
	Proxy    *Proxy            `json:"proxy,omitempty" yaml:"proxy,omitempty"`
	// Service sets faults on the service's steps (page, captcha, begin,
	// send, verify, password).
	Service *Service `json:"service,omitempty" yaml:"service,omitempty"`
}

// Host is one TLS host's policy, or a host of one's own (a name that is
// not the lab's: its own service behind the lab's proxy and firewall, or
// another documented endpoint), which needs a response.
type Host struct {
	TLS         *TLSRange `json:"tls,omitempty" yaml:"tls,omitempty"`
	Certificate pki.Fault `json:"certificate,omitempty" yaml:"certificate,omitempty"`
	// KeyType gives the host a certificate with a key of this type
	// (ecdsa-p256, the lab's default, or rsa-2048), under the lab's root.
	KeyType string `json:"keyType,omitempty" yaml:"keyType,omitempty"`
	// Response is what a host of one's own answers to every request
	// (required for one, refused for the lab's hosts).
	Response *Response `json:"response,omitempty" yaml:"response,omitempty"`
	// Port is where a host of one's own listens: 443 by default, 80 when
	// plain.
	Port int `json:"port,omitempty" yaml:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
	// Plain serves a host of one's own over HTTP instead of HTTPS.
	Plain bool `json:"plain,omitempty" yaml:"plain,omitempty"`
}

// Response is a static HTTP response.
type Response struct {
	// Status is the HTTP status (default 200).
	Status int `json:"status,omitempty" yaml:"status,omitempty" jsonschema:"minimum=100,maximum=599"`
	// ContentType is the Content-Type header (default text/plain;
	// charset=utf-8).
	ContentType string `json:"contentType,omitempty" yaml:"contentType,omitempty"`
	// Headers are further response headers.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Body is the response body.
	Body string `json:"body,omitempty" yaml:"body,omitempty"`
}

// ServeHTTP answers every request with the response.
func (r *Response) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	for k, v := range r.Headers {
		w.Header().Set(k, v)
	}
	ct := r.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, r.Body)
}

// ownHost reports whether name is a host of one's own, not the lab's.
func ownHost(name string) bool { return !slices.Contains(labHosts, name) }

// OwnHostPorts are the "host:port"s of the scenario's hosts of its own
// (lab.hosts entries that are not the lab's hosts), sorted.
func (s *Scenario) OwnHostPorts() []string {
	var out []string
	for h, spec := range s.Lab.Hosts {
		if ownHost(h) {
			out = append(out, net.JoinHostPort(h, strconv.Itoa(spec.port())))
		}
	}
	sort.Strings(out)
	return out
}

// port is where the host listens.
func (h Host) port() int {
	switch {
	case h.Port != 0:
		return h.Port
	case h.Plain:
		return 80
	}
	return 443
}

// keyTypeNames are the values of Host.KeyType.
var keyTypeNames = func() []string {
	var out []string
	for _, k := range pki.KeyTypes() {
		out = append(out, k.String())
	}
	return out
}()

// TLSRange is a range of TLS versions, "1.0" to "1.3".
type TLSRange struct {
	// Min is the lowest version: "1.0" to "1.3" (quoted); empty means 1.0.
	Min string `json:"min,omitempty" yaml:"min,omitempty"`
	// Max is the highest version: "1.0" to "1.3" (quoted); empty means 1.3.
	Max string `json:"max,omitempty" yaml:"max,omitempty"`
}

// Proxy is the lab's corporate proxy.
type Proxy struct {
	// Address is the proxy's name on the lab's network (default
	// proxy.corp.example:3128).
	Address string       `json:"address,omitempty" yaml:"address,omitempty"`
	Auth    *proxy.Auth  `json:"auth,omitempty" yaml:"auth,omitempty"`
	Rules   []proxy.Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
	// Default is the action when no rule matches: allow, authenticate or
	// deny (the default).
	Default DefaultAction `json:"default,omitempty" yaml:"default,omitempty" jsonschema:"enum=allow,enum=deny,enum=authenticate"`
	// Unresolvable are host names the proxy's DNS cannot resolve (a
	// broken forwarder): the proxy answers them with ERR_DNS_FAIL, while
	// the workstation's DNS still knows them.
	Unresolvable []string `json:"unresolvable,omitempty" yaml:"unresolvable,omitempty"`
	// SquidConf names a squid.conf, relative to the scenario file, whose
	// policy the proxy runs (squidconf.Translate): its http_access lines
	// as rules, each with its line, and its auth_param schemes (egresslab
	// import squid prints them). Rules, default and auth.schemes then
	// come from it alone; auth.users stay the scenario's.
	SquidConf string `json:"squidConf,omitempty" yaml:"squidConf,omitempty"`

	squidSource string // the squid.conf the rules came from
}

// DefaultAction is what the proxy does with a request no rule matches: a
// proxy.Action, of which only allow, deny and authenticate may be the
// default.
type DefaultAction proxy.Action

// Service holds service-side faults.
type Service struct {
	Faults map[string]mock.StepFault `json:"faults,omitempty" yaml:"faults,omitempty"`
}

// Client is the Windows client's profile, plus what the lab does for it.
type Client struct {
	client.Profile `yaml:",inline"`
	// TrustInterception installs the interception root on the workstation,
	// as a managed antivirus does.
	TrustInterception bool `json:"trustInterception,omitempty" yaml:"trustInterception,omitempty"`
	// Runs is how many times the flow runs (default 1); expectations apply
	// to the last run (throttling needs several).
	Runs int `json:"runs,omitempty" yaml:"runs,omitempty" jsonschema:"minimum=1,maximum=20"`
	// Before is a signed-in user's session on the same workstation before
	// the flow, for the proxy's IP surrogates (lab.proxy.auth.surrogateTTL).
	Before *Before `json:"before,omitempty" yaml:"before,omitempty"`
	// Address is the workstation's address as the lab's proxy sees it, for
	// rules on the client's address (src): a loopback address, 127.0.0.1
	// (the default) to 127.255.255.254. Only the in-process backend sets it.
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
}

// Before is a signed-in user's session on the workstation before the
// flow: the same profile run once as the signed-in user ("user" account)
// with Credentials, through the lab's proxy, from the workstation's
// address; then the proxy's clock moves on by Ago, and the client's own
// runs begin. Its expectations are not checked, but it must have
// authenticated to the proxy, or the scenario fails to run. Only the
// in-process backend runs it.
type Before struct {
	// Credentials are the signed-in user's proxy credentials.
	Credentials client.Credentials `json:"credentials" yaml:"credentials" jsonschema:"required"`
	// Ago is how long before the flow the session authenticated (default
	// 1m): the proxy's clock moves on by this much in between.
	Ago fault.Duration `json:"ago,omitempty" yaml:"ago,omitempty"`
	// Address is the session's workstation address, as client.address;
	// default the client's own.
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
}

// Expect is what the run must give.
type Expect struct {
	// Outcome is what the user at the sign-in screen must see.
	Outcome client.Outcome `json:"outcome" yaml:"outcome" jsonschema:"required"`
	// Cause is why the run ended as it did.
	Cause client.Cause `json:"cause,omitempty" yaml:"cause,omitempty"`
	// Step is the step of the flow the run ended at.
	Step client.Step `json:"step,omitempty" yaml:"step,omitempty"`
	// Gate is the verification gate (1 or 2) the run ended at, at step verify.
	Gate int `json:"gate,omitempty" yaml:"gate,omitempty" jsonschema:"minimum=1,maximum=2"`
	// Host is the host the run ended at: one of the lab's, or its proxy.
	Host string `json:"host,omitempty" yaml:"host,omitempty"`
	// Warnings is how many soft-fail warnings the run must have.
	Warnings *int `json:"warnings,omitempty" yaml:"warnings,omitempty"`
	// ProxySource is where the client's proxy came from: per-machine,
	// per-user, default-profile, winhttp or none.
	ProxySource string `json:"proxySource,omitempty" yaml:"proxySource,omitempty" jsonschema:"enum=per-machine,enum=per-user,enum=default-profile,enum=winhttp,enum=none"`
	// ProxyAuth is the scheme the client authenticated to the proxy with
	// (negotiate, ntlm, basic), or "none" for no authentication.
	ProxyAuth string `json:"proxyAuth,omitempty" yaml:"proxyAuth,omitempty" jsonschema:"enum=negotiate,enum=ntlm,enum=basic,enum=none"`
	// AutoProxy is where proxy auto-configuration got the PAC file in
	// force: wpad, autoConfigURL, or none (no PAC file applied).
	AutoProxy string `json:"autoProxy,omitempty" yaml:"autoProxy,omitempty" jsonschema:"enum=wpad,enum=autoConfigURL,enum=none"`
	// ProxyEntry is the entry of the PAC result that the portal's traffic
	// went to ("PROXY proxy.corp.example:3128", "DIRECT"): the one that
	// carried it, or the last one tried when it failed.
	ProxyEntry string `json:"proxyEntry,omitempty" yaml:"proxyEntry,omitempty"`
	// Methods are the verification methods used, in order.
	Methods []string `json:"methods,omitempty" yaml:"methods,omitempty"`
	// TLSVersion is the version negotiated with the portal ("TLS 1.2").
	TLSVersion string `json:"tlsVersion,omitempty" yaml:"tlsVersion,omitempty" jsonschema:"enum=TLS 1.0,enum=TLS 1.1,enum=TLS 1.2,enum=TLS 1.3"`
	// RevocationSource is where the revocation checks got their answers:
	// ocsp, crl (OCSP gave none), or none (no check had an answer).
	RevocationSource string `json:"revocationSource,omitempty" yaml:"revocationSource,omitempty" jsonschema:"enum=ocsp,enum=crl,enum=none"`
	// Proxy are decisions the proxy's journal must hold, each matched by
	// at least one entry.
	Proxy []JournalMatch `json:"proxy,omitempty" yaml:"proxy,omitempty"`
	// Audit are records the service's audit log must hold for the user.
	Audit []AuditMatch `json:"audit,omitempty" yaml:"audit,omitempty"`
}

// JournalMatch matches proxy journal entries; empty fields match anything.
type JournalMatch struct {
	// Target matches the entry's target (host:port).
	Target string `json:"target,omitempty" yaml:"target,omitempty"`
	// Method matches the request's method (CONNECT, GET, ...).
	Method string `json:"method,omitempty" yaml:"method,omitempty"`
	// Rule matches the name of the rule that decided.
	Rule string `json:"rule,omitempty" yaml:"rule,omitempty"`
	// Action matches what the proxy did.
	Action proxy.Action `json:"action,omitempty" yaml:"action,omitempty"`
	// Status matches the HTTP status the proxy answered.
	Status int `json:"status,omitempty" yaml:"status,omitempty"`
	// Result matches how the entry ended.
	Result string `json:"result,omitempty" yaml:"result,omitempty"`
	// User matches the user the proxy authenticated.
	User string `json:"user,omitempty" yaml:"user,omitempty"`
	// Detail matches a part of the entry's detail (why it ended as it did).
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
	// Line matches the configuration line of the rule that decided.
	Line int `json:"line,omitempty" yaml:"line,omitempty" jsonschema:"minimum=1"`
	// Surrogate, when true, matches only requests that passed on an IP
	// surrogate (lab.proxy.auth.surrogateTTL).
	Surrogate bool `json:"surrogate,omitempty" yaml:"surrogate,omitempty"`
}

// AuditMatch matches audit entries; empty fields match anything, and
// Reason matches a part of the reason.
type AuditMatch struct {
	// Activity matches the audit record's activity.
	Activity string `json:"activity,omitempty" yaml:"activity,omitempty"`
	// Result matches the audit record's result (success, failure).
	Result string `json:"result,omitempty" yaml:"result,omitempty"`
	// Reason matches a part of the audit record's reason.
	Reason string `json:"reason,omitempty" yaml:"reason,omitempty"`
	// ClientType matches the audit record's client type.
	ClientType string `json:"clientType,omitempty" yaml:"clientType,omitempty"`
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// hostRe is a host name: the lab's own rule.
var hostRe = harness.HostNameRe

var steps = []client.Step{client.StepPage, client.StepCDN, client.StepRevocation, client.StepCaptcha,
	client.StepBegin, client.StepVerify, client.StepPassword, client.StepDone}

var serviceSteps = []string{"page", "captcha", "begin", "send", "verify", "password"}

var defaultActions = []DefaultAction{DefaultAction(proxy.Allow), DefaultAction(proxy.Deny), DefaultAction(proxy.Authenticate)}

// The values of Expect's enumerations, as its jsonschema tags give them.
var (
	proxySources = []string{"per-machine", "per-user", "default-profile", "winhttp", "none"}
	proxyAuths   = []string{"negotiate", "ntlm", "basic", "none"}
	tlsVersions  = []string{"TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"}
	revSources   = []string{client.SourceOCSP, client.SourceCRL, "none"}
)

var clientTypes = []string{mock.ClientWindowsLogon, mock.ClientWindows7Addin, mock.ClientBrowser}

// Validate checks what strict decoding cannot: values, and how fields fit
// together. Errors carry the field's path.
func (s *Scenario) Validate() error {
	var errs []error
	add := func(path, format string, a ...any) { errs = append(errs, yamlfile.Field(path, format, a...)) }
	switch {
	case s.Name == "":
		add("name", "required")
	case !nameRe.MatchString(s.Name):
		add("name", "%q: use lower-case letters, digits, dots and dashes", s.Name)
	}
	if s.Description == "" {
		add("description", "required")
	}
	if s.Reference == "" {
		add("reference", "required: the documented cause or remedy this reproduces")
	}
	for h, spec := range s.Lab.Hosts {
		p := fmt.Sprintf("lab.hosts[%q]", h)
		switch {
		case ownHost(h):
			if !hostRe.MatchString(h) {
				add(p, "%q: want a host name in lower case (a host of one's own), or one of the lab's TLS hosts (%s)", h, strings.Join(harness.TLSHosts, ", "))
				continue
			}
			if s.Lab.Proxy != nil && h == s.proxyName() {
				add(p, "%s is the proxy's name (lab.proxy.address): a host of one's own needs another", h)
			}
			if spec.Response == nil {
				msg := "required for a host of one's own"
				if near, ok := enum.Nearest(h, harness.TLSHosts); ok {
					msg += fmt.Sprintf(" (or did you mean the lab's %q?)", near)
				}
				add(p+".response", "%s", msg)
			} else if st := spec.Response.Status; st != 0 && (st < 100 || st > 599) {
				add(p+".response.status", "%d: want 100 to 599", st)
			}
			if spec.Port < 0 || spec.Port > 65535 {
				add(p+".port", "%d: want 1 to 65535", spec.Port)
			}
			if spec.Plain && (spec.TLS != nil || spec.Certificate != "" || spec.KeyType != "") {
				add(p+".plain", "a plain-HTTP host has no tls, certificate or keyType")
			}
		case !slices.Contains(harness.TLSHosts, h):
			add(p, "%s is one of the lab's plain-HTTP hosts: only the TLS hosts (%s) are configured here", h, strings.Join(harness.TLSHosts, ", "))
			continue
		case spec.Response != nil || spec.Port != 0 || spec.Plain:
			add(p, "the lab's own host: response, port and plain are for hosts of one's own")
		}
		if spec.TLS != nil {
			if _, err := vhost.ParseRange(spec.TLS.Min, spec.TLS.Max); err != nil {
				add(p+".tls", "%v", err)
			}
		}
		if spec.KeyType != "" {
			if err := enum.Check(spec.KeyType, keyTypeNames); err != nil {
				add(p+".keyType", "unknown key type %v", err)
			}
		}
	}
	if f := s.Lab.Firewall; f != nil {
		// The lab's own check, so that a file and the Go options agree.
		if err := f.Validate(s.OwnHostPorts()...); err != nil {
			errs = append(errs, prefixFieldErrors("lab.firewall.", err)...)
		}
	}
	if px := s.Lab.Proxy; px != nil {
		if px.Address != "" {
			if err := harness.CheckProxyAddr(px.Address); err != nil {
				add("lab.proxy.address", "%v", err)
			}
		}
		if proxy.Action(px.Default) == proxy.Authenticate && (px.Auth == nil || len(px.Auth.Users) == 0) {
			add("lab.proxy.default", "authenticates, but lab.proxy.auth has no users")
		}
		if px.Auth != nil {
			if err := px.Auth.Validate(); err != nil {
				add("lab.proxy.auth", "%v", err)
			}
		}
		for i := range px.Rules {
			if err := px.Rules[i].Validate(); err != nil {
				errs := []error{err}
				if j, ok := err.(interface{ Unwrap() []error }); ok {
					errs = j.Unwrap()
				}
				for _, e := range errs {
					// Each at its own field's line: rules[0].tls.min.
					if fe, ok := e.(*proxy.FieldError); ok {
						add(fmt.Sprintf("lab.proxy.rules[%d].%s", i, fe.Field), "%v", fe.Err)
					} else {
						add(fmt.Sprintf("lab.proxy.rules[%d]", i), "%v", e)
					}
				}
			}
			if px.Rules[i].Action == proxy.Authenticate || px.Rules[i].Auth {
				if px.Auth == nil || len(px.Auth.Users) == 0 {
					add(fmt.Sprintf("lab.proxy.rules[%d].action", i), "authenticates, but lab.proxy.auth has no users")
				}
			}
		}
		for i, h := range px.Unresolvable {
			switch {
			case !hostRe.MatchString(h):
				add(fmt.Sprintf("lab.proxy.unresolvable[%d]", i), "%q: want a host name in lower case, without a port", h)
			case !slices.Contains(labHosts, h):
				add(fmt.Sprintf("lab.proxy.unresolvable[%d]", i), "unknown host %v", enum.Error(h, labHosts))
			}
		}
		if px.Default != "" {
			if err := enum.Check(px.Default, defaultActions); err != nil {
				add("lab.proxy.default", "%v", err)
			}
		}
	}
	if svc := s.Lab.Service; svc != nil {
		for step, f := range svc.Faults {
			p := "lab.service.faults." + step
			if !slices.Contains(serviceSteps, step) {
				add(p, "unknown step %v", enum.Error(step, serviceSteps))
				continue
			}
			if (f.Status == 0) == !f.Stall || (f.Status != 0 && (f.Status < 500 || f.Status > 599)) {
				add(p, "want status 500-599 or stall: true")
			}
			if f.Times < 0 {
				add(p+".times", "%d: must not be negative", f.Times)
			}
		}
	}
	if s.Directory != nil {
		if err := s.Directory.Validate(); err != nil {
			errs = append(errs, prefixFieldErrors("directory.", err)...)
		}
		for i, u := range s.Directory.Users {
			for j, q := range u.Methods.SecurityQuestions {
				if q.Answer == mock.RedactedAnswer {
					add(fmt.Sprintf("directory.users[%d].methods.securityQuestions[%d].answer", i, j),
						"%q keeps a stored answer through the admin API; a scenario's directory must give the answer", q.Answer)
				}
			}
		}
	}
	if err := s.Client.Profile.Validate(); err != nil {
		if fe, ok := err.(*client.FieldError); ok {
			add("client."+fe.Field, "%v", fe.Err)
		} else {
			add("client", "%v", err)
		}
	}
	if ct := s.Client.ClientType; ct != "" && !slices.Contains(clientTypes, ct) {
		add("client.clientType", "unknown client type %v", enum.Error(ct, clientTypes))
	}
	if s.Client.Runs < 0 || s.Client.Runs > 20 {
		add("client.runs", "%d: want 1 to 20", s.Client.Runs)
	}
	if s.Client.TrustInterception && s.Lab.Proxy == nil {
		add("client.trustInterception", "the lab has no proxy to intercept")
	}
	checkAddress := func(path, a string) {
		if a == "" {
			return
		}
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil:
			add(path, "%q is not an IP address", a)
		case !ip.Is4() || !ip.IsLoopback() || ip == netip.MustParseAddr("127.255.255.255"):
			add(path, "%s: want a loopback address, 127.0.0.1 to 127.255.255.254 (the lab's workstation is in this process)", a)
		case s.Lab.Proxy == nil:
			add(path, "the lab has no proxy to see it")
		}
	}
	checkAddress("client.address", s.Client.Address)
	if b := s.Client.Before; b != nil {
		checkAddress("client.before.address", b.Address)
		switch px := s.Lab.Proxy; {
		case px == nil:
			add("client.before", "the lab has no proxy to authenticate to")
		case px.Auth == nil || px.Auth.SurrogateTTL == 0:
			add("client.before", "only lab.proxy.auth.surrogateTTL lets an earlier session change the flow: set it")
		}
		if b.Credentials.Username == "" {
			add("client.before.credentials.username", "required")
		}
		if b.Credentials.Password == "" {
			add("client.before.credentials.password", "required")
		}
		if b.Ago < 0 {
			add("client.before.ago", "%v: must not be negative", b.Ago)
		}
	}
	e := s.Expect
	if err := enum.Check(e.Outcome, client.Outcomes()); err != nil {
		add("expect.outcome", "%v", err)
	}
	if e.Cause != "" && !slices.Contains(client.Causes(), e.Cause) {
		add("expect.cause", "unknown cause %v", enum.Error(e.Cause, client.Causes()))
	}
	if e.Outcome == client.OutcomeSuccess && e.Cause != "" {
		add("expect.cause", "a success has no cause")
	}
	if e.Outcome == client.OutcomeSuccess && e.Step != "" && e.Step != client.StepDone {
		add("expect.step", "a success ends at step done")
	}
	if e.Step != "" {
		if err := enum.Check(e.Step, steps); err != nil {
			add("expect.step", "%v", err)
		}
	}
	for _, f := range []struct {
		path, value string
		valid       []string
	}{
		{"expect.proxySource", e.ProxySource, proxySources},
		{"expect.proxyAuth", e.ProxyAuth, proxyAuths},
		{"expect.tlsVersion", e.TLSVersion, tlsVersions},
		{"expect.revocationSource", e.RevocationSource, revSources},
		{"expect.autoProxy", e.AutoProxy, []string{client.AutoProxyWPAD, client.AutoProxyAutoConfigURL, "none"}},
	} {
		if f.value != "" {
			if err := enum.Check(f.value, f.valid); err != nil {
				add(f.path, "%v", err)
			}
		}
	}
	if e.ProxyEntry != "" {
		if ps, err := pac.ParseResult(e.ProxyEntry); err != nil || len(ps) != 1 {
			add("expect.proxyEntry", "%q: want one entry of a PAC result, \"PROXY host:port\" or \"DIRECT\"", e.ProxyEntry)
		}
	}
	if e.Gate < 0 || e.Gate > 2 {
		add("expect.gate", "%d: want 1 or 2", e.Gate)
	}
	if e.Warnings != nil && *e.Warnings < 0 {
		add("expect.warnings", "must not be negative")
	}
	if e.Host != "" {
		// The host the run ended at: one of the lab's, or its proxy.
		valid := append(slices.Clone(labHosts), s.proxyName())
		if !slices.Contains(valid, strings.ToLower(e.Host)) {
			add("expect.host", "unknown host %v", enum.Error(e.Host, valid))
		}
	}
	if len(e.Proxy) > 0 && s.Lab.Proxy == nil {
		add("expect.proxy", "the lab has no proxy")
	}
	for i, m := range e.Proxy {
		if m == (JournalMatch{}) {
			add(fmt.Sprintf("expect.proxy[%d]", i), "matches every entry: name at least one field")
		}
		if m.Target != "" {
			host, _, err := net.SplitHostPort(m.Target)
			if err != nil {
				host = m.Target
			}
			if !slices.Contains(labHosts, strings.ToLower(host)) {
				add(fmt.Sprintf("expect.proxy[%d].target", i), "%q: unknown host %v", m.Target, enum.Error(host, labHosts))
			}
		}
	}
	for i, m := range e.Audit {
		if m == (AuditMatch{}) {
			add(fmt.Sprintf("expect.audit[%d]", i), "matches every entry: name at least one field")
		}
	}
	return errors.Join(errs...) // nil for none; yamlfile walks what it joins
}

// prefixFieldErrors puts prefix before the paths of the field errors in
// err (joined or single).
func prefixFieldErrors(prefix string, err error) []error {
	var out []error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if fe, ok := err.(*yamlfile.FieldError); ok {
			out = append(out, &yamlfile.FieldError{Path: prefix + fe.Path, Err: fe.Err})
			return
		}
		out = append(out, yamlfile.Field(prefix[:len(prefix)-1], "%v", err))
	}
	walk(err)
	return out
}

// Parse decodes a scenario strictly; errors name file, line and field.
func Parse(file string, data []byte) (*Scenario, error) {
	var s Scenario
	if err := yamlfile.Decode(file, data, &s); err != nil {
		return nil, err
	}
	s.File = file
	squidWarnings, ferr := s.loadSquidConf(file)
	if ferr != nil {
		return nil, yamlfile.Located(file, data, ferr)
	}
	if s.Lab.Proxy != nil && s.Lab.Proxy.squidSource != "" {
		// The rules it gave are checked as any rules are.
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("%s: lab.proxy.squidConf: %w", file, err)
		}
	}
	s.warnings = yamlfile.Warnings(file, data, append(s.checkWarnings(), squidWarnings...))
	return &s, nil
}

// Load reads and parses a scenario file. It reads regular files of up to
// [yamlfile.MaxFileSize] (1 MiB) only: a named pipe, a device or a larger
// file is refused with an error naming it, before anything is read.
func Load(path string) (*Scenario, error) {
	data, err := yamlfile.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}
