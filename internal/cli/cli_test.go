package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/cli"
	"github.com/egresslab/egresslab/pki"
)

func run(args []string, env map[string]string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMain(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args     []string
		env      map[string]string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		"no arguments shows help": {args: nil, code: 0, stdout: []string{"Usage:", "tls-matrix", "run", "list", "validate", "schema", "serve", "show", "completion", "help"}},
		// Every command the help lists works.
		"help":                    {args: []string{"help"}, code: 0, stdout: []string{"Usage:", "egresslab [command]", "      --version"}},
		"help of a command":       {args: []string{"help", "run"}, code: 0, stdout: []string{"egresslab run [FILE|DIR|NAME]...", "-v, --verbose"}},
		"help of an unknown":      {args: []string{"help", "frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}, noStdout: true},
		"completion script":       {args: []string{"completion", "bash"}, code: 0, stdout: []string{"# bash completion V2 for egresslab", "__complete"}},
		"completion of zsh":       {args: []string{"completion", "zsh"}, code: 0, stdout: []string{"#compdef egresslab"}},
		"completion of commands":  {args: []string{"__complete", "ru"}, code: 0, stdout: []string{"run\tRun scenarios"}, stderr: []string{"Completion ended with directive"}},
		"completion of scenarios": {args: []string{"__complete", "run", "cdn-"}, code: 0, stdout: []string{"cdn-blocked\t", ":0\n"}, stderr: []string{"ShellCompDirectiveDefault"}},
		// -v is run's --verbose; --version has no shorthand.
		"-v is not --version":     {args: []string{"-v"}, code: 2, stderr: []string{"unknown shorthand flag: 'v' in -v"}, noStdout: true},
		"-v is --verbose":         {args: []string{"run", "-v", "cdn-blocked"}, code: 0, stdout: []string{"PASS  cdn-blocked", "file: catalog:cdn-blocked", "proxy decisions:"}},
		"run a built-in scenario": {args: []string{"run", "cdn-blocked"}, code: 0, stdout: []string{"[1/1] PASS  cdn-blocked", "1 scenarios: 1 passed, 0 failed, 0 errors"}},
		"run a file and a name":   {args: []string{"run", "testdata/good.yaml", "windows7-no-tls12"}, code: 0, stdout: []string{"PASS  good", "PASS  windows7-no-tls12", "2 scenarios: 2 passed"}},
		"run a failing scenario": {args: []string{"run", "testdata/failing.yaml"}, code: 1, stdout: []string{
			"FAIL  failing", "file: testdata/failing.yaml", "outcome: want success, got something-went-wrong", "cause: want (none), got proxy-denied",
			"at step cdn", `CONNECT ajax.aspnetcdn.com:443`, `rule="no cdn" action=deny status=403 result=denied`, "1 failed"}},
		"run an invalid file": {args: []string{"run", "testdata/bad.yaml"}, code: 2, stderr: []string{"testdata/bad.yaml:6: client.acount: unknown field; did you mean account?", "testdata/bad.yaml:10: expect.outcome"}, noStdout: true},
		"run two files of one name": {args: []string{"run", "testdata/good.yaml", "testdata/dup/good-again.yaml"}, code: 2,
			stderr: []string{`testdata/dup/good-again.yaml: name "good" is also the name of testdata/good.yaml`}, noStdout: true},
		"run a file named as a built-in scenario": {args: []string{"run", "cdn-blocked", "testdata/dup"}, code: 2,
			stderr: []string{`testdata/dup/cdn-blocked.yaml: name "cdn-blocked" is also the name of catalog:cdn-blocked`}, noStdout: true},
		"run a file named twice runs once": {args: []string{"run", "testdata/good.yaml", "./testdata/good.yaml"}, code: 0, stdout: []string{"1 scenarios: 1 passed"}},
		"validate two files of one name": {args: []string{"validate", "testdata/good.yaml", "testdata/dup"}, code: 1, stdout: []string{
			"testdata/good.yaml: ok", "testdata/dup/cdn-blocked.yaml: ok", `testdata/dup/good-again.yaml: name "good" is also the name of testdata/good.yaml`}},
		"run an unknown name": {args: []string{"run", "no-such-scenario"}, code: 2, stderr: []string{"no-such-scenario: no such file, directory or built-in scenario (see 'egresslab list')\n"}, noStdout: true},
		"run a misspelt name": {args: []string{"run", "cert-expird"}, code: 2, stderr: []string{`cert-expird: no such file, directory or built-in scenario (see 'egresslab list'); did you mean "cert-expired"?`}, noStdout: true},
		"import squid": {args: []string{"import", "squid", "testdata/squid/squid.conf"}, code: 0,
			stdout: []string{"# lab.proxy from testdata/squid/squid.conf", "schemes:\n      - basic", "name: http_access allow authenticated (squid.conf:9)", "line: 9", "auth: true", "implicit default"},
			stderr: []string{"testdata/squid/squid.conf:11: cache_mem 256 MB", "not imported"}},
		"import squid strict":        {args: []string{"import", "squid", "--strict", "testdata/squid/squid.conf"}, code: 2, stderr: []string{"testdata/squid/squid.conf:11: cache_mem: not imported"}, noStdout: true},
		"import squid unexpressible": {args: []string{"import", "squid", "testdata/squid/unexpressible.conf"}, code: 2, stderr: []string{"unexpressible.conf:2", "night"}, noStdout: true},
		"import squid no file":       {args: []string{"import", "squid", "testdata/squid/none.conf"}, code: 2, stderr: []string{"testdata/squid/none.conf"}, noStdout: true},
		"import without a kind":      {args: []string{"import"}, code: 2, stderr: []string{"import squid FILE"}, noStdout: true},
		"run a scenario of a squid.conf": {args: []string{"run", "-v", "testdata/squid/scenario.yaml"}, code: 0, stdout: []string{"PASS  squid-policy", "line=9"},
			stderr: []string{"testdata/squid/scenario.yaml:6: warning: lab.proxy.squidConf: testdata/squid/squid.conf:11: cache_mem 256 MB"}},
		"rules and squidConf at once": {args: []string{"validate", "testdata/squid/both.yaml"}, code: 1, stdout: []string{"testdata/squid/both.yaml:6: lab.proxy.squidConf: the rules come from squid.conf: leave lab.proxy.rules out"}},
		"check a policy that stops defaultuser1": {args: []string{"check", "testdata/squid/squid.conf"}, code: 1, stdout: []string{
			"SSPR at the sign-in screen does NOT work", "passwordreset.microsoftonline.com:443", "407 basic (line 9)", "allowed (line 9)",
			"temporary account (defaultuser1): proxy-auth-required", "signed-in user: works", "add before http_access line 9:",
			"acl sspr_hosts dstdomain passwordreset.microsoftonline.com ajax.aspnetcdn.com ocsp.digicert.com crl3.digicert.com crl4.digicert.com",
			"http_access allow sspr_hosts", "checked: with these lines the temporary account gets through", "not imported: testdata/squid/squid.conf:11"}},
		"check the remedy":              {args: []string{"check", "testdata/squid/exempt.conf"}, code: 0, stdout: []string{"SSPR at the sign-in screen works", "allowed (line 7)"}},
		"check in JSON":                 {args: []string{"check", "--format", "json", "testdata/squid/squid.conf"}, code: 1, stdout: []string{`"works": false`, `"before": 9`, `"exemptionWorks": true`, `"line": 9`}},
		"check an unexpressible one":    {args: []string{"check", "testdata/squid/unexpressible.conf"}, code: 2, stderr: []string{"unexpressible.conf:2"}, noStdout: true},
		"run in JSON":                   {args: []string{"run", "--format", "json", "cdn-blocked"}, code: 0, stdout: []string{`"summary": {`, `"passed": 1`, `"cause": "proxy-denied"`}},
		"run JSON from the environment": {args: []string{"run", "cdn-blocked"}, env: map[string]string{"EGRESSLAB_FORMAT": "json"}, code: 0, stdout: []string{`"total": 1`}},
		"run with a bad format":         {args: []string{"run", "--format", "yaml"}, code: 2, stderr: []string{`--format: unknown format "yaml"`}, noStdout: true},
		"run with a bad parallel":       {args: []string{"run"}, env: map[string]string{"EGRESSLAB_PARALLEL": "many"}, code: 2, stderr: []string{`EGRESSLAB_PARALLEL: "many" is not a number`}, noStdout: true},
		"run with a negative parallel":  {args: []string{"run", "--parallel", "-1"}, code: 2, stderr: []string{"--parallel: -1"}, noStdout: true},
		"run on an unknown backend":     {args: []string{"run", "--backend", "vm"}, code: 2, stderr: []string{`--backend: unknown backend "vm" (want in-process or docker)`}, noStdout: true},
		"run with an image in process":  {args: []string{"run", "--image", "egresslab:dev"}, code: 2, stderr: []string{"--image: only with --backend docker"}, noStdout: true},
		"run with a bad progress":       {args: []string{"run"}, env: map[string]string{"EGRESSLAB_PROGRESS": "fancy"}, code: 2, stderr: []string{`EGRESSLAB_PROGRESS: unknown value "fancy"`}, noStdout: true},
		"run with a live line":          {args: []string{"run", "cdn-blocked", "testdata/failing.yaml"}, env: map[string]string{"EGRESSLAB_PROGRESS": "live"}, code: 1, stdout: []string{"\r\033[K[", "\r\033[KFAIL  failing"}},
		"list":                          {args: []string{"list"}, code: 0, stdout: []string{"cdn-blocked", "something-went-wrong, proxy-denied", "remedy-default-profile-template", "success"}},
		"list in JSON":                  {args: []string{"list", "--format", "json"}, code: 0, stdout: []string{`"name": "windows7-no-tls12"`, `"cause": "tls-version-unsupported"`}},
		"list with an argument":         {args: []string{"list", "x"}, code: 2, stderr: []string{"unknown command"}, noStdout: true},
		"validate":                      {args: []string{"validate", "testdata/good.yaml", "testdata/bad.yaml"}, code: 1, stdout: []string{"testdata/good.yaml: ok", "testdata/bad.yaml:6: client.acount: unknown field; did you mean account?", "testdata/bad.yaml:10: expect.outcome"}},
		// A likely slip that is still valid is a warning: printed, failing nothing.
		"validate with a warning": {args: []string{"validate", "testdata/warned.yaml"}, code: 0, stdout: []string{
			`testdata/warned.yaml:7: warning: lab.proxy.rules[0].hosts[0]: "ajax.aspnetcnd.com" matches none of the lab's hosts`,
			`did you mean "ajax.aspnetcdn.com"?`, "testdata/warned.yaml: ok"}},
		"run with a warning": {args: []string{"run", "testdata/warned.yaml"}, code: 0, stdout: []string{"PASS  warned"},
			stderr: []string{`testdata/warned.yaml:7: warning: lab.proxy.rules[0].hosts[0]: "ajax.aspnetcnd.com" matches none of the lab's hosts`}},
		"validate nothing":         {args: []string{"validate"}, code: 2, stderr: []string{"name at least one scenario file"}, noStdout: true},
		"validate a missing file":  {args: []string{"validate", "testdata/missing.yaml"}, code: 1, stdout: []string{"testdata/missing.yaml: no such file"}},
		"schema":                   {args: []string{"schema"}, code: 0, stdout: []string{`"$id": "https://egresslab.dev/schemas/scenario.json"`, `"proxy-auth-required"`}},
		"version":                  {args: []string{"--version"}, code: 0, stdout: []string{"egresslab version dev"}},
		"unknown command":          {args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`, "egresslab --help"}, noStdout: true},
		"unknown flag":             {args: []string{"tls-matrix", "--nope"}, code: 2, stderr: []string{"unknown flag: --nope"}, noStdout: true},
		"extra argument":           {args: []string{"tls-matrix", "extra"}, code: 2, stderr: []string{`unknown command "extra"`}, noStdout: true},
		"bad format":               {args: []string{"tls-matrix", "--format", "xml"}, code: 2, stderr: []string{`--format: unknown format "xml" (want text or json)`}, noStdout: true},
		"bad key flag":             {args: []string{"tls-matrix", "--key", "dsa"}, code: 2, stderr: []string{`--key: unknown key type "dsa"`}, noStdout: true},
		"bad key from environment": {args: []string{"tls-matrix"}, env: map[string]string{"EGRESSLAB_KEY_TYPE": "dsa"}, code: 2, stderr: []string{`EGRESSLAB_KEY_TYPE: unknown key type "dsa"`}},
		"matrix text": {args: []string{"tls-matrix"}, code: 0, stdout: []string{
			"TLS versions (ecdsa-p256 certificates)",
			"TLS 1.2-1.3  refused: protocol_version(70)  refused: protocol_version(70)  TLS 1.2",
			"expired               tls: failed to verify certificate: x509: certificate has expired",
			"revoked               accepted (Go does not check revocation; OCSP says revoked)",
			"revoked-intermediate  accepted (Go does not check revocation; OCSP says revoked)",
		}},
		"flag beats environment": {args: []string{"tls-matrix", "--key", "ecdsa-p256"}, env: map[string]string{"EGRESSLAB_KEY_TYPE": "dsa"}, code: 0, stdout: []string{"ecdsa-p256 certificates"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(tc.args, tc.env)
			assert.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, stderr, s)
			}
			if tc.noStdout {
				assert.Empty(t, stdout)
			}
			if tc.code == 0 && tc.stderr == nil {
				assert.Empty(t, stderr)
			}
		})
	}
}

// TestShow: show prints a built-in scenario's file as it is, which
// validates as a file of one's own; an unknown name is invalid input.
func TestShow(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run([]string{"show", "cdn-blocked"}, nil)
	require.Equal(t, 0, code, stderr)
	want, err := os.ReadFile("../../scenarios/catalog/cdn-blocked.yaml")
	require.NoError(t, err)
	assert.Equal(t, string(want), stdout)

	mine := filepath.Join(t.TempDir(), "mine.yaml")
	require.NoError(t, os.WriteFile(mine, []byte(strings.Replace(stdout, "name: cdn-blocked", "name: mine", 1)), 0o644))
	code, stdout, stderr = run([]string{"validate", mine}, nil)
	assert.Equal(t, 0, code, "%s%s", stdout, stderr)

	tests := map[string]struct {
		args   []string
		stderr string
	}{
		"unknown name": {[]string{"show", "cdn-blockd"}, `cdn-blockd: no built-in scenario of that name (see 'egresslab list'); did you mean "cdn-blocked"?`},
		"a path":       {[]string{"show", "../catalog/cdn-blocked"}, "../catalog/cdn-blocked: no built-in scenario of that name"},
		"no name":      {[]string{"show"}, "accepts 1 arg(s), received 0"},
		"two names":    {[]string{"show", "cdn-blocked", "app-only"}, "accepts 1 arg(s), received 2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(tc.args, nil)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}

// TestTLSMatrixJSON checks the JSON report in full: 40 cells, each as TLS
// requires, with RSA certificates chosen through the environment.
func TestTLSMatrixJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run([]string{"tls-matrix", "--format", "json"}, map[string]string{"EGRESSLAB_KEY_TYPE": "rsa-2048"})
	require.Equal(t, 0, code, stderr)
	var rep struct {
		KeyType  string
		Versions []struct {
			Server, Client, Negotiated, Alert, Error string
			AsExpected                               bool
		}
		Faults []struct {
			Fault, Error, Note string
			AsExpected         bool
		}
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep))
	assert.Equal(t, "rsa-2048", rep.KeyType)
	require.Len(t, rep.Versions, 40)
	accepted := 0
	for _, c := range rep.Versions {
		assert.True(t, c.AsExpected, "%+v", c)
		if c.Negotiated != "" {
			accepted++
			assert.Equal(t, c.Client, c.Negotiated)
		} else {
			assert.Equal(t, "protocol_version(70)", c.Alert)
		}
	}
	assert.Equal(t, 20, accepted, "each of the 10 ranges accepts as many versions as it spans: 4+3+2+1 + 3+2+1 + 2+1 + 1")
	require.Len(t, rep.Faults, len(pki.Faults()))
	for _, f := range rep.Faults {
		assert.True(t, f.AsExpected, "%+v", f)
	}
}

// TestRunJUnit: --junit writes the report; a path it cannot write is an
// error.
func TestRunJUnit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.xml")
	code, stdout, stderr := run([]string{"run", "--junit", path, "cdn-blocked", "testdata/failing.yaml"}, nil)
	assert.Equal(t, 1, code, "%s%s", stdout, stderr)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), `<testsuites tests="2" failures="1" errors="0"`)
	assert.Contains(t, string(b), `<testcase name="failing" classname="egresslab.scenarios" file="testdata/failing.yaml"`)
	assert.Contains(t, string(b), `<failure message="outcome: want success, got something-went-wrong; cause: want (none), got proxy-denied" type="mismatch">`)

	code, stdout, stderr = run([]string{"run", "--junit", filepath.Join(t.TempDir(), "no", "such", "dir.xml"), "cdn-blocked"}, nil)
	assert.Equal(t, 2, code, "a report that cannot be written is invalid input")
	assert.Contains(t, stderr, "--junit:")
	assert.Empty(t, stdout, "nothing ran")

	code, _, stderr = run([]string{"run", "--junit", filepath.Join(t.TempDir(), "no", "such", "dir.xml"), "testdata/bad.yaml"}, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "testdata/bad.yaml:6: client.acount: unknown field; did you mean account?", "each error is reported")
	assert.Contains(t, stderr, "--junit:")
}

// TestRunInvalidInputReport: with invalid input nothing runs and the exit
// status is 2, but the JSON and JUnit reports are written all the same,
// each invalid input an error and each valid scenario not run, so that a
// CI dashboard shows why.
func TestRunInvalidInputReport(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.xml")
	code, stdout, stderr := run([]string{"run", "--format", "json", "--junit", path,
		"testdata/good.yaml", "testdata/bad.yaml", "no-such-scenario", "testdata/dup/good-again.yaml"}, nil)
	assert.Equal(t, 2, code, "%s%s", stdout, stderr)
	assert.Contains(t, stderr, "testdata/bad.yaml:6: client.acount: unknown field; did you mean account?")
	assert.Contains(t, stderr, "no-such-scenario: no such file")

	var doc struct {
		Summary struct {
			Total, Passed, Failed, Errors, NotRun int
		}
		Scenarios []struct{ Name, File, Error, NotRun string }
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, 4, doc.Summary.Total)
	assert.Equal(t, 3, doc.Summary.Errors)
	assert.Equal(t, 1, doc.Summary.NotRun)
	require.Len(t, doc.Scenarios, 4)
	assert.Equal(t, "testdata/bad.yaml", doc.Scenarios[0].Name)
	assert.Equal(t, "testdata/bad.yaml", doc.Scenarios[0].File)
	assert.Contains(t, doc.Scenarios[0].Error, "testdata/bad.yaml:10: expect.outcome")
	assert.Equal(t, "no-such-scenario", doc.Scenarios[1].Name)
	assert.Empty(t, doc.Scenarios[1].File)
	assert.Equal(t, "testdata/dup/good-again.yaml", doc.Scenarios[2].Name)
	assert.Contains(t, doc.Scenarios[2].Error, `name "good" is also the name of testdata/good.yaml`)
	assert.Equal(t, "good", doc.Scenarios[3].Name)
	assert.Equal(t, "not run: other input is invalid", doc.Scenarios[3].NotRun)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	ju := string(b)
	assert.Contains(t, ju, `<testsuites tests="4" failures="0" errors="3" skipped="1"`)
	assert.Contains(t, ju, `<testcase name="testdata/bad.yaml" classname="egresslab.scenarios" file="testdata/bad.yaml"`)
	assert.Contains(t, ju, `<error message="testdata/bad.yaml:6: client.acount: unknown field; did you mean account?&#xA;`)
	assert.Contains(t, ju, `<testcase name="no-such-scenario" classname="egresslab.scenarios"`)
	assert.Contains(t, ju, `<skipped message="not run: other input is invalid"></skipped>`)

	// In text, the errors go to stderr only, as before.
	path = filepath.Join(t.TempDir(), "text.xml")
	code, stdout, _ = run([]string{"run", "--junit", path, "testdata/bad.yaml"}, nil)
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), `<testsuites tests="1" failures="0" errors="1" skipped="0"`)
}
