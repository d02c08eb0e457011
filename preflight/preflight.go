// Package preflight reads what a help desk can collect from a Windows
// machine (registry exports, read with winreg, and the output of "netsh
// winhttp show proxy", read with winproxy) and says which documented
// condition stops the self-service password reset (SSPR) at its sign-in
// screen from working or appearing, and which proxy each account gets,
// as a client profile the lab can run.
//
// The conditions and the registry locations are Microsoft's: "Enable
// Microsoft Entra self-service password reset at the Windows sign-in
// screen" (howto-sspr-windows: the feature switch, the Windows 10 and 11
// limitations, the troubleshooting of proxies), "Transport Layer Security
// (TLS) registry settings", and KB3140245 (WinHTTP's
// DefaultSecureProtocols). Where a location is not on a Microsoft page the
// finding says where it comes from.
package preflight

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/pac"
	"github.com/egresslab/egresslab/winproxy"
	"github.com/egresslab/egresslab/winreg"
)

// Severity is how much a finding matters for SSPR at the sign-in screen.
type Severity string

// The severities.
const (
	// Blocks: documented to stop SSPR at the sign-in screen from
	// working or appearing.
	Blocks Severity = "blocks"
	// Warning: breaks it on some networks (a proxy the temporary account
	// does not get, where direct egress is blocked).
	Warning Severity = "warning"
	// Info: what the settings imply, for the record.
	Info Severity = "info"
)

// Finding is one condition the settings meet.
type Finding struct {
	// ID names the condition ("feature-not-enabled", ...).
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Setting is the registry value (KEY\Value) or the command whose
	// output was read; Value what it held ("(absent)" when missing).
	Setting string `json:"setting"`
	Value   string `json:"value"`
	// Source is where it was read: FILE:LINE ("" when absent).
	Source string `json:"source,omitempty"`
	// Effect is the documented effect, Remedy the documented remedy.
	Effect string `json:"effect"`
	Remedy string `json:"remedy"`
	// Reference is the documentation page and section.
	Reference string `json:"reference"`
}

// References.
const (
	refSSPRWindows  = "https://learn.microsoft.com/entra/identity/authentication/howto-sspr-windows"
	refEnable       = refSSPRWindows + " (Enable for Windows 11 and 10: registry key or Intune policy AllowAadPasswordReset)"
	refLimits       = refSSPRWindows + " (Windows 11 and 10 specific limitations)"
	refGeneral      = refSSPRWindows + " (General limitations)"
	refProxy        = refSSPRWindows + "#troubleshooting (proxy: per-machine settings, or the Default profile)"
	refKB3140245    = "https://support.microsoft.com/kb/3140245 (WinHTTP DefaultSecureProtocols)"
	refTLSRegistry  = "https://learn.microsoft.com/windows-server/security/tls/tls-registry-settings (TLS 1.2: Enabled and DisabledByDefault)"
	notMicrosoftDoc = "location not on a Microsoft page: "
)

// Registry locations (HKLM, HKCU; the Default profile is under HKU\NAME).
const (
	keyPolicyIE     = `HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`
	keyMachineIE    = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings`
	keyUserIE       = `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
	subIE           = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`
	keyConnections  = `\Connections`
	keyWinHTTP      = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp`
	keyWinHTTPWow   = `HKLM\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp`
	keySchannel12   = `HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client`
	keyAzureAD      = `HKLM\SOFTWARE\Policies\Microsoft\AzureADAccount`
	keyIntuneAuth   = `HKLM\SOFTWARE\Microsoft\PolicyManager\current\device\Authentication`
	keyNT           = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	keyTcpip        = `HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`
	keyWinlogon     = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon`
	keySystemPolicy = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`
	keyLockScreen   = `HKLM\SOFTWARE\Policies\Microsoft\Windows\System`
	keyPersonalize  = `HKLM\SOFTWARE\Policies\Microsoft\Windows\Personalization`
	keyAppx         = `HKLM\SOFTWARE\Policies\Microsoft\Windows\Appx`
)

// Build1803 is Windows 10 version 1803's build number, the first that
// has SSPR at the sign-in screen.
const Build1803 = 17134

// Input is what was collected from one machine.
type Input struct {
	// Registry is the merge of the machine's registry exports.
	Registry *winreg.Registry
	// Netsh is the output of "netsh winhttp show proxy", when given: it
	// wins over the registry's WinHttpSettings. NetshSource is its file.
	Netsh       *winproxy.WinHTTPProxy
	NetshSource string
	// DefaultProfile is the HKU subkey the Default profile template
	// (C:\Users\Default\NTUSER.DAT) was loaded as ("reg load HKU\NAME");
	// empty: the one HKU subkey holding Internet Settings that is not
	// .DEFAULT nor a SID, if there is exactly one.
	DefaultProfile string
}

// Report is what the settings say.
type Report struct {
	// Machine is the Windows the export comes from.
	Machine Machine `json:"machine"`
	// Proxies are the proxy settings found, by source, as the client
	// models them; which account gets which follows the client's rules.
	Proxies client.ProxySources `json:"proxies"`
	// TemporaryAccount and SignedInUser describe the proxy each account
	// uses for the flow ("direct", or "proxy HOST:PORT (per-machine)").
	TemporaryAccount string `json:"temporaryAccount"`
	SignedInUser     string `json:"signedInUser"`
	// DefaultSecureProtocols is WinHTTP's DWORD (0: absent).
	DefaultSecureProtocols uint32 `json:"defaultSecureProtocols,omitempty"`
	// TLS12Disabled: SCHANNEL's TLS 1.2 client is not enabled.
	TLS12Disabled bool `json:"tls12Disabled,omitempty"`
	// Findings are the conditions that block SSPR at the sign-in screen
	// or may (severity blocks, warning); Notes what the settings imply
	// besides (severity info). A clean machine has no findings.
	Findings []Finding `json:"findings"`
	Notes    []Finding `json:"notes,omitempty"`
}

// Machine is the Windows version and edition.
type Machine struct {
	OS      client.OS `json:"os,omitempty"`
	Build   int       `json:"build,omitempty"`
	Edition string    `json:"edition,omitempty"`
	// Version is what the export says ("10.0", "6.1"), Display its
	// marketing name ("22H2") when present.
	Version string `json:"version,omitempty"`
	Display string `json:"display,omitempty"`
	// DNSSuffix is the primary DNS suffix (Tcpip\Parameters "NV Domain",
	// else "Domain"), where WPAD looks for wpad.<suffix>.
	DNSSuffix string `json:"dnsSuffix,omitempty"`
}

// Blocked reports whether a finding blocks SSPR at the sign-in screen.
func (r *Report) Blocked() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == Blocks })
}

// checker holds the input while findings are gathered.
type checker struct {
	in     Input
	r      *Report
	def    string        // the Default profile's HKU subkey
	buildV *winreg.Value // where CurrentBuild was read
	// auto holds, per source, its automatic configuration ("auto-detect",
	// "PAC URL"); from where its proxy was read.
	auto map[string]string
	from map[string]readAt
}

// readAt is where a source's proxy was read: the setting and its value.
type readAt struct {
	setting string
	v       *winreg.Value
}

func (c *checker) value(key, name string) (*winreg.Value, bool) {
	if c.in.Registry == nil {
		return nil, false
	}
	return c.in.Registry.Value(key, name)
}

func (c *checker) dword(key, name string) (uint32, *winreg.Value, bool) {
	v, ok := c.value(key, name)
	if !ok {
		return 0, nil, false
	}
	n, ok := v.Uint32()
	return n, v, ok
}

func (c *checker) text(key, name string) (string, *winreg.Value, bool) {
	v, ok := c.value(key, name)
	if !ok {
		return "", nil, false
	}
	s, ok := v.Text()
	return s, v, ok
}

func source(v *winreg.Value) string {
	if v == nil {
		return ""
	}
	return v.File + ":" + strconv.Itoa(v.Line)
}

func (c *checker) add(f Finding) {
	if f.Severity == Info {
		c.r.Notes = append(c.r.Notes, f)
		return
	}
	c.r.Findings = append(c.r.Findings, f)
}

// Check reads the settings and returns the report: the machine, the
// proxy each account gets, and the findings in order (the feature, the
// version, the interfering settings, TLS, the proxies).
func Check(in Input) *Report {
	c := &checker{in: in, r: &Report{Findings: []Finding{}}, auto: map[string]string{}, from: map[string]readAt{}}
	c.machine()
	c.feature()
	c.limits()
	c.tls()
	c.proxies()
	return c.r
}

// machine reads the Windows version: CurrentMajorVersionNumber (10 on
// Windows 10 and 11) or CurrentVersion ("6.1" Windows 7, "6.3" Windows
// 8.1), CurrentBuild (Windows 11 from 22000), EditionID, DisplayVersion
// or ReleaseId.
func (c *checker) machine() {
	m := &c.r.Machine
	if b, v, ok := c.text(keyNT, "CurrentBuild"); ok {
		m.Build, _ = strconv.Atoi(strings.TrimSpace(b))
		c.buildV = v
	}
	m.Edition, _, _ = c.text(keyNT, "EditionID")
	for _, name := range []string{"NV Domain", "Domain"} {
		if d, _, ok := c.text(keyTcpip, name); ok && strings.TrimSpace(d) != "" {
			m.DNSSuffix = strings.TrimSpace(d)
			break
		}
	}
	if d, _, ok := c.text(keyNT, "DisplayVersion"); ok {
		m.Display = d
	} else if d, _, ok := c.text(keyNT, "ReleaseId"); ok {
		m.Display = d
	}
	major, _, hasMajor := c.dword(keyNT, "CurrentMajorVersionNumber")
	ver, _, _ := c.text(keyNT, "CurrentVersion")
	switch {
	case hasMajor && major >= 10:
		m.Version = strconv.Itoa(int(major)) + ".0"
		m.OS = client.Windows10
		if m.Build >= 22000 {
			m.OS = client.Windows11
		}
	case ver == "6.1":
		m.Version, m.OS = ver, client.Windows7
	case ver == "6.2" || ver == "6.3":
		m.Version, m.OS = ver, client.Windows81
	default:
		m.Version = ver
	}
}

// modern is Windows 10 or 11, where SSPR at the sign-in screen is built in.
func (c *checker) modern() bool {
	return c.r.Machine.OS == client.Windows10 || c.r.Machine.OS == client.Windows11
}

func (c *checker) feature() {
	if c.r.Machine.OS == "" {
		c.add(Finding{ID: "windows-version-unknown", Severity: Info, Setting: keyNT, Value: "(absent)",
			Effect: "the export does not say which Windows this is: the checks that depend on it are skipped",
			Remedy: `export HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion too`, Reference: refGeneral})
	}
	if !c.modern() {
		if c.r.Machine.OS != "" {
			c.add(Finding{ID: "windows7-addin", Severity: Info, Setting: keyNT + `\CurrentVersion`, Value: c.r.Machine.Version,
				Effect: "Windows 7 and 8.1 reach SSPR at the sign-in screen through an add-in, whose installation the registry export does not show",
				Remedy: "install the SSPR add-in for Windows 7 and 8.1", Reference: refSSPRWindows + " (Windows 7, 8 and 8.1)"})
		}
		return
	}
	n, v, ok := c.dword(keyAzureAD, "AllowPasswordReset")
	setting := keyAzureAD + `\AllowPasswordReset`
	if in, iv, iok := c.dword(keyIntuneAuth, "AllowAadPasswordReset"); iok && (!ok || n != 1) {
		// The Intune policy, where the Policy CSP mirrors it.
		n, v, ok, setting = in, iv, true, keyIntuneAuth+`\AllowAadPasswordReset`
	}
	if !ok && !c.exported(`HKLM\SOFTWARE\Policies`) && !c.exported(keyIntuneAuth) {
		c.add(Finding{ID: "feature-switch-not-exported", Severity: Warning, Setting: setting, Value: "(not in the exports)",
			Effect: "whether the feature is on cannot be told: neither HKLM\\SOFTWARE\\Policies nor the Intune policy's key is in the exports",
			Remedy: `export HKLM\SOFTWARE\Policies (and, on an Intune-managed machine, ` + keyIntuneAuth + `) too`, Reference: refEnable})
	} else if !ok || n != 1 {
		val := "(absent)"
		if ok {
			val = strconv.Itoa(int(n))
		}
		c.add(Finding{ID: "feature-not-enabled", Severity: Blocks, Setting: setting, Value: val, Source: source(v),
			Effect:    `the "Reset password" link does not appear at the sign-in screen`,
			Remedy:    `set AllowPasswordReset to 1 (DWORD) under HKLM\SOFTWARE\Policies\Microsoft\AzureADAccount, or the Intune policy ./Device/Vendor/MSFT/Policy/Config/Authentication/AllowAadPasswordReset to 1 (on an Intune-managed machine, export ` + keyIntuneAuth + ` too: the policy shows there)`,
			Reference: refEnable + "; " + notMicrosoftDoc + "the Intune policy's value under PolicyManager\\current\\device (the Policy CSP's registry mirror)"})
	}
	if b := c.r.Machine.Build; c.r.Machine.OS == client.Windows10 && b > 0 && b < Build1803 {
		c.add(Finding{ID: "windows-too-old", Severity: Blocks, Setting: keyNT + `\CurrentBuild`, Value: strconv.Itoa(b), Source: source(c.buildV),
			Effect: "SSPR at the sign-in screen needs Windows 10 version 1803 (build 17134) or later",
			Remedy: "update Windows", Reference: refGeneral})
	}
}

// limit is a documented setting that breaks SSPR at the sign-in screen on
// Windows 10 and 11 when it holds bad.
type limit struct {
	id, key, name string
	bad           uint32
	effect        string
	remedy        string
}

var limits = []limit{
	{"lock-screen-notifications-off", keyLockScreen, "DisableLockScreenAppNotifications", 1,
		"lock-screen app notifications are turned off, which SSPR at the sign-in screen needs", "set the policy \"Turn off app notifications on the lock screen\" to Not configured or Disabled"},
	{"hide-fast-user-switching", keySystemPolicy, "HideFastUserSwitching", 1,
		"with fast user switching hidden, the reset cannot start from the sign-in screen", "set HideFastUserSwitching to 0 or remove it"},
	{"dont-display-last-user-name", keySystemPolicy, "DontDisplayLastUserName", 1,
		"\"Interactive logon: Do not display last signed-in\" breaks the reset at the sign-in screen", "disable the policy (DontDisplayLastUserName 0)"},
	{"no-lock-screen", keyPersonalize, "NoLockScreen", 1,
		"with the lock screen turned off, the reset link does not work", "set the policy \"Do not display the lock screen\" to Not configured or Disabled"},
	{"block-non-admin-app-install", keyAppx, "BlockNonAdminUserInstall", 1,
		"blocking app installs by non-administrators breaks the sign-in screen's reset, which runs as a temporary account", "set BlockNonAdminUserInstall to 0 or remove it"},
	{"smart-card-required", keySystemPolicy, "ScForceOption", 1,
		"\"Interactive logon: Require Windows Hello for Business or smart card\" leaves no password to reset at the sign-in screen", "disable the policy (ScForceOption 0)"},
}

func (c *checker) limits() {
	if !c.modern() {
		return
	}
	for _, l := range limits {
		if n, v, ok := c.dword(l.key, l.name); ok && n == l.bad {
			c.add(Finding{ID: l.id, Severity: Blocks, Setting: l.key + `\` + l.name, Value: strconv.Itoa(int(n)), Source: source(v),
				Effect: l.effect, Remedy: l.remedy, Reference: refLimits})
		}
	}
	if n, v, ok := c.dword(keySystemPolicy, "EnableLUA"); ok && n == 0 {
		c.add(Finding{ID: "uac-disabled", Severity: Blocks, Setting: keySystemPolicy + `\EnableLUA`, Value: "0", Source: source(v),
			Effect: "with User Account Control disabled, the temporary account cannot run the reset", Remedy: "enable UAC (EnableLUA 1)", Reference: refLimits})
	}
	if s, v, ok := c.text(keyWinlogon, "Shell"); ok && !isExplorer(s) {
		c.add(Finding{ID: "custom-shell", Severity: Blocks, Setting: keyWinlogon + `\Shell`, Value: s, Source: source(v),
			Effect: "a custom shell in place of Explorer breaks the reset at the sign-in screen",
			Remedy: "restore Explorer as the shell", Reference: refLimits + "; " + notMicrosoftDoc + "Winlogon's Shell value (project DOMAIN.md)"})
	}
	// The documented combination: Ctrl+Alt+Del not required disabled on
	// Windows 10 1709 and earlier, lock-screen notifications disabled, and
	// a Home edition.
	cad, cadV, cadOK := c.dword(keySystemPolicy, "DisableCAD")
	notif, _, _ := c.dword(keyLockScreen, "DisableLockScreenAppNotifications")
	if b := c.r.Machine.Build; cadOK && cad == 0 && notif == 1 && c.r.Machine.Edition == "Core" && b > 0 && b < Build1803 {
		c.add(Finding{ID: "cad-notifications-home", Severity: Blocks, Setting: keySystemPolicy + `\DisableCAD`, Value: "0", Source: source(cadV),
			Effect: "\"Do not require Ctrl+Alt+Del\" disabled, lock-screen notifications disabled and a Home edition together break the reset on Windows 10 before 1803",
			Remedy: "update Windows, or change one of the three", Reference: refLimits})
	}
}

func (c *checker) tls() {
	// WinHTTP's protocols (KB3140245): on Windows 7 and 8.1 its default
	// lacks TLS 1.2 and DefaultSecureProtocols adds it; on Windows 10 and
	// 11 the default includes it.
	dsp, v, ok := c.dword(keyWinHTTP, "DefaultSecureProtocols")
	if ok {
		c.r.DefaultSecureProtocols = dsp
	}
	if wow, wv, wok := c.dword(keyWinHTTPWow, "DefaultSecureProtocols"); wok && (!ok || wow != dsp) {
		val := fmt.Sprintf("%#x (the 64-bit key: ", wow)
		if ok {
			val += fmt.Sprintf("%#x)", dsp)
		} else {
			val += "absent)"
		}
		c.add(Finding{ID: "secure-protocols-differ", Severity: Warning, Setting: keyWinHTTPWow + `\DefaultSecureProtocols`, Value: val, Source: source(wv),
			Effect: "32-bit and 64-bit WinHTTP offer different TLS versions", Remedy: "set the same DefaultSecureProtocols in both keys", Reference: refKB3140245})
	}
	legacy := c.r.Machine.OS == client.Windows7 || c.r.Machine.OS == client.Windows81
	// Present, the value sets WinHTTP's protocols on any Windows; absent,
	// Windows 10 and 11 offer TLS 1.2 by default and 7 and 8.1 do not.
	if (ok && dsp&client.ProtocolTLS12 == 0) || (legacy && !ok) {
		val := "(absent: Windows' default, without TLS 1.2)"
		if ok {
			val = fmt.Sprintf("%#x (no 0x800)", dsp)
		}
		c.add(Finding{ID: "winhttp-no-tls12", Severity: Blocks, Setting: keyWinHTTP + `\DefaultSecureProtocols`, Value: val, Source: source(v),
			Effect:    "WinHTTP does not offer TLS 1.2, which the SSPR service requires: the handshake fails",
			Remedy:    "install KB3140245 and set DefaultSecureProtocols to 0xA00 (TLS 1.1 and 1.2) or 0xA80, in both the 64-bit and the Wow6432Node key",
			Reference: refKB3140245})
	}
	// SCHANNEL: TLS 1.2 must be enabled, not only negotiable: Enabled
	// non-zero and DisabledByDefault 0. On Windows 7 the client side is
	// off unless both are set.
	en, ev, enOK := c.dword(keySchannel12, "Enabled")
	dbd, dv, dbdOK := c.dword(keySchannel12, "DisabledByDefault")
	disabled := (enOK && en == 0) || (dbdOK && dbd != 0) || (c.r.Machine.OS == client.Windows7 && (!enOK || !dbdOK))
	if disabled {
		c.r.TLS12Disabled = true
		val, src := "", ""
		switch {
		case enOK && en == 0:
			val, src = "Enabled=0", source(ev)
		case dbdOK && dbd != 0:
			val, src = "DisabledByDefault="+strconv.Itoa(int(dbd)), source(dv)
		default:
			val = "(absent: off by default on Windows 7)"
		}
		c.add(Finding{ID: "schannel-tls12-disabled", Severity: Blocks, Setting: keySchannel12, Value: val, Source: src,
			Effect: "the TLS 1.2 client is not enabled, only negotiable at best: connections to the SSPR service fail",
			Remedy: "set Enabled to 1 and DisabledByDefault to 0 under " + keySchannel12, Reference: refTLSRegistry})
	}
}

// isExplorer reports whether a Winlogon Shell value starts Explorer
// ("explorer.exe", with or without its path or quotes).
func isExplorer(shell string) bool {
	s := strings.Trim(strings.TrimSpace(shell), `"`)
	if i := strings.LastIndexAny(s, `\/`); i >= 0 {
		s = s[i+1:]
	}
	return strings.EqualFold(s, "explorer.exe") || strings.EqualFold(s, "explorer")
}

// exported reports whether the exports hold a key at or under path.
func (c *checker) exported(path string) bool {
	if c.in.Registry == nil {
		return false
	}
	canon, ok := c.in.Registry.Key(path)
	if ok && canon != nil {
		return true
	}
	want := strings.ToUpper(strings.TrimSuffix(path, `\`)) + `\`
	for _, k := range c.in.Registry.Keys() {
		if strings.HasPrefix(strings.ToUpper(k)+`\`, want) {
			return true
		}
	}
	return false
}

// proxies reads every proxy source and says which the accounts get.
func (c *checker) proxies() {
	r := c.r
	perMachine := false
	if n, _, ok := c.dword(keyPolicyIE, "ProxySettingsPerUser"); ok && n == 0 {
		perMachine = true
	}
	if perMachine {
		if !c.exported(keyMachineIE) {
			c.add(Finding{ID: "machine-proxy-not-exported", Severity: Warning, Setting: keyMachineIE, Value: "(not in the exports)",
				Effect: "proxy settings are per-machine (ProxySettingsPerUser 0), but the machine's Internet Settings are not in the exports: every account's proxy is unknown; it is read as direct",
				Remedy: "export " + keyMachineIE + " too", Reference: refProxy})
		}
		r.Proxies.PerMachine = c.wininet("per-machine", keyMachineIE)
		if r.Proxies.PerMachine == nil {
			r.Proxies.PerMachine = &client.ProxySetting{}
		}
	}
	userKey := keyUserIE
	if !c.exported(keyUserIE) {
		// The signed-in user's hive exported by SID (HKU\S-1-5-21-...):
		// the one user's settings there stand for HKCU.
		var sids []string
		for _, u := range c.users() {
			if strings.HasPrefix(strings.ToUpper(u), "S-1-5-21-") && !strings.HasSuffix(strings.ToUpper(u), "_CLASSES") {
				sids = append(sids, u)
			}
		}
		switch len(sids) {
		case 1:
			userKey = `HKU\` + sids[0] + `\` + subIE
			c.add(Finding{ID: "user-by-sid", Severity: Info, Setting: `HKU\` + sids[0], Value: "read as the signed-in user",
				Effect: "the signed-in user's settings come from the export of their SID's hive", Remedy: "none needed", Reference: refProxy})
		case 0:
		default:
			c.add(Finding{ID: "users-by-sid", Severity: Info, Setting: "HKU", Value: strings.Join(sids, ", "),
				Effect: "several users' hives are in the exports; none is read as the signed-in user", Remedy: "export the signed-in user's settings as HKCU", Reference: refProxy})
		}
	}
	r.Proxies.PerUser = c.wininet("per-user", userKey)
	c.def = c.in.DefaultProfile
	if c.def == "" {
		c.def = c.findDefaultProfile()
	}
	if c.def != "" {
		r.Proxies.DefaultProfile = c.wininet("default-profile", `HKU\`+c.def+`\`+subIE)
	}
	r.Proxies.WinHTTP = c.winhttp()

	p := client.Profile{Proxy: r.Proxies}
	describe := func(s *client.ProxySetting, src string) string {
		out := "direct"
		if s != nil && s.Server != "" {
			out = "proxy " + s.Server + " (" + src + ")"
		}
		if a := c.auto[src]; a != "" {
			out = a + " (" + src + "), else " + out
		}
		return out
	}
	p.Account = client.AccountDefaultUser1
	s, src := p.FlowProxy()
	r.TemporaryAccount = describe(s, src)
	tempSrc := src
	p.Account = client.AccountUser
	s, src = p.FlowProxy()
	r.SignedInUser = describe(s, src)

	tempProxy := tempSrc != client.SourceNone && r.TemporaryAccount != "direct"
	userProxy := src == client.SourcePerUser && r.SignedInUser != "direct"
	switch {
	case userProxy && !tempProxy:
		at := c.from["per-user"]
		c.add(Finding{ID: "per-user-proxy-only", Severity: Warning, Setting: at.setting, Value: r.SignedInUser, Source: source(at.v),
			Effect:    "the signed-in user's proxy is per-user: the temporary account at the sign-in screen (defaultuser1) does not get it and connects directly; where the firewall blocks direct egress, SSPR fails with \"Something went wrong\"",
			Remedy:    "make proxy settings per-machine (ProxySettingsPerUser 0) or set the proxy in the Default profile, and let the SSPR hosts through it without authentication",
			Reference: refProxy})
	case tempProxy:
		c.add(Finding{ID: "temporary-account-proxy", Severity: Info, Setting: "proxy of the temporary account", Value: r.TemporaryAccount,
			Effect:    "the temporary account uses this proxy without credentials: if it asks for authentication, SSPR fails with \"Something went wrong\"",
			Remedy:    "let passwordreset.microsoftonline.com, ajax.aspnetcdn.com and the OCSP and CRL hosts through this proxy without authentication",
			Reference: refProxy})
	}
}

// users are the HKU subkeys in the exports.
func (c *checker) users() []string {
	if c.in.Registry == nil {
		return nil
	}
	return c.in.Registry.Users()
}

// wininet reads a WinINet location: the Connections blob when present
// (what Internet Options writes), else the text values; nil when neither
// is there. A PAC URL or auto-detect is kept in the setting (the client
// fetches and evaluates the PAC file) and reported as a finding, since
// what the PAC file answers is not in the export.
func (c *checker) wininet(src, key string) *client.ProxySetting {
	enable, _, enOK := c.dword(key, "ProxyEnable")
	server, sv, _ := c.text(key, "ProxyServer")
	c.from[src] = readAt{key + `\ProxyServer`, sv}
	override, _, _ := c.text(key, "ProxyOverride")
	pac, pv, pacOK := c.text(key, "AutoConfigURL")
	bv, blobOK := c.value(key+keyConnections, "DefaultConnectionSettings")
	var set *client.ProxySetting
	if enOK {
		set = &client.ProxySetting{}
		if enable != 0 && server != "" {
			set.Server, set.Bypass = server, splitBypass(override)
		}
	}
	if blobOK {
		cs, err := winproxy.ParseConnectionSettings(bv.Data)
		if err != nil {
			c.add(Finding{ID: "connection-settings-unreadable", Severity: Warning, Setting: key + keyConnections + `\DefaultConnectionSettings`,
				Value: err.Error(), Source: source(bv), Effect: "the " + src + " proxy settings' binary form could not be read; the text values are used",
				Remedy: "export the key again", Reference: refProxy + "; " + notMicrosoftDoc + "the blob's layout (.NET reference source, _ProxyRegBlob.cs)"})
		} else {
			detect := cs.Flags&winproxy.AutoDetect != 0
			fromBlob := &client.ProxySetting{AutoDetect: &detect}
			if cs.Flags&winproxy.Proxy != 0 && cs.Proxy != "" {
				fromBlob.Server, fromBlob.Bypass = cs.Proxy, splitBypass(cs.Bypass)
			}
			if cs.Flags&winproxy.AutoProxyURL != 0 {
				fromBlob.AutoConfigURL = strings.TrimSpace(cs.AutoConfigURL)
			}
			if set != nil && (set.Server != fromBlob.Server) {
				c.add(Finding{ID: "text-and-blob-differ", Severity: Info, Setting: key + keyConnections + `\DefaultConnectionSettings`,
					Value: fmt.Sprintf("blob %q, text %q", fromBlob.Server, set.Server), Source: source(bv),
					Effect: "the " + src + " proxy's text values and its binary form disagree; the binary form is used here (which one Windows uses is not verified)",
					Remedy: "set the proxy again through Internet Options or Group Policy, which write both", Reference: refProxy})
			}
			set = fromBlob
			c.from[src] = readAt{key + keyConnections + `\DefaultConnectionSettings`, bv}
			var auto []string
			if cs.Flags&winproxy.AutoDetect != 0 {
				auto = append(auto, "auto-detect (WPAD)")
			}
			if cs.Flags&winproxy.AutoProxyURL != 0 && cs.AutoConfigURL != "" {
				auto = append(auto, "PAC "+cs.AutoConfigURL)
			}
			if len(auto) > 0 {
				c.auto[src] = strings.Join(auto, ", then ")
			}
			if len(auto) > 0 {
				c.add(Finding{ID: "automatic-proxy", Severity: Info, Setting: key + keyConnections + `\DefaultConnectionSettings`,
					Value: cs.Effective().String(), Source: source(bv),
					Effect: "the " + src + " settings use automatic configuration (WPAD or a PAC file), tried before the fixed proxy: the profile keeps them, and which proxy applies depends on the PAC file, which the export does not hold (WPAD also needs the profile's dnsSuffix)",
					Remedy: "check that the PAC file returns a proxy that lets the SSPR hosts through, or DIRECT where the firewall allows it: egresslab probe --pac URL", Reference: refProxy})
			}
		}
	} else if pacOK && pac != "" {
		c.auto[src] = "PAC " + pac
		if set == nil {
			set = &client.ProxySetting{}
		}
		set.AutoConfigURL = strings.TrimSpace(pac)
		c.add(Finding{ID: "automatic-proxy", Severity: Info, Setting: key + `\AutoConfigURL`, Value: pac, Source: source(pv),
			Effect: "the " + src + " settings use a PAC file, tried before the fixed proxy: the profile keeps it, and which proxy applies depends on the PAC file, which the export does not hold",
			Remedy: "check that the PAC file returns a proxy that lets the SSPR hosts through: egresslab probe --pac URL", Reference: refProxy})
	}
	return set
}

// winhttp reads WinHTTP's proxy: netsh's output when given, else the
// WinHttpSettings blob.
func (c *checker) winhttp() *client.ProxySetting {
	var w *winproxy.WinHTTPProxy
	if c.in.Netsh != nil {
		w = c.in.Netsh
	} else if v, ok := c.value(keyMachineIE+keyConnections, "WinHttpSettings"); ok {
		p, err := winproxy.ParseWinHTTPSettings(v.Data)
		if err != nil {
			c.add(Finding{ID: "winhttp-settings-unreadable", Severity: Warning, Setting: keyMachineIE + keyConnections + `\WinHttpSettings`,
				Value: err.Error(), Source: source(v), Effect: "WinHTTP's proxy could not be read", Remedy: "give the output of netsh winhttp show proxy instead",
				Reference: refProxy})
			return nil
		}
		w = &p
	}
	if w == nil {
		return nil
	}
	if w.Direct || w.Proxy == "" {
		return &client.ProxySetting{}
	}
	return &client.ProxySetting{Server: w.Proxy, Bypass: splitBypass(w.Bypass)}
}

// findDefaultProfile is the one HKU subkey with Internet Settings that is
// neither .DEFAULT (the system account's) nor a SID.
func (c *checker) findDefaultProfile() string {
	if c.in.Registry == nil {
		return ""
	}
	var found []string
	for _, u := range c.in.Registry.Users() {
		if strings.EqualFold(u, ".DEFAULT") || strings.HasPrefix(strings.ToUpper(u), "S-1-") {
			continue
		}
		if _, ok := c.in.Registry.Key(`HKU\` + u + `\` + subIE); ok {
			found = append(found, u)
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	if len(found) > 1 {
		c.add(Finding{ID: "default-profile-ambiguous", Severity: Warning, Setting: "HKU", Value: strings.Join(found, ", "),
			Effect: "several loaded profiles hold Internet Settings: which is the Default profile template cannot be told, and the temporary account's settings are read as absent",
			Remedy: "name it with --default-profile", Reference: refProxy})
	}
	return ""
}

// splitBypass splits ProxyOverride (";"-separated; netsh and some exports
// use spaces too).
func splitBypass(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Profile is the client section the settings imply, for the lab: the
// temporary account (defaultuser1) on this Windows, with every proxy
// source found, WinHTTP's DefaultSecureProtocols, TLS 1.2 off when
// SCHANNEL disables it, resetting userID's password to newPassword (a
// user of the lab's directory).
func (r *Report) Profile(userID, newPassword string) client.Profile {
	p := client.Profile{OS: r.Machine.OS, Account: client.AccountDefaultUser1, UserID: userID, NewPassword: newPassword,
		Proxy: client.ProxySources{PerUser: clone(r.Proxies.PerUser), PerMachine: clone(r.Proxies.PerMachine),
			DefaultProfile: clone(r.Proxies.DefaultProfile), WinHTTP: clone(r.Proxies.WinHTTP)}}
	if p.OS == "" {
		p.OS = client.Windows10
	}
	if r.Machine.DNSSuffix != "" && len(pac.WPADCandidates(r.Machine.DNSSuffix)) > 0 {
		p.DNSSuffix = r.Machine.DNSSuffix
	}
	p.TLS.DefaultSecureProtocols = r.DefaultSecureProtocols
	if r.TLS12Disabled {
		p.TLS.Max = "1.1"
	}
	return p
}

// clone copies a setting, giving a bare host WinINet's default port (80).
func clone(s *client.ProxySetting) *client.ProxySetting {
	if s == nil {
		return nil
	}
	c := &client.ProxySetting{Server: s.Server, Bypass: slices.Clone(s.Bypass), AutoConfigURL: s.AutoConfigURL}
	if s.AutoDetect != nil {
		d := *s.AutoDetect
		c.AutoDetect = &d
	}
	if strings.Contains(c.Server, "=") {
		// The per-protocol form: the client takes its http and https
		// entries (the flow needs no other).
		var keep []string
		for _, e := range strings.Split(c.Server, ";") {
			if k, _, ok := strings.Cut(strings.TrimSpace(e), "="); ok && (strings.EqualFold(k, "http") || strings.EqualFold(k, "https")) {
				keep = append(keep, strings.TrimSpace(e))
			}
		}
		c.Server = strings.Join(keep, ";")
	}
	if c.Server != "" && !strings.Contains(c.Server, "=") && !strings.Contains(c.Server, "://") {
		if _, _, err := net.SplitHostPort(c.Server); err != nil {
			c.Server += ":80"
		}
	}
	return c
}
