package mock_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egresslab/egresslab/mock"
)

var longLabFlows = flag.Int("longlab.flows", 200_000, "flows BenchmarkLongRunningLab runs through one lab")

// longLabHeapBound is the most live heap BenchmarkLongRunningLab accepts
// after a GC at any tenth of its run, with the default retention: the
// service's retained state, the loopback server's and the clients'
// buffers, and the test binary's own.
const longLabHeapBound = 64 << 20

// BenchmarkLongRunningLab runs one service for many flows, as a served lab
// does: over loopback HTTP (httptest, plain HTTP, keep-alive), 16 flows at
// a time, each a complete flow (captcha, begin, send email, the code read
// from the outbox in process, verify, password) for one of 1,024 users.
// Each worker owns 64 users and lifts their blocks after every five rounds
// through them (the sixth reset in an hour would be refused).
//
// The run is cut into tenths; between tenths the workers wait, the heap is
// collected and measured (runtime.ReadMemStats), and the clock of the next
// tenth starts after. It reports the flow rate of the first and of the last
// tenth, their ratio (last/first: 1 means the lab did not slow down), and
// the largest live heap after a GC. It fails if that heap exceeds
// longLabHeapBound. Where the system counts a process's CPU time, it also
// reports the ratio of flows per CPU-second of the process
// (last/first-per-CPU-s), which other processes on the machine disturb
// less than the wall-clock rate. With -longlab.flows it runs another number of flows
// (200,000 by default).
func BenchmarkLongRunningLab(b *testing.B) {
	if testing.Short() {
		b.Skip("long-running: skipped with -short")
	}
	for b.Loop() {
		runLongLab(b, *longLabFlows)
	}
}

func runLongLab(b *testing.B, total int) {
	const (
		workers        = 16
		usersPerWorker = 64
		tenths         = 10
	)
	d := &mock.DirectoryData{Tenants: []mock.Tenant{{ID: "contoso", Domains: []string{"contoso.com"}, SSPR: mock.SSPRAll, Gates: 1}}}
	for i := range workers * usersPerWorker {
		d.Users = append(d.Users, mock.User{UPN: fmt.Sprintf("u%04d@contoso.com", i), Methods: mock.Registration{Email: fmt.Sprintf("u%04d@mail.example", i)}})
	}
	svc, err := mock.New(mock.WithDirectory(d))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: 2 * workers, MaxIdleConnsPerHost: 2 * workers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	call := func(path string, body, out any) error {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		resp, err := hc.Post(srv.URL+mock.APIPrefix+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, err = io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d: %s", path, resp.StatusCode, raw)
		}
		return json.Unmarshal(raw, out)
	}
	flowOnce := func(upn string) error {
		var c mock.Captcha
		if err := call("/captcha", struct{}{}, &c); err != nil {
			return err
		}
		var v mock.FlowView
		if err := call("/begin", map[string]string{"userId": upn, "captchaId": c.ID, "captchaAnswer": c.Challenge}, &v); err != nil {
			return err
		}
		token, corr := v.FlowToken, v.CorrelationID
		if err := call("/send", map[string]any{"flowToken": token, "method": mock.MethodEmail}, &v); err != nil {
			return err
		}
		code, ok := longLabCode(svc, corr)
		if !ok {
			return fmt.Errorf("no code in the outbox for flow %s", corr)
		}
		if err := call("/verify", map[string]any{"flowToken": token, "method": mock.MethodEmail, "code": code}, &v); err != nil {
			return err
		}
		if err := call("/password", map[string]any{"flowToken": token, "newPassword": strongPassword}, &v); err != nil {
			return err
		}
		if v.Outcome != mock.OutcomeSuccess {
			return fmt.Errorf("flow of %s: outcome %q status %q code %q", upn, v.Outcome, v.Status, v.Code)
		}
		return nil
	}

	per := total / tenths
	rates := make([]float64, tenths)
	cpuRates := make([]float64, tenths) // flows per CPU-second of the process
	var heapMax uint64
	done := make([]int, workers) // flows each worker ran, for its users' rounds
	var failed atomic.Bool
	var firstErr error
	var errOnce sync.Once
	for tenth := range tenths {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		cpuStart, cpuOK := processCPU()
		for w := range workers {
			wg.Go(func() {
				for next.Add(1) <= int64(per) && !failed.Load() {
					upn := fmt.Sprintf("u%04d@contoso.com", w*usersPerWorker+done[w]%usersPerWorker)
					if err := flowOnce(upn); err != nil {
						errOnce.Do(func() { firstErr = err })
						failed.Store(true)
						return
					}
					done[w]++
					if done[w]%(usersPerWorker*mock.ThrottleLimit) == 0 {
						for u := range usersPerWorker {
							svc.Unblock(fmt.Sprintf("u%04d@contoso.com", w*usersPerWorker+u))
						}
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpuEnd, _ := processCPU()
		if failed.Load() {
			b.Fatalf("tenth %d: %v", tenth+1, firstErr)
		}
		rates[tenth] = float64(per) / elapsed.Seconds()
		if cpuOK {
			cpuRates[tenth] = float64(per) / (cpuEnd - cpuStart).Seconds()
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heapMax = max(heapMax, ms.HeapAlloc)
		b.Logf("tenth %2d: %6.0f flows/s, %6.0f flows per CPU-second, heap after GC %5.1f MiB",
			tenth+1, rates[tenth], cpuRates[tenth], float64(ms.HeapAlloc)/(1<<20))
	}
	b.ReportMetric(rates[0], "first-tenth-flows/s")
	b.ReportMetric(rates[tenths-1], "last-tenth-flows/s")
	b.ReportMetric(rates[tenths-1]/rates[0], "last/first")
	if cpuRates[0] > 0 {
		b.ReportMetric(cpuRates[tenths-1]/cpuRates[0], "last/first-per-CPU-s")
	}
	b.ReportMetric(float64(heapMax)/(1<<20), "max-heap-MiB")
	b.ReportMetric(float64(per*tenths), "flows")
	if heapMax > longLabHeapBound {
		b.Errorf("live heap reached %.1f MiB, over the bound of %d MiB", float64(heapMax)/(1<<20), longLabHeapBound>>20)
	}
}

// longLabCode reads the code of the flow with correlation id corr from
// the outbox, as a lab client running several flows does.
func longLabCode(svc *mock.Service, corr string) (string, bool) {
	msgs := svc.Outbox().Flow(corr)
	if len(msgs) == 0 {
		return "", false
	}
	return msgs[len(msgs)-1].Code, true
}
