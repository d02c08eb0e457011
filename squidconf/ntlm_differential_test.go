//go:build unix && squid

package squidconf_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/go-ntlmssp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/internal/squidtest"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/squidconf"
)

// TestDifferentialNTLMSquid: with NTLM, the decision comes after a
// handshake on one kept-alive connection. Real Squid runs it with
// Debian's ntlm_fake_auth, which accepts any user and checks nothing, so
// only right credentials can be compared (the lab checks the password):
// for each request, NEGOTIATE, then AUTHENTICATE on the challenge, and
// the answer to that, on Squid and on the lab's proxy running the
// translated auth-ntlm-basic, must be the same decision.
func TestDifferentialNTLMSquid(t *testing.T) {
	t.Parallel()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin")
	}))
	t.Cleanup(origin.Close)
	_, p, err := net.SplitHostPort(origin.Listener.Addr().String())
	require.NoError(t, err)
	originPort, _ := strconv.Atoi(p)

	conf := "testdata/auth-ntlm-basic/squid.conf"
	cfg, err := squidconf.Read(conf, squidconf.WithStrict())
	require.NoError(t, err)
	pol, err := squidconf.Translate(cfg, true)
	require.NoError(t, err)
	require.Equal(t, []string{"ntlm", "basic"}, pol.Schemes)

	opts := []squidtest.Option{squidtest.WithPolicyFile(conf)}
	for _, h := range labHosts {
		opts = append(opts, squidtest.WithHost(h, "127.0.0.1"))
	}
	sq := squidtest.Start(t, opts...)
	lab, err := proxy.New(proxy.WithRules(pol.Rules...), proxy.WithResolver(labResolver{}),
		proxy.WithDialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, origin.Listener.Addr().String())
		}),
		proxy.WithAuth(proxy.Auth{Realm: pol.Realm, Schemes: pol.Schemes, Users: []proxy.User{{Name: "alice", Password: "alice-password"}}}))
	require.NoError(t, err)
	require.NoError(t, lab.Start())
	t.Cleanup(lab.Close)
	labAddr := strings.TrimPrefix(lab.URL, "http://")

	n, agree := 0, 0
	tally := map[string]int{}
	for _, h := range labHosts {
		for _, m := range []string{"GET", "CONNECT", "POST"} {
			for _, port := range []int{originPort, 443} {
				r := request{method: m, host: h, port: port}
				n++
				theirs := ntlmDecide(t, sq.Addr, r, true)
				ours := ntlmDecide(t, labAddr, r, false)
				tally[theirs]++
				if assert.Equal(t, theirs, ours, "%s with NTLM: Squid %q, lab %q", r, theirs, ours) {
					agree++
				}
			}
		}
	}
	t.Logf("auth-ntlm-basic with an NTLM handshake: %d requests, %d agree (Squid's answers: %v)", n, agree, tally)
}

// ntlmDecide sends r with an NTLM NEGOTIATE, answers the challenge on the
// same connection (fake: a bare AUTHENTICATE, which Squid's fake helper
// takes; else a real one for alice), and classifies the last answer as
// send does.
func ntlmDecide(t *testing.T, addr string, r request, fake bool) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	br := bufio.NewReader(conn)
	target := net.JoinHostPort(r.host, strconv.Itoa(r.port))
	sendOne := func(auth string) *http.Response {
		var req *http.Request
		if r.method == http.MethodConnect {
			req = &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
		} else {
			var body io.Reader
			if r.method == http.MethodPost {
				body = strings.NewReader("payload")
			}
			req, err = http.NewRequest(r.method, "http://"+target+"/", body)
			require.NoError(t, err)
		}
		req.Header.Set("Proxy-Authorization", auth)
		req.Header.Set("Proxy-Connection", "keep-alive")
		if r.method == http.MethodConnect {
			require.NoError(t, req.Write(conn))
		} else {
			require.NoError(t, req.WriteProxy(conn))
		}
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err, "%s via %s", r, addr)
		if resp.StatusCode >= 300 || r.method != http.MethodConnect {
			io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		return resp
	}
	negotiate, err := ntlmssp.NewNegotiateMessage("", "")
	require.NoError(t, err)
	resp := sendOne("NTLM " + base64.StdEncoding.EncodeToString(negotiate))
	challenge, isChallenge := strings.CutPrefix(resp.Header.Get("Proxy-Authenticate"), "NTLM ")
	if resp.StatusCode != http.StatusProxyAuthRequired || !isChallenge {
		return classify(resp)
	}
	raw, err := base64.StdEncoding.DecodeString(challenge)
	require.NoError(t, err)
	var auth []byte
	if fake {
		auth = squidtest.NTLMAuthenticate("", "alice", "KIOSK01")
	} else {
		auth, err = ntlmssp.NewAuthenticateMessage(raw, "alice", "alice-password", nil)
		require.NoError(t, err)
	}
	return classify(sendOne("NTLM " + base64.StdEncoding.EncodeToString(auth)))
}

func classify(resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusForbidden:
		if strings.HasPrefix(resp.Header.Get("X-Squid-Error"), "ERR_ACCESS_DENIED") {
			return "deny"
		}
	case http.StatusProxyAuthRequired:
		var schemes []string
		for _, v := range resp.Header.Values("Proxy-Authenticate") {
			s, _, _ := strings.Cut(v, " ")
			schemes = append(schemes, strings.ToLower(s))
		}
		return "auth " + strings.Join(schemes, ",")
	}
	return "allow"
}

// TestSquidOffersNTLMOnClosingRequest records a difference the
// differential test steps around (its requests are kept alive, as
// browsers and Windows send them): to a fresh request that asks to close
// the connection, real Squid still offers NTLM beside Basic, where the
// lab's proxy offers Basic alone (an NTLM handshake cannot finish on a
// connection that closes). The decision, 407, is the same.
func TestSquidOffersNTLMOnClosingRequest(t *testing.T) {
	t.Parallel()
	conf := "testdata/auth-ntlm-basic/squid.conf"
	cfg, err := squidconf.Read(conf, squidconf.WithStrict())
	require.NoError(t, err)
	pol, err := squidconf.Translate(cfg, true)
	require.NoError(t, err)
	sq := squidtest.Start(t, squidtest.WithPolicyFile(conf), squidtest.WithHost("www.example.com", "127.0.0.1"))
	lab, err := proxy.New(proxy.WithRules(pol.Rules...), proxy.WithResolver(labResolver{}),
		proxy.WithAuth(proxy.Auth{Realm: pol.Realm, Schemes: pol.Schemes, Users: []proxy.User{{Name: "alice", Password: "alice-password"}}}))
	require.NoError(t, err)
	require.NoError(t, lab.Start())
	t.Cleanup(lab.Close)
	offered := func(addr string) []string {
		conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
		_, err = io.WriteString(conn, "GET http://www.example.com:1/ HTTP/1.1\r\nHost: www.example.com:1\r\nConnection: close\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
		var schemes []string
		for _, v := range resp.Header.Values("Proxy-Authenticate") {
			s, _, _ := strings.Cut(v, " ")
			schemes = append(schemes, s)
		}
		return schemes
	}
	assert.Equal(t, []string{"NTLM", "Basic"}, offered(sq.Addr), "Squid 5.7")
	assert.Equal(t, []string{"Basic"}, offered(strings.TrimPrefix(lab.URL, "http://")), "the lab's proxy")
}
