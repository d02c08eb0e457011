package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/cli"
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
		"no arguments shows help":  {args: nil, code: 0, stdout: []string{"Usage:", "tls-matrix"}},
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
			"expired         tls: failed to verify certificate: x509: certificate has expired",
			"revoked         accepted (Go does not check revocation; OCSP says revoked)",
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
			if tc.code == 0 {
				assert.Empty(t, stderr)
			}
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
	require.Len(t, rep.Faults, 7)
	for _, f := range rep.Faults {
		assert.True(t, f.AsExpected, "%+v", f)
	}
}
