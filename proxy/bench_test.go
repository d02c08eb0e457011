package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/egresslab/egresslab/proxy"
)

// benchProxy is one variant a benchmark compares.
type benchProxy struct{ name, addr string }

// benchProxies returns, for a benchmark, the lab's proxy allowing
// everything, goproxy with only its transport tuned, and bare goproxy (the
// baseline), all on loopback, in that fixed order: bare goproxy opens a new
// upstream connection for most requests and leaves thousands of sockets in
// TIME_WAIT, which would slow whatever ran after it.
func benchProxies(b *testing.B) []benchProxy {
	b.Helper()
	bare := goproxy.NewProxyHttpServer()
	bare.Logger = discardLogger{}
	bare.Tr.Proxy = nil // the environment's proxy settings must not apply
	bare.ConnectDial = nil
	srv := httptest.NewServer(bare)
	b.Cleanup(srv.Close)
	tuned := goproxy.NewProxyHttpServer()
	tuned.Logger = discardLogger{}
	tuned.Tr = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256}
	tuned.ConnectDial = nil
	tsrv := httptest.NewServer(tuned)
	b.Cleanup(tsrv.Close)
	p, err := proxy.New(proxy.WithDefault(proxy.Allow))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return []benchProxy{
		{"egresslab", p.Listener.Addr().String()},
		{"goproxy-tuned-transport", tsrv.Listener.Addr().String()},
		{"baseline=goproxy", srv.Listener.Addr().String()},
	}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// serveTCP runs handle for every connection accepted on a new loopback
// listener, and returns its address.
func serveTCP(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// sink discards what it reads.
func sink(b *testing.B) string {
	return serveTCP(b, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

func openTunnel(b *testing.B, proxyAddr, target string) net.Conn {
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); err != nil {
		b.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64), nil)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("CONNECT: %v %v", resp, err)
	}
	return c
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConnectRelay moves 64 MiB through a CONNECT tunnel per
// operation and reports the process's CPU time per GiB relayed (client,
// proxy and sink all run in this process, so the figures include them
// and compare only with each other).
func BenchmarkConnectRelay(b *testing.B) {
	target := sink(b)
	buf := make([]byte, 1<<20)
	const perOp = 64 << 20
	for _, bp := range benchProxies(b) {
		addr := bp.addr
		b.Run(bp.name, func(b *testing.B) {
			b.SetBytes(perOp)
			start := cpuTime()
			for b.Loop() {
				c := openTunnel(b, addr, target)
				for sent := 0; sent < perOp; sent += len(buf) {
					if _, err := c.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				_ = c.(*net.TCPConn).CloseWrite()
				_, _ = io.Copy(io.Discard, c) // until the tunnel closes
				c.Close()
			}
			gib := float64(b.N) * perOp / (1 << 30)
			b.ReportMetric((cpuTime()-start).Seconds()/gib, "cpu-s/GiB")
		})
	}
}

// BenchmarkNewTunnel opens a tunnel, exchanges one small message with an
// echo server, and closes it.
func BenchmarkNewTunnel(b *testing.B) {
	echo := serveTCP(b, func(c net.Conn) { _, _ = io.Copy(c, c) })
	msg := []byte("ping")
	for _, bp := range benchProxies(b) {
		addr := bp.addr
		b.Run(bp.name, func(b *testing.B) {
			got := make([]byte, len(msg))
			for b.Loop() {
				c := openTunnel(b, addr, echo)
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// BenchmarkKeepAliveHTTP: 32 keep-alive clients send plain-HTTP GETs
// through the proxy to one origin. Client and origin are lean raw-TCP
// loops (a fixed request, a fixed 2-byte response), so that on two cores
// the proxies, not the load generator, take the CPU: what differs between
// the variants is only the proxy.
func BenchmarkKeepAliveHTTP(b *testing.B) {
	origin := rawOrigin(b)
	req := []byte("GET http://" + origin + "/ HTTP/1.1\r\nHost: " + origin + "\r\n\r\n")
	for _, bp := range benchProxies(b) {
		b.Run(bp.name, func(b *testing.B) {
			conns := dialClients(b, bp.addr, 32)
			b.ResetTimer()
			cpu0 := cpuTime()
			d := burst(b, conns, req, b.N)
			b.ReportMetric(float64(b.N)/d.Seconds(), "req/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
		})
	}
}

// BenchmarkKeepAliveRatio runs the same load as BenchmarkKeepAliveHTTP, but
// interleaves the variants in short bursts and rotates their order every
// round, so that the machine's drift over a run (sockets in TIME_WAIT, GC,
// other load) falls on all of them alike. It reports each variant's rate
// and the lab proxy's ratio to bare goproxy.
func BenchmarkKeepAliveRatio(b *testing.B) {
	origin := rawOrigin(b)
	req := []byte("GET http://" + origin + "/ HTTP/1.1\r\nHost: " + origin + "\r\n\r\n")
	vs := benchProxies(b)
	conns := make([][]net.Conn, len(vs))
	for i, v := range vs {
		conns[i] = dialClients(b, v.addr, 32)
	}
	const perBurst = 2000
	elapsed := make([]time.Duration, len(vs))
	rounds := 0
	for b.Loop() {
		for j := range vs {
			k := (rounds + j) % len(vs)
			elapsed[k] += burst(b, conns[k], req, perBurst)
		}
		rounds++
	}
	rate := func(k int) float64 { return float64(rounds*perBurst) / elapsed[k].Seconds() }
	for k, v := range vs {
		b.ReportMetric(rate(k), v.name+"-req/s")
	}
	b.ReportMetric(rate(0)/rate(len(vs)-1), "x-bare-goproxy")
}

// dialClients opens n keep-alive connections to a proxy.
func dialClients(b *testing.B, addr string, n int) []net.Conn {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

// burst sends n requests spread over the connections, each connection one
// request at a time, and returns how long they took.
func burst(b *testing.B, conns []net.Conn, req []byte, n int) time.Duration {
	work := make(chan struct{}, len(conns))
	go func() {
		for range n {
			work <- struct{}{}
		}
		close(work)
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			br := bufio.NewReader(c)
			for range work {
				if _, err := c.Write(req); err != nil {
					b.Error(err)
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// rawOrigin answers every request head it reads with a fixed response.
func rawOrigin(b *testing.B) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
	return serveTCP(b, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			// One response per request head (requests have no body).
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
}

// BenchmarkNewTunnelRatio opens tunnels (CONNECT, one echo, close) through
// each variant in short interleaved bursts, rotating their order, so that
// the machine's drift (TIME_WAIT build-up above all) falls on all alike.
// It reports each variant's mean time per tunnel and the lab proxy's
// ratio to bare goproxy.
func BenchmarkNewTunnelRatio(b *testing.B) {
	echo := serveTCP(b, func(c net.Conn) { _, _ = io.Copy(c, c) })
	msg := []byte("ping")
	got := make([]byte, len(msg))
	vs := benchProxies(b)
	const perBurst = 50
	elapsed := make([]time.Duration, len(vs))
	rounds := 0
	for b.Loop() {
		for j := range vs {
			k := (rounds + j) % len(vs)
			start := time.Now()
			for range perBurst {
				c := openTunnel(b, vs[k].addr, echo)
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			elapsed[k] += time.Since(start)
		}
		rounds++
	}
	per := func(k int) float64 { return float64(elapsed[k].Microseconds()) / float64(rounds*perBurst) }
	for k, v := range vs {
		b.ReportMetric(per(k), v.name+"-µs/tunnel")
	}
	b.ReportMetric(per(0)/per(len(vs)-1), "x-bare-goproxy")
}

// BenchmarkKeepAliveByName runs BenchmarkKeepAliveRatio's load through
// one proxy twice over, interleaved: to the origin by its IP address, and
// by a name its resolver answers (from the DNS cache after the first
// request). It reports both rates and the ratio by name to by address,
// the cost of deciding on and dialling the name's checked address.
func BenchmarkKeepAliveByName(b *testing.B) {
	origin := rawOrigin(b)
	_, port, _ := net.SplitHostPort(origin)
	p, err := proxy.New(proxy.WithDefault(proxy.Allow),
		proxy.WithResolver(stubResolver{addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}))
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	addr := p.Listener.Addr().String()
	reqs := [][]byte{
		[]byte("GET http://" + origin + "/ HTTP/1.1\r\nHost: " + origin + "\r\n\r\n"),
		[]byte("GET http://origin.bench:" + port + "/ HTTP/1.1\r\nHost: origin.bench:" + port + "\r\n\r\n"),
	}
	conns := [][]net.Conn{dialClients(b, addr, 32), dialClients(b, addr, 32)}
	const perBurst = 2000
	elapsed := make([]time.Duration, 2)
	rounds := 0
	for b.Loop() {
		for j := range 2 {
			k := (rounds + j) % 2
			elapsed[k] += burst(b, conns[k], reqs[k], perBurst)
		}
		rounds++
	}
	rate := func(k int) float64 { return float64(rounds*perBurst) / elapsed[k].Seconds() }
	b.ReportMetric(rate(0), "by-address-req/s")
	b.ReportMetric(rate(1), "by-name-req/s")
	b.ReportMetric(rate(1)/rate(0), "x-by-address")
}
