package probe

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/winproxy"
)

// Registry reads Windows registry values. Keys are full paths with the
// root abbreviated ("HKLM\SOFTWARE\...", "HKCU\...", "HKU\..."), names
// are value names; both match without regard to case, as Windows does.
// The data is a string (REG_SZ, REG_EXPAND_SZ), a uint32 (REG_DWORD) or
// a []byte (REG_BINARY); ok is false when the key or the value is absent.
// On Windows, [OpenRegistry] reads the live registry; tests use a
// [MapRegistry].
type Registry interface {
	Value(key, name string) (data any, ok bool)
}

// MapRegistry is a Registry in memory: key -> value name -> data.
type MapRegistry map[string]map[string]any

// Value implements Registry.
func (m MapRegistry) Value(key, name string) (any, bool) {
	for k, vals := range m {
		if !strings.EqualFold(k, key) {
			continue
		}
		for n, d := range vals {
			if strings.EqualFold(n, name) {
				return d, true
			}
		}
	}
	return nil, false
}

// Registry locations of the proxy settings (DOMAIN.md, "Windows settings
// a help desk can read"; Microsoft's "Enable SSPR at the Windows sign-in
// screen" and the WinINet INTERNET_PER_CONN_OPTION documentation).
const (
	// KeyPolicy holds ProxySettingsPerUser: 0 makes the machine's
	// settings apply to every account (GPO "Make proxy settings
	// per-machine").
	KeyPolicy = `HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`
	// KeyMachine holds the per-machine WinINet settings.
	KeyMachine = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings`
	// KeyUser holds the signed-in user's WinINet settings.
	KeyUser = `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
	// KeyDefaultProfile holds the Default profile template's settings
	// once it is loaded with
	//   reg load HKU\DefaultProfile C:\Users\Default\NTUSER.DAT
	// (it is not loaded otherwise: without it the template is not read).
	KeyDefaultProfile = `HKU\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
	// KeyConnections is the subkey of the binary forms.
	KeyConnections = `\Connections`
)

// SystemSources reads the proxy sources Windows has from reg: the
// per-user WinINet settings, the per-machine ones when the policy makes
// them apply (ProxySettingsPerUser=0), the Default profile template's
// when loaded (KeyDefaultProfile), and WinHTTP's (WinHttpSettings). Which
// one applies to an account is client.Profile.FlowProxy's rule, not this
// function's; a setting's AutoConfigURL and AutoDetect are kept for the
// probe's proxy auto-configuration (WPAD also needs the profile's
// DNSSuffix: SystemDNSSuffix). Notes say what was read.
func SystemSources(reg Registry) (client.ProxySources, []string) {
	var s client.ProxySources
	var notes []string
	read := func(what, key string) *client.ProxySetting {
		set, note := wininet(reg, key)
		if note != "" && note != "direct" {
			notes = append(notes, what+": "+note)
		}
		return set
	}
	s.PerUser = read("per-user", KeyUser)
	if v, ok := dword(reg, KeyPolicy, "ProxySettingsPerUser"); ok && v == 0 {
		s.PerMachine = read("per-machine", KeyMachine)
		if s.PerMachine == nil {
			s.PerMachine = &client.ProxySetting{}
		}
		notes = append(notes, "ProxySettingsPerUser=0: the machine's proxy settings apply to every account")
	}
	s.DefaultProfile = read("default-profile", KeyDefaultProfile)
	if b, ok := reg.Value(KeyMachine+KeyConnections, "WinHttpSettings"); ok {
		if raw, ok := b.([]byte); ok {
			w, err := winproxy.ParseWinHTTPSettings(raw)
			switch {
			case err != nil:
				notes = append(notes, "winhttp: "+err.Error())
			case w.Direct || w.Proxy == "":
				s.WinHTTP = nil // direct: revocation fetches follow the flow's route
			default:
				s.WinHTTP = &client.ProxySetting{Server: w.Proxy, Bypass: splitList(w.Bypass)}
			}
		}
	}
	return s, notes
}

// wininet reads one account's (or the machine's) WinINet settings: the
// binary DefaultConnectionSettings when present (what the Internet
// Options dialog writes: the proxy, the PAC URL, automatic detection),
// else ProxyEnable, ProxyServer, ProxyOverride and AutoConfigURL. Which of
// the two Windows prefers when they disagree is not verified. nil means
// nothing is set there.
func wininet(reg Registry, key string) (*client.ProxySetting, string) {
	var note string
	if b, ok := reg.Value(key+KeyConnections, "DefaultConnectionSettings"); ok {
		if raw, ok := b.([]byte); ok {
			cs, err := winproxy.ParseConnectionSettings(raw)
			if err == nil {
				eff := cs.Effective()
				detect := eff.AutoDetect
				set := &client.ProxySetting{AutoConfigURL: eff.PACURL, AutoDetect: &detect}
				if eff.Proxy != "" {
					set.Server, set.Bypass = eff.Proxy, splitList(eff.Bypass)
				}
				return set, eff.String()
			}
			note = "DefaultConnectionSettings: " + err.Error() + "; the text values are used"
		}
	}
	enable, ok := dword(reg, key, "ProxyEnable")
	pacURL, _ := text(reg, key, "AutoConfigURL")
	if !ok && pacURL == "" {
		return nil, note
	}
	// Without the binary form, automatic detection is unknown: nil, which
	// client.ProxySetting takes as on (a new profile's default).
	set := &client.ProxySetting{AutoConfigURL: pacURL}
	if server, _ := text(reg, key, "ProxyServer"); enable != 0 && server != "" {
		bypass, _ := text(reg, key, "ProxyOverride")
		set.Server, set.Bypass = server, splitList(bypass)
	}
	return set, note
}

// KeyTCPIP holds the machine's primary DNS suffix (Domain, or NV Domain),
// where WPAD's DNS discovery starts.
const KeyTCPIP = `HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`

// SystemDNSSuffix returns the machine's primary DNS suffix from reg
// (client.Profile.DNSSuffix), or "".
func SystemDNSSuffix(reg Registry) string {
	for _, name := range []string{"Domain", "NV Domain"} {
		if v, _ := text(reg, KeyTCPIP, name); v != "" {
			return v
		}
	}
	return ""
}

func dword(reg Registry, key, name string) (uint32, bool) {
	d, ok := reg.Value(key, name)
	v, isDW := d.(uint32)
	return v, ok && isDW
}

func text(reg Registry, key, name string) (string, bool) {
	d, ok := reg.Value(key, name)
	v, isText := d.(string)
	return strings.TrimSpace(v), ok && isText
}

// splitList splits a ;-separated list (ProxyOverride), dropping empty
// entries.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ";") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// EnvSources reads the proxy of the environment, as curl and Go do
// (HTTPS_PROXY, then HTTP_PROXY, upper or lower case; NO_PROXY), into the
// per-machine source: on Linux the environment applies to every account.
// getenv is os.Getenv in a program. A proxy URL with credentials is an
// error that does not repeat them.
func EnvSources(getenv func(string) string) (client.ProxySources, error) {
	var s client.ProxySources
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	raw := get("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
	if raw == "" {
		return s, nil
	}
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return s, fmt.Errorf("the environment's proxy URL carries credentials: give them with --user and --password-file instead")
	}
	var bypass []string
	for _, b := range strings.Split(get("NO_PROXY", "no_proxy"), ",") {
		b = strings.TrimSpace(b)
		switch {
		case b == "":
		case strings.HasPrefix(b, "."):
			bypass = append(bypass, "*"+b)
		case b == "*":
			return s, nil // everything direct
		case strings.ContainsAny(b, "/:"):
			// A CIDR or a port: WinINet's bypass list has neither.
		default:
			bypass = append(bypass, b)
		}
	}
	// The environment has no automatic detection.
	s.PerMachine = &client.ProxySetting{Server: raw, Bypass: bypass, AutoDetect: new(bool)}
	return s, nil
}
