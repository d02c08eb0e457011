package preflight_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/preflight"
	"github.com/egresslab/egresslab/winproxy"
	"github.com/egresslab/egresslab/winreg"
)

// export is a registry export as reg export writes it: keys in order,
// each with its values already in .reg syntax.
type export []struct {
	key    string
	values []string
}

// text is the export's text (UTF-8, CRLF).
func (e export) text() string {
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\r\n\r\n")
	for _, k := range e {
		fmt.Fprintf(&b, "[%s]\r\n", k.key)
		for _, v := range k.values {
			b.WriteString(v + "\r\n")
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

// utf16le is text as Windows writes it: UTF-16LE with a BOM.
func utf16le(s string) []byte {
	out := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// hexBlob writes bytes as a .reg hex value.
func hexBlob(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return "hex:" + strings.Join(parts, ",")
}

const (
	hklmNT     = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	hklmAAD    = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\AzureADAccount`
	hklmSys    = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`
	hklmPolIE  = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`
	hklmIE     = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings`
	hkcuIE     = `HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
	hkuDefIE   = `HKEY_USERS\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
	hklmWH     = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp`
	hklmSch12  = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client`
	hklmLock   = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\System`
	hklmPers   = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\Personalization`
	hklmAppx   = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\Appx`
	hklmLogon  = `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon`
	win10_22H2 = `"CurrentBuild"="19045"`
)

// clean is a Windows 10 22H2 machine where SSPR at the sign-in screen
// works: the feature on, nothing interfering, per-machine proxy settings.
func clean() export {
	return export{
		{hklmNT, []string{`"CurrentVersion"="6.3"`, `"CurrentMajorVersionNumber"=dword:0000000a`, win10_22H2, `"EditionID"="Enterprise"`, `"DisplayVersion"="22H2"`}},
		{hklmAAD, []string{`"AllowPasswordReset"=dword:00000001`}},
		{hklmSys, []string{`"EnableLUA"=dword:00000001`, `"HideFastUserSwitching"=dword:00000000`}},
		{hklmLogon, []string{`"Shell"="explorer.exe"`}},
		{hklmPolIE, []string{`"ProxySettingsPerUser"=dword:00000000`}},
		{hklmIE, []string{`"ProxyEnable"=dword:00000001`, `"ProxyServer"="proxy.corp.example:8080"`, `"ProxyOverride"="<local>"`}},
	}
}

// with returns e with values added to key (a new key at the end if it is
// not there).
func (e export) with(key string, values ...string) export {
	out := make(export, len(e))
	copy(out, e)
	for i := range out {
		if out[i].key == key {
			out[i].values = append(append([]string(nil), out[i].values...), values...)
			return out
		}
	}
	return append(out, struct {
		key    string
		values []string
	}{key, values})
}

func check(t *testing.T, e export, netsh *winproxy.WinHTTPProxy) *preflight.Report {
	t.Helper()
	ex, err := winreg.Parse("machine.reg", utf16le(e.text()))
	require.NoError(t, err)
	var r winreg.Registry
	r.Add(ex)
	return preflight.Check(preflight.Input{Registry: &r, Netsh: netsh})
}

func ids(r *preflight.Report, sev preflight.Severity) []string {
	var out []string
	for _, f := range append(append([]preflight.Finding(nil), r.Findings...), r.Notes...) {
		if f.Severity == sev {
			out = append(out, f.ID)
		}
	}
	return out
}

// TestCleanMachine: nothing documented blocks it; the temporary account
// gets the per-machine proxy.
func TestCleanMachine(t *testing.T) {
	r := check(t, clean(), nil)
	assert.False(t, r.Blocked(), "%+v", r.Findings)
	assert.Empty(t, r.Findings, "a clean machine has no findings")
	assert.Equal(t, client.Windows10, r.Machine.OS)
	assert.Equal(t, 19045, r.Machine.Build)
	assert.Equal(t, "proxy proxy.corp.example:8080 (per-machine)", r.TemporaryAccount)
	assert.Equal(t, r.TemporaryAccount, r.SignedInUser)
	assert.Equal(t, []string{"temporary-account-proxy"}, ids(r, preflight.Info))
}

// TestDocumentedConditions: each documented condition, on an otherwise
// clean machine, gives its finding, where it was read.
func TestDocumentedConditions(t *testing.T) {
	for _, tc := range []struct {
		id  string
		e   export
		sev preflight.Severity
	}{
		{"feature-not-enabled", clean().with(hklmAAD, `"AllowPasswordReset"=dword:00000000`), preflight.Blocks},
		{"windows-too-old", clean().with(hklmNT, `"CurrentBuild"="16299"`), preflight.Blocks},
		{"lock-screen-notifications-off", clean().with(hklmLock, `"DisableLockScreenAppNotifications"=dword:00000001`), preflight.Blocks},
		{"hide-fast-user-switching", clean().with(hklmSys, `"HideFastUserSwitching"=dword:00000001`), preflight.Blocks},
		{"dont-display-last-user-name", clean().with(hklmSys, `"DontDisplayLastUserName"=dword:00000001`), preflight.Blocks},
		{"no-lock-screen", clean().with(hklmPers, `"NoLockScreen"=dword:00000001`), preflight.Blocks},
		{"block-non-admin-app-install", clean().with(hklmAppx, `"BlockNonAdminUserInstall"=dword:00000001`), preflight.Blocks},
		{"smart-card-required", clean().with(hklmSys, `"ScForceOption"=dword:00000001`), preflight.Blocks},
		{"uac-disabled", clean().with(hklmSys, `"EnableLUA"=dword:00000000`), preflight.Blocks},
		{"custom-shell", clean().with(hklmLogon, `"Shell"="C:\\Kiosk\\kiosk.exe"`), preflight.Blocks},
		{"cad-notifications-home", clean().with(hklmNT, `"CurrentBuild"="16299"`, `"EditionID"="Core"`).
			with(hklmSys, `"DisableCAD"=dword:00000000`).with(hklmLock, `"DisableLockScreenAppNotifications"=dword:00000001`), preflight.Blocks},
		{"schannel-tls12-disabled", clean().with(hklmSch12, `"Enabled"=dword:00000000`), preflight.Blocks},
		{"schannel-tls12-disabled", clean().with(hklmSch12, `"Enabled"=dword:00000001`, `"DisabledByDefault"=dword:00000001`), preflight.Blocks},
		{"winhttp-no-tls12", windows7().with(hklmWH, `"DefaultSecureProtocols"=dword:00000080`), preflight.Blocks},
		{"winhttp-no-tls12", windows7(), preflight.Blocks},
		{"secure-protocols-differ", clean().with(hklmWH, `"DefaultSecureProtocols"=dword:00000a80`).
			with(`HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp`, `"DefaultSecureProtocols"=dword:00000080`), preflight.Warning},
		{"per-user-proxy-only", perUserOnly(), preflight.Warning},
	} {
		t.Run(tc.id, func(t *testing.T) {
			r := check(t, tc.e, nil)
			var got *preflight.Finding
			for i := range r.Findings {
				if r.Findings[i].ID == tc.id {
					got = &r.Findings[i]
				}
			}
			assert.Len(t, r.Findings, 1+btoi(tc.id == "cad-notifications-home")*2, "this condition and nothing else: %+v", r.Findings)
			require.NotNil(t, got, "findings: %+v", r.Findings)
			assert.Equal(t, tc.sev, got.Severity)
			assert.NotEmpty(t, got.Effect)
			assert.NotEmpty(t, got.Remedy)
			assert.Contains(t, got.Reference, "https://")
			assert.NotEmpty(t, got.Setting)
			if !strings.HasPrefix(got.Value, "(absent") {
				assert.Regexp(t, `^machine\.reg:\d+$`, got.Source, "where it was read")
			}
			assert.Equal(t, tc.sev == preflight.Blocks, r.Blocked())
		})
	}
}

// windows7 is a Windows 7 machine with TLS 1.2 enabled in SCHANNEL but
// WinHTTP's defaults.
func windows7() export {
	return export{
		{hklmNT, []string{`"CurrentVersion"="6.1"`, `"CurrentBuild"="7601"`, `"EditionID"="Professional"`}},
		{hklmSch12, []string{`"Enabled"=dword:00000001`, `"DisabledByDefault"=dword:00000000`}},
	}
}

// perUserOnly is a machine whose proxy is the signed-in user's alone.
func perUserOnly() export {
	e := clean()
	out := export{}
	for _, k := range e {
		if k.key != hklmPolIE && k.key != hklmIE {
			out = append(out, k)
		}
	}
	return out.with(hkcuIE, `"ProxyEnable"=dword:00000001`, `"ProxyServer"="proxy.corp.example:8080"`, `"ProxyOverride"="<local>;*.contoso.com"`)
}

// TestProxySources: every source, as the client models them, and which
// each account gets: the Default profile (found among HKU's subkeys),
// the connection blob over the text values, WinHTTP from netsh.
func TestProxySources(t *testing.T) {
	cs := winproxy.ConnectionSettings{Version: 0x46, Flags: winproxy.Proxy | winproxy.Direct, Proxy: "blob-proxy.corp.example:3128", Bypass: "<local>"}
	e := perUserOnly().
		with(hkcuIE+`\Connections`, `"DefaultConnectionSettings"=`+hexBlob(cs.Encode())).
		with(hkuDefIE, `"ProxyEnable"=dword:00000001`, `"ProxyServer"="default.corp.example"`)
	r := check(t, e, &winproxy.WinHTTPProxy{Proxy: "winhttp.corp.example:8080", Bypass: "<local>"})
	require.NotNil(t, r.Proxies.PerUser)
	assert.Equal(t, "blob-proxy.corp.example:3128", r.Proxies.PerUser.Server, "the blob wins over the text values")
	assert.Contains(t, ids(r, preflight.Info), "text-and-blob-differ")
	require.NotNil(t, r.Proxies.DefaultProfile)
	assert.Equal(t, "default.corp.example", r.Proxies.DefaultProfile.Server)
	assert.Equal(t, "proxy default.corp.example (default-profile)", r.TemporaryAccount)
	assert.Equal(t, "proxy blob-proxy.corp.example:3128 (per-user)", r.SignedInUser)
	require.NotNil(t, r.Proxies.WinHTTP)
	assert.Equal(t, "winhttp.corp.example:8080", r.Proxies.WinHTTP.Server)

	p := r.Profile("adele@contoso.com", "Vq7#Lmz2!Rtx")
	assert.Equal(t, client.AccountDefaultUser1, p.Account)
	assert.Equal(t, "default.corp.example:80", p.Proxy.DefaultProfile.Server, "a bare host gets WinINet's port 80")
	assert.Equal(t, "default.corp.example", r.Proxies.DefaultProfile.Server, "the report keeps what it read")
	require.NoError(t, p.Validate())
}

// TestAutomaticProxy: a PAC URL or auto-detect is reported, and the
// profile keeps the fixed proxy.
func TestAutomaticProxy(t *testing.T) {
	cs := winproxy.ConnectionSettings{Version: 0x46, Flags: winproxy.Direct | winproxy.AutoDetect | winproxy.AutoProxyURL, AutoConfigURL: "http://wpad.corp.example/wpad.dat"}
	r := check(t, perUserOnly().with(hkcuIE+`\Connections`, `"DefaultConnectionSettings"=`+hexBlob(cs.Encode())).
		with(`HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`, `"NV Domain"="corp.example"`), nil)
	assert.Contains(t, ids(r, preflight.Info), "automatic-proxy")
	// The profile keeps the automatic configuration, for the client to
	// evaluate, and the DNS suffix WPAD needs.
	p := r.Profile("adele@contoso.com", "Vq7#Lmz2!Rtx")
	p.Account = client.AccountUser
	require.NotNil(t, p.Proxy.PerUser)
	assert.Equal(t, "http://wpad.corp.example/wpad.dat", p.Proxy.PerUser.AutoConfigURL)
	require.NotNil(t, p.Proxy.PerUser.AutoDetect)
	assert.True(t, *p.Proxy.PerUser.AutoDetect)
	assert.Equal(t, "corp.example", r.Machine.DNSSuffix)
	assert.Equal(t, "corp.example", p.DNSSuffix)
	require.NoError(t, p.Validate())
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestIntunePolicy: the feature switched on by Intune shows under the
// Policy CSP's mirror, and counts.
func TestIntunePolicy(t *testing.T) {
	e := export{}
	for _, k := range clean() {
		if k.key != hklmAAD {
			e = append(e, k)
		}
	}
	r := check(t, e.with(`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\PolicyManager\current\device\Authentication`, `"AllowAadPasswordReset"=dword:00000001`), nil)
	assert.Empty(t, r.Findings)
	r = check(t, e, nil)
	assert.Equal(t, []string{"feature-not-enabled"}, ids(r, preflight.Blocks))
}

// TestReviewedCases: what an independent review of the first version
// found, each now a test.
func TestReviewedCases(t *testing.T) {
	t.Run("WinHTTP without TLS 1.2 on Windows 10", func(t *testing.T) {
		r := check(t, clean().with(hklmWH, `"DefaultSecureProtocols"=dword:00000200`), nil)
		assert.Equal(t, []string{"winhttp-no-tls12"}, ids(r, preflight.Blocks))
	})
	t.Run("the signed-in user exported by SID", func(t *testing.T) {
		e := perUserOnly()
		out := export{}
		for _, k := range e {
			if k.key == hkcuIE {
				k.key = `HKEY_USERS\S-1-5-21-1111111111-2222222222-3333333333-1001\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
			}
			out = append(out, k)
		}
		r := check(t, out, nil)
		assert.Equal(t, "proxy proxy.corp.example:8080 (per-user)", r.SignedInUser)
		assert.Equal(t, []string{"per-user-proxy-only"}, ids(r, preflight.Warning))
		assert.Contains(t, ids(r, preflight.Info), "user-by-sid")
	})
	t.Run("a per-protocol proxy", func(t *testing.T) {
		e := perUserOnly().with(hkcuIE, `"ProxyServer"="http=proxy.corp.example:8080;https=secure.corp.example:8443;ftp=ftp.corp.example:21"`)
		r := check(t, e, nil)
		p := r.Profile("adele@contoso.com", "Vq7#Lmz2!Rtx")
		assert.Equal(t, "http=proxy.corp.example:8080;https=secure.corp.example:8443", p.Proxy.PerUser.Server)
		require.NoError(t, p.Validate())
	})
	t.Run("a PAC file is not direct, and per-user still warns", func(t *testing.T) {
		cs := winproxy.ConnectionSettings{Version: 0x46, Flags: winproxy.Direct | winproxy.AutoProxyURL, AutoConfigURL: "http://wpad.corp.example/proxy.pac"}
		r := check(t, perUserOnly().with(hkcuIE+`\Connections`, `"DefaultConnectionSettings"=`+hexBlob(cs.Encode())), nil)
		assert.Equal(t, "PAC http://wpad.corp.example/proxy.pac (per-user), else direct", r.SignedInUser)
		assert.Equal(t, []string{"per-user-proxy-only"}, ids(r, preflight.Warning))
		assert.Contains(t, r.Findings[0].Setting, `Connections\DefaultConnectionSettings`, "the setting the proxy was read from")
		assert.Regexp(t, `^machine\.reg:\d+$`, r.Findings[0].Source)
	})
	t.Run("settings not in the exports", func(t *testing.T) {
		e := export{{hklmNT, []string{`"CurrentMajorVersionNumber"=dword:0000000a`, win10_22H2}},
			{hklmPolIE, []string{`"ProxySettingsPerUser"=dword:00000000`}}}
		r := check(t, e, nil)
		assert.Contains(t, ids(r, preflight.Warning), "machine-proxy-not-exported")
		assert.Contains(t, ids(r, preflight.Blocks), "feature-not-enabled", "the Policies key is exported: the switch is absent from it")

		r = check(t, export{{hklmNT, []string{`"CurrentMajorVersionNumber"=dword:0000000a`, win10_22H2}}}, nil)
		assert.Equal(t, []string{"feature-switch-not-exported"}, ids(r, preflight.Warning))
		assert.Empty(t, ids(r, preflight.Blocks))

		r = check(t, clean().with(`HKEY_USERS\A\Software\Microsoft\Windows\CurrentVersion\Internet Settings`, `"ProxyEnable"=dword:00000000`).
			with(`HKEY_USERS\B\Software\Microsoft\Windows\CurrentVersion\Internet Settings`, `"ProxyEnable"=dword:00000000`), nil)
		assert.Equal(t, []string{"default-profile-ambiguous"}, ids(r, preflight.Warning))
	})
	t.Run("the Intune policy names its own key", func(t *testing.T) {
		e := export{}
		for _, k := range clean() {
			if k.key != hklmAAD {
				e = append(e, k)
			}
		}
		r := check(t, e.with(`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\PolicyManager\current\device\Authentication`, `"AllowAadPasswordReset"=dword:00000000`), nil)
		require.Equal(t, []string{"feature-not-enabled"}, ids(r, preflight.Blocks))
		assert.Equal(t, `HKLM\SOFTWARE\Microsoft\PolicyManager\current\device\Authentication\AllowAadPasswordReset`, r.Findings[0].Setting)
	})
	t.Run("Explorer by its path", func(t *testing.T) {
		r := check(t, clean().with(hklmLogon, `"Shell"="C:\\Windows\\explorer.exe"`), nil)
		assert.Empty(t, r.Findings)
	})
}
