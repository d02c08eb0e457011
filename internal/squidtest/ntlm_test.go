//go:build unix && squid

package squidtest_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/go-ntlmssp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/squidtest"
)

// TestSquidNTLMFake: with Debian's ntlm_fake_auth helper, real Squid runs
// the whole NTLM handshake (negotiate, challenge, authenticate) on one
// connection and then forwards; the helper accepts any user, so this
// shows the protocol, not a password check.
func TestSquidNTLMFake(t *testing.T) {
	t.Parallel()
	_, port := origin(t)
	sq := squidtest.Start(t,
		squidtest.WithPolicy(`
auth_param ntlm program `+squidtest.NTLMFakeAuth+`
auth_param ntlm children 2
acl users proxy_auth REQUIRED
http_access allow users
http_access deny all
`),
		squidtest.WithHost("www.example.com", "127.0.0.1"),
	)
	conn, err := net.Dial("tcp", sq.Addr)
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	target := "http://www.example.com:" + port + "/"
	send := func(auth string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, target, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Proxy-Authorization", auth)
		}
		req.Header.Set("Proxy-Connection", "keep-alive")
		require.NoError(t, req.WriteProxy(conn))
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	resp := send("")
	require.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
	assert.Equal(t, []string{"NTLM"}, resp.Header.Values("Proxy-Authenticate"))

	negotiate, err := ntlmssp.NewNegotiateMessage("", "")
	require.NoError(t, err)
	resp = send("NTLM " + base64.StdEncoding.EncodeToString(negotiate))
	require.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
	challenge, ok := strings.CutPrefix(resp.Header.Get("Proxy-Authenticate"), "NTLM ")
	require.True(t, ok, "challenge: %q", resp.Header.Get("Proxy-Authenticate"))
	raw, err := base64.StdEncoding.DecodeString(challenge)
	require.NoError(t, err)

	// ntlm_fake_auth's challenge is not well formed (its target name's
	// offset is garbage), which go-ntlmssp refuses to parse; the helper
	// checks nothing in the answer, so a plain AUTHENTICATE message does.
	require.Equal(t, "NTLMSSP\x00\x02\x00\x00\x00", string(raw[:12]))
	resp = send("NTLM " + base64.StdEncoding.EncodeToString(squidtest.NTLMAuthenticate("CORP", "alice", "KIOSK01")))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
