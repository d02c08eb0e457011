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
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/labdns"
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
	role        string
	hostNets    []string
	dnsNet      string
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
	f.StringVar(&o.role, "role", string(labserver.RoleLab), "what to serve: lab (all of it), or a node of the container backend: services, proxy")
	f.StringArrayVar(&o.hostNets, "host-network", nil, "services node: HOST=CIDR serves the lab host HOST on this machine's address in CIDR (repeatable)")
	f.StringVar(&o.dnsNet, "dns-network", "", "services node: serve the lab's DNS on this machine's address in CIDR, port 53")
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
	role := labserver.Role(o.role)
	if role == "" {
		role = labserver.RoleLab
	}
	if !slices.Contains(labserver.Roles, role) {
		return usagef("--role %q: want lab, services or proxy", o.role)
	}
	if role == labserver.RoleServices && o.proxyListen != defaultProxyListen {
		return usagef("--proxy-listen: a services node has no proxy")
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
	var own []string // the scenario's hosts of its own, "host:port"
	if sc != nil {
		own = sc.OwnHostPorts()
	}
	node, err := nodeOptions(role, o, own)
	if err != nil {
		return err
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
	var proxyLn net.Listener
	if role != labserver.RoleServices {
		if proxyLn, err = net.Listen("tcp", o.proxyListen); err != nil {
			return usagef("--proxy-listen %s: %v", o.proxyListen, err)
		}
	}
	adminLn, err := net.Listen("tcp", o.adminListen)
	if err != nil {
		if proxyLn != nil {
			proxyLn.Close()
		}
		return usagef("--admin-listen %s: %v", o.adminListen, err)
	}
	if len(node.hostNets) > 0 {
		// A services node's admin API is not one of the lab's hosts:
		// connections that reach it on a host's network are closed.
		adminLn = &notOnListener{Listener: adminLn, nets: node.hostNets}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := labserver.New(ctx, labserver.Config{Role: role, LabOptions: node.labOptions, Scenario: sc, ProxyListener: proxyLn,
		Authority: auth, Journal: journal, Token: token, Logger: logger})
	if err != nil {
		adminLn.Close()
		return err
	}
	if node.dns != nil {
		defer node.dns.Close()
		if _, _, err := node.dns.ListenAndServe(node.dnsAddr); err != nil {
			srv.Close()
			adminLn.Close()
			return usagef("--dns-network %s: %v", o.dnsNet, err)
		}
	}
	adminURL := "http://" + adminLn.Addr().String() + "/"
	dashboardURL := adminURL
	switch {
	case madeUp:
		dashboardURL += "?token=" + token
	case token != "":
		dashboardURL += "?token=YOUR-TOKEN" // a given token is not echoed
	}
	var c labserver.Connect
	if role == labserver.RoleLab {
		c = labserver.ConnectLines(proxyLn.Addr(), dashboardURL, rootPEM)
	}
	hs := &http.Server{Handler: srv.Handler(c), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(adminLn) }()

	if role == labserver.RoleLab {
		fmt.Fprintf(out, "egresslab serving %s\n\n", srv.Scenario().Name)
		fmt.Fprint(out, c.Lines())
	} else {
		fmt.Fprintf(out, "egresslab serving %s as its %s node\n", srv.Scenario().Name, role)
		if proxyLn != nil {
			fmt.Fprintf(out, "  proxy on %s\n", proxyLn.Addr())
		}
		for _, l := range node.lines {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	switch {
	case madeUp:
		fmt.Fprintf(out, "\nadmin token: %s   (Authorization: Bearer TOKEN, or ?token=)\n", token)
	case token != "":
		fmt.Fprintf(out, "\nadmin token: the one given (Authorization: Bearer TOKEN, or ?token=)\n")
	}
	fmt.Fprintf(out, "\nadmin API:  %sapi/v1/state\nPress Ctrl+C to stop.\n", adminURL)
	if role != labserver.RoleLab {
		fmt.Fprintln(out, labserver.NodeReady) // what the container backend waits for
	}
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

// node is what a services node serves beyond the lab: its hosts'
// addresses and the lab's DNS.
type node struct {
	hostNets   []netip.Prefix // the hosts' networks
	labOptions []harness.Option
	dns        *labdns.Server
	dnsAddr    string
	lines      []string // what it serves where, for its output
}

// nodeOptions checks the node flags against the role and turns them into
// the services node's listening addresses and DNS records: each host on
// this machine's address in its network, the DNS answering each host's
// name with that address.
func nodeOptions(role labserver.Role, o serveOptions, own []string) (node, error) {
	hostPorts := append(harness.HostPorts(), own...)
	var n node
	if role != labserver.RoleServices {
		if len(o.hostNets) > 0 || o.dnsNet != "" {
			return n, usagef("--host-network and --dns-network are for a services node (--role services)")
		}
		if role == labserver.RoleProxy {
			n.labOptions = append(n.labOptions, harness.WithUpstream(harness.NetworkUpstream(nil, own...)))
		}
		return n, nil
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return n, fmt.Errorf("this machine's addresses: %w", err)
	}
	local := func(flag, cidr string) (netip.Addr, error) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return netip.Addr{}, usagef("--%s %q: want a CIDR prefix (198.19.0.16/28)", flag, cidr)
		}
		for _, a := range ifaddrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && p.Contains(ip.Unmap()) {
					return ip.Unmap(), nil
				}
			}
		}
		return netip.Addr{}, usagef("--%s %s: this machine has no address in it", flag, cidr)
	}
	records := map[string][]netip.Addr{}
	for _, hn := range o.hostNets {
		host, cidr, ok := strings.Cut(hn, "=")
		host = strings.ToLower(host)
		known := slices.ContainsFunc(hostPorts, func(hp string) bool { h, _, _ := net.SplitHostPort(hp); return h == host })
		if !ok || !known {
			return n, usagef("--host-network %q: want HOST=CIDR, HOST one of the lab's hosts (%s)", hn, strings.Join(hostPorts, ", "))
		}
		if _, dup := records[host]; dup {
			return n, usagef("--host-network: %s given twice", host)
		}
		ip, err := local("host-network", cidr)
		if err != nil {
			return n, err
		}
		n.hostNets = append(n.hostNets, netip.MustParsePrefix(cidr).Masked())
		records[host] = []netip.Addr{ip}
		for _, hp := range hostPorts {
			if h, port, _ := net.SplitHostPort(hp); h == host {
				addr := net.JoinHostPort(ip.String(), port)
				n.labOptions = append(n.labOptions, harness.WithHostAddr(hp, addr))
				n.lines = append(n.lines, hp+" on "+addr)
			}
		}
	}
	if o.dnsNet != "" {
		ip, err := local("dns-network", o.dnsNet)
		if err != nil {
			return n, err
		}
		if n.dns, err = labdns.New(records); err != nil {
			return n, usagef("--host-network: %v", err)
		}
		n.dnsAddr = net.JoinHostPort(ip.String(), "53")
		n.lines = append(n.lines, "DNS on "+n.dnsAddr+" (the lab's names, nothing else)")
	}
	return n, nil
}

// notOnListener closes the connections it accepts on an address in one of
// nets, and hands on the others.
type notOnListener struct {
	net.Listener
	nets []netip.Prefix
}

func (l *notOnListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
			local := ap.Addr().Unmap()
			if slices.ContainsFunc(l.nets, func(p netip.Prefix) bool { return p.Contains(local) }) {
				c.Close()
				continue
			}
		}
		return c, nil
	}
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
