package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// regFile writes a registry export as Windows writes it (UTF-16LE with a
// BOM, CRLF) and returns its path.
func regFile(t *testing.T, name string, lines ...string) string {
	t.Helper()
	text := "Windows Registry Editor Version 5.00\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(text)) {
		b = append(b, byte(u), byte(u>>8))
	}
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// A Windows 10 22H2 machine with the feature on.
var win10 = []string{
	`[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]`,
	`"CurrentMajorVersionNumber"=dword:0000000a`, `"CurrentBuild"="19045"`, `"EditionID"="Enterprise"`, `"DisplayVersion"="22H2"`, ``,
	`[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\AzureADAccount]`, `"AllowPasswordReset"=dword:00000001`, ``,
}

// perUser is the signed-in user's proxy, and nothing else.
var perUser = []string{
	`[HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Internet Settings]`,
	`"ProxyEnable"=dword:00000001`, `"ProxyServer"="proxy.corp.example:8080"`, `"ProxyOverride"="<local>"`, ``,
}

// perMachine is the same proxy, per machine.
var perMachine = []string{
	`[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings]`, `"ProxySettingsPerUser"=dword:00000000`, ``,
	`[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings]`,
	`"ProxyEnable"=dword:00000001`, `"ProxyServer"="proxy.corp.example:8080"`, ``,
}

func preflightRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"preflight"}, args...), func(string) string { return "" }, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	netsh := filepath.Join(dir, "winhttp.txt")
	require.NoError(t, os.WriteFile(netsh, []byte("\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  proxy.corp.example:8080\r\n    Bypass List     :  <local>\r\n\r\n"), 0o644))
	clean := regFile(t, "clean.reg", append(append([]string{}, win10...), perMachine...)...)

	code, out, _ := preflightRun(t, clean, netsh, "--format", "json")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, `"findings": []`, "an empty list, as the schema says, not null")
	code, out, errs := preflightRun(t, clean, netsh, "--junit", filepath.Join(dir, "junit.xml"))
	assert.Equal(t, ExitOK, code, "stderr: %s", errs)
	for _, want := range []string{"windows10 22H2 (build 19045, Enterprise)", "temporary account (defaultuser1): proxy proxy.corp.example:8080 (per-machine)",
		"WinHTTP (revocation fetches):     proxy proxy.corp.example:8080", "Nothing documented blocks SSPR"} {
		assert.Contains(t, out, want)
	}
	junit, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	require.NoError(t, err)
	assert.Contains(t, string(junit), `failures="0"`)

	off := regFile(t, "off.reg", `[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]`, `"CurrentMajorVersionNumber"=dword:0000000a`,
		`"CurrentBuild"="19045"`, ``, `[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System]`, `"EnableLUA"=dword:00000000`,
		``, `[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\AzureADAccount]`, `"AllowPasswordReset"=dword:00000000`)
	code, out, _ = preflightRun(t, off, "--format", "json")
	assert.Equal(t, ExitFailed, code)
	var rep struct {
		Findings []struct{ ID, Severity, Source string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.ID+"/"+f.Severity+"@"+f.Source)
	}
	assert.Contains(t, got, "feature-not-enabled/blocks@"+off+":11")
	assert.Contains(t, got, "uac-disabled/blocks@"+off+":8")

	code, out, _ = preflightRun(t, "--schema")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, `"findings"`)
}

func TestPreflightBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("hello\n"), 0o644))
	badReg := regFile(t, "bad.reg", `[HKEY_LOCAL_MACHINE\SOFTWARE\X]`, `"A"=dword:1`)
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"no file":         {nil, []string{"at least one file"}},
		"neither":         {[]string{notes}, []string{notes + ": neither a registry export nor netsh output", notes + ":1"}},
		"bad export line": {[]string{badReg}, []string{badReg + ":4"}},
		"missing":         {[]string{filepath.Join(dir, "none.reg")}, []string{"none.reg"}},
		"bad format":      {[]string{badReg, "--format", "xml"}, []string{`--format: unknown format "xml"`}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out, errs := preflightRun(t, tc.args...)
			assert.Equal(t, ExitUsage, code, "stdout %s", out)
			for _, w := range tc.want {
				assert.Contains(t, errs, w)
			}
		})
	}
}

// TestPreflightProfileRuns: the profile preflight writes reproduces the
// machine in the lab. With the signed-in user's proxy alone, the
// temporary account connects directly, which the lab's firewall blocks;
// with the same proxy per machine, it meets the proxy's authentication.
func TestPreflightProfileRuns(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		settings []string
		cause    string
	}{
		"per-user proxy only": {perUser, "direct-egress-blocked"},
		"per-machine proxy":   {perMachine, "proxy-auth-required"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			reg := regFile(t, "machine.reg", append(append([]string{}, win10...), tc.settings...)...)
			profile := filepath.Join(dir, "profile.yaml")
			code, _, errs := preflightRun(t, reg, "--profile", profile)
			require.Equal(t, ExitOK, code, "stderr: %s", errs)
			p, err := os.ReadFile(profile)
			require.NoError(t, err)
			var client strings.Builder
			for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
				client.WriteString("  " + l + "\n")
			}
			sc := `name: preflight-` + strings.ReplaceAll(name, " ", "-") + `
description: the machine preflight read, in a lab whose proxy authenticates everyone
reference: README, "Help desks"
lab:
  proxy:
    address: proxy.corp.example:8080
    auth: {schemes: [ntlm], users: [{name: alice, domain: CONTOSO, password: "Pw-123456!"}]}
    default: authenticate
client:
` + client.String() + `expect:
  outcome: something-went-wrong
  cause: ` + tc.cause + "\n"
			file := filepath.Join(dir, "machine.yaml")
			require.NoError(t, os.WriteFile(file, []byte(sc), 0o644))
			var out, errb bytes.Buffer
			code = Main([]string{"run", file}, func(string) string { return "" }, &out, &errb)
			assert.Equal(t, ExitOK, code, "%s\n%s\n%s", sc, out.String(), errb.String())
		})
	}
}
