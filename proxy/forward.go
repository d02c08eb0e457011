package proxy

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/egresslab/egresslab/proxy/fault"
)

// hopHeaders are meaningful for one connection only (RFC 9110 7.6.1) and
// are never forwarded.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopHeaders deletes the hop-by-hop headers and those the Connection
// header names; it returns the protocol an Upgrade asked for, if any.
func removeHopHeaders(h http.Header) (upgrade string) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if strings.EqualFold(name, "upgrade") {
				upgrade = h.Get("Upgrade")
			}
			if name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	return upgrade
}

// forward sends an allowed plain-HTTP request upstream (the commonest
// ones through the proxy's own upstream client, the others with the
// proxy's transport) and copies the answer back, shaping it when the rule has a
// fault. It is what goproxy's handler did, without its per-request
// machinery, which cost about 15 µs of CPU a request.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, d *decision) {
	r.RequestURI = ""
	if up := removeHopHeaders(r.Header); up != "" {
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", up)
	}
	var resp *http.Response
	var err error
	if (p.parent == nil || p.resolveNames) && p.up.fastPath(r) {
		resp, err = p.up.roundTrip(r, d.target, d.addrs)
	} else {
		// The transport dials the decision's addresses (transportDial).
		resp, err = p.gp.Tr.RoundTrip(r.WithContext(context.WithValue(r.Context(), decisionKey{}, d)))
	}
	if err != nil {
		d.entry.Detail = err.Error()
		upstreamErrorPage(err).write(w)
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		p.upgrade(w, resp, d)
		return
	}
	defer resp.Body.Close()
	removeHopHeaders(resp.Header)
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	var body io.Reader = resp.Body
	if d.rule.Action == Fault && d.rule.Fault != nil {
		body = &cutBody{ReadCloser: fault.WrapBody(r.Context(), resp.Body, d.rule.Fault), d: d}
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, body); err != nil && !d.cut.Load() {
		d.entry.Detail = "copying the response: " + err.Error()
	}
}

// upgrade completes a protocol switch (WebSocket): it answers 101 on the
// client's connection, then relays both ways until either side ends.
func (p *Proxy) upgrade(w http.ResponseWriter, resp *http.Response, d *decision) {
	up, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		d.entry.Detail = "upstream switched protocols without a connection to relay"
		upstreamErrorPage(io.ErrUnexpectedEOF).write(w)
		return
	}
	defer up.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		d.entry.Detail = "cannot hijack for the upgrade: " + err.Error()
		return
	}
	conn = bare(conn)
	defer conn.Close()
	// The relay ends with the proxy: Close must not wait for the peers.
	stop := context.AfterFunc(p.life, func() {
		_ = conn.Close()
		_ = up.Close()
	})
	defer stop()
	resp.Body = nil
	if cw, ok := w.(*countingWriter); ok {
		cw.status = resp.StatusCode // written on the bare connection, for the journal
	}
	if err := resp.Write(conn); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, brw.Reader) // what the client sends, buffered bytes first
		_ = up.Close()
	}()
	_, _ = io.Copy(conn, up)
	_ = conn.Close()
	<-done
}
