package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/scenarios"
)

// serveOptions are serve's flags.
type serveOptions struct {
	proxyListen string
	adminListen string
	allowRemote bool
	caDir       string
	journal     string
	tokenFile   string
	logLevel    string
}

// Default listening addresses of serve: Squid's port for the proxy.
const (
	defaultProxyListen = "127.0.0.1:3128"
	defaultAdminListen = "127.0.0.1:8128"
)

func newServe(getenv func(string) string) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [SCENARIO]",
		Short: "Serve a lab to real clients: its proxy, an admin API and a dashboard",
		Long: `Serve a scenario's lab (a file, or a built-in name; none: ` + labserver.DefaultScenario + `,
whose proxy lets the SSPR hosts through without authentication and asks for
credentials for everything else) until interrupted. Clients reach the lab
through its proxy (names resolve inside it: no hosts-file edits); the admin
API and the dashboard are on their own address. On start it prints the proxy
URL, the dashboard URL, the root PEM's path and ready-to-copy lines for curl,
Chromium and a Windows machine.

Addresses are loopback unless --allow-remote is given (a test VM on the same
host needs it); then the admin API requires a token, from --token-file,
EGRESSLAB_ADMIN_TOKEN, or one made up and printed at start.

Exit status: 0 after an interrupt (SIGINT, SIGTERM: tunnels end, the journal
is flushed), 1 when the lab fails while serving, 2 for invalid input (a bad
scenario, an address in use, an unreadable CA directory), before anything
listens.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("serve takes at most one scenario, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), o, args, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.proxyListen, "proxy-listen", defaultProxyListen, "the proxy's address (host:port; port 0 picks one)")
	f.StringVar(&o.adminListen, "admin-listen", defaultAdminListen, "the admin API's and dashboard's address")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow addresses beyond loopback (the admin API then needs a token)")
	f.StringVar(&o.caDir, "ca-dir", "", "keep the lab's roots in DIR across restarts (created on first use)")
	f.StringVar(&o.journal, "journal", "", "write every proxy decision to FILE as JSON lines (- for stdout)")
	f.StringVar(&o.tokenFile, "token-file", "", "read the admin token from FILE (else EGRESSLAB_ADMIN_TOKEN)")
	f.StringVar(&o.logLevel, "log-level", "warn", "the labs' log level on stderr: debug, info, warn, error")
	return cmd
}

// listenAddr checks a listening address: host:port, the host an IP (empty
// for every interface), loopback unless remote is allowed.
func listenAddr(flag, addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return usagef("--%s %q: want host:port", flag, addr)
	}
	if host == "" {
		if !allowRemote {
			return usagef("--%s %q listens on every interface: add --allow-remote to mean it", flag, addr)
		}
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return usagef("--%s %q: the host must be an IP address", flag, addr)
	}
	if !ip.IsLoopback() && !allowRemote {
		return usagef("--%s %q is not a loopback address: add --allow-remote to mean it", flag, addr)
	}
	return nil
}

// runServe is serve; ready, when set, is called with the server and the
// admin address once both listen (for tests).
func runServe(ctx context.Context, o serveOptions, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(*labserver.Server, string)) error {
	// Everything that can be wrong with the input is checked before
	// anything listens.
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	for flag, addr := range map[string]string{"proxy-listen": o.proxyListen, "admin-listen": o.adminListen} {
		if err := listenAddr(flag, addr, o.allowRemote); err != nil {
			return err
		}
	}
	var sc *scenarios.Scenario
	if len(args) == 1 {
		list, err := scenarios.Resolve(args)
		if err != nil {
			return usageError{err}
		}
		sc = list[0]
		if err := sc.Validate(); err != nil {
			return usageError{err}
		}
	}
	token, madeUp := "", false
	// Empty means unset, as usual; blanks alone are a mistake, refused
	// (they would otherwise turn the token off).
	env := getenv("EGRESSLAB_ADMIN_TOKEN")
	envSet := env != ""
	switch {
	case o.tokenFile != "":
		b, err := yamlfile.ReadFile(o.tokenFile) // a regular file, bounded: never a FIFO or a device
		if err != nil {
			return usagef("--token-file: %v", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return usagef("--token-file %s: empty", o.tokenFile)
		}
	case envSet:
		if token = strings.TrimSpace(env); token == "" {
			return usagef("EGRESSLAB_ADMIN_TOKEN holds only blanks: unset it, or give a token")
		}
	case o.allowRemote:
		b := make([]byte, 16)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		token, madeUp = hex.EncodeToString(b), true
	}
	if o.allowRemote && token == "" {
		return usagef("--allow-remote needs an admin token") // not reached: one is made up
	}
	if o.caDir != "" {
		abs, err := filepath.Abs(o.caDir) // printed paths work from anywhere
		if err != nil {
			return usagef("--ca-dir: %v", err)
		}
		o.caDir = abs
	}
	auth, rootPEM, cleanup, err := serveAuthority(o.caDir)
	if err != nil {
		return usageError{err}
	}
	defer cleanup()
	var journal io.Writer
	out := stdout // what a person reads; stderr when the journal has stdout
	switch o.journal {
	case "":
	case "-":
		journal, out = stdout, stderr
	default:
		// A regular file (or a new one): a FIFO with no reader would
		// block the start, a device would take the journal anywhere.
		if info, err := os.Stat(o.journal); err == nil && !info.Mode().IsRegular() {
			return usagef("--journal %s: not a regular file", o.journal)
		}
		f, err := os.OpenFile(o.journal, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return usagef("--journal: %v", err)
		}
		defer f.Close()
		journal = f
	}
	proxyLn, err := net.Listen("tcp", o.proxyListen)
	if err != nil {
		return usagef("--proxy-listen %s: %v", o.proxyListen, err)
	}
	adminLn, err := net.Listen("tcp", o.adminListen)
	if err != nil {
		proxyLn.Close()
		return usagef("--admin-listen %s: %v", o.adminListen, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := labserver.New(ctx, labserver.Config{Scenario: sc, ProxyListener: proxyLn, Authority: auth, Journal: journal, Token: token, Logger: logger})
	if err != nil {
		adminLn.Close()
		return err
	}
	adminURL := "http://" + adminLn.Addr().String() + "/"
	dashboardURL := adminURL
	switch {
	case madeUp:
		dashboardURL += "?token=" + token
	case token != "":
		dashboardURL += "?token=YOUR-TOKEN" // a given token is not echoed
	}
	c := labserver.ConnectLines(proxyLn.Addr(), dashboardURL, rootPEM)
	hs := &http.Server{Handler: srv.Handler(c), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(adminLn) }()

	fmt.Fprintf(out, "egresslab serving %s\n\n", srv.Scenario().Name)
	fmt.Fprint(out, c.Lines())
	switch {
	case madeUp:
		fmt.Fprintf(out, "\nadmin token: %s   (Authorization: Bearer TOKEN, or ?token=)\n", token)
	case token != "":
		fmt.Fprintf(out, "\nadmin token: the one given (Authorization: Bearer TOKEN, or ?token=)\n")
	}
	fmt.Fprintf(out, "\nadmin API:  %sapi/v1/state\nPress Ctrl+C to stop.\n", adminURL)
	if ready != nil {
		ready(srv, adminLn.Addr().String())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	// The lab first: its proxy stops taking connections at once, its
	// tunnels get their own grace period, and its journal streams end,
	// so that the admin server then has nothing long-lived to wait for.
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(lctx)
	actx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	_ = hs.Shutdown(actx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("admin API: %w", serveErr)
	}
	fmt.Fprintln(stderr, "egresslab: stopped")
	return nil
}

// serveAuthority returns the lab's authority and the path of its trusted
// root's PEM: kept in dir when one is given, else new and written to a
// temporary file that cleanup removes.
func serveAuthority(dir string) (*pki.Authority, string, func(), error) {
	if dir != "" {
		a, err := pki.Open(dir)
		if err != nil {
			return nil, "", func() {}, fmt.Errorf("--ca-dir: %w", err)
		}
		return a, filepath.Join(dir, pki.RootCertFile), func() {}, nil
	}
	a, err := pki.New()
	if err != nil {
		return nil, "", func() {}, err
	}
	tmp, err := os.MkdirTemp("", "egresslab-serve-")
	if err != nil {
		return nil, "", func() {}, err
	}
	path := filepath.Join(tmp, "egresslab-root.pem")
	if err := a.Root().WritePEM(path); err != nil {
		os.RemoveAll(tmp)
		return nil, "", func() {}, err
	}
	return a, path, func() { os.RemoveAll(tmp) }, nil
}
