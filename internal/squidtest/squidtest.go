//go:build unix

// Package squidtest runs real Squid (Debian's squid package) as a process
// for tests: each [Start] gets a run directory of its own with the
// generated squid.conf, the logs, the pid file and the cache directory,
// an ephemeral port on 127.0.0.1, a hosts file naming the test's loopback
// origins, and no way out of loopback:
//   - names resolve through the test's hosts_file; anything else goes to
//     the DNS server 127.0.0.1 (dns_nameservers), never the system's
//     resolver, and without the search domains (dns_defnames off);
//   - outgoing connections leave from 127.0.0.1 and ::1
//     (tcp_outgoing_address), which the kernel will not route anywhere
//     but loopback, so an address outside 127.0.0.0/8 that a policy lets
//     through fails to connect (503, ERR_CONNECT_FAIL) instead of leaving
//     the machine;
//   - no ICMP pinger, no ICP or HTCP, no cache_peer, nothing cached, and
//     nothing written outside the run directory (netdb_filename none).
//
// The test's policy (acl, http_access, auth_param ...) is included after
// these lines, so it must not have an http_port of its own. Squid reads
// relative paths against its working directory, which is the copy of the
// policy's directory in the run directory: relative paths in the policy
// resolve as internal squidconf resolves them, against the policy file.
//
// Squid will not run as root: as root the run directory is handed to the
// user Squid switches to (cache_effective_user, "proxy" in Debian's
// build). Shared memory segments are named after a service name of the
// run's own (squid -n), so runs in parallel do not collide.
package squidtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/egresslab/egresslab/internal/testtool"
)

// Helper programs of Debian's squid package.
const (
	// BasicNCSAAuth checks Basic credentials against an htpasswd file
	// (see [HTPasswd]).
	BasicNCSAAuth = "/usr/lib/squid/basic_ncsa_auth"
	// NTLMFakeAuth accepts any NTLM credentials.
	NTLMFakeAuth = "/usr/lib/squid/ntlm_fake_auth"
	// BasicFakeAuth accepts any Basic credentials.
	BasicFakeAuth = "/usr/lib/squid/basic_fake_auth"
)

// StartTimeout bounds how long Squid may take to accept connections.
const StartTimeout = 20 * time.Second

// Squid is a running Squid. It is stopped at the test's cleanup.
type Squid struct {
	// Addr is the proxy's address, 127.0.0.1:port.
	Addr string
	// URL is the proxy's URL, http://127.0.0.1:port.
	URL *url.URL
	// Dir is the run directory; Dir/policy holds the copy of the policy.
	Dir string
	// Config is the generated squid.conf.
	Config string
	// Started is how long Squid took to accept connections.
	Started time.Duration

	cmd  *exec.Cmd
	done chan struct{}
	name string
}

// Option configures [Start].
type Option func(*config)

type config struct {
	aclDebug   bool
	policy     string
	policyFile string
	hosts      map[string]string
	files      map[string][]byte
}

// WithACLDebug makes Squid log its ACL checks (debug_options ALL,1 28,3),
// so that [Squid.MatchedAccessLine] can tell which http_access line
// decided a request.
func WithACLDebug() Option { return func(c *config) { c.aclDebug = true } }

// WithPolicy sets the policy as text; it is written to policy/squid.conf.
func WithPolicy(text string) Option { return func(c *config) { c.policy = text } }

// WithPolicyFile uses the squid.conf at path: its directory is copied, so
// that the files it names relatively come along.
func WithPolicyFile(path string) Option { return func(c *config) { c.policyFile = path } }

// WithHost maps a name to a loopback address in the hosts file. Only
// 127.0.0.0/8 and ::1 are accepted: Start fails otherwise.
func WithHost(name, addr string) Option {
	return func(c *config) {
		if c.hosts == nil {
			c.hosts = map[string]string{}
		}
		c.hosts[name] = addr
	}
}

// WithFile writes a file into the copy of the policy's directory (an
// htpasswd file, a list of domains), at a path relative to it.
func WithFile(rel string, data []byte) Option {
	return func(c *config) {
		if c.files == nil {
			c.files = map[string][]byte{}
		}
		c.files[rel] = data
	}
}

// Start runs Squid with the options and returns when it accepts
// connections. It is stopped, and its run directory removed, at the
// test's cleanup. Without squid the test is skipped (failed on CI, see
// [testtool.NeedSquid]).
func Start(t testing.TB, opts ...Option) *Squid {
	t.Helper()
	bin := testtool.NeedSquid(t)
	var c config
	for _, o := range opts {
		o(&c)
	}
	dir, err := os.MkdirTemp("", "squidtest-")
	if err != nil {
		t.Fatalf("squidtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("squidtest: %v", err)
	}
	policyDir := filepath.Join(dir, "policy")
	policyConf, err := c.writePolicy(policyDir)
	if err != nil {
		t.Fatalf("squidtest: %v", err)
	}
	hosts, err := c.hostsFile()
	if err != nil {
		t.Fatalf("squidtest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), hosts, 0o644); err != nil {
		t.Fatalf("squidtest: %v", err)
	}
	const attempts = 5
	var lastErr error
	for range attempts {
		s, err := start(bin, dir, policyDir, policyConf, c.aclDebug)
		if s != nil {
			t.Cleanup(s.stop)
		}
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("squidtest: %v", lastErr)
	return nil
}

// writePolicy writes the policy into dir and returns the path of its
// squid.conf.
func (c *config) writePolicy(dir string) (string, error) {
	conf := filepath.Join(dir, "squid.conf")
	switch {
	case c.policyFile != "":
		if err := copyDir(filepath.Dir(c.policyFile), dir); err != nil {
			return "", err
		}
		conf = filepath.Join(dir, filepath.Base(c.policyFile))
	default:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(conf, []byte(c.policy), 0o644); err != nil {
			return "", err
		}
	}
	for rel, data := range c.files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return "", fmt.Errorf("file %q is outside the policy directory", rel)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
	}
	return conf, nil
}

// hostsFile is the hosts file: only loopback addresses.
func (c *config) hostsFile() ([]byte, error) {
	names := make([]string, 0, len(c.hosts))
	for n := range c.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		ip := net.ParseIP(c.hosts[n])
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("host %s: %q is not a loopback address", n, c.hosts[n])
		}
		fmt.Fprintf(&b, "%s %s\n", ip, n)
	}
	return b.Bytes(), nil
}

// copyDir copies the regular files and directories under src to dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

var errPortTaken = errors.New("port taken")

// freePort finds a port on 127.0.0.1 that nothing listens on. Squid cannot
// be given port 0, so the port is free only as of now: Start tries again
// when Squid cannot bind it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// generated is the squid.conf that confines Squid to the test.
func generated(dir, policyDir, policyConf string, port int, aclDebug bool) string {
	debug := "debug_options ALL,1"
	if aclDebug {
		debug = "debug_options ALL,1 28,3"
	}
	return strings.Join([]string{
		debug,
		"# generated by internal/squidtest",
		"http_port 127.0.0.1:" + strconv.Itoa(port),
		"pid_filename " + filepath.Join(dir, "squid.pid"),
		"cache_log " + filepath.Join(dir, "cache.log"),
		"access_log stdio:" + filepath.Join(dir, "access.log"),
		"cache_store_log none",
		"coredump_dir " + policyDir,
		"cache deny all",
		"shutdown_lifetime 0 seconds",
		"hosts_file " + filepath.Join(dir, "hosts"),
		"dns_nameservers 127.0.0.1",
		"dns_defnames off",
		"dns_retransmit_interval 1 seconds",
		"dns_timeout 2 seconds",
		"connect_timeout 5 seconds",
		"visible_hostname squidtest",
		"pinger_enable off",
		"netdb_filename none",
		"logfile_rotate 0",
		"icp_port 0",
		"htcp_port 0",
		"tcp_outgoing_address 127.0.0.1",
		"tcp_outgoing_address ::1",
		"include " + policyConf,
		"",
	}, "\n")
}

func start(bin, dir, policyDir, policyConf string, aclDebug bool) (*Squid, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := generated(dir, policyDir, policyConf, port, aclDebug)
	confPath := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cacheLog := filepath.Join(dir, "cache.log")
	os.Remove(cacheLog)
	if err := handOver(dir); err != nil {
		return nil, err
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	name := "sqt" + hex.EncodeToString(suffix[:])
	out, err := os.Create(filepath.Join(dir, "squid.out"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-N", "-n", name, "-f", confPath)
	cmd.Dir = policyDir
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start squid: %w", err)
	}
	s := &Squid{
		Addr:   "127.0.0.1:" + strconv.Itoa(port),
		URL:    &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)},
		Dir:    dir,
		Config: conf,
		cmd:    cmd,
		done:   make(chan struct{}),
		name:   name,
	}
	go func() {
		cmd.Wait()
		out.Close()
		close(s.done)
	}()
	if err := s.waitReady(cacheLog); err != nil {
		return s, err
	}
	s.Started = time.Since(began)
	return s, nil
}

// waitReady polls, with a deadline, until Squid accepts a connection on
// its port, or it ends. It dials the port only once cache.log says Squid
// has bound it: a connection to a loopback port that nothing has bound can
// connect to itself (TCP simultaneous open, the source port picked equal
// to the destination) and take the port away from Squid.
func (s *Squid) waitReady(cacheLog string) error {
	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	want := []byte("Accepting HTTP Socket connections at ")
	bound := false
	for {
		select {
		case <-s.done:
			log := s.CacheLog()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, s.Addr)
			}
			return fmt.Errorf("squid ended before accepting connections:\n%s\n%s", lastLines(log, 15), lastLines(s.output(), 5))
		case <-deadline.C:
			return fmt.Errorf("squid did not accept connections within %v:\n%s", StartTimeout, lastLines(s.CacheLog(), 15))
		case <-tick.C:
			if !bound {
				data, _ := os.ReadFile(cacheLog)
				bound = bytes.Contains(data, want)
			}
			if !bound {
				continue
			}
			// Squid writes the line when the socket is bound, and listens
			// a moment later (its TcpAcceptor job starts asynchronously):
			// a connection now is refused until it does.
			c, err := net.DialTimeout("tcp", s.Addr, time.Second)
			if err == nil {
				c.Close()
				return nil
			}
		}
	}
}

// stop ends Squid: SIGTERM (shutdown_lifetime 0 ends it within about a
// second), SIGKILL to its process group after a deadline, then removes
// the shared memory segments it may leave.
func (s *Squid) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	if m, _ := filepath.Glob("/dev/shm/" + s.name + "-*"); len(m) > 0 {
		for _, p := range m {
			os.Remove(p)
		}
	}
}

// Stop ends Squid now; it is also done at cleanup.
func (s *Squid) Stop() { s.stop() }

// CacheLog returns Squid's cache.log so far.
func (s *Squid) CacheLog() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "cache.log"))
	return string(data)
}

func (s *Squid) output() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "squid.out"))
	return string(data)
}

// LogMark returns the current length of cache.log, to pass to
// [Squid.MatchedAccessLine] after a request.
func (s *Squid) LogMark() int64 {
	fi, err := os.Stat(filepath.Join(s.Dir, "cache.log"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// MatchedAccessLine returns the number (1-based, in the order Squid kept
// them) of the last http_access line that matched after mark in cache.log,
// as Squid's ACL debugging logs it ("checked: http_access#3 = 1"); 0 when
// none did. It needs [WithACLDebug]. Squid numbers only the http_access
// lines it kept, as squidconf's Config.Access holds them: line N is
// Access[N-1].
func (s *Squid) MatchedAccessLine(mark int64) int {
	data, err := os.ReadFile(filepath.Join(s.Dir, "cache.log"))
	if err != nil || int64(len(data)) < mark {
		return 0
	}
	matched := 0
	for _, l := range strings.Split(string(data[mark:]), "\n") {
		_, rest, ok := strings.Cut(l, "checked: http_access#")
		if !ok {
			continue
		}
		n, result, ok := strings.Cut(rest, " = ")
		if !ok || strings.TrimSpace(result) != "1" {
			continue
		}
		if v, err := strconv.Atoi(n); err == nil {
			matched = v
		}
	}
	return matched
}

// Client returns an HTTP client that sends every request through Squid,
// never follows redirects, and keeps no connection between requests.
func (s *Squid) Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             http.ProxyURL(s.URL),
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}
}

// Connect sends "CONNECT target" to Squid, with extra header lines
// ("Proxy-Authorization: Basic ...", "User-Agent: ..."), and returns the
// response; a 2xx tunnel is closed at once.
func (s *Squid) Connect(ctx context.Context, target string, header http.Header) (*http.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(20 * time.Second))
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: target},
		Host:   target,
		Header: header,
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return nil, err
	}
	// The body of an error page is read here, before the connection
	// closes; a tunnel's body is the tunnel, and is not read.
	if resp.StatusCode >= 300 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		resp.Body = http.NoBody
	}
	return resp, nil
}

// HTPasswd is an htpasswd line that basic_ncsa_auth accepts: the user and
// the hex MD5 of the password (basic_ncsa_auth.cc compares the stored
// value with crypt(3), its own MD5-crypt, then the plain MD5 digest).
func HTPasswd(user, password string) string {
	sum := md5.Sum([]byte(password))
	return user + ":" + hex.EncodeToString(sum[:]) + "\n"
}

// handOver gives the run directory to the user Squid switches to when
// started as root; nothing to do otherwise.
func handOver(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(EffectiveUser)
	if err != nil {
		return fmt.Errorf("squid runs as %q when started as root: %w", EffectiveUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// EffectiveUser is the user Debian's Squid switches to when started as
// root (its built-in cache_effective_user); Squid refuses to run as root
// ("FATAL: Don't run Squid as root, set 'cache_effective_user'!").
const EffectiveUser = "proxy"

// Parse runs `squid -k parse -f path` in path's directory and returns its
// output and whether Squid accepted the file (exit status 0, and no
// "ERROR" or "FATAL" or "WARNING" line).
func Parse(t testing.TB, path string) (string, bool) {
	t.Helper()
	bin := testtool.NeedSquid(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-k", "parse", "-f", filepath.Base(path))
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.CombinedOutput()
	ok := err == nil
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "FATAL") || strings.Contains(l, "WARNING") || strings.Contains(l, "unrecognized") {
			ok = false
		}
	}
	return string(out), ok
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Version returns the installed Squid's version ("5.7") from `squid -v`,
// and its major number.
func Version(t testing.TB) (string, int) {
	t.Helper()
	bin := testtool.NeedSquid(t)
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		t.Fatalf("squid -v: %v", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	const prefix = "Squid Cache: Version "
	v, ok := strings.CutPrefix(strings.TrimSpace(first), prefix)
	if !ok {
		t.Fatalf("squid -v: unexpected first line %q", first)
	}
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		t.Fatalf("squid -v: version %q: %v", v, err)
	}
	return v, major
}

// NTLMAuthenticate builds an NTLM AUTHENTICATE (type 3) message (MS-NLMP
// 2.2.1.3) with Unicode names and zero LM and NT responses: what Squid's
// ntlm_fake_auth helper takes, whose CHALLENGE go-ntlmssp cannot parse
// (its target-name offset is garbage), so a client library cannot answer it.
func NTLMAuthenticate(domain, user, workstation string) []byte {
	utf16le := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	fields := [][]byte{make([]byte, 24), make([]byte, 24), utf16le(domain), utf16le(user), utf16le(workstation), nil}
	const header = 64
	msg := make([]byte, header)
	copy(msg, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(msg[8:], 3)
	offset := header
	for i, f := range fields {
		pos := 12 + 8*i
		binary.LittleEndian.PutUint16(msg[pos:], uint16(len(f)))
		binary.LittleEndian.PutUint16(msg[pos+2:], uint16(len(f)))
		binary.LittleEndian.PutUint32(msg[pos+4:], uint32(offset))
		offset += len(f)
	}
	binary.LittleEndian.PutUint32(msg[60:], 0x00008201) // Unicode, NTLM, always sign
	for _, f := range fields {
		msg = append(msg, f...)
	}
	return msg
}
