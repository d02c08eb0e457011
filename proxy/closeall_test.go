package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/proxy/fault"
)

// closes runs p.Close and fails the test if it does not return: a hang
// guard, not a timing assertion.
func closes(t *testing.T, p *proxy.Proxy) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		p.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return while a connection was open")
	}
}

// openThenClose sends request on a new connection to a proxy built with
// opts, reads the answer (want), closes the proxy while the connection is
// still open, and checks that the connection ended with it. It returns
// the journal entry of the request.
func openThenClose(t *testing.T, request string, want int, opts ...proxy.Option) proxy.Entry {
	t.Helper()
	netw := newNetwork()
	newUpstreams(t, netw)
	p, err := proxy.New(append([]proxy.Option{proxy.WithDialer(netw.dial), proxy.WithDefault(proxy.Allow)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, p.Start())
	c, err := net.Dial("tcp", p.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(c, request)
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode)
	closes(t, p)
	_, err = br.ReadByte()
	assert.Error(t, err, "the connection ends with the proxy")
	es := p.Journal().Entries()
	require.Len(t, es, 1)
	return es[0]
}

// TestCloseEndsUpgrades: Close ends a WebSocket upgrade relayed on plain
// HTTP (it used to wait for as long as the upgrade stayed open).
func TestCloseEndsUpgrades(t *testing.T) {
	t.Parallel()
	e := openThenClose(t, "GET http://allowed.example/ws HTTP/1.1\r\nHost: allowed.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		http.StatusSwitchingProtocols)
	assert.Equal(t, http.StatusSwitchingProtocols, e.Status)
}

// TestCloseEndsResetWait: a reset fault that waits for a silent client's
// first bytes ends with the proxy (it used to wait a minute).
func TestCloseEndsResetWait(t *testing.T) {
	t.Parallel()
	e := openThenClose(t, "CONNECT allowed.example:443 HTTP/1.1\r\nHost: allowed.example:443\r\n\r\n", http.StatusOK,
		proxy.WithRules(proxy.Rule{Hosts: []string{"allowed.example"}, Action: proxy.Fault, Fault: &fault.Spec{Kind: fault.Reset}}))
	assert.Equal(t, proxy.ResultFault, e.Result)
}

// TestOutOfFileDescriptors: a proxy that cannot open a socket upstream
// says so (503, ERR_SOCKET_FAILURE with the errno, and an error in its
// log), instead of blaming the origin. The proxy runs in a child process
// whose dialer takes every free descriptor just before it dials.
func TestOutOfFileDescriptors(t *testing.T) {
	if os.Getenv("EGRESSLAB_EMFILE_CHILD") == "1" {
		emfileChild()
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOutOfFileDescriptors$")
	cmd.Env = append(os.Environ(), "EGRESSLAB_EMFILE_CHILD=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr testtool.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "child: %s", stderr.String())
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "proxy ")
	require.True(t, ok, "child said %q; stderr: %s", line, stderr.String())

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(c, "CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "ERR_SOCKET_FAILURE "+strconv.Itoa(int(syscall.EMFILE)), resp.Header.Get("X-Squid-Error"))
	stdin.Close()
	require.NoError(t, cmd.Wait())
	assert.Contains(t, stderr.String(), "out of file descriptors")
}

// emfileChild is TestOutOfFileDescriptors' child: a proxy whose upstream
// is a real listener and whose dialer first fills every free descriptor
// (under a lowered limit, so that filling is cheap), so that the dial
// itself meets EMFILE. Filling at the dial, not at start, leaves no window
// in which a descriptor closed elsewhere in the process (a finalizer, the
// runtime) could let the dial through.
func emfileChild() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	origin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer origin.Close()
	var (
		d       net.Dialer
		mu      sync.Mutex
		fillers []int // raw descriptors: no finalizer closes them
	)
	defer func() {
		for _, fd := range fillers {
			_ = syscall.Close(fd)
		}
	}()
	fill := func() {
		mu.Lock()
		defer mu.Unlock()
		for {
			fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return
			}
			fillers = append(fillers, fd)
		}
	}
	p, err := proxy.New(proxy.WithDefault(proxy.Allow),
		proxy.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
		proxy.WithDialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
			fill()
			return d.DialContext(ctx, network, origin.Addr().String())
		}))
	if err != nil {
		fail(err)
	}
	if err := p.Start(); err != nil {
		fail(err)
	}
	defer p.Close()
	// Lower the limit to a little above the highest descriptor in use, so
	// that the dialer's filling opens a few descriptors, not a million.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		fail(err)
	}
	high := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > high {
			high = n
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail(err)
	}
	lim.Cur = uint64(high + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail(err)
	}
	fmt.Println("proxy " + p.Listener.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent is done
}
