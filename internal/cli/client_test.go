package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/scenarios"
)

// servedLab is a lab served in the test's process: its server, its admin
// API's URL and typed client, and its root's PEM file.
type servedLab struct {
	srv     *labserver.Server
	admin   string
	api     *labserver.Client
	rootPEM string
}

// serveLab serves the built-in scenario name ("" for the server's
// default) on loopback until the test ends.
func serveLab(t *testing.T, name string) *servedLab {
	t.Helper()
	var sc *scenarios.Scenario
	if name != "" {
		var err error
		sc, err = labserver.Builtin(name)
		require.NoError(t, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a, err := pki.New()
	require.NoError(t, err)
	srv, err := labserver.New(context.Background(), labserver.Config{Scenario: sc, ProxyListener: ln, Authority: a})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	rootPEM := filepath.Join(t.TempDir(), "root.pem")
	require.NoError(t, a.Root().WritePEM(rootPEM))
	admin := httptest.NewServer(srv.Handler(labserver.ConnectLines(ln.Addr(), "http://admin/", rootPEM)))
	t.Cleanup(admin.Close)
	return &servedLab{srv: srv, admin: admin.URL, api: &labserver.Client{BaseURL: admin.URL}, rootPEM: rootPEM}
}

// runIn runs the client command against the served lab, dialling through
// the lab's workstation network (its DNS: never the system's resolver),
// and returns its stdout, its stderr and its error.
func (l *servedLab) runIn(ctx context.Context, o clientOptions) (string, string, error) {
	if o.roots == nil {
		o.roots = []string{l.rootPEM}
	}
	if o.admin == "" {
		o.admin = l.admin
	}
	if o.logLevel == "" {
		o.logLevel = "warn"
	}
	var out, errb bytes.Buffer
	err := runClient(ctx, o, func(string) string { return "" }, &out, &errb, client.WithDialer(l.srv.Lab().Dial))
	return out.String(), errb.String(), err
}

// decodeResult decodes the command's stdout strictly: one JSON object of a
// client.Result, nothing else, which encodes back to the same bytes.
func decodeResult(t *testing.T, stdout string) client.Result {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var r client.Result
	require.NoError(t, dec.Decode(&r), stdout)
	assert.False(t, dec.More(), "one object")
	var again bytes.Buffer
	require.NoError(t, writeResult(&again, &r))
	assert.Equal(t, stdout, again.String(), "the JSON round-trips")
	return r
}

// TestClientSucceeds: the documented remedy's client, run against the
// served default lab, resets adele's password with an email code from
// the admin API; the JSON says so, and holds no password nor code.
func TestClientSucceeds(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "")
	stdout, stderr, err := l.runIn(context.Background(), clientOptions{scenario: labserver.DefaultScenario, logLevel: "debug"})
	require.NoError(t, err, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeSuccess, r.Outcome)
	assert.Equal(t, client.StepDone, r.Step)
	assert.Equal(t, "per-machine", r.ProxySource)
	assert.Equal(t, []string{"email"}, r.Methods)
	assert.NotEmpty(t, r.CorrelationID)
	msgs, err := l.api.Outbox(context.Background(), "adele@contoso.com")
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	for _, m := range msgs {
		require.NotEmpty(t, m.Code)
		assert.NotContains(t, stdout+stderr, m.Code, "a verification code")
	}
	assert.NotContains(t, stdout+stderr, "Vq7#Lmz2!Rtx", "the new password")
}

// TestClientCredentialsNeverShown: the signed-in user authenticates to the
// proxy with NTLM; neither the proxy password nor the new password is in
// the output, logs at debug included.
func TestClientCredentialsNeverShown(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "signed-in-user-ntlm")
	stdout, stderr, err := l.runIn(context.Background(), clientOptions{scenario: "signed-in-user-ntlm", logLevel: "debug"})
	require.NoError(t, err, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeSuccess, r.Outcome)
	assert.Equal(t, "negotiate", r.ProxyAuth)
	assert.NotEmpty(t, stderr, "debug logs")
	for _, secret := range []string{"Pr0xy-S3cret!", "Vq7#Lmz2!Rtx"} {
		assert.NotContains(t, stdout+stderr, secret)
	}
}

// TestClientFails: the temporary account meets a proxy that wants
// credentials for everything: the JSON says why, and the exit status is 1.
func TestClientFails(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "proxy-auth-ntlm-defaultuser1")
	stdout, stderr, err := l.runIn(context.Background(), clientOptions{scenario: "proxy-auth-ntlm-defaultuser1"})
	require.ErrorIs(t, err, errFailed, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeSomethingWentWrong, r.Outcome)
	assert.Equal(t, client.CauseProxyAuthRequired, r.Cause)
	assert.Equal(t, client.StepPage, r.Step)
	assert.Equal(t, "passwordreset.microsoftonline.com", r.Host)
	assert.NotEmpty(t, r.Remedy)
	assert.NotContains(t, stdout+stderr, "Pr0xy-S3cret!", "the profile's credentials")
	assert.Empty(t, stderr)
}

// TestClientSecurityQuestions: quinn's answers come from the directory:
// the default one, or --directory's, whose wrong answer fails the gate.
func TestClientSecurityQuestions(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "")
	profile := "testdata/client/quinn.yaml"
	stdout, stderr, err := l.runIn(context.Background(), clientOptions{profile: profile})
	require.NoError(t, err, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeSuccess, r.Outcome)
	assert.Equal(t, []string{"securityQuestions"}, r.Methods)
	for _, answer := range []string{"Lisbon", "Biscuit"} {
		assert.NotContains(t, stdout+stderr, answer)
	}

	d := harness.DefaultDirectory()
	for i, u := range d.Users {
		if u.UPN == "quinn@contoso.com" {
			d.Users[i].Methods.SecurityQuestions[0].Answer = "Porto"
		}
	}
	b, err := yaml.Marshal(d)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "directory.yaml")
	require.NoError(t, os.WriteFile(dir, b, 0o600))
	stdout, stderr, err = l.runIn(context.Background(), clientOptions{profile: profile, directory: dir})
	require.ErrorIs(t, err, errFailed, "%s\n%s", stdout, stderr)
	r = decodeResult(t, stdout)
	assert.Equal(t, client.StepVerify, r.Step, r.Error)
	assert.NotEqual(t, client.OutcomeSuccess, r.Outcome)
	assert.NotContains(t, stdout+stderr, "Porto")
}

// TestClientTrustInterception: a profile that trusts the interception root
// succeeds when the caller passes that root's PEM with the lab's, and
// meets the untrusted interception when it does not.
func TestClientTrustInterception(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "inspection-rescues-windows7")
	pemBytes, err := l.api.RootPEM(context.Background(), "interception")
	require.NoError(t, err)
	icPEM := filepath.Join(t.TempDir(), "interception.pem")
	require.NoError(t, os.WriteFile(icPEM, pemBytes, 0o600))

	stdout, stderr, err := l.runIn(context.Background(), clientOptions{scenario: "inspection-rescues-windows7", roots: []string{l.rootPEM, icPEM}})
	require.NoError(t, err, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeSuccess, r.Outcome)
	assert.Equal(t, "TLS 1.0", r.TLSVersion)

	stdout, _, err = l.runIn(context.Background(), clientOptions{scenario: "inspection-rescues-windows7"})
	require.ErrorIs(t, err, errFailed)
	r = decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeSomethingWentWrong, r.Outcome)
	assert.NotEqual(t, client.CauseNone, r.Cause)
}

// TestClientAdminUnreachable: an admin API that cannot be reached is no
// input error: the run fails at the gate that needed a code (exit 1),
// naming the admin API.
func TestClientAdminUnreachable(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()
	stdout, stderr, err := l.runIn(context.Background(), clientOptions{scenario: labserver.DefaultScenario, admin: closed})
	require.ErrorIs(t, err, errFailed, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.Equal(t, client.OutcomeCouldNotVerify, r.Outcome)
	assert.Equal(t, client.CauseVerificationFailed, r.Cause)
	assert.Contains(t, r.Error, "admin API "+closed)
	assert.Contains(t, r.Error, "connection refused")
}

// TestClientInterrupted: an interrupt ends the run: exit 1, with the JSON
// of what was seen.
func TestClientInterrupted(t *testing.T) {
	t.Parallel()
	l := serveLab(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stdout, stderr, err := l.runIn(ctx, clientOptions{scenario: labserver.DefaultScenario})
	require.ErrorIs(t, err, errFailed, "%s\n%s", stdout, stderr)
	r := decodeResult(t, stdout)
	assert.NotEqual(t, client.OutcomeSuccess, r.Outcome)
	assert.Equal(t, client.CauseCanceled, r.Cause, r.Error)
}

// TestResultRoundTrip: every field of a Result the JSON holds comes back
// from it (Err, json:"-", aside).
func TestResultRoundTrip(t *testing.T) {
	t.Parallel()
	want := client.Result{Outcome: client.OutcomeCouldNotVerify, Cause: client.CauseVerificationFailed, Step: client.StepVerify,
		Gate: 2, Host: "passwordreset.microsoftonline.com", Code: "SSPR_0014", Message: "m", Remedy: "r", Error: "e",
		Proxy: "proxy.corp.example:3128", ProxySource: "per-machine", ProxyAuth: "ntlm", TLSVersion: "TLS 1.2",
		Methods: []string{"email", "sms"}, CorrelationID: "c", Warnings: []string{"w1", "w2"},
		RevocationSource: "ocsp,crl", RevocationDuration: 1500 * time.Millisecond,
		Err: errors.New("not in the JSON")}
	var b bytes.Buffer
	require.NoError(t, writeResult(&b, &want))
	var got client.Result
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	want.Err = nil
	assert.Equal(t, want, got)
}

// TestClientBadInput: invalid input exits 2 before anything is dialled,
// with a message that names the flag or the file.
func TestClientBadInput(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "root.pem")
	a, err := pki.New()
	require.NoError(t, err)
	require.NoError(t, a.Root().WritePEM(root))
	admin := "http://admin.lab.example" // never dialled: every case is refused before
	tests := map[string]struct {
		args []string
		want string
	}{
		"neither profile nor scenario": {[]string{"--roots", root, "--admin", admin}, "give exactly one of --profile and --scenario"},
		"both":                         {[]string{"--profile", "testdata/client/quinn.yaml", "--scenario", "cdn-blocked", "--roots", root, "--admin", admin}, "give exactly one of"},
		"unknown field":                {[]string{"--profile", "testdata/client/bad.yaml", "--roots", root, "--admin", admin}, "--profile: testdata/client/bad.yaml:6: proxy.perMachine.servr: unknown field"},
		"missing profile":              {[]string{"--profile", "testdata/client/missing.yaml", "--roots", root, "--admin", admin}, "testdata/client/missing.yaml"},
		"unknown scenario":             {[]string{"--scenario", "cdn-blockd", "--roots", root, "--admin", admin}, `did you mean "cdn-blocked"?`},
		"a directory of scenarios":     {[]string{"--scenario", "testdata/dup", "--roots", root, "--admin", admin}, "names 2 scenarios, want one"},
		"no roots":                     {[]string{"--scenario", "cdn-blocked", "--admin", admin}, "--roots: required"},
		"roots without certificates":   {[]string{"--scenario", "cdn-blocked", "--roots", root, "--roots", "testdata/client/nocert.pem", "--admin", admin}, "--roots: testdata/client/nocert.pem: no CERTIFICATE in PEM"},
		"unreadable roots":             {[]string{"--scenario", "cdn-blocked", "--roots", "testdata/client/missing.pem", "--admin", admin}, "--roots: stat testdata/client/missing.pem"},
		"no admin":                     {[]string{"--scenario", "cdn-blocked", "--roots", root}, "--admin: required"},
		"bad admin":                    {[]string{"--scenario", "cdn-blocked", "--roots", root, "--admin", "admin.lab.example"}, `--admin "admin.lab.example": want http(s)://host:port`},
		"missing token file":           {[]string{"--scenario", "cdn-blocked", "--roots", root, "--admin", admin, "--token-file", "testdata/client/missing-token"}, "--token-file: stat testdata/client/missing-token"},
		"bad directory":                {[]string{"--scenario", "cdn-blocked", "--roots", root, "--admin", admin, "--directory", "testdata/client/quinn.yaml"}, "--directory: testdata/client/quinn.yaml:3: os: unknown field"},
		"bad log level":                {[]string{"--scenario", "cdn-blocked", "--roots", root, "--admin", admin, "--log-level", "loud"}, `--log-level "loud"`},
		"an argument":                  {[]string{"--scenario", "cdn-blocked", "--roots", root, "--admin", admin, "extra"}, `unknown command "extra"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(append([]string{"client"}, tc.args...), func(string) string { return "" }, &out, &errb)
			assert.Equal(t, ExitUsage, code, errb.String())
			assert.Empty(t, out.String())
			assert.Contains(t, errb.String(), tc.want)
		})
	}
}
