package labserver

import (
	"fmt"
	"net"
	"strings"
)

// Connect is what a person needs to point a client at a served lab,
// ready to copy: what `egresslab serve` prints on start and the
// dashboard shows.
type Connect struct {
	ProxyURL     string `json:"proxyURL"`
	DashboardURL string `json:"dashboardURL"`
	// RootPEM is the path of the lab's trusted root, for --cacert and
	// for a browser's or a machine's trust store.
	RootPEM string `json:"rootPEM"`
	Curl    string `json:"curl"`
	// Chromium: the trust (NSS, once per profile) and the launch line.
	Chromium []string `json:"chromium"`
	// Windows: WinHTTP's proxy (CryptoAPI's revocation fetches), the
	// per-machine policy (every account, defaultuser1 included) and the
	// proxy it applies, and the root in the machine's store.
	Windows []string `json:"windows"`
	// Exposed: the proxy listens beyond loopback, reachable from the
	// network.
	Exposed bool `json:"exposed"`
}

// ConnectLines builds the lines for a proxy listening on proxyAddr, a
// dashboard at dashboardURL and the root's PEM file at rootPEM. An
// unspecified listening address (0.0.0.0, ::) is printed as HOST: the
// machine's address as the client sees it.
func ConnectLines(proxyAddr net.Addr, dashboardURL, rootPEM string) Connect {
	host, port, _ := net.SplitHostPort(proxyAddr.String())
	exposed := true
	if tcp, ok := proxyAddr.(*net.TCPAddr); ok {
		exposed = !tcp.IP.IsLoopback()
		if tcp.IP.IsUnspecified() {
			host = "HOST"
		}
	}
	hp := net.JoinHostPort(host, port)
	proxyURL := "http://" + hp
	winPEM := "egresslab-root.pem"
	c := Connect{
		ProxyURL:     proxyURL,
		DashboardURL: dashboardURL,
		RootPEM:      rootPEM,
		Curl:         fmt.Sprintf("curl -x %s --cacert %s https://passwordreset.microsoftonline.com/n/passwordreset", proxyURL, shellQuote(rootPEM)),
		Chromium: []string{
			fmt.Sprintf(`certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n egresslab -i %s`, shellQuote(rootPEM)),
			fmt.Sprintf("chromium --proxy-server=%s --disable-background-networking https://passwordreset.microsoftonline.com/n/passwordreset", proxyURL),
		},
		Windows: []string{
			fmt.Sprintf(`netsh winhttp set proxy proxy-server="%s" bypass-list="<local>"`, hp),
			`reg add "HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings" /v ProxySettingsPerUser /t REG_DWORD /d 0 /f`,
			`reg add "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings" /v ProxyEnable /t REG_DWORD /d 1 /f`,
			fmt.Sprintf(`reg add "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings" /v ProxyServer /t REG_SZ /d %s /f`, hp),
			fmt.Sprintf(`certutil -addstore -f Root %s   (copy %s to the machine first)`, winPEM, rootPEM),
		},
		Exposed: exposed,
	}
	return c
}

// Lines is the text form, one labelled line each.
func (c Connect) Lines() string {
	var b strings.Builder
	fmt.Fprintf(&b, "proxy:      %s\n", c.ProxyURL)
	if c.Exposed {
		fmt.Fprintf(&b, "            (listening beyond loopback: reachable from the network)\n")
	}
	fmt.Fprintf(&b, "dashboard:  %s\n", c.DashboardURL)
	fmt.Fprintf(&b, "root PEM:   %s\n", c.RootPEM)
	fmt.Fprintf(&b, "\ncurl:\n  %s\n", c.Curl)
	fmt.Fprintf(&b, "\nChromium (trust the root once per profile, then start it through the lab):\n")
	for _, l := range c.Chromium {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "\nWindows (as an administrator: WinHTTP, the per-machine proxy policy, the root):\n")
	for _, l := range c.Windows {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
