package pac

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustCompile(t testing.TB, src string, opts ...Option) *Script {
	t.Helper()
	s, err := Compile("t.pac", []byte(src), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFindProxy(t *testing.T) {
	r := netscapeNames()
	s := mustCompile(t, `
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".local")) return "DIRECT";
  if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
  if (shExpMatch(url, "http://*/socks/*")) return "SOCKS socks.corp:1080; DIRECT";
  return "PROXY proxy.corp:8080; proxy2.corp; DIRECT".replace("proxy2", "PROXY proxy2");
}`, WithResolver(r))
	cases := []struct{ url, want string }{
		{"http://intranet/", "DIRECT"},
		{"http://printer.local/x", "DIRECT"},
		{"http://intranet.corp/page", "DIRECT"},
		{"http://example.com/socks/a", "SOCKS socks.corp:1080; DIRECT"},
		{"https://example.com/socks/a", "PROXY proxy.corp:8080; PROXY proxy2.corp:80; DIRECT"},
	}
	for _, c := range cases {
		ps, err := s.FindProxy(context.Background(), c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if got := Format(ps); got != c.want {
			t.Errorf("%s: got %q, want %q", c.url, got, c.want)
		}
	}
	if r.count("ip intranet.corp") != 1 {
		t.Errorf("intranet.corp looked up %d times, want 1", r.count("ip intranet.corp"))
	}
}

func TestFindProxyForURLExPreferred(t *testing.T) {
	s := mustCompile(t, `
function FindProxyForURL(url, host) { return "PROXY legacy:1"; }
function FindProxyForURLEx(url, host) { return "PROXY ex:2"; }`)
	ps, err := s.FindProxy(context.Background(), "http://a.example/")
	if err != nil {
		t.Fatal(err)
	}
	if got := Format(ps); got != "PROXY ex:2" {
		t.Errorf("got %q, want the Ex answer", got)
	}
	// Only the Ex form is enough.
	s = mustCompile(t, `function FindProxyForURLEx(url, host) { return "DIRECT"; }`)
	if _, err := s.FindProxy(context.Background(), "http://a.example/"); err != nil {
		t.Fatal(err)
	}
}

// scriptSees compiles a script that throws "url|host" and returns what
// the error says it saw.
func scriptSees(t *testing.T, rawURL string) string {
	t.Helper()
	s := mustCompile(t, `function FindProxyForURL(url, host) { throw "saw " + url + "|" + host + "|"; }`)
	_, err := s.FindProxy(context.Background(), rawURL)
	if err == nil {
		t.Fatal("no error from a throwing script")
	}
	m := regexp.MustCompile(`saw (.*)\|`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q does not quote the script's arguments", err)
	}
	return m[1]
}

func TestURLPassedToScript(t *testing.T) {
	cases := []struct{ url, want string }{
		{"https://user:pw@Example.COM:8443/secret/path?q=token#frag", "https://example.com:8443/|example.com"},
		{"https://example.com", "https://example.com/|example.com"},
		{"wss://chat.example/room?id=1", "wss://chat.example/|chat.example"},
		{"http://user@example.com/path?q=1#frag", "http://example.com/path?q=1|example.com"},
		{"http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x|2001:db8::1"},
		{"ftp://files.example/pub/", "ftp://files.example/pub/|files.example"},
	}
	for _, c := range cases {
		if got := scriptSees(t, c.url); got != c.want {
			t.Errorf("%s: script saw %q, want %q", c.url, got, c.want)
		}
	}
	s := mustCompile(t, `function FindProxyForURL(url, host) { return "DIRECT"; }`)
	for _, bad := range []string{"", "example.com", "http://", "http://%zz/", "/relative"} {
		if _, err := s.FindProxy(context.Background(), bad); err == nil {
			t.Errorf("FindProxy(%q): no error", bad)
		}
	}
}

var posRE = regexp.MustCompile(`t\.pac:(\d+):(\d+)`)

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, src, line, want string
	}{
		{"syntax", "function FindProxyForURL(url, host) {\n  return \"DIRECT\";\n  if (\n}\n", "4", "syntax error"},
		{"unterminated string", "function FindProxyForURL(url, host) {\n  return \"DIRECT;\n}\n", "2", "syntax error"},
		{"top-level throw", "var x = 1;\nthrow new Error(\"top\");\n", "2", "top"},
		{"no function", "var FindProxy = 1;\n", "", "neither FindProxyForURLEx nor FindProxyForURL"},
		{"not a function", "var FindProxyForURL = \"DIRECT\";\n", "", "neither"},
	}
	for _, c := range cases {
		_, err := Compile("t.pac", []byte(c.src))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		if c.line != "" {
			m := posRE.FindStringSubmatch(err.Error())
			if m == nil || m[1] != c.line {
				t.Errorf("%s: error %q does not name t.pac:%s:col", c.name, err, c.line)
			}
		}
	}
	if _, err := Compile("big.pac", make([]byte, MaxScriptSize+1)); err == nil || !strings.Contains(err.Error(), "big.pac") {
		t.Errorf("oversized script: %v", err)
	}
	for _, o := range []Option{WithResolver(nil), WithClock(nil), WithTimeout(0), WithMyIP(netipZero)} {
		if _, err := Compile("t.pac", []byte(`function FindProxyForURL(){return "DIRECT"}`), o); err == nil {
			t.Error("bad option accepted")
		}
	}
}

func TestThrowingScript(t *testing.T) {
	s := mustCompile(t, "function FindProxyForURL(url, host) {\n  var a = 1;\n  throw new Error(\"boom\");\n}\n")
	_, err := s.FindProxy(context.Background(), "http://a.example/")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the exception", err)
	}
	if m := posRE.FindStringSubmatch(err.Error()); m == nil || m[1] != "3" {
		t.Errorf("error %q does not name t.pac:3:col", err)
	}
	// A reference to an undefined helper is an exception too.
	s = mustCompile(t, "function FindProxyForURL(url, host) {\n  return noSuchHelper(host);\n}\n")
	if _, err := s.FindProxy(context.Background(), "http://a.example/"); err == nil || !strings.Contains(err.Error(), "noSuchHelper") {
		t.Errorf("err = %v, want a ReferenceError naming noSuchHelper", err)
	}
}

func TestInfiniteLoopInterrupted(t *testing.T) {
	s := mustCompile(t, `function FindProxyForURL(url, host) { for (;;) {} }`, WithTimeout(20*time.Millisecond))
	_, err := s.FindProxy(context.Background(), "http://a.example/")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want an interruption by the deadline", err)
	}
	// The caller's context interrupts too.
	s = mustCompile(t, `function FindProxyForURL(url, host) { while (true) {} }`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.FindProxy(ctx, "http://a.example/"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// And a looping top level fails Compile.
	if _, err := Compile("t.pac", []byte(`while (1) {} function FindProxyForURL(){}`), WithTimeout(20*time.Millisecond)); err == nil {
		t.Fatal("Compile of a looping top level succeeded")
	}
}

func TestBadResults(t *testing.T) {
	cases := []struct{ body, want string }{
		{`return new Array(100000).join("PROXY a:1;");`, "more than"},
		{`return 42;`, "not a string"},
		{`return;`, "undefined"},
		{`return null;`, "null"},
		{`return "";`, "no proxy"},
		{`return "PROXY";`, "without a host"},
		{`return "GOPHER g:70";`, "unknown kind"},
	}
	for _, c := range cases {
		s := mustCompile(t, "function FindProxyForURL(url, host) { "+c.body+" }")
		_, err := s.FindProxy(context.Background(), "http://a.example/")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.body, err, c.want)
		}
	}
}

// Every call runs in a fresh runtime: a global the script changes is
// back to its initial value next time, and concurrent calls do not race.
func TestConcurrentFindProxy(t *testing.T) {
	s := mustCompile(t, `
var calls = 0;
function FindProxyForURL(url, host) {
  calls++;
  if (calls != 1) return "PROXY leaked-state:1";
  if (dnsDomainIs(host, ".corp")) return "DIRECT";
  return "PROXY p.corp:" + (8000 + dnsDomainLevels(host));
}`, WithResolver(netscapeNames()))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				host := "a.example"
				want := "PROXY p.corp:8001"
				if (g+i)%2 == 0 {
					host, want = "intranet.corp", "DIRECT"
				}
				ps, err := s.FindProxy(context.Background(), "http://"+host+"/")
				if err != nil {
					errs <- err
					return
				}
				if got := Format(ps); got != want {
					errs <- errors.New(host + ": got " + got + ", want " + want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
