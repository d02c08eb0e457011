package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
)

// init keeps probe off the real network in this package's tests: it
// dials loopback only, and no name resolves on the workstation (the
// served lab's proxy resolves them).
func init() {
	probeNetwork = func() (client.DialFunc, probe.Resolver) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil || !ap.Addr().IsLoopback() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("test: only loopback addresses are dialled")}
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}, noNames{}
	}
}

// noNames is a resolver that knows no name.
type noNames struct{}

func (noNames) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host (test resolver)", Name: host, IsNotFound: true}
}

// probeArgs are the arguments that point probe at a served lab: its
// proxy, its root, its service's issuers.
func probeArgs(t *testing.T, scenario string) []string {
	t.Helper()
	caDir := t.TempDir()
	_, srv, _ := startServe(t, serveOptions{caDir: caDir}, []string{scenario}, nil)
	args := []string{"probe", "--proxy", "http://" + srv.ProxyAddr().String(), "--ca-file", filepath.Join(caDir, "root.pem"), "--timeout", "5s"}
	for _, is := range harness.ServiceIssuers {
		args = append(args, "--issuer", is)
	}
	return args
}

// TestProbeServedLab: probe against served labs gives exit 0 where SSPR
// works for the account, 1 where it does not, and JSON the published
// schema accepts; the password never shows.
func TestProbeServedLab(t *testing.T) {
	t.Parallel()
	const password = "Pr0xy-S3cret!"
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(password+"\n"), 0o600))
	tests := map[string]struct {
		scenario string
		extra    []string
		env      map[string]string
		code     int
		cause    string
	}{
		"exemption works for the temporary account":        {scenario: "remedy-per-machine-proxy-auth-exemption", code: ExitOK},
		"authenticating proxy stops the temporary account": {scenario: "proxy-auth-basic-defaultuser1", code: ExitFailed, cause: "proxy-auth-required"},
		"the user with a password file gets through": {scenario: "proxy-auth-basic-defaultuser1", code: ExitOK,
			extra: []string{"--as", "user", "--user", `CORP\alice`, "--password-file", pwFile}},
		"the user with the environment's password gets through": {scenario: "proxy-auth-basic-defaultuser1", code: ExitOK,
			extra: []string{"--as", "user", "--user", "alice"}, env: map[string]string{passwordEnv: password}},
		"cdn denied": {scenario: "cdn-blocked", code: ExitFailed, cause: "proxy-denied"},
		"windows 7's default TLS 1.0": {scenario: "remedy-per-machine-proxy-auth-exemption", code: ExitFailed, cause: "tls-version-unsupported",
			extra: []string{"--os", "windows7"}},
		"hard-fail revocation": {scenario: "crl-behind-proxy-auth", code: ExitFailed, cause: "revocation-offline",
			extra: []string{"--revocation", "hard-fail"}},
		"soft-fail revocation": {scenario: "crl-behind-proxy-auth", code: ExitOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append(probeArgs(t, tc.scenario), tc.extra...)
			junit := filepath.Join(t.TempDir(), "probe.xml")
			var out, errb bytes.Buffer
			code := Main(append(args, "--format", "json", "--junit", junit), func(k string) string { return tc.env[k] }, &out, &errb)
			require.Equal(t, tc.code, code, "stderr: %s\nstdout: %s", errb.String(), out.String())
			require.NoError(t, probe.ValidateJSON(out.Bytes()), out.String())
			assert.NotContains(t, out.String()+errb.String(), password)
			if tc.cause != "" {
				assert.Contains(t, out.String(), `"cause": "`+tc.cause+`"`)
			}
			ju, err := os.ReadFile(junit)
			require.NoError(t, err)
			assert.Contains(t, string(ju), "<testsuite")

			out.Reset()
			code = Main(args, func(k string) string { return tc.env[k] }, &out, &errb)
			require.Equal(t, tc.code, code)
			assert.Contains(t, out.String(), "passwordreset.microsoftonline.com:443")
			assert.NotContains(t, out.String(), password)
		})
	}
}

func TestProbeBadInput(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		want string
	}{
		"unknown account":       {[]string{"--as", "admin"}, "--as"},
		"unknown format":        {[]string{"--format", "xml"}, "--format"},
		"two proxy sources":     {[]string{"--proxy", "proxy.example:3128", "--system"}, "exclusive"},
		"user without a name":   {[]string{"--as", "user"}, "--user"},
		"user without password": {[]string{"--as", "user", "--user", `CORP\alice`}, "password"},
		"temporary with a user": {[]string{"--user", `CORP\alice`}, "--as user"},
		"bad connect-to":        {[]string{"--connect-to", "nonsense"}, "--connect-to"},
		"wpad without suffix":   {[]string{"--wpad"}, "--dns-suffix"},
		"missing ca file":       {[]string{"--ca-file", filepath.Join(t.TempDir(), "none.pem")}, "--ca-file"},
		"missing pac file":      {[]string{"--pac", filepath.Join(t.TempDir(), "none.pac")}, "--pac"},
		"unknown os":            {[]string{"--os", "windows95"}, "--os"},
		"credentials in proxy":  {[]string{"--proxy", "http://alice:s3cret@proxy.example:3128"}, "credentials"},
		"positional argument":   {[]string{"extra"}, "unknown command"},
		"junit not writable":    {[]string{"--junit", filepath.Join(t.TempDir(), "no", "such", "dir", "j.xml")}, "--junit"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(append([]string{"probe"}, tc.args...), func(string) string { return "" }, &out, &errb)
			assert.Equal(t, ExitUsage, code, "stderr: %s", errb.String())
			assert.Contains(t, errb.String(), tc.want)
			assert.NotContains(t, errb.String(), "s3cret")
			assert.Empty(t, out.String())
		})
	}
}

func TestProbeSchemaFlag(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	require.Equal(t, ExitOK, Main([]string{"probe", "--schema"}, func(string) string { return "" }, &out, &errb), errb.String())
	assert.True(t, strings.HasPrefix(out.String(), "{"))
	assert.Contains(t, out.String(), probe.SchemaID)
}

// TestProbePACFile: a PAC file whose first proxy is down fails over to
// the served lab's proxy, and the JSON says so.
func TestProbePACFile(t *testing.T) {
	t.Parallel()
	caDir := t.TempDir()
	_, srv, _ := startServe(t, serveOptions{caDir: caDir}, []string{"remedy-per-machine-proxy-auth-exemption"}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	pacFile := filepath.Join(t.TempDir(), "proxy.pac")
	script := fmt.Sprintf(`function FindProxyForURL(url, host) { return "PROXY %s; PROXY %s; DIRECT"; }`, dead, srv.ProxyAddr())
	require.NoError(t, os.WriteFile(pacFile, []byte(script), 0o644))
	args := []string{"probe", "--pac", pacFile, "--ca-file", filepath.Join(caDir, "root.pem"), "--timeout", "5s", "--format", "json"}
	for _, is := range harness.ServiceIssuers {
		args = append(args, "--issuer", is)
	}
	var out, errb bytes.Buffer
	require.Equal(t, ExitOK, Main(args, func(string) string { return "" }, &out, &errb), "stderr: %s\nstdout: %s", errb.String(), out.String())
	require.NoError(t, probe.ValidateJSON(out.Bytes()))
	var r probe.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	assert.Equal(t, probe.SourcePAC, r.ProxySource)
	assert.Equal(t, pacFile, r.PAC)
	route := r.Endpoints[0].Route
	require.Len(t, route.Attempts, 2)
	assert.Contains(t, route.Attempts[0].Error, dead)
	assert.True(t, route.Attempts[1].Used)
	assert.Equal(t, srv.ProxyAddr().String(), route.Proxy)
}

// TestProbeSystemEnvironment: --system off Windows takes the
// environment's proxy, for every account.
func TestProbeSystemEnvironment(t *testing.T) {
	t.Parallel()
	args := probeArgs(t, "proxy-auth-basic-defaultuser1")
	proxyURL := args[2]
	args = append(args[:1], args[3:]...) // drop --proxy URL
	env := map[string]string{"HTTPS_PROXY": proxyURL}
	var out, errb bytes.Buffer
	code := Main(append(args, "--system", "--format", "json"), func(k string) string { return env[k] }, &out, &errb)
	require.Equal(t, ExitFailed, code, "stderr: %s\nstdout: %s", errb.String(), out.String())
	var r probe.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	assert.Equal(t, "proxy-auth-required", string(r.Cause))
	assert.Equal(t, "per-machine", r.ProxySource)
	assert.Contains(t, strings.Join(r.Notes, "\n"), "environment")
}

// TestProbeWPADNotFound: WPAD that finds no file leaves a direct
// connection, as on Windows, and the report says why.
func TestProbeWPADNotFound(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := Main([]string{"probe", "--wpad", "--dns-suffix", "eu.corp.example", "--format", "json"}, func(string) string { return "" }, &out, &errb)
	assert.Equal(t, ExitFailed, code, errb.String())
	require.NoError(t, probe.ValidateJSON(out.Bytes()))
	assert.Contains(t, out.String(), "WPAD found no PAC file")
	assert.Contains(t, out.String(), "wpad.corp.example")
	assert.Contains(t, out.String(), `"cause": "direct-egress-blocked"`)
}

// TestProbePACURLUnavailable: a PAC URL that cannot be fetched leaves a
// direct connection; when that fails too, the PAC file is the cause.
func TestProbePACURLUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	var out, errb bytes.Buffer
	code := Main([]string{"probe", "--pac", "http://" + dead + "/proxy.pac", "--format", "json"}, func(string) string { return "" }, &out, &errb)
	assert.Equal(t, ExitFailed, code, errb.String())
	require.NoError(t, probe.ValidateJSON(out.Bytes()))
	assert.Contains(t, out.String(), `"cause": "pac-unavailable"`)
}
