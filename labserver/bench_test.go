package labserver_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// BenchmarkServedProxyRatio compares a new tunnel (CONNECT to the
// portal, 200, close) through a served lab's proxy, whose listener hands
// each connection over to the lab in force, with the same through a lab's
// own proxy, in interleaved bursts so that the machine's drift falls on
// both alike. The figure is served/direct (1.00: the hand-over costs
// nothing measurable).
func BenchmarkServedProxyRatio(b *testing.B) {
	sc, err := labserver.Builtin(labserver.DefaultScenario)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := labserver.New(context.Background(), labserver.Config{Scenario: sc, ProxyListener: ln})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	lab, err := scenarios.NewLab(context.Background(), sc, harness.WithProxy(proxy.WithJournalLimit(1000)))
	//lint:ignore SA5001 NewLab returns the partly built lab with its error: it is closed either way.
	defer lab.Close()
	if err != nil {
		b.Fatal(err)
	}
	served, direct := ln.Addr().String(), lab.Proxy.Listener.Addr().String()
	tunnel := func(addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "CONNECT "+mock.PortalHost+":443 HTTP/1.1\r\nHost: "+mock.PortalHost+":443\r\n\r\n"); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("CONNECT through %s: %v %v", addr, resp, err)
		}
	}
	const burst = 50
	var took [2]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for j, addr := range [2]string{served, direct} {
			if i%2 == 1 {
				j, addr = 1-j, [2]string{direct, served}[j] // rotate the order
			}
			start := time.Now()
			for range burst {
				tunnel(addr)
			}
			took[j] += time.Since(start)
		}
	}
	n := float64(b.N * burst)
	b.ReportMetric(float64(took[0].Microseconds())/n, "served-µs/tunnel")
	b.ReportMetric(float64(took[1].Microseconds())/n, "direct-µs/tunnel")
	b.ReportMetric(float64(took[0])/float64(took[1]), "x-direct")
}
