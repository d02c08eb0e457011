package squidconf_test

import (
	"context"
	"encoding/base64"
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

	for _, conf := range configs(t) {
		name := filepath.Base(filepath.Dir(conf))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := squidconf.Read(conf, squidconf.WithStrict(), squidconf.WithSquidVersion(5))
			require.NoError(t, err)
			out, ok := squidtest.Parse(t, conf)
			require.True(t, ok, "squid -k parse:\n%s", out)

			ps := probes[name]
			require.NotEmpty(t, ps, "no probes for %s", name)
			opts := []squidtest.Option{squidtest.WithPolicyFile(conf)}
			for _, h := range labHosts {
				opts = append(opts, squidtest.WithHost(h, "127.0.0.1"))
			}
			sq := squidtest.Start(t, opts...)
			for _, pr := range ps {
				port := pr.port
				if port == 0 {
					port = originPort
				}
				got, detail := decide(t, sq, pr, port)
				t.Logf("%-7s %-45s ua=%-26q user=%-22q -> %-16s (%s)", pr.method, net.JoinHostPort(pr.host, strconv.Itoa(port)), pr.ua, pr.user, got, detail)
				assert.Equal(t, pr.want, got, "%s %s:%d ua=%q user=%q: %s", pr.method, pr.host, port, pr.ua, pr.user, detail)
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
	require.NoError(t, err)
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
