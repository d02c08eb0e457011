package cli

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/labserver"
)

// startServe runs serve in the test's process until the test ends, and
// returns what it printed once it listens, and its server.
func startServe(t *testing.T, o serveOptions, args []string, env map[string]string) (string, *labserver.Server, string) {
	t.Helper()
	if o.proxyListen == "" {
		o.proxyListen = "127.0.0.1:0"
	}
	if o.adminListen == "" {
		o.adminListen = "127.0.0.1:0"
	}
	if o.logLevel == "" {
		o.logLevel = "error"
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb testtool.Buffer
	type ready struct {
		srv   *labserver.Server
		admin string
	}
	readyCh := make(chan ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, o, args, func(k string) string { return env[k] }, &out, &errb, func(s *labserver.Server, admin string) { readyCh <- ready{s, admin} })
	}()
	var r ready
	select {
	case r = <-readyCh:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before it listened: %v\n%s", err, errb.String())
	}
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "serve after an interrupt")
	})
	return out.String(), r.srv, r.admin
}

// TestServeInProcess: serve prints what a person needs, curl follows the
// printed lines to the portal, and the CA directory keeps the roots
// across restarts, so the same PEM is trusted twice.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "curl")
	caDir := filepath.Join(t.TempDir(), "ca")
	journal := filepath.Join(t.TempDir(), "journal.jsonl")
	var firstPEM []byte
	for run := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		var out testtool.Buffer
		readyCh := make(chan *labserver.Server, 1)
		done := make(chan error, 1)
		o := serveOptions{proxyListen: "127.0.0.1:0", adminListen: "127.0.0.1:0", caDir: caDir, journal: journal, logLevel: "error"}
		go func() {
			done <- runServe(ctx, o, nil, func(string) string { return "" }, &out, &testtool.Buffer{}, func(s *labserver.Server, _ string) { readyCh <- s })
		}()
		var srv *labserver.Server
		select {
		case srv = <-readyCh:
		case err := <-done:
			cancel()
			t.Fatalf("serve: %v", err)
		}
		printed := out.String()
		proxyURL := "http://" + srv.ProxyAddr().String()
		rootPEM := filepath.Join(caDir, "root.pem")
		for _, want := range []string{"egresslab serving " + labserver.DefaultScenario, "proxy:      " + proxyURL, "dashboard:  http://127.0.0.1:",
			"root PEM:   " + rootPEM, "curl -x " + proxyURL + " --cacert " + rootPEM, "--proxy-server=" + proxyURL,
			`netsh winhttp set proxy proxy-server="` + srv.ProxyAddr().String() + `"`, "ProxySettingsPerUser /t REG_DWORD /d 0"} {
			assert.Contains(t, printed, want)
		}
		assert.NotContains(t, printed, "admin token", "no token on loopback unless asked for")
		pem, err := os.ReadFile(rootPEM)
		require.NoError(t, err)
		if run == 0 {
			firstPEM = pem
		} else {
			assert.Equal(t, firstPEM, pem, "the second run keeps the first run's root")
		}
		// The printed curl line, as a person would paste it.
		line := printed[strings.Index(printed, "curl -x"):]
		line = line[:strings.Index(line, "\n")]
		cmd := exec.Command("sh", "-c", line+" -sS -o /dev/null -w '%{http_code}' --max-time 20")
		got, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", got)
		assert.Equal(t, "200", string(got), "run %d", run)
		cancel()
		require.NoError(t, <-done)
	}
	b, err := os.ReadFile(journal)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2, "one decision per run, flushed at shutdown")
	assert.Contains(t, lines[1], `"target":"passwordreset.microsoftonline.com:443"`)
}

// TestServeToken: asked for addresses beyond loopback, serve makes up a
// token, prints it, and the admin API wants it; a token can come from a
// file or the environment too.
func TestServeToken(t *testing.T) {
	t.Parallel()
	printed, _, admin := startServe(t, serveOptions{allowRemote: true}, nil, nil)
	_, after, ok := strings.Cut(printed, "admin token: ")
	require.True(t, ok, printed)
	token := strings.Fields(after)[0]
	assert.Len(t, token, 32)
	c := &labserver.Client{BaseURL: "http://" + admin}
	_, err := c.State(context.Background())
	var ae *labserver.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.Status)
	c.Token = token
	_, err = c.State(context.Background())
	require.NoError(t, err)

	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("from-a-file\n"), 0o600))
	_, _, admin = startServe(t, serveOptions{tokenFile: file}, nil, nil)
	_, err = (&labserver.Client{BaseURL: "http://" + admin, Token: "from-a-file"}).State(context.Background())
	require.NoError(t, err)
	_, _, admin = startServe(t, serveOptions{}, []string{"cdn-blocked"}, map[string]string{"EGRESSLAB_ADMIN_TOKEN": "from-env"})
	st, err := (&labserver.Client{BaseURL: "http://" + admin, Token: "from-env"}).State(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "cdn-blocked", st.Scenario.Name)
}

// TestServeSignal: the built command serves until SIGTERM, then ends its
// tunnels, flushes the journal and exits 0.
func TestServeSignal(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "curl")
	bin := filepath.Join(t.TempDir(), "egresslab")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/egresslab")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	journal := filepath.Join(t.TempDir(), "journal.jsonl")
	cmd := exec.Command(bin, "serve", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--journal", journal)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr testtool.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	sc := bufio.NewScanner(stdout)
	var proxyURL string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "proxy:      "); ok {
			proxyURL = v
		}
		if strings.HasPrefix(line, "Press Ctrl+C") {
			break
		}
	}
	require.NotEmpty(t, proxyURL, "stderr: %s", stderr.String())
	status, _, err := testtool.Run(t, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-x", proxyURL, "http://ocsp.digicert.com/")
	require.NoError(t, err)
	require.NotEqual(t, "000", status, "the lab answered through the proxy")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit status 0 after SIGTERM; stderr: %s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	b, err := os.ReadFile(journal)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"target":"ocsp.digicert.com:80"`)
	assert.Contains(t, stderr.String(), "stopped")
}

// TestServeBadInput: invalid input exits 2 before anything listens, and
// the message names the file, line and field, or the address.
func TestServeBadInput(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { busy.Close() }) // the subtests run after this function returns
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o600))
	for name, tc := range map[string]struct {
		args []string
		want []string
		env  map[string]string
	}{
		"blank token":         {[]string{"serve", "--allow-remote"}, []string{"EGRESSLAB_ADMIN_TOKEN holds only blanks"}, map[string]string{"EGRESSLAB_ADMIN_TOKEN": " "}},
		"bad scenario file":   {[]string{"serve", "testdata/bad.yaml"}, []string{"testdata/bad.yaml:6: client.acount: unknown field; did you mean account?"}, nil},
		"unknown scenario":    {[]string{"serve", "no-such-scenario"}, []string{"no-such-scenario: no such file"}, nil},
		"two scenarios":       {[]string{"serve", "a", "b"}, []string{"at most one scenario"}, nil},
		"proxy address taken": {[]string{"serve", "--proxy-listen", busy.Addr().String(), "--admin-listen", "127.0.0.1:0"}, []string{"--proxy-listen " + busy.Addr().String(), "address already in use"}, nil},
		"admin address taken": {[]string{"serve", "--proxy-listen", "127.0.0.1:0", "--admin-listen", busy.Addr().String()}, []string{"--admin-listen " + busy.Addr().String()}, nil},
		"beyond loopback":     {[]string{"serve", "--proxy-listen", "0.0.0.0:0"}, []string{`--proxy-listen "0.0.0.0:0" is not a loopback address: add --allow-remote`}, nil},
		"every interface":     {[]string{"serve", "--admin-listen", ":0"}, []string{`--admin-listen ":0" listens on every interface`}, nil},
		"not an address":      {[]string{"serve", "--proxy-listen", "localhost:0"}, []string{"the host must be an IP address"}, nil},
		"CA dir is a file":    {[]string{"serve", "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--ca-dir", notADir}, []string{"--ca-dir", notADir}, nil},
		"bad log level":       {[]string{"serve", "--log-level", "loud"}, []string{`--log-level "loud"`}, nil},
		"missing token file":  {[]string{"serve", "--token-file", notADir + "-missing"}, []string{"--token-file"}, nil},
		"device as token":     {[]string{"serve", "--token-file", "/dev/zero"}, []string{"--token-file", "/dev/zero", "not a regular file"}, nil},
		"device as journal":   {[]string{"serve", "--journal", "/dev/null"}, []string{"--journal /dev/null: not a regular file"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(tc.args, func(k string) string { return tc.env[k] }, &out, &errb)
			assert.Equal(t, ExitUsage, code, "stderr: %s", errb.String())
			for _, w := range tc.want {
				assert.Contains(t, errb.String(), w)
			}
			assert.NotContains(t, out.String(), "proxy:", "nothing listened")
		})
	}
}
