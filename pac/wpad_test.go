package pac

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestWPADCandidates(t *testing.T) {
	cases := []struct {
		domain string
		want   []string
	}{
		{"a.b.corp.example", []string{
			"http://wpad.a.b.corp.example/wpad.dat",
			"http://wpad.b.corp.example/wpad.dat",
			"http://wpad.corp.example/wpad.dat",
		}},
		{"A.B.Corp.Example.", []string{
			"http://wpad.a.b.corp.example/wpad.dat",
			"http://wpad.b.corp.example/wpad.dat",
			"http://wpad.corp.example/wpad.dat",
		}},
		{"corp.example", []string{"http://wpad.corp.example/wpad.dat"}},
		{"corp.example.", []string{"http://wpad.corp.example/wpad.dat"}},
		// Under a two-label public suffix Windows reaches wpad.co.uk.
		{"corp.co.uk", []string{"http://wpad.corp.co.uk/wpad.dat", "http://wpad.co.uk/wpad.dat"}},
		{"example", nil},
		{"example.", nil},
		{"", nil},
		{".", nil},
		{"corp.example..", nil},
		{"a..example", nil},
		{"bad name.example", nil},
		{"10.0.0.1", nil},
	}
	for _, c := range cases {
		if got := WPADCandidates(c.domain); !reflect.DeepEqual(got, c.want) {
			t.Errorf("WPADCandidates(%q) = %q, want %q", c.domain, got, c.want)
		}
	}
}

// wpadServer serves wpad.dat on 127.0.0.1 by Host header: bodies[host]
// is the body ("" means 404). get reaches it for any name, dialling only
// the server's loopback address.
func wpadServer(t *testing.T, bodies map[string]string) func(ctx context.Context, url string) ([]byte, error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := bodies[r.Host]
		if body == "" || r.URL.Path != "/wpad.dat" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("server on %s, not loopback", addr)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, target string) (net.Conn, error) {
			if !strings.HasPrefix(target, "wpad.") {
				t.Errorf("dial to %s, not a wpad name", target)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
	}}
	t.Cleanup(client.CloseIdleConnections)
	return HTTPGet(client)
}

const wpadBody = `function FindProxyForURL(url, host) { return "PROXY proxy.corp.example:3128; DIRECT"; }`

func TestDiscover(t *testing.T) {
	// wpad.a.b.corp.example does not resolve; wpad.b.corp.example resolves
	// but has no file; wpad.corp.example serves one.
	r := newStub(map[string][]string{
		"wpad.b.corp.example": {"192.0.2.1"},
		"wpad.corp.example":   {"192.0.2.2"},
	})
	get := wpadServer(t, map[string]string{"wpad.corp.example": wpadBody})
	u, body, err := Discover(context.Background(), "a.b.corp.example.", r, get)
	if err != nil {
		t.Fatal(err)
	}
	if u != "http://wpad.corp.example/wpad.dat" || string(body) != wpadBody {
		t.Fatalf("Discover = %q, %q", u, body)
	}
	for _, name := range []string{"wpad.a.b.corp.example", "wpad.b.corp.example", "wpad.corp.example"} {
		if r.count("ip "+name) != 1 {
			t.Errorf("%s looked up %d times, want 1", name, r.count("ip "+name))
		}
	}
	s, err := Compile(u, body)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.FindProxy(context.Background(), "https://login.example/")
	if err != nil || Format(ps) != "PROXY proxy.corp.example:3128; DIRECT" {
		t.Fatalf("FindProxy = %v, %v", ps, err)
	}

	// The first candidate wins when it answers.
	get = wpadServer(t, map[string]string{"wpad.b.corp.example": "// first\n" + wpadBody, "wpad.corp.example": wpadBody})
	if u, _, err := Discover(context.Background(), "b.corp.example", r, get); err != nil || u != "http://wpad.b.corp.example/wpad.dat" {
		t.Errorf("Discover = %q, %v; want wpad.b.corp.example", u, err)
	}
}

func TestDiscoverFails(t *testing.T) {
	r := newStub(map[string][]string{"wpad.b.corp.example": {"192.0.2.1"}, "wpad.corp.example": {"192.0.2.2"}})
	big := strings.Repeat("/", MaxWPADSize+1)
	get := wpadServer(t, map[string]string{"wpad.corp.example": big})
	_, _, err := Discover(context.Background(), "b.corp.example", r, get)
	if err == nil {
		t.Fatal("Discover succeeded with only a 404 and an oversized file")
	}
	for _, want := range []string{"404", "more than"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Nothing resolves: get is never called.
	none := newStub(nil)
	_, _, err = Discover(context.Background(), "x.corp.example", none, func(context.Context, string) ([]byte, error) {
		t.Error("get called for a name that does not resolve")
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "no such host") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := Discover(context.Background(), "example", none, get); err == nil {
		t.Error("a one-label domain gave a result")
	}
	if _, _, err := Discover(context.Background(), "corp.example", nil, get); err == nil {
		t.Error("nil resolver accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Discover(ctx, "corp.example", r, get); err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
