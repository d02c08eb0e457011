package cli

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// fetch runs the fetch command in process and returns its exit status,
// stdout and stderr.
func fetch(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(append([]string{"fetch"}, args...), func(string) string { return "" }, &out, &errb)
	return code, out.String(), errb.String()
}

// loopbackResolver answers every name with 127.0.0.1: the proxy reaches
// the test's servers by name without the system's resolver.
type loopbackResolver struct{}

func (loopbackResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// startProxy starts a proxy on loopback that denies denied.example and
// lets everything else through, and returns its URL.
func startProxy(t *testing.T) string {
	t.Helper()
	p, err := proxy.New(proxy.WithResolver(loopbackResolver{}), proxy.WithLogger(slog.New(slog.DiscardHandler)),
		proxy.WithRules(proxy.Rule{Name: "denied", Hosts: []string{"denied.example"}, Action: proxy.Deny}), proxy.WithDefault(proxy.Allow))
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(p.Close)
	return p.URL
}

// writeCertPEM writes a TLS test server's certificate to a PEM file.
func writeCertPEM(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFetch(t *testing.T) {
	t.Parallel()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.Error(w, "nothing here", http.StatusNotFound)
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/huge":
			chunk := bytes.Repeat([]byte("x"), 1<<20)
			for range 11 {
				_, _ = w.Write(chunk)
			}
		default:
			w.Header().Set("X-Test", "yes")
			fmt.Fprintf(w, "hello over %s", r.Proto)
		}
	})
	plain := httptest.NewServer(handler)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(handler)
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case's handshake errors
	secure.StartTLS()                                   // its certificate names example.com and 127.0.0.1
	t.Cleanup(secure.Close)
	certPEM := writeCertPEM(t, secure)
	proxyURL := startProxy(t)
	_, securePort, _ := net.SplitHostPort(secure.Listener.Addr().String())
	_, plainPort, _ := net.SplitHostPort(plain.Listener.Addr().String())
	noCert := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(noCert, []byte("no PEM here\n"), 0o600))

	tests := map[string]struct {
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		"direct":              {args: []string{plain.URL}, code: 0, stdout: []string{"hello over HTTP/1.1"}},
		"with the headers":    {args: []string{"-i", plain.URL}, code: 0, stdout: []string{"HTTP/1.1 200 OK\r\n", "X-Test: yes\r\n", "\r\n\r\nhello over HTTP/1.1"}},
		"a redirect is ok":    {args: []string{"-i", plain.URL + "/moved"}, code: 0, stdout: []string{"HTTP/1.1 302 Found", "Location: /elsewhere"}},
		"not found":           {args: []string{plain.URL + "/missing"}, code: 1, stdout: []string{"nothing here"}, stderr: "egresslab: HTTP 404 Not Found\n"},
		"https with --cacert": {args: []string{"--cacert", certPEM, secure.URL}, code: 0, stdout: []string{"hello over HTTP/1.1"}},
		"https untrusted": {args: []string{secure.URL}, code: 1,
			stderr: "egresslab: TLS failure with " + secure.Listener.Addr().String() + ": x509: certificate signed by unknown authority"},
		"through the proxy":       {args: []string{"--proxy", proxyURL, "--cacert", certPEM, "https://example.com:" + securePort + "/"}, code: 0, stdout: []string{"hello over HTTP/1.1"}},
		"plain through the proxy": {args: []string{"--proxy", proxyURL, "http://example.com:" + plainPort + "/"}, code: 0, stdout: []string{"hello over HTTP/1.1"}},
		"CONNECT denied": {args: []string{"--proxy", proxyURL, "--cacert", certPEM, "https://denied.example:" + securePort + "/"}, code: 1,
			stderr: "egresslab: proxy answered CONNECT with 403 Forbidden (ERR_ACCESS_DENIED)\n"},
		"GET denied": {args: []string{"--proxy", proxyURL, "http://denied.example:" + plainPort + "/"}, code: 1,
			stderr: "egresslab: proxy answered GET with 403 Forbidden (ERR_ACCESS_DENIED)\n"},
		"connection refused": {args: []string{"http://" + closedPort(t) + "/"}, code: 1, stderr: "connection refused"},
		"proxy refused":      {args: []string{"--proxy", "http://" + closedPort(t), "http://example.com/"}, code: 1, stderr: "egresslab: the proxy http://127.0.0.1:"},
		"body cut":           {args: []string{plain.URL + "/huge"}, code: 1, stderr: "egresslab: the body was cut at 10 MiB"},
		"bad scheme":         {args: []string{"ftp://127.0.0.1/"}, code: 2, stderr: `URL "ftp://127.0.0.1/": want an http:// or https:// URL`},
		"no host":            {args: []string{"http:///x"}, code: 2, stderr: "no host"},
		"no URL":             {args: nil, code: 2, stderr: "fetch takes one URL, got 0"},
		"credentials in the proxy": {args: []string{"--proxy", "http://alice:secret@proxy.lab.example", plain.URL}, code: 2,
			stderr: "do not put credentials on a command line"},
		"socks proxy":          {args: []string{"--proxy", "socks5://proxy.lab.example", plain.URL}, code: 2, stderr: `--proxy "socks5://proxy.lab.example": want http://host:port`},
		"cacert without certs": {args: []string{"--cacert", noCert, secure.URL}, code: 2, stderr: "--cacert: " + noCert + ": no CERTIFICATE in PEM"},
		"bad timeout":          {args: []string{"--connect-timeout", "soon", plain.URL}, code: 2, stderr: `invalid argument "soon"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := fetch(tc.args...)
			assert.Equal(t, tc.code, code, "stdout:\n%.300s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			assert.Contains(t, stderr, tc.stderr)
			if tc.code == 0 {
				assert.Empty(t, stderr)
			}
			if tc.code == 2 {
				assert.Empty(t, stdout)
			}
			if name == "body cut" {
				assert.Equal(t, maxFetchBody, len(stdout))
			}
			if tc.code == 1 {
				assert.Equal(t, 1, strings.Count(strings.TrimSuffix(stderr, "\n"), "\n")+1, "one line: %q", stderr)
			}
		})
	}
}

// TestDescribeFetchError: the failures a test cannot make on loopback
// without the system's resolver or a black hole, in a person's terms.
func TestDescribeFetchError(t *testing.T) {
	t.Parallel()
	target, _ := url.Parse("https://passwordreset.microsoftonline.com/")
	o := fetchOptions{proxy: "http://proxy.corp.example:3128", connectTimeout: 10 * time.Second, maxTime: 30 * time.Second}
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443}
	tests := map[string]struct {
		err  error
		want string
	}{
		"name not found": {&url.Error{Op: "Get", URL: target.String(), Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "passwordreset.microsoftonline.com", IsNotFound: true}}},
			"name not found: passwordreset.microsoftonline.com (DNS)"},
		"proxy name not found": {&url.Error{Op: "Get", URL: target.String(), Err: &net.OpError{Op: "proxyconnect", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "proxy.corp.example", IsNotFound: true}}},
			"the proxy http://proxy.corp.example:3128: name not found: proxy.corp.example (DNS)"},
		"DNS server failure": {&net.DNSError{Err: "server misbehaving", Name: "x.example"}, "DNS failure for x.example: server misbehaving"},
		"timed out": {&url.Error{Op: "Get", URL: target.String(), Err: &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: timeoutError{}}},
			"connection timed out (192.0.2.1:443, --connect-timeout 10s)"},
		"refused":  {&net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused (192.0.2.1:443)"},
		"max time": {&url.Error{Op: "Get", URL: target.String(), Err: context.DeadlineExceeded}, "no complete answer within --max-time 30s"},
		"other":    {io.ErrUnexpectedEOF, "unexpected EOF"},
		"refusal":  {&url.Error{Err: &proxyRefusal{method: "CONNECT", status: "407 Proxy Authentication Required", squid: "ERR_CACHE_ACCESS_DENIED"}}, "proxy answered CONNECT with 407 Proxy Authentication Required (ERR_CACHE_ACCESS_DENIED)"},
		"no squid": {&proxyRefusal{method: "CONNECT", status: "502 Bad Gateway"}, "proxy answered CONNECT with 502 Bad Gateway"},
		"canceled": {errors.Join(context.Canceled), "interrupted"},
	}
	for name, tc := range tests {
		assert.Equal(t, tc.want, describeFetchError(tc.err, target, o), name)
	}
}

// timeoutError is a dial's timeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
