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
	// SquidError is the X-Squid-Error header, for example
	// "ERR_ACCESS_DENIED 0".
	SquidError string
	// Offered are the schemes of Proxy-Authenticate, in the proxy's order.
	Offered []string
	// Scheme is the scheme the client answered with; empty when it had no
	// credentials or none of the offered schemes.
	Scheme string
	// NoCredentials is set when the account had no credentials to offer
	// (always so for defaultuser1).
	NoCredentials bool
}

func (e *ProxyError) Error() string {
	msg := fmt.Sprintf("proxy %s answered %s %s with %d %s", e.Proxy, e.Method, e.Target, e.Status, http.StatusText(e.Status))
	if e.SquidError != "" {
		msg += " (X-Squid-Error: " + e.SquidError + ")"
	}
	if e.Status == http.StatusProxyAuthRequired {
		msg += fmt.Sprintf("; offered %s", strings.Join(e.Offered, ", "))
		switch {
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
// proxy's authentication challenges with creds, on the same kept-alive
// connection (NTLM's three legs need one), opening a new one only where
// Basic allows it. It returns the last response with its connection; the
// caller owns both. A 407 that the client cannot answer, or that rejects
// its credentials, comes back as a response, with the scheme tried.
func (nc *netClient) exchange(ctx context.Context, proxy *url.URL, newReq func() (*http.Request, error)) (*http.Response, *proxyConn, string, error) {
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
	// The answer goes on the same connection when the proxy keeps it.
	next := func() error {
		drain(resp)
		if resp.Close {
			pc.Close()
			if pc, err = nc.dialProxy(ctx, proxy); err != nil {
				return err
			}
		}
		return nil
	}
	switch scheme {
	case SchemeBasic:
		if err := next(); err != nil {
			return nil, nil, scheme, err
		}
		user := nc.creds.Username
		if nc.creds.Domain != "" {
			user = nc.creds.Domain + `\` + user
		}
		token := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+nc.creds.Password))
		resp, err = roundTrip(ctx, pc, newReq, token)
	default: // ntlm, or negotiate carrying NTLM
		if resp.Close {
			drain(resp)
			pc.Close()
			return nil, nil, scheme, fmt.Errorf("proxy %s closes the connection after its 407: %s needs one kept-alive connection", proxy.Host, scheme)
		}
		resp, err = nc.ntlm(ctx, pc, resp, newReq, scheme)
	}
	if err != nil {
		pc.Close()
		return nil, nil, scheme, err
	}
	return resp, pc, scheme, nil
}

// ntlm runs NTLM's second and third legs on pc, after the first 407.
func (nc *netClient) ntlm(ctx context.Context, pc *proxyConn, first *http.Response, newReq func() (*http.Request, error), scheme string) (*http.Response, error) {
	drain(first)
	prefix := "NTLM"
	if scheme == SchemeNegotiate {
		prefix = "Negotiate"
	}
	negotiate, err := ntlmssp.NewNegotiateMessage("", "")
	if err != nil {
		return nil, fmt.Errorf("ntlm: negotiate message: %w", err)
	}
	resp, err := roundTrip(ctx, pc, newReq, prefix+" "+base64.StdEncoding.EncodeToString(negotiate))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusProxyAuthRequired {
		return resp, nil // no challenge: whatever it is, the caller judges it
	}
	var challenge []byte
	for _, h := range resp.Header.Values("Proxy-Authenticate") {
		name, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
		if strings.EqualFold(name, prefix) && strings.TrimSpace(tok) != "" {
			if challenge, err = base64.StdEncoding.DecodeString(strings.TrimSpace(tok)); err != nil {
				drain(resp)
				return nil, fmt.Errorf("%s challenge from proxy is not base64: %w", prefix, err)
			}
		}
	}
	if challenge == nil {
		return resp, nil // a bare 407 again: the proxy refused the negotiation
	}
	drain(resp)
	if resp.Close {
		return nil, fmt.Errorf("proxy closed the connection after the %s challenge", prefix)
	}
	if !isNTLM(challenge) {
		return nil, fmt.Errorf("%s challenge is not NTLM (Kerberos is not supported by the client)", prefix)
	}
	user := nc.creds.Username
	if nc.creds.Domain != "" {
		user = nc.creds.Domain + `\` + user
	}
	auth, err := ntlmssp.NewAuthenticateMessage(challenge, user, nc.creds.Password, nil)
	if err != nil {
		return nil, fmt.Errorf("ntlm: authenticate message: %w", err)
	}
	return roundTrip(ctx, pc, newReq, prefix+" "+base64.StdEncoding.EncodeToString(auth))
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
	for _, h := range headers {
		name, _, _ := strings.Cut(strings.TrimSpace(h), " ")
		if name = strings.ToLower(name); name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
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
		SquidError:    resp.Header.Get("X-Squid-Error"),
		Offered:       offeredSchemes(resp.Header.Values("Proxy-Authenticate")),
		Scheme:        scheme,
		NoCredentials: !hasCreds,
	}
}
