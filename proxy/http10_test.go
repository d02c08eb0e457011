package proxy_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
)

// TestHTTP10KeepAliveNTLM: an HTTP/1.0 client that asks for persistence
// with Proxy-Connection: Keep-Alive (WinINet, curl --proxy1.0) finishes
// the NTLM handshake on its one connection, on CONNECT and on plain
// HTTP. The proxy used to send its challenge and close.
func TestHTTP10KeepAliveNTLM(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	p := ntlmProxy(t, netw, proxy.SchemeNTLM)
	for name, line := range map[string]string{
		"connect": "CONNECT " + portal + ":443 HTTP/1.0",
		"get":     "GET http://allowed.example/ten HTTP/1.0",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.Listener.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			br := bufio.NewReader(c)
			send := func(auth string) *http.Response {
				_, err := io.WriteString(c, line+"\r\nProxy-Connection: Keep-Alive\r\nProxy-Authorization: NTLM "+auth+"\r\n\r\n")
				require.NoError(t, err)
				resp, err := http.ReadResponse(br, nil)
				require.NoError(t, err)
				return resp
			}
			neg, err := ntlmssp.NewNegotiateMessage("CONTOSO", "")
			require.NoError(t, err)
			resp := send(base64.StdEncoding.EncodeToString(neg))
			_, _ = io.Copy(io.Discard, resp.Body)
			require.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
			assert.False(t, resp.Close, "the challenge keeps the connection")
			assert.Equal(t, "keep-alive", resp.Header.Get("Connection"))
			ch, ok := strings.CutPrefix(resp.Header.Get("Proxy-Authenticate"), "NTLM ")
			require.True(t, ok, "an NTLM challenge: %q", resp.Header.Get("Proxy-Authenticate"))
			challenge, err := base64.StdEncoding.DecodeString(ch)
			require.NoError(t, err)
			authMsg, err := ntlmssp.NewAuthenticateMessage(challenge, `CONTOSO\alice`, "Passw0rd!", nil)
			require.NoError(t, err)
			resp = send(base64.StdEncoding.EncodeToString(authMsg))
			assert.Equal(t, http.StatusOK, resp.StatusCode, "the same connection, authenticated")
		})
	}
}

// TestClosingConnectionOffersNoNTLMChallenge: on a connection the proxy
// closes after its answer (HTTP/1.0 without keep-alive, or Connection:
// close), an NTLM handshake cannot finish, so no NTLM challenge is sent
// there: Basic alone when the proxy has it, else the bare scheme names.
func TestClosingConnectionOffersNoNTLMChallenge(t *testing.T) {
	t.Parallel()
	netw := newNetwork()
	newUpstreams(t, netw)
	neg, err := ntlmssp.NewNegotiateMessage("CONTOSO", "")
	require.NoError(t, err)
	token := base64.StdEncoding.EncodeToString(neg)
	withBasic := ntlmProxy(t, netw, proxy.SchemeNTLM, proxy.SchemeBasic)
	ntlmOnly := ntlmProxy(t, netw, proxy.SchemeNegotiate, proxy.SchemeNTLM)
	for name, tc := range map[string]struct {
		p    *proxy.Proxy
		req  string
		want []string
	}{
		"http/1.0, no credentials": {withBasic, "GET http://allowed.example/ HTTP/1.0\n\n", []string{`Basic realm="egresslab proxy"`}},
		"http/1.0, negotiate":      {withBasic, "CONNECT " + portal + ":443 HTTP/1.0\nProxy-Authorization: NTLM " + token + "\n\n", []string{`Basic realm="egresslab proxy"`}},
		"connection: close":        {withBasic, "CONNECT " + portal + ":443 HTTP/1.1\nHost: " + portal + ":443\nConnection: close\nProxy-Authorization: NTLM " + token + "\n\n", []string{`Basic realm="egresslab proxy"`}},
		"proxy-connection: close":  {withBasic, "CONNECT " + portal + ":443 HTTP/1.1\nHost: " + portal + ":443\nProxy-Connection: close\nProxy-Authorization: NTLM " + token + "\n\n", []string{`Basic realm="egresslab proxy"`}},
		"no basic to offer":        {ntlmOnly, "CONNECT " + portal + ":443 HTTP/1.0\nProxy-Authorization: Negotiate " + token + "\n\n", []string{"Negotiate", "NTLM"}},
		"kept alive (control)":     {withBasic, "CONNECT " + portal + ":443 HTTP/1.0\nProxy-Connection: keep-alive\n\n", []string{"NTLM", `Basic realm="egresslab proxy"`}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", tc.p.Listener.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			_, err = io.WriteString(c, crlf(tc.req))
			require.NoError(t, err)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			assert.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
			assert.Equal(t, tc.want, resp.Header.Values("Proxy-Authenticate"))
			if !strings.HasPrefix(name, "kept alive") {
				_, err = br.ReadByte()
				assert.ErrorIs(t, err, io.EOF, "the proxy closes the connection")
			}
		})
	}
}
