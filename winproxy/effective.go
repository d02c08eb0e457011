package winproxy

import "strings"

// Kind is how an account's WinINet traffic finds its proxy.
type Kind string

// The kinds, in the order WinINet tries them.
const (
	KindAutoDetect Kind = "auto-detect" // WPAD: look for a PAC file (DHCP, DNS)
	KindPAC        Kind = "pac"         // download the autoconfig (PAC) URL
	KindProxy      Kind = "proxy"       // a fixed proxy server
	KindDirect     Kind = "direct"      // no proxy
)

// Setting is what a WinINet connection setting means for a connection to
// an https URL (the sign-in screen's traffic): each method the account
// would try, in order. The zero Setting is direct.
type Setting struct {
	// AutoDetect: WPAD is tried first (flag auto-detect).
	AutoDetect bool
	// PACURL is the autoconfig URL tried next (flag auto-proxy-url and a
	// URL set), or "".
	PACURL string
	// Proxy is the fixed proxy ("host:port" as stored) used for https
	// (flag proxy), or "" when there is none for https.
	Proxy string
	// Bypass is the bypass list as stored ("<local>;*.contoso.com") when
	// Proxy is set, else "".
	Bypass string
}

// Effective returns what c means for https traffic. The order — WPAD,
// then the PAC URL, then the fixed proxy, then direct — is that of the
// Internet Options dialog and of the INTERNET_PER_CONN_FLAGS bits
// (Microsoft Learn, INTERNET_PER_CONN_OPTION); that WinINet tries them in
// this order, each one falling back to the next, is assumed (order
// assumed), not confirmed from a Microsoft page.
//
// The https proxy of a per-protocol ProxyServer ("http=a:1;https=b:2",
// entries separated by ';' or spaces) is the "https=" entry, else an entry
// without "=" if there is one; with neither, https has no fixed proxy
// (like the client package's proxy routing). Addresses are not validated
// here: client.ProxySetting does that.
func (c ConnectionSettings) Effective() Setting {
	var s Setting
	s.AutoDetect = c.Flags&AutoDetect != 0
	if c.Flags&AutoProxyURL != 0 {
		s.PACURL = strings.TrimSpace(c.AutoConfigURL)
	}
	if c.Flags&Proxy != 0 {
		s.Proxy = httpsProxy(c.Proxy)
		if s.Proxy != "" {
			s.Bypass = strings.TrimSpace(c.Bypass)
		}
	}
	return s
}

// Kind is the first method the account tries.
func (s Setting) Kind() Kind {
	switch {
	case s.AutoDetect:
		return KindAutoDetect
	case s.PACURL != "":
		return KindPAC
	case s.Proxy != "":
		return KindProxy
	}
	return KindDirect
}

// String lists the methods in order, e.g. "auto-detect, then pac
// http://wpad/proxy.pac, then proxy p.example:8080 (bypass <local>)", or
// "direct".
func (s Setting) String() string {
	var parts []string
	if s.AutoDetect {
		parts = append(parts, string(KindAutoDetect))
	}
	if s.PACURL != "" {
		parts = append(parts, string(KindPAC)+" "+s.PACURL)
	}
	if s.Proxy != "" {
		p := string(KindProxy) + " " + s.Proxy
		if s.Bypass != "" {
			p += " (bypass " + s.Bypass + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return string(KindDirect)
	}
	return strings.Join(parts, ", then ")
}

// httpsProxy picks the proxy for https from a ProxyServer string.
func httpsProxy(server string) string {
	server = strings.TrimSpace(server)
	if !strings.Contains(server, "=") {
		return server
	}
	bare := ""
	for _, part := range strings.FieldsFunc(server, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		scheme, addr, ok := strings.Cut(part, "=")
		if !ok {
			if bare == "" {
				bare = part
			}
			continue
		}
		if strings.EqualFold(strings.TrimSpace(scheme), "https") && strings.TrimSpace(addr) != "" {
			return strings.TrimSpace(addr)
		}
	}
	return bare
}
