package client

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

// ProxyError is a proxy's refusal: a CONNECT answered with anything but
// 2xx, or a 403/407 to a plain-HTTP request. It is read from the status
// and headers the proxy sent, never from error text.
type ProxyError struct {
	Proxy  string // host:port of the proxy
	Target string // host:port asked for
	Method string // CONNECT or the plain request's method
	Status int
	// StatusLine is the proxy's status line as it sent it, for example
	// "HTTP/1.1 502 Bad Gateway".
	StatusLine string
	// SquidError is the X-Squid-Error header, for example
	// "ERR_ACCESS_DENIED 0".
	SquidError string
	// Via, Cache and Server are the Via, X-Cache and Server headers: a
	// proxy that is not Squid names itself there, if anywhere.
	Via, Cache, Server string
	// Offered are the schemes of Proxy-Authenticate, in the proxy's order.
	Offered []string
	// Scheme is the scheme the client answered with; empty when it had no
	// credentials or none of the offered schemes.
	Scheme string
	// NoCredentials is set when the account had no credentials to offer
	// (always so for defaultuser1).
	NoCredentials bool
	// Reason says why a handshake broke down, when it did.
	Reason string
}

func (e *ProxyError) Error() string {
	line := e.StatusLine
	if line == "" {
		line = fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	msg := fmt.Sprintf("proxy %s answered %s %s with %q", e.Proxy, e.Method, e.Target, line)
	if e.SquidError != "" {
		msg += " (X-Squid-Error: " + e.SquidError + ")"
	}
	var names []string
	for _, h := range [][2]string{{"Via", e.Via}, {"X-Cache", e.Cache}, {"Server", e.Server}} {
		if h[1] != "" {
			names = append(names, h[0]+": "+h[1])
		}
	}
	if len(names) > 0 {
		msg += " (" + strings.Join(names, "; ") + ")"
	}
	if e.Status == http.StatusProxyAuthRequired && len(e.Offered) == 0 {
		msg += "; no Proxy-Authenticate challenge to answer"
	} else if e.Status == http.StatusProxyAuthRequired {
		msg += fmt.Sprintf("; offered %s", strings.Join(e.Offered, ", "))
		switch {
		case e.Reason != "":
			msg += "; " + e.Scheme + ": " + e.Reason
		case e.NoCredentials:
			msg += "; the account has no proxy credentials"
		case e.Scheme == "":
			msg += "; none the client can answer with its credentials"
		default:
			msg += "; " + e.Scheme + " credentials rejected"
		}
	}
	return msg
}

// DialError is a failed TCP connection: to the destination itself, or to
// the proxy.
type DialError struct {
	Addr    string
	ToProxy bool
	Err     error
}

func (e *DialError) Error() string {
	if e.ToProxy {
		return fmt.Sprintf("connect to proxy %s: %v", e.Addr, e.Err)
	}
	return fmt.Sprintf("connect to %s: %v", e.Addr, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// proxyConn is a connection to a proxy and its reader.
type proxyConn struct {
	net.Conn
	br   *bufio.Reader
	name string // the proxy's host:port, as configured
}

// Read reads what the reader buffered first.
func (c *proxyConn) Read(p []byte) (int, error) { return c.br.Read(p) }

// maxDrain bounds how much of a refusal's body is read to keep the
// connection for the next leg.
const maxDrain = 64 << 10

// exchange sends the request newReq builds to the proxy and answers the
// proxy's authentication challenges with creds. NTLM's challenge and its
// answer share one kept-alive connection; the first, anonymous 407 may
// close its connection (Windows then opens a new one), and so may a Basic
// refusal. It returns the last response with its connection; the caller
// owns both. A 407 that the client cannot answer, or that rejects its
// credentials, comes back as a response, with the scheme tried; a
// handshake that breaks down comes back as a *ProxyError.
func (nc *netClient) exchange(ctx context.Context, proxy *url.URL, target, method string, newReq func() (*http.Request, error)) (*http.Response, *proxyConn, string, error) {
	pc, err := nc.dialProxy(ctx, proxy)
	if err != nil {
		return nil, nil, "", err
	}
	resp, err := roundTrip(ctx, pc, newReq, "")
	if err != nil {
		pc.Close()
		return nil, nil, "", err
	}
	if resp.StatusCode != http.StatusProxyAuthRequired || nc.creds == nil {
		return resp, pc, "", nil
	}
	scheme := pickScheme(resp.Header.Values("Proxy-Authenticate"), nc.creds.schemes())
	if scheme == "" {
		return resp, pc, "", nil
	}
	first := resp // the challenge the handshake answers, for its errors
	refused := func(reason string) *ProxyError {
		pe := proxyError(proxy, target, method, first, scheme, true)
		pe.Reason = reason
		return pe
	}
	// The answer goes on the same connection when the proxy keeps it
	// open, else on a new one.
	if pc, err = nc.nextConn(ctx, proxy, pc, resp); err != nil {
		return nil, nil, scheme, err
	}
	user := nc.creds.Username
	if nc.creds.Domain != "" {
		user = nc.creds.Domain + `\` + user
	}
	if scheme == SchemeBasic {
		token := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+nc.creds.Password))
		resp, err = roundTrip(ctx, pc, newReq, token)
		if err != nil {
			pc.Close()
			return nil, nil, scheme, err
		}
		return resp, pc, scheme, nil
	}
	// NTLM, or Negotiate carrying NTLM.
	prefix := "NTLM"
	if scheme == SchemeNegotiate {
		prefix = "Negotiate"
	}
	negotiate, err := ntlmssp.NewNegotiateMessage("", "")
	if err != nil {
		pc.Close()
		return nil, nil, scheme, refused("build the NTLM negotiate message: " + err.Error())
	}
	resp, err = roundTrip(ctx, pc, newReq, prefix+" "+base64.StdEncoding.EncodeToString(negotiate))
	if err != nil {
		pc.Close()
		return nil, nil, scheme, err
	}
	if resp.StatusCode != http.StatusProxyAuthRequired {
		return resp, pc, scheme, nil // no challenge: whatever it is, the caller judges it
	}
	var challenge string
	for _, c := range parseChallenges(resp.Header.Values("Proxy-Authenticate")) {
		if strings.EqualFold(c.scheme, prefix) && c.token != "" {
			challenge = c.token
		}
	}
	if challenge == "" {
		return resp, pc, scheme, nil // a bare 407 again: the proxy refused the negotiation
	}
	if !keepsAlive(resp) {
		pc.Close()
		return nil, nil, scheme, refused("the proxy closed the connection after its " + prefix + " challenge; the answer must go on the same connection")
	}
	drain(resp)
	raw, err := base64.StdEncoding.DecodeString(challenge)
	if err != nil {
		pc.Close()
		return nil, nil, scheme, refused(prefix + " challenge is not base64")
	}
	if !isNTLM(raw) {
		pc.Close()
		return nil, nil, scheme, refused(prefix + " challenge is not NTLM (the client has no Kerberos)")
	}
	auth, err := ntlmssp.NewAuthenticateMessage(raw, user, nc.creds.Password, nil)
	if err != nil {
		pc.Close()
		return nil, nil, scheme, refused("NTLM challenge cannot be answered: " + err.Error())
	}
	resp, err = roundTrip(ctx, pc, newReq, prefix+" "+base64.StdEncoding.EncodeToString(auth))
	if err != nil {
		pc.Close()
		return nil, nil, scheme, err
	}
	return resp, pc, scheme, nil
}

// nextConn readies a connection for the next leg after resp: pc when the
// proxy keeps it (the refusal's body read), else a new one.
func (nc *netClient) nextConn(ctx context.Context, proxy *url.URL, pc *proxyConn, resp *http.Response) (*proxyConn, error) {
	if keepsAlive(resp) {
		drain(resp)
		return pc, nil
	}
	pc.Close() // a body that runs to the close is not read
	return nc.dialProxy(ctx, proxy)
}

// keepsAlive reports whether the proxy keeps the connection after resp:
// not when it says close, nor when the body runs until the connection
// closes. HTTP/1.0 proxies say keep-alive in Proxy-Connection.
func keepsAlive(resp *http.Response) bool {
	if resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 {
		return false
	}
	if !resp.Close {
		return true
	}
	return resp.ProtoMajor == 1 && resp.ProtoMinor == 0 && strings.EqualFold(resp.Header.Get("Proxy-Connection"), "keep-alive") &&
		!strings.EqualFold(resp.Header.Get("Connection"), "close")
}

func isNTLM(b []byte) bool { return len(b) >= 8 && string(b[:8]) == "NTLMSSP\x00" }

// pickScheme returns the first scheme the proxy offers (clients pick the
// first they support) that the client may answer with.
func pickScheme(offered []string, allowed []string) string {
	for _, o := range offeredSchemes(offered) {
		if slices.Contains(allowed, o) {
			return o
		}
	}
	return ""
}

// offeredSchemes lists the schemes of Proxy-Authenticate headers,
// lower-case, in order.
func offeredSchemes(headers []string) []string {
	var out []string
	for _, c := range parseChallenges(headers) {
		if name := strings.ToLower(c.scheme); !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// challenge is one challenge of a Proxy-Authenticate header: its scheme
// and its token68 or parameters.
type challenge struct{ scheme, token string }

// parseChallenges splits Proxy-Authenticate headers into challenges. One
// header may hold several, comma-separated (RFC 7235: NTLM, Basic
// realm="x"); commas also separate a challenge's parameters, and may
// stand inside quoted strings.
func parseChallenges(headers []string) []challenge {
	var out []challenge
	for _, h := range headers {
		for _, part := range splitOutsideQuotes(h) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, rest, _ := strings.Cut(part, " ")
			if strings.Contains(name, "=") && len(out) > 0 {
				out[len(out)-1].token += ", " + part // a parameter of the challenge before
				continue
			}
			out = append(out, challenge{scheme: name, token: strings.TrimSpace(rest)})
		}
	}
	return out
}

func splitOutsideQuotes(s string) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// roundTrip writes one request to the proxy, with auth as its
// Proxy-Authorization, and reads the answer. The context's deadline and
// cancellation apply to the connection.
func roundTrip(ctx context.Context, pc *proxyConn, newReq func() (*http.Request, error), auth string) (*http.Response, error) {
	req, err := newReq()
	if err != nil {
		return nil, err
	}
	if auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	// Keep-alive matters: NTLM answers belong to the connection.
	req.Header.Set("Proxy-Connection", "Keep-Alive")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	stop := context.AfterFunc(ctx, func() { _ = pc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = pc.SetDeadline(dl)
	}
	if req.Method == http.MethodConnect {
		err = req.Write(pc.Conn)
	} else {
		err = req.WriteProxy(pc.Conn)
	}
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		if !isNetworkError(err) {
			err = &MalformedError{Peer: "proxy " + pc.name, Err: err}
		}
		return nil, ctxErr(ctx, err)
	}
	return resp, nil
}

// MalformedError is an answer that is not HTTP where HTTP was due.
type MalformedError struct {
	Peer string
	Err  error
}

func (e *MalformedError) Error() string {
	return e.Peer + " sent a malformed response: " + e.Err.Error()
}

func (e *MalformedError) Unwrap() error { return e.Err }

// isNetworkError reports whether err is the connection's fault (closed,
// reset, timed out) rather than the content's.
func isNetworkError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || isReset(err)
}

// ctxErr prefers the context's error when the context ended the wait.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
}

// proxyError builds the ProxyError for a refusal.
func proxyError(proxy *url.URL, target, method string, resp *http.Response, scheme string, hasCreds bool) *ProxyError {
	return &ProxyError{
		Proxy: proxy.Host, Target: target, Method: method, Status: resp.StatusCode,
		StatusLine:    resp.Proto + " " + resp.Status,
		SquidError:    resp.Header.Get("X-Squid-Error"),
		Via:           strings.Join(resp.Header.Values("Via"), ", "),
		Cache:         strings.Join(resp.Header.Values("X-Cache"), ", "),
		Server:        resp.Header.Get("Server"),
		Offered:       offeredSchemes(resp.Header.Values("Proxy-Authenticate")),
		Scheme:        scheme,
		NoCredentials: !hasCreds,
	}
}

// cause names what the proxy's answer says: its status, Squid's error id
// and errno when it is Squid, the status alone when it is not.
func (e *ProxyError) cause() Cause {
	id, errno, _ := strings.Cut(strings.TrimSpace(e.SquidError), " ")
	switch {
	case e.Status == http.StatusProxyAuthRequired && len(e.Offered) > 0:
		return CauseProxyAuthRequired
	case e.Status == http.StatusProxyAuthRequired, e.Status == http.StatusUnauthorized:
		return CauseProxyAuthBroken
	case e.Status == http.StatusForbidden:
		return CauseProxyDenied
	case e.Status == http.StatusBadRequest, e.Status == http.StatusMethodNotAllowed:
		return CauseProxyRefusedRequest
	case id == "ERR_DNS_FAIL":
		return CauseProxyDNSFailure
	case id == "ERR_READ_TIMEOUT", id == "ERR_CONNECT_FAIL" && strings.TrimSpace(errno) == "110",
		e.Status == http.StatusGatewayTimeout:
		return CauseProxyTimeout
	case id == "ERR_CONNECT_FAIL":
		return CauseProxyConnectFailed
	case id == "" && (e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable):
		return CauseProxyGatewayError
	}
	return CauseProxyError
}
