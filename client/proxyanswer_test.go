package client_test

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy/fault"
)

// TestProxyAnswers meets the client with raw proxies that answer a CONNECT
// as real proxies do when they speak for themselves, and checks that each
// answer gets its own cause and remedy, and that the message keeps the
// proxy's own words: its status line and error id.
func TestProxyAnswers(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		answer string
		creds  bool // the signed-in user, with credentials
		cause  client.Cause
		words  []string // in the message, as the proxy sent them
	}{
		"a bare 401": {
			answer: "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyAuthBroken, words: []string{`"HTTP/1.1 401 Unauthorized"`},
		},
		"a 401 with a web server's challenge, to a user with credentials": {
			answer: "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n",
			creds:  true,
			cause:  client.CauseProxyAuthBroken, words: []string{`"HTTP/1.1 401 Unauthorized"`},
		},
		"407 without Proxy-Authenticate": {
			answer: "HTTP/1.1 407 Proxy Authentication Required\r\nX-Squid-Error: ERR_CACHE_ACCESS_DENIED 0\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyAuthBroken,
			words:  []string{`"HTTP/1.1 407 Proxy Authentication Required"`, "ERR_CACHE_ACCESS_DENIED 0", "no Proxy-Authenticate challenge"},
		},
		"407 without Proxy-Authenticate, to a user with credentials": {
			answer: "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
			creds:  true,
			cause:  client.CauseProxyAuthBroken, words: []string{`"HTTP/1.1 407 Proxy Authentication Required"`},
		},
		"400 from the proxy's request checks": {
			answer: "HTTP/1.1 400 Bad Request\r\nX-Squid-Error: ERR_INVALID_REQ 0\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyRefusedRequest, words: []string{`"HTTP/1.1 400 Bad Request"`, "ERR_INVALID_REQ 0"},
		},
		"405, CONNECT not allowed": {
			answer: "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyRefusedRequest, words: []string{`"HTTP/1.1 405 Method Not Allowed"`},
		},
		"503 ERR_DNS_FAIL": {
			answer: "HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_DNS_FAIL 0\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyDNSFailure, words: []string{`"HTTP/1.1 503 Service Unavailable"`, "ERR_DNS_FAIL 0"},
		},
		"503 ERR_CONNECT_FAIL 111": {
			answer: "HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyConnectFailed, words: []string{`"HTTP/1.1 503 Service Unavailable"`, "ERR_CONNECT_FAIL 111"},
		},
		"502 ERR_CONNECT_FAIL 111": {
			answer: "HTTP/1.1 502 Bad Gateway\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyConnectFailed, words: []string{`"HTTP/1.1 502 Bad Gateway"`, "ERR_CONNECT_FAIL 111"},
		},
		"503 ERR_CONNECT_FAIL 110": {
			answer: "HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 110\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyTimeout, words: []string{`"HTTP/1.1 503 Service Unavailable"`, "ERR_CONNECT_FAIL 110"},
		},
		"504 ERR_READ_TIMEOUT": {
			answer: "HTTP/1.1 504 Gateway Timeout\r\nX-Squid-Error: ERR_READ_TIMEOUT 110\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyTimeout, words: []string{`"HTTP/1.1 504 Gateway Timeout"`, "ERR_READ_TIMEOUT 110"},
		},
		"504 from a proxy that is not Squid": {
			answer: "HTTP/1.1 504 Gateway Time-out\r\nVia: 1.1 someproxy\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyTimeout, words: []string{`"HTTP/1.1 504 Gateway Time-out"`, "Via: 1.1 someproxy"},
		},
		"502 from a proxy that is not Squid": {
			answer: "HTTP/1.1 502 Bad Gateway\r\nVia: 1.1 someproxy\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyGatewayError, words: []string{`"HTTP/1.1 502 Bad Gateway"`, "(Via: 1.1 someproxy)"},
		},
		"503 from a caching appliance, in its own words": {
			answer: "HTTP/1.0 503 Service Unavailable - upstream unreachable\r\nX-Cache: MISS from edge-7\r\nServer: SomeAppliance/4.2\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyGatewayError,
			words:  []string{`"HTTP/1.0 503 Service Unavailable - upstream unreachable"`, "X-Cache: MISS from edge-7; Server: SomeAppliance/4.2"},
		},
		"Squid's other errors stay the proxy's error": {
			answer: "HTTP/1.1 502 Bad Gateway\r\nX-Squid-Error: ERR_READ_ERROR 104\r\nContent-Length: 0\r\n\r\n",
			cause:  client.CauseProxyError, words: []string{`"HTTP/1.1 502 Bad Gateway"`, "ERR_READ_ERROR 104"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			newRawProxy(t, l, func(w io.Writer) bool {
				_, _ = io.WriteString(w, tc.answer)
				return false
			})
			res := l.run(t, profile(func(p *client.Profile) {
				if tc.creds {
					p.Proxy.PerUser = viaProxy()
					p.Credentials = creds()
					return
				}
				p.Account = client.AccountDefaultUser1
				p.Proxy.PerMachine = viaProxy()
			}))
			assert.Equal(t, client.OutcomeSomethingWentWrong, res.Outcome)
			assert.Equal(t, tc.cause, res.Cause, "%s", res)
			assert.Equal(t, client.StepPage, res.Step)
			assert.Equal(t, mock.PortalHost, res.Host)
			assert.Equal(t, client.Remedy(tc.cause), res.Remedy)
			assert.NotEmpty(t, res.Remedy)
			var pe *client.ProxyError
			require.ErrorAs(t, res.Err, &pe, "%s", res)
			for _, w := range tc.words {
				assert.Contains(t, res.Error, w)
			}
		})
	}
}

// TestLabProxyAnswers: the lab's own proxy, when it cannot resolve or
// reach the host, or times out (a status fault), answers as Squid does,
// and the client names each.
func TestLabProxyAnswers(t *testing.T) {
	t.Parallel()
	closed := func(t *testing.T, l *lab) {
		// A name that resolves to a port that was just closed.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		l.net.add("closed.example:443", ln.Addr().String())
		require.NoError(t, ln.Close())
	}
	cases := map[string]struct {
		rules []labOption
		setup func(t *testing.T, l *lab)
		url   string
		cause client.Cause
		words []string
	}{
		"the proxy's DNS does not know the name": {
			url:   "https://passwordreset.microsoftonline.invalid",
			cause: client.CauseProxyDNSFailure, words: []string{`"HTTP/1.1 503 Service Unavailable"`, "X-Squid-Error: ERR_DNS_FAIL 0"},
		},
		"the proxy's connection is refused": {
			setup: closed, url: "https://closed.example",
			cause: client.CauseProxyConnectFailed, words: []string{`"HTTP/1.1 503 Service Unavailable"`, "X-Squid-Error: ERR_CONNECT_FAIL 111"},
		},
		"the proxy times out (status fault 504)": {
			rules: []labOption{withProxy(faultRule([]string{mock.PortalHost}, fault.Spec{Kind: fault.Status, Status: 504}), allow("*"))},
			cause: client.CauseProxyTimeout, words: []string{`"HTTP/1.1 504 Gateway Timeout"`, "X-Squid-Error: ERR_READ_TIMEOUT 110"},
		},
		"the proxy's connection fails (status fault 503)": {
			rules: []labOption{withProxy(faultRule([]string{mock.PortalHost}, fault.Spec{Kind: fault.Status, Status: 503}), allow("*"))},
			cause: client.CauseProxyConnectFailed, words: []string{`"HTTP/1.1 503 Service Unavailable"`, "X-Squid-Error: ERR_CONNECT_FAIL 111"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := tc.rules
			if opts == nil {
				opts = []labOption{withProxy(allow("*"))}
			}
			l := newLab(t, opts...)
			if tc.setup != nil {
				tc.setup(t, l)
			}
			var copts []client.Option
			if tc.url != "" {
				copts = append(copts, client.WithPortalURL(tc.url))
			}
			res := l.run(t, profile(userProxy), copts...)
			assert.Equal(t, tc.cause, res.Cause, "%s", res)
			assert.Equal(t, client.StepPage, res.Step)
			assert.Equal(t, client.Remedy(tc.cause), res.Remedy)
			var pe *client.ProxyError
			require.ErrorAs(t, res.Err, &pe, "%s", res)
			for _, w := range tc.words {
				assert.Contains(t, res.Error, w)
			}
		})
	}
}

// TestProxyAnswersPlainHTTP: Squid's error page for a plain-HTTP request
// (the OCSP fetch, then the CRL fetches) is the proxy's answer, not the
// responder's: the revocation error carries the proxy's words.
func TestProxyAnswersPlainHTTP(t *testing.T) {
	t.Parallel()
	l := newLab(t, withProxy(faultRule([]string{mock.OCSPHost, mock.CRL3Host, mock.CRL4Host}, fault.Spec{Kind: fault.Status, Status: 504}), allow("*")))
	res := l.run(t, profile(userProxy))
	assert.Equal(t, client.CauseRevocationOffline, res.Cause, "%s", res)
	var pe *client.ProxyError
	require.ErrorAs(t, res.Err, &pe, "%s", res)
	assert.Equal(t, "ERR_READ_TIMEOUT 110", pe.SquidError)
	assert.Equal(t, mock.OCSPHost+":80", pe.Target)
	assert.Contains(t, res.Error, `"HTTP/1.1 504 Gateway Timeout" (X-Squid-Error: ERR_READ_TIMEOUT 110)`)
	assert.Contains(t, res.Error, "CRL http://crl4.digicert.com/egresslab-issuing-ca.crl: ", "both CRL distribution points were tried")
}
