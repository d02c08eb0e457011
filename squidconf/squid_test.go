//go:build unix && squid

package squidconf_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/squidtest"
	"github.com/egresslab/egresslab/squidconf"
)

// labHosts are the names the probes use; the hosts file maps every one to
// 127.0.0.1, where the test's origin listens.
var labHosts = []string{
	"passwordreset.microsoftonline.com", "login.microsoftonline.com", "notmicrosoftonline.com",
	"ajax.aspnetcdn.com", "ocsp.digicert.com", "crl3.digicert.com", "crl4.digicert.com",
	"www.example.com", "x.ads.example.com", "ads1.tracker.test",
	"account.activedirectory.windowsazure.com", "aadcdn.msftauth.net", "c.pki.goog",
}

// probe is one request sent through Squid and the decision expected:
// "allow" (anything but 403 and 407: the origin's answer, or Squid's 503
// when nothing listens on the port), "deny" (403 ERR_ACCESS_DENIED), or
// "auth Scheme,Scheme" (407 and the schemes offered, in order).
type probe struct {
	method string // "CONNECT", or a plain HTTP method
	host   string
	port   int // 0: the origin's port
	ua     string
	user   string // "name:password" for Basic credentials
	want   string
}

// passwords of testdata/*/passwd (plain MD5, which basic_ncsa_auth reads).
const (
	alice = "alice:alice-password"
	bob   = "bob:bob-password"
)

var probes = map[string][]probe{
	"allowlist-basic": {
		{method: "GET", host: "passwordreset.microsoftonline.com", want: "allow"},
		{method: "GET", host: "ajax.aspnetcdn.com", want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", want: "allow"},
		{method: "GET", host: "www.example.com", want: "deny"},
		{method: "GET", host: "login.microsoftonline.com", port: 22, want: "deny"},
		{method: "CONNECT", host: "login.microsoftonline.com", port: 443, want: "allow"},
		{method: "CONNECT", host: "login.microsoftonline.com", want: "deny"},
		{method: "CONNECT", host: "www.example.com", port: 443, want: "deny"},
	},
	"allowlist-file": {
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "GET", host: "crl4.digicert.com", want: "allow"},
		{method: "GET", host: "x.ads.example.com", want: "deny"},
		{method: "GET", host: "www.example.com", want: "deny"},
		{method: "CONNECT", host: "ajax.aspnetcdn.com", port: 443, want: "allow"},
	},
	"connect-ssl-ports": {
		{method: "CONNECT", host: "login.microsoftonline.com", port: 8443, want: "allow"},
		{method: "CONNECT", host: "login.microsoftonline.com", want: "deny"},
		{method: "CONNECT", host: "ocsp.digicert.com", port: 443, want: "deny"},
		{method: "GET", host: "ocsp.digicert.com", want: "allow"},
		{method: "GET", host: "login.microsoftonline.com", want: "deny"},
	},
	"auth-basic": {
		{method: "GET", host: "login.microsoftonline.com", want: "auth Basic"},
		{method: "GET", host: "login.microsoftonline.com", user: alice, want: "allow"},
		{method: "GET", host: "login.microsoftonline.com", user: "alice:wrong", want: "auth Basic"},
		{method: "CONNECT", host: "login.microsoftonline.com", port: 443, want: "auth Basic"},
		{method: "CONNECT", host: "login.microsoftonline.com", port: 443, user: bob, want: "allow"},
		{method: "CONNECT", host: "login.microsoftonline.com", user: bob, want: "deny"},
		{method: "GET", host: "www.example.com", port: 22, want: "deny"},
	},
	"auth-cryptoapi-exemption": {
		{method: "GET", host: "ocsp.digicert.com", ua: "Microsoft-CryptoAPI/10.0", want: "allow"},
		{method: "GET", host: "c.pki.goog", ua: "Microsoft-CryptoAPI/10.0", want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", ua: "Mozilla/5.0", want: "auth Basic"},
		{method: "GET", host: "ocsp.digicert.com", ua: "microsoft-cryptoapi/10.0", want: "auth Basic"},
		{method: "CONNECT", host: "passwordreset.microsoftonline.com", port: 443, want: "allow"},
		{method: "GET", host: "www.example.com", ua: "Microsoft-CryptoAPI/10.0", want: "auth Basic"},
		{method: "GET", host: "www.example.com", user: bob, want: "allow"},
		{method: "CONNECT", host: "ocsp.digicert.com", port: 443, ua: "Microsoft-CryptoAPI/10.0", want: "allow"},
		{method: "CONNECT", host: "ocsp.digicert.com", port: 443, want: "auth Basic"},
		{method: "CONNECT", host: "ocsp.digicert.com", port: 443, ua: "Microsoft-CryptoAPI/10.0", user: "bob:wrong", want: "allow"},
	},
	"src-subnets": {
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", want: "allow"},
		{method: "GET", host: "www.example.com", want: "deny"},
		{method: "CONNECT", host: "login.microsoftonline.com", port: 443, want: "allow"},
		{method: "CONNECT", host: "login.microsoftonline.com", want: "deny"},
	},
	"dstdom-regex": {
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "GET", host: "ajax.aspnetcdn.com", want: "allow"},
		{method: "GET", host: "crl3.digicert.com", want: "allow"},
		{method: "GET", host: "notmicrosoftonline.com", want: "deny"},
		{method: "GET", host: "ads1.tracker.test", want: "deny"},
		{method: "GET", host: "www.example.com", want: "deny"},
	},
	"includes": {
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", want: "allow"},
		{method: "GET", host: "crl3.digicert.com", want: "deny"},
		{method: "CONNECT", host: "ajax.aspnetcdn.com", want: "deny"},
		{method: "CONNECT", host: "ajax.aspnetcdn.com", port: 443, want: "allow"},
	},
	"methods-proto": {
		{method: "GET", host: "www.example.com", want: "allow"},
		{method: "OPTIONS", host: "www.example.com", want: "allow"},
		{method: "PURGE", host: "www.example.com", want: "deny"},
		{method: "PUT", host: "www.example.com", want: "deny"},
		{method: "DELETE", host: "www.example.com", want: "deny"},
		{method: "POST", host: "www.example.com", want: "deny"},
		{method: "POST", host: "login.microsoftonline.com", want: "allow"},
		{method: "CONNECT", host: "www.example.com", port: 443, want: "allow"},
		{method: "CONNECT", host: "www.example.com", want: "deny"},
	},
	"auth-ntlm-basic": {
		{method: "GET", host: "www.example.com", want: "auth NTLM,Basic"},
		{method: "CONNECT", host: "www.example.com", port: 443, want: "auth NTLM,Basic"},
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "CONNECT", host: "passwordreset.microsoftonline.com", port: 443, want: "allow"},
		{method: "GET", host: "www.example.com", user: alice, want: "allow"},
	},
	"dst-ports": {
		{method: "GET", host: "www.example.com", want: "allow"},
		{method: "GET", host: "www.example.com", port: 80, want: "deny"},
		{method: "CONNECT", host: "login.microsoftonline.com", port: 443, want: "allow"},
		{method: "CONNECT", host: "www.example.com", port: 443, want: "deny"},
	},
	"auth-deny-not-auth": {
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", ua: "Microsoft-CryptoAPI/10.0", want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", ua: "Mozilla/5.0", want: "auth Basic"},
		{method: "GET", host: "www.example.com", want: "auth Basic"},
		{method: "GET", host: "www.example.com", user: "alice:wrong", want: "auth Basic"},
		{method: "GET", host: "www.example.com", user: alice, want: "allow"},
		{method: "GET", host: "x.ads.example.com", user: alice, want: "auth Basic"},
		{method: "CONNECT", host: "ads1.tracker.test", port: 443, user: bob, want: "auth Basic"},
		{method: "CONNECT", host: "www.example.com", user: bob, want: "deny"},
	},
	"auth-implicit-default": {
		{method: "GET", host: "login.microsoftonline.com", want: "auth Basic"},
		{method: "GET", host: "login.microsoftonline.com", user: alice, want: "auth Basic"},
		{method: "GET", host: "www.example.com", user: alice, want: "deny"},
		{method: "GET", host: "www.example.com", want: "deny"},
		{method: "CONNECT", host: "ajax.aspnetcdn.com", port: 443, user: bob, want: "auth Basic"},
	},
	"dst-internal": {
		{method: "GET", host: "login.microsoftonline.com", want: "allow"},
		{method: "CONNECT", host: "ajax.aspnetcdn.com", port: 443, want: "allow"},
		{method: "GET", host: "ocsp.digicert.com", want: "allow"},
		{method: "CONNECT", host: "ocsp.digicert.com", port: 443, want: "allow"},
		{method: "CONNECT", host: "ocsp.digicert.com", want: "deny"},
		{method: "GET", host: "www.example.com", want: "deny"},
	},
	"auth-mid-line": {
		{method: "GET", host: "www.example.com", want: "auth Basic"},
		{method: "GET", host: "www.example.com", user: alice, want: "allow"},
		{method: "PUT", host: "www.example.com", want: "deny"},
		{method: "POST", host: "login.microsoftonline.com", user: alice, want: "auth Basic"},
		{method: "GET", host: "login.microsoftonline.com", want: "auth Basic"},
		{method: "GET", host: "login.microsoftonline.com", user: alice, want: "allow"},
		{method: "OPTIONS", host: "login.microsoftonline.com", want: "allow"},
		{method: "GET", host: "www.example.com", ua: "Microsoft-CryptoAPI/10.0", want: "allow"},
		{method: "CONNECT", host: "www.example.com", port: 443, want: "allow"},
	},
	"src-kiosk": {
		{method: "GET", host: "www.example.com", want: "allow"},
		{method: "CONNECT", host: "login.microsoftonline.com", port: 443, want: "allow"},
		{method: "CONNECT", host: "www.example.com", want: "deny"},
		{method: "GET", host: "www.example.com", port: 70, want: "deny"},
	},
	"multi-line-acls": {
		{method: "GET", host: "account.activedirectory.windowsazure.com", want: "allow"},
		{method: "GET", host: "aadcdn.msftauth.net", want: "allow"},
		{method: "GET", host: "passwordreset.microsoftonline.com", want: "allow"},
		{method: "GET", host: "www.example.com", want: "deny"},
		{method: "CONNECT", host: "ajax.aspnetcdn.com", port: 443, want: "allow"},
	},
}

// TestTestdataSquid runs real Squid on every testdata configuration: `squid
// -k parse` accepts it without a warning, Squid starts with it, and the
// probes get the decisions written down for them. The reader reads the
// same file (TestTestdataSummaries checks what it makes of it).
func TestTestdataSquid(t *testing.T) {
	t.Parallel()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin")
	}))
	t.Cleanup(origin.Close)
	_, p, err := net.SplitHostPort(origin.Listener.Addr().String())
	require.NoError(t, err)
	originPort, _ := strconv.Atoi(p)
	version, major := squidtest.Version(t)
	t.Logf("Squid %s", version)

	for _, conf := range configs(t) {
		name := filepath.Base(filepath.Dir(conf))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := squidconf.Read(conf, squidconf.WithStrict(), squidconf.WithSquidVersion(major))
			require.NoError(t, err)
			out, ok := squidtest.Parse(t, conf)
			require.True(t, ok, "squid -k parse:\n%s", out)

			ps := probes[name]
			require.NotEmpty(t, ps, "no probes for %s", name)
			opts := []squidtest.Option{squidtest.WithPolicyFile(conf), squidtest.WithACLDebug()}
			for _, h := range labHosts {
				opts = append(opts, squidtest.WithHost(h, "127.0.0.1"))
			}
			sq := squidtest.Start(t, opts...)
			for _, pr := range ps {
				port := pr.port
				if port == 0 {
					port = originPort
				}
				mark := sq.LogMark()
				got, detail := decide(t, sq, pr, port)
				// Squid numbers the http_access lines it kept, as the
				// reader's Config.Access holds them.
				where := "no http_access line matched"
				if n := sq.MatchedAccessLine(mark); n > 0 {
					require.LessOrEqual(t, n, len(cfg.Access))
					line := cfg.Access[n-1]
					where = fmt.Sprintf("http_access#%d %s %s", n, filepath.Base(line.Pos.File)+":"+strconv.Itoa(line.Pos.Line), line.Action)
					switch got {
					case "allow", "deny":
						assert.Equal(t, got, line.Action, "the line Squid matched, as the reader read it: %s", where)
					}
				} else {
					// No line matched: a challenge, or Squid's implicit
					// default, the opposite of the last line's action.
					implicit := "deny"
					if cfg.Access[len(cfg.Access)-1].Action == "deny" {
						implicit = "allow"
					}
					where = "no http_access line matched: implicit " + implicit
					assert.True(t, strings.HasPrefix(got, "auth") || got == implicit, "only a challenge or the implicit default comes from no matched line: %s", detail)
				}
				t.Logf("%-7s %-45s ua=%-26q user=%-22q -> %-16s %s (%s)", pr.method, net.JoinHostPort(pr.host, strconv.Itoa(port)), pr.ua, pr.user, got, where, detail)
				assert.Equal(t, pr.want, got, "%s %s:%d ua=%q user=%q: %s, %s", pr.method, pr.host, port, pr.ua, pr.user, where, detail)
			}
		})
	}
}

// decide sends a probe and classifies Squid's answer.
func decide(t *testing.T, sq *squidtest.Squid, pr probe, port int) (string, string) {
	t.Helper()
	header := http.Header{}
	if pr.ua != "" {
		header.Set("User-Agent", pr.ua)
	}
	if pr.user != "" {
		header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(pr.user)))
	}
	target := net.JoinHostPort(pr.host, strconv.Itoa(port))
	var resp *http.Response
	var err error
	if pr.method == http.MethodConnect {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		resp, err = sq.Connect(ctx, target, header)
	} else {
		var req *http.Request
		req, err = http.NewRequest(pr.method, "http://"+target+"/", nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err = sq.Client().Do(req)
	}
	require.NoError(t, err, "cache.log:\n%s", sq.CacheLog())
	defer resp.Body.Close()
	detail := resp.Status + " " + resp.Header.Get("X-Squid-Error")
	switch resp.StatusCode {
	case http.StatusForbidden:
		if strings.HasPrefix(resp.Header.Get("X-Squid-Error"), "ERR_ACCESS_DENIED") {
			return "deny", detail
		}
	case http.StatusProxyAuthRequired:
		var schemes []string
		for _, v := range resp.Header.Values("Proxy-Authenticate") {
			s, _, _ := strings.Cut(v, " ")
			schemes = append(schemes, s)
		}
		return "auth " + strings.Join(schemes, ","), detail + " " + strings.Join(resp.Header.Values("Proxy-Authenticate"), "; ")
	}
	return "allow", detail
}

// TestDomainOverlapsAsSquid: the reader's verdict on overlapping dstdomain
// values (refused, warned and dropped, accepted) is Squid's own, as `squid
// -k parse` gives it.
func TestDomainOverlapsAsSquid(t *testing.T) {
	t.Parallel()
	for _, values := range []string{
		".a.com a.com", "a.com .a.com", "x.a.com .a.com", ".a.com x.a.com",
		".a.com .x.a.com", "a.com a.com", ".x.a.com .a.com", "A.com .a.COM",
		"a.com b.a.com", ".b.com .a.com",
	} {
		t.Run(values, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			conf := filepath.Join(dir, "squid.conf")
			require.NoError(t, os.WriteFile(conf, []byte("acl a dstdomain "+values+"\n"), 0o644))
			cfg, err := squidconf.Read(conf)
			ours := "ok"
			switch {
			case err != nil:
				ours = "error"
			case len(cfg.Warnings) > 0:
				ours = "warning"
			}
			out, _ := squidtest.Parse(t, conf)
			theirs := "ok"
			switch {
			case strings.Contains(out, "FATAL") || strings.Contains(out, "ERROR"):
				theirs = "error"
			case strings.Contains(out, "WARNING"):
				theirs = "warning"
			}
			assert.Equal(t, theirs, ours, "reader: %v\nsquid:\n%s", err, out)
		})
	}
}

// TestSquidIgnoresValuesAfterFile is the evidence for the reader's refusal
// of values after a file of values on one acl line: real Squid drops them
// without a word, so www.example.com below is denied.
func TestSquidIgnoresValuesAfterFile(t *testing.T) {
	t.Parallel()
	policy := "acl sites dstdomain \"sites.txt\" www.example.com\nhttp_access allow sites\nhttp_access deny all\n"
	sites := []byte("login.microsoftonline.com\n")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "squid.conf"), []byte(policy), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sites.txt"), sites, 0o644))
	_, err := squidconf.Read(filepath.Join(dir, "squid.conf"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "squid.conf:1: acl: values: values after the file \"sites.txt\" on the same line: Squid ignores them")

	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(origin.Close)
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	sq := squidtest.Start(t, squidtest.WithPolicy(policy), squidtest.WithFile("sites.txt", sites),
		squidtest.WithHost("login.microsoftonline.com", "127.0.0.1"), squidtest.WithHost("www.example.com", "127.0.0.1"))
	assert.NotContains(t, sq.CacheLog(), "www.example.com", "Squid says nothing about the dropped value")
	for host, want := range map[string]int{"login.microsoftonline.com": http.StatusOK, "www.example.com": http.StatusForbidden} {
		resp, err := sq.Client().Get("http://" + host + ":" + port + "/")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, host)
	}
}

// TestVerdictsAsSquid: for small configurations at the edges of the
// syntax, the reader's verdict is `squid -k parse`'s: accepted, accepted
// with a warning, a line skipped (listed as not imported), or refused.
// Where the reader is deliberately stricter than Squid, the case says so.
func TestVerdictsAsSquid(t *testing.T) {
	t.Parallel()
	for conf, stricter := range map[string]string{
		"acl p port 0-1024 1025-65535":             "",
		"acl p port 65536":                         "",
		"acl p port abc":                           "",
		"acl p port 80-70":                         "",
		"acl p port 80-":                           "",
		"acl d dst 10.0.0.0/33":                    "",
		"acl d dst 10.0.0.300":                     "",
		"acl d dst 10.0.0.1-10.0.0.0":              "a reversed range: Squid accepts it and it matches nothing",
		"acl d dst 10.0.0.0/255.255.0.0":           "",
		"acl d dst -n 10.0.0.0/8":                  "",
		"acl s src -n 10.0.0.0/8":                  "",
		"acl m method get":                         "",
		"acl u browser -i":                         "",
		"acl d dstdomain":                          "",
		"acl d dstdomain -- -weird":                "",
		"acl d dstdomain --client-requested .x":    "",
		"acl d dstdomain -i .x":                    "",
		"acl r dstdom_regex -in x":                 "",
		"acl a dst -":                              "",
		"acl a dst +=":                             "",
		"acl x foo bar":                            "",
		"acl p proto http":                         "",
		"acl u proxy_auth REQUIRED":                "",
		"acl r dstdom_regex [unclosed":             "",
		"http_access allow nosuch":                 "",
		"http_access allow":                        "",
		"http_access permit all":                   "",
		"acl a dstdomain .x\nacl a dstdomain .x":   "",
		"acl a dstdomain .x\nacl a dst 10.0.0.0/8": "",
		"acl CONNECT method CONNECT GET":           "",
		"acl a dstdomain .x \\\n  .y\nhttp_access allow a \\\n# a comment between\n  !CONNECT": "",
		"include nosuch.conf":                                "",
		"if 1 = 1\nacl a src all\nelse\nacl a port 1\nendif": "",
		"endif":         "",
		"frobnicate on": "",
	} {
		t.Run(conf, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "squid.conf")
			require.NoError(t, os.WriteFile(path, []byte(conf+"\n"), 0o644))
			cfg, err := squidconf.Read(path, squidconf.WithSquidVersion(5))
			ours := "ok"
			switch {
			case err != nil:
				ours = "refused"
			case len(cfg.NotImported) > 0 && strings.Contains(cfg.NotImported[0].Reason, "Squid skips"):
				ours = "skipped"
			case len(cfg.NotImported) > 0:
				ours = "unknown"
			case len(cfg.Warnings) > 0:
				ours = "warning"
			}
			out, _ := squidtest.Parse(t, path)
			theirs := "ok"
			switch {
			case strings.Contains(out, "FATAL") || strings.Contains(out, "ERROR") || strings.Contains(out, "configuration error"):
				theirs = "refused"
			case strings.Contains(out, "skipping") || strings.Contains(out, "expecting 'allow' or 'deny'"):
				theirs = "skipped"
			case strings.Contains(out, "unrecognized"):
				theirs = "unknown"
			case strings.Contains(out, "WARNING") || strings.Contains(out, "Warning"):
				theirs = "warning"
			}
			if stricter != "" {
				assert.Equal(t, "refused", ours, "the reader is stricter here: %s", stricter)
				t.Logf("squid: %s; reader: %v (%s)", theirs, err, stricter)
				return
			}
			assert.Equal(t, theirs, ours, "reader: %v %v %v\nsquid:\n%s", err, cfg != nil && len(cfg.NotImported) > 0, cfg != nil && len(cfg.Warnings) > 0, out)
		})
	}
}
