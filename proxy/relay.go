package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/egresslab/egresslab/proxy/fault"
)

// newGoproxy builds the goproxy server that does the interception: only
// CONNECT requests for Intercept rules reach it, after ServeHTTP allowed
// them, with the decision in their context. Its transport is the proxy's
// for every upstream request (plain HTTP too, in forward).
func (p *Proxy) newGoproxy() *goproxy.ProxyHttpServer {
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = printfLogger{p.logger}
	gp.Verbose = false
	// goproxy's default transport keeps 2 idle connections per host,
	// which halves keep-alive throughput under load.
	gp.Tr = &http.Transport{
		// A proxy passes bodies as they come: the transport must not ask
		// for gzip on its own and then decode it.
		DisableCompression:    true,
		DialContext:           p.transportDial,
		TLSClientConfig:       &tls.Config{RootCAs: p.upstreamRoots}, // nil: the system roots
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
	if p.parent != nil && !p.resolveNames {
		gp.Tr.Proxy = http.ProxyURL(p.parent)
	}
	gp.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		d, _ := ctx.Req.Context().Value(decisionKey{}).(*decision)
		if d == nil {
			return goproxy.RejectConnect, host
		}
		if d.rule.Action != Intercept {
			return goproxy.RejectConnect, host // never sent here: ServeHTTP relays the others
		}
		ctx.UserData = d
		ctx.RoundTripper = goproxy.RoundTripperFunc(p.roundTripIntercepted)
		e := d.entry
		p.finish(&e, http.StatusOK, ResultOK, "tunnel intercepted")
		return &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: p.tlsConfigFor}, host
	})
	gp.OnRequest().DoFunc(p.onInterceptedRequest)
	gp.OnResponse().DoFunc(p.onResponse)
	return gp
}

// onInterceptedRequest checks a request read from inside an intercepted
// tunnel: it may only go where the tunnel was allowed to. goproxy would
// otherwise send it to whatever its Host header or URL names, past every
// rule. Plain-HTTP requests pass through untouched: ServeHTTP decided them.
func (p *Proxy) onInterceptedRequest(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	d, ok := ctx.UserData.(*decision)
	if !ok {
		return req, nil
	}
	// goproxy gives each request a ProxyCtx of its own, with the
	// tunnel's UserData: the exchange replaces it for this request.
	x := &exchange{d: d, entry: innerEntry(d, req), body: req.Body}
	ctx.UserData = x
	// "Connection: close", or HTTP/1.0 without keep-alive: the tunnel
	// closes after this response (RFC 9112 9.6). The option is the
	// client's, for this hop: the upstream connection stays.
	x.close, req.Close = req.Close, false
	if p.isClosing() {
		// Read after the proxy began to close: refused, as serveTracked
		// refuses requests on kept-alive connections, and not journaled.
		x.close, x.quiet = true, true
		return req, x.answer(req, closingPage(), "")
	}
	if req.URL.Scheme != "https" {
		// goproxy reads plain HTTP when the tunnel's first byte is not
		// a TLS handshake, and would send it to http://host:443. An
		// inspection product that expects TLS refuses it.
		x.close = true
		return req, x.answer(req, unsupportedProtocolPage(d.target), ResultBadRequest)
	}
	if d.conn != nil && d.conn.ended.Load() {
		// Read (buffered) after a request that closed the tunnel: the
		// client may not send it (RFC 9112 9.6); it goes nowhere.
		x.close = true
		return req, x.answer(req, badRequestPage(fmt.Errorf("request after the tunnel's Connection: close")), ResultBadRequest)
	}
	for _, hp := range []string{req.Host, req.URL.Host} {
		if hp == "" {
			continue
		}
		h, port, err := splitHostPort(hp, d.target.Port)
		var host string
		if err == nil {
			host, _, err = normalizeHost(h)
		}
		if err != nil || host != d.target.Host || port != d.target.Port {
			page := badRequestPage(badTarget("request for %q inside a tunnel to %s", hp, d.target))
			return req, x.answer(req, page, ResultBadRequest)
		}
	}
	req.URL.Host = d.target.String()
	req.Host = d.target.Host
	// The request ends with the proxy (goproxy gives it a context of its
	// own, which it cancels when the exchange is over).
	rctx, cancel := context.WithCancel(p.life)
	context.AfterFunc(req.Context(), cancel)
	// The transport dials the addresses the tunnel was checked against.
	rctx = context.WithValue(rctx, decisionKey{}, d)
	x.ctx = rctx
	return req.WithContext(rctx), nil
}

// roundTripIntercepted sends a request from inside an intercepted tunnel
// upstream. A failure becomes the Squid page a plain request would get,
// journaled as an upstream error; goproxy would close the tunnel without
// a word.
func (p *Proxy) roundTripIntercepted(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Response, error) {
	resp, err := p.interceptTLSOf(ctx).upstream.RoundTrip(req)
	if x, ok := ctx.UserData.(*exchange); ok && err != nil {
		return x.answer(req, upstreamErrorPage(err), ResultUpstreamError), nil
	}
	return resp, err
}

// exchange is one request inside an intercepted tunnel, from
// onInterceptedRequest to onResponse, which journals it once its
// response has been written.
type exchange struct {
	d     *decision
	entry Entry
	body  io.ReadCloser // the request's body as the client sends it
	// ctx is a forwarded request's context: it ends with the exchange or
	// with the proxy.
	ctx context.Context
	// close: the tunnel closes after this response; quiet: the exchange
	// is not journaled.
	close, quiet bool
	// answered: the proxy answered the request itself with a page
	// (result and detail say why); goproxy still passes the page
	// through onResponse.
	answered bool
	result   string
}

// answer makes page the request's response, for result.
func (x *exchange) answer(req *http.Request, page squidPage, result string) *http.Response {
	x.answered, x.result, x.entry.Detail = true, result, page.detail
	return pageResponse(req, page)
}

// tunnel answers an allowed CONNECT on the client's bare TCP connection:
// it reaches upstream, says 200, passes on what the client sent early, and
// relays (package fault keeps the splice path when there is no fault).
func (p *Proxy) tunnel(ctx context.Context, d *decision, client net.Conn, early []byte) {
	e := d.entry
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	upstream, _, err := p.dialChecked(dctx, d.target, d.addrs)
	cancel()
	if err != nil {
		page := upstreamErrorPage(err)
		page.writeRaw(client)
		client.Close()
		p.finish(&e, page.status, ResultUpstreamError, err.Error())
		return
	}
	// Established: the journal shows the tunnel from now, as open (before
	// the client can read the 200), and completes its entry when it ends.
	open := e
	open.Status, open.Result = http.StatusOK, ResultOpen
	id := p.journal.open(open)
	if _, err := io.WriteString(client, connectEstablished); err != nil {
		client.Close()
		upstream.Close()
		p.complete(id, &e, http.StatusOK, ResultUpstreamError, "client gone: "+err.Error())
		return
	}
	if len(early) > 0 {
		if _, err := upstream.Write(early); err != nil {
			client.Close()
			upstream.Close()
			p.complete(id, &e, http.StatusOK, ResultUpstreamError, "upstream gone: "+err.Error())
			return
		}
	}
	var spec *fault.Spec
	if d.rule.Action == Fault {
		spec = d.rule.Fault
	}
	up, down, err := fault.Relay(p.life, client, upstream, spec)
	e.BytesUp, e.BytesDown = up+int64(len(early)), down
	result, detail := ResultOK, ""
	if spec != nil {
		result = ResultFault
	}
	if err != nil {
		detail = err.Error()
	}
	p.complete(id, &e, http.StatusOK, result, detail)
}

// onResponse handles the responses inside intercepted tunnels: a shaping
// fault wraps the body, and each request is journaled. (Plain HTTP is
// forwarded by ServeHTTP itself.)
func (p *Proxy) onResponse(resp *http.Response, ctx *goproxy.ProxyCtx) *http.Response {
	x, intercepted := ctx.UserData.(*exchange)
	if !intercepted {
		return resp
	}
	d, result := x.d, x.result
	if !x.answered {
		result = ResultOK
		if d.rule.Fault != nil {
			resp.Body = &cutBody{ReadCloser: fault.WrapBody(x.ctx, resp.Body, d.rule.Fault), d: d}
			result = ResultFault
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols { // goproxy relays a WebSocket upgrade by its headers
		removeHopHeaders(resp.Header)
	}
	resp.Close = x.close // resp.Write then says "Connection: close"
	e := x.entry
	resp.Body = &journalBody{ReadCloser: resp.Body, done: func(n int64) {
		e.BytesDown = n
		if !x.quiet {
			p.finish(&e, resp.StatusCode, result, e.Detail)
		}
		if x.close {
			x.closeTunnel()
		}
	}}
	return resp
}

// innerEntry starts the journal entry of a request inside an intercepted
// tunnel.
func innerEntry(d *decision, req *http.Request) Entry {
	e := d.entry
	e.Time, e.Method, e.Path, e.Intercepted = time.Now(), req.Method, req.URL.Path, true
	e.BytesUp = max(req.ContentLength, 0)
	return e
}

func pageResponse(req *http.Request, page squidPage) *http.Response {
	resp := goproxy.NewResponse(req, "text/html;charset=utf-8", page.status, page.body())
	resp.Header.Set("X-Squid-Error", page.errorID)
	return resp
}

// cutBody notes when a faulted body ends in an error (a close-after cut):
// goproxy swallows that error and net/http would then end the response
// cleanly, so ServeHTTP aborts the connection instead.
type cutBody struct {
	io.ReadCloser
	d *decision
}

func (c *cutBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		c.d.cut.Store(true)
	}
	return n, err
}

// journalBody records an intercepted response once its body is done.
type journalBody struct {
	io.ReadCloser
	n    int64
	done func(int64)
	once bool
}

func (j *journalBody) Read(b []byte) (int, error) {
	n, err := j.ReadCloser.Read(b)
	j.n += int64(n)
	return n, err
}

func (j *journalBody) Close() error {
	err := j.ReadCloser.Close()
	if !j.once {
		j.once = true
		j.done(j.n)
	}
	return err
}

// printfLogger routes goproxy's Printf logging (which it does even when
// not verbose, for warnings) into slog.
type printfLogger struct{ l *slog.Logger }

func (g printfLogger) Printf(format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	if strings.Contains(msg, "WARN") {
		g.l.Warn("goproxy: " + msg)
		return
	}
	g.l.Debug("goproxy: " + msg)
}

// newSingleByteReader reads one byte at a time, so that http.ReadResponse
// on a parent's CONNECT answer never consumes tunnel bytes that follow it
// (the tunnel then stays a bare TCP connection, on the splice path).
func newSingleByteReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(oneByte{c}, 16) }

type oneByte struct{ c net.Conn }

func (o oneByte) Read(b []byte) (int, error) {
	if len(b) > 1 {
		b = b[:1]
	}
	return o.c.Read(b)
}
