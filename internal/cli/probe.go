package cli

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/pac"
	"github.com/egresslab/egresslab/probe"
)

// passwordEnv is the environment variable a proxy password may come from.
const passwordEnv = "EGRESSLAB_PROXY_PASSWORD"

// maxPasswordFile bounds --password-file.
const maxPasswordFile = 4 << 10

// probeNetwork is the network probe runs on: the system's dialer and
// resolver. The package's tests replace it, once, before any test runs,
// with a dialer that reaches loopback only and a resolver that knows no
// name.
var probeNetwork = func() (client.DialFunc, probe.Resolver) {
	var d net.Dialer
	return d.DialContext, net.DefaultResolver
}

type probeOptions struct {
	as, user, passwordFile         string
	proxy, pacSrc, dnsSuffix       string
	wpad, system, extended, schema bool
	connectTo, issuers             []string
	caFile, format, junit, osName  string
	revocation                     string
	timeout                        time.Duration
}

func newProbe(getenv func(string) string) *cobra.Command {
	var o probeOptions
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Check this machine's egress to the endpoints SSPR at the sign-in screen needs, as the temporary account or the user",
		Long: `Check, from this machine, what the SSPR flow at the Windows sign-in screen
needs from the network, as the account imitated would reach it:
--as temporary (defaultuser1: no proxy credentials) or --as user (the
signed-in user's credentials, --user DOMAIN\name; the password from
--password-file, the environment variable ` + passwordEnv + `, or a
prompt; never from a flag's value).

For passwordreset.microsoftonline.com:443, ajax.aspnetcdn.com:443 and :80,
ocsp.digicert.com:80, crl3.digicert.com:80 and crl4.digicert.com:80
(--extended adds the wider Microsoft identity list) it reports the DNS
answer, TCP reach (direct, or through which proxy), the proxy's answer to
CONNECT (status, Proxy-Authenticate schemes, X-Squid-Error), the TLS
versions accepted (TLS 1.0 to 1.3; Windows 7's default is TLS 1.0 only),
the certificate chain and whether a device re-signs it (HTTPS
inspection), the OCSP and CRL fetches of the chains, and whether the
portal's page loads its CDN script with its integrity hash. It never
resets a password. Then a verdict per cause, with its remedy.

The proxy, as Windows would find it (one of):
  --proxy URL      a proxy for every account
  --pac URL|FILE   a PAC script; its entries are tried in order, the next
                   only when a proxy cannot be connected to (WinHTTP)
  --wpad           WPAD discovery: http://wpad.<domain>/wpad.dat for
                   --dns-suffix and its parents (DHCP option 252 is not used)
  --system         on Windows, the WinINet per-user and per-machine and the
                   WinHTTP settings from the registry (the temporary account
                   gets only per-machine or Default profile settings; the
                   Default profile is read when loaded first with
                     reg load HKU\DefaultProfile C:\Users\Default\NTUSER.DAT);
                   on other systems HTTPS_PROXY/HTTP_PROXY/NO_PROXY, which
                   apply to every account; a setting's automatic detection
                   (WPAD, from the machine's DNS suffix or --dns-suffix) and
                   PAC URL are used as Windows uses them
  none of them     direct connections

Exit status: 0 when SSPR would work for the account, 1 when not, 2 for
invalid input.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.schema {
				b, err := probe.Schema()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			return runProbe(cmd.Context(), o, getenv, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.as, "as", "temporary", "the account imitated: temporary (defaultuser1, no proxy credentials) or user")
	f.StringVar(&o.user, "user", "", `the user's proxy account, DOMAIN\name or name (with --as user)`)
	f.StringVar(&o.passwordFile, "password-file", "", "read the user's proxy password from the first line of `FILE`")
	f.StringVar(&o.proxy, "proxy", "", "the proxy, http://host:port or host:port")
	f.StringVar(&o.pacSrc, "pac", "", "a PAC script: an http(s) `URL` or a FILE")
	f.BoolVar(&o.wpad, "wpad", false, "discover a PAC script with WPAD (needs --dns-suffix)")
	f.StringVar(&o.dnsSuffix, "dns-suffix", "", "the DNS `domain` WPAD walks up from (corp.contoso.com), for --wpad and --system")
	f.BoolVar(&o.system, "system", false, "the system's proxy settings (Windows registry; elsewhere the environment)")
	f.StringArrayVar(&o.connectTo, "connect-to", nil, "`NAME:PORT=HOST:PORT`: reach NAME:PORT at HOST:PORT, TLS still naming NAME (as curl's --connect-to; repeatable)")
	f.StringVar(&o.caFile, "ca-file", "", "also trust the roots in PEM `FILE`")
	f.StringArrayVar(&o.issuers, "issuer", nil, "an expected issuer of the service's certificates (common name or organization; repeatable; default "+strings.Join(client.DefaultServiceIssuers, ", ")+")")
	f.BoolVar(&o.extended, "extended", false, "also check the wider Microsoft identity endpoints")
	f.StringVar(&o.osName, "os", string(client.Windows10), "the Windows imitated, for its TLS versions: "+joinOSes())
	f.StringVar(&o.revocation, "revocation", string(client.RevocationSoftFail), "revocation policy imitated: soft-fail (Windows' default), hard-fail or off")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.junit, "junit", "", "also write a JUnit XML report to `FILE`")
	f.DurationVar(&o.timeout, "timeout", probe.DefaultRequestTimeout, "bound on each request (a connection gets at most 10s of it)")
	f.BoolVar(&o.schema, "schema", false, "print the JSON Schema of --format json's report and exit")
	return cmd
}

func joinOSes() string {
	var s []string
	for _, o := range client.OSes() {
		s = append(s, string(o))
	}
	return strings.Join(s, ", ")
}

func runProbe(ctx context.Context, o probeOptions, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.format != "text" && o.format != "json" {
		return usagef("--format: unknown format %q (want text or json)", o.format)
	}
	if o.timeout <= 0 {
		return usagef("--timeout: %v is not positive", o.timeout)
	}
	sources := 0
	for _, set := range []bool{o.proxy != "", o.pacSrc != "", o.wpad, o.system} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return usagef("--proxy, --pac, --wpad and --system are exclusive: give one")
	}
	if o.wpad && o.dnsSuffix == "" {
		return usagef("--wpad needs --dns-suffix (the domain to look for wpad.<domain> in)")
	}
	if !o.wpad && !o.system && o.dnsSuffix != "" {
		return usagef("--dns-suffix is for --wpad and --system")
	}
	prof := client.Profile{OS: client.OS(o.osName), Revocation: client.Revocation(o.revocation)}
	if !validOS(prof.OS) {
		return usagef("--os: unknown Windows %q (want %s)", o.osName, joinOSes())
	}
	switch prof.Revocation {
	case client.RevocationSoftFail, client.RevocationHardFail, client.RevocationOff:
	default:
		return usagef("--revocation: unknown policy %q (want soft-fail, hard-fail or off)", o.revocation)
	}
	switch o.as {
	case "temporary":
		prof.Account = client.AccountDefaultUser1
		if o.user != "" || o.passwordFile != "" {
			return usagef("--user and --password-file are for --as user: the temporary account has no proxy credentials")
		}
	case "user":
		prof.Account = client.AccountUser
		creds, err := probeCredentials(o, getenv, stdin, stderr)
		if err != nil {
			return err
		}
		prof.Credentials = creds
	default:
		return usagef("--as: unknown account %q (want temporary or user)", o.as)
	}
	connect := min(probe.DefaultConnectTimeout, o.timeout)
	prof.Timeouts = client.Timeouts{Connect: connect, Request: o.timeout}
	cfg := probe.Config{Extended: o.extended, Issuers: o.issuers}
	var err error
	if cfg.ConnectTo, err = probe.ParseConnectTo(o.connectTo); err != nil {
		return usagef("--connect-to: %v", err)
	}
	if o.caFile != "" {
		if cfg.Roots, err = rootsWith(o.caFile); err != nil {
			return usagef("--ca-file: %v", err)
		}
	}
	cfg.Dial, cfg.Resolver = probeNetwork()
	var notes []string
	switch {
	case o.proxy != "":
		cfg.Proxy = &client.ProxySetting{Server: o.proxy}
	case o.system:
		var n []string
		if prof.Proxy, prof.DNSSuffix, n, err = systemSources(getenv); err != nil {
			return usagef("--system: %v", err)
		}
		if o.dnsSuffix != "" {
			prof.DNSSuffix = o.dnsSuffix
		}
		notes = append(notes, n...)
	case o.wpad, strings.HasPrefix(o.pacSrc, "http://"), strings.HasPrefix(o.pacSrc, "https://"):
		// As Windows' settings: the probe discovers or fetches the PAC
		// file directly, and falls back to a direct connection when it
		// cannot have it (pac-unavailable, pac-script-error).
		yes := o.wpad
		prof.Proxy.PerMachine = &client.ProxySetting{AutoDetect: &yes, AutoConfigURL: o.pacSrc}
		prof.DNSSuffix = o.dnsSuffix
	case o.pacSrc != "":
		src, err := readLimited(o.pacSrc, pac.MaxScriptSize)
		if err != nil {
			return usagef("--pac: %v", err)
		}
		if cfg.PAC, err = pac.Compile(o.pacSrc, src, pac.WithResolver(cfg.Resolver)); err != nil {
			return usagef("--pac: %v", err)
		}
		cfg.PACSource, cfg.PACURL = probe.SourcePAC, o.pacSrc
	}
	cfg.Profile = prof
	// A --junit path that cannot be written is bad input, found before
	// anything is dialled.
	var junitFile *os.File
	if o.junit != "" {
		if junitFile, err = os.Create(o.junit); err != nil {
			return usagef("--junit: %v", err)
		}
		defer junitFile.Close()
	}
	r, err := probe.Run(ctx, cfg)
	if err != nil {
		if o.proxy != "" {
			return usagef("--proxy: %v", err)
		}
		return usageError{err}
	}
	r.Notes = append(notes, r.Notes...)
	if o.format == "json" {
		err = probe.WriteJSON(stdout, r)
	} else {
		marks := probe.PlainMarks
		if isTerminal(stdout) {
			marks = probe.TerminalMarks
		}
		err = probe.WriteText(stdout, r, marks)
	}
	if err != nil {
		return err
	}
	if junitFile != nil {
		if err := probe.WriteJUnit(junitFile, r); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if !r.Works {
		return errFailed
	}
	return nil
}

func validOS(o client.OS) bool {
	for _, k := range client.OSes() {
		if k == o {
			return true
		}
	}
	return false
}

// probeCredentials builds the user's proxy credentials: the name from
// --user, the password from --password-file, the environment, or a
// prompt on a terminal (without echo), in that order.
func probeCredentials(o probeOptions, getenv func(string) string, stdin io.Reader, stderr io.Writer) (*client.Credentials, error) {
	if o.user == "" {
		return nil, usagef(`--as user needs --user DOMAIN\name`)
	}
	c := &client.Credentials{Username: o.user}
	if dom, name, ok := strings.Cut(o.user, `\`); ok {
		if dom == "" || name == "" {
			return nil, usagef(`--user: %q is not DOMAIN\name`, o.user)
		}
		c.Domain, c.Username = dom, name
	}
	switch {
	case o.passwordFile != "":
		f, err := os.Open(o.passwordFile)
		if err != nil {
			return nil, usagef("--password-file: %v", err)
		}
		defer f.Close()
		line, err := bufio.NewReader(io.LimitReader(f, maxPasswordFile)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, usagef("--password-file: %v", err)
		}
		c.Password = strings.TrimRight(line, "\r\n")
		if c.Password == "" {
			return nil, usagef("--password-file: %s has no password on its first line", o.passwordFile)
		}
	case getenv(passwordEnv) != "":
		c.Password = getenv(passwordEnv)
	default:
		f, ok := stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil, usagef("--as user needs a password: --password-file FILE, %s, or a terminal to prompt on", passwordEnv)
		}
		fmt.Fprintf(stderr, "Proxy password for %s: ", o.user)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		c.Password = string(b)
	}
	return c, nil
}

// rootsWith returns the system's roots with the PEM file's added.
func rootsWith(file string) (*x509.CertPool, error) {
	pem, err := readLimited(file, 1<<20)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s has no PEM certificate", file)
	}
	return pool, nil
}

func readLimited(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", file, limit)
	}
	return b, nil
}

// systemSources reads the system's proxy settings and DNS suffix: the
// registry on Windows, the environment elsewhere (no suffix: give
// --dns-suffix for WPAD).
func systemSources(getenv func(string) string) (client.ProxySources, string, []string, error) {
	if runtime.GOOS != "windows" {
		s, err := probe.EnvSources(getenv)
		return s, "", []string{"proxy from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)"}, err
	}
	reg, err := probe.OpenRegistry()
	if err != nil {
		return client.ProxySources{}, "", nil, err
	}
	s, notes := probe.SystemSources(reg)
	return s, probe.SystemDNSSuffix(reg), notes, nil
}
