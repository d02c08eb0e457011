package pac

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseResult(t *testing.T) {
	cases := []struct {
		in   string
		want []Proxy
	}{
		{"DIRECT", []Proxy{Direct}},
		{"PROXY a:1; SOCKS b:2; DIRECT", []Proxy{{"PROXY", "a:1"}, {"SOCKS", "b:2"}, Direct}},
		{"  proxy   A.Example:8080 ;;\tdirect ; ", []Proxy{{"PROXY", "a.example:8080"}, Direct}},
		{"PROXY a", []Proxy{{"PROXY", "a:80"}}},
		{"HTTPS a; HTTP b; SOCKS c; SOCKS4 d; SOCKS5 e", []Proxy{{"HTTPS", "a:443"}, {"HTTP", "b:80"}, {"SOCKS", "c:1080"}, {"SOCKS4", "d:1080"}, {"SOCKS5", "e:1080"}}},
		{"PROXY [2001:DB8::1]:3128", []Proxy{{"PROXY", "[2001:db8::1]:3128"}}},
		{"PROXY [::1]", []Proxy{{"PROXY", "[::1]:80"}}},
		{"PROXY 10.0.0.1:08080", []Proxy{{"PROXY", "10.0.0.1:8080"}}},
		{"PROXY proxy.corp.:3128", []Proxy{{"PROXY", "proxy.corp.:3128"}}},
		{"PROXY my_proxy:1", []Proxy{{"PROXY", "my_proxy:1"}}},
	}
	for _, c := range cases {
		got, err := ParseResult(c.in)
		if err != nil {
			t.Errorf("ParseResult(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseResult(%q) = %v, want %v", c.in, got, c.want)
		}
		again, err := ParseResult(Format(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseResult(Format(%v)) = %v, %v", got, again, err)
		}
	}
}

func TestParseResultErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "no proxy"},
		{" ; ;", "no proxy"},
		{"DIRECT x", "DIRECT takes no host"},
		{"PROXY", "without a host"},
		{"PROXY a:1 b:2", "one host:port"},
		{"FTP a:1", "unknown kind"},
		{"PROXY a:1, DIRECT", "one host:port"},
		{"PROXY a:0", "not 1-65535"},
		{"PROXY a:65536", "not 1-65535"},
		{"PROXY a:-1", "not a number"},
		{"PROXY a:+1", "not a number"},
		{"PROXY a:", "not 1-65535"},
		{"PROXY :80", "empty host"},
		{"PROXY 2001:db8::1", "must be in brackets"},
		{"PROXY [2001:db8::1", "missing ]"},
		{"PROXY [10.0.0.1]:80", "not an IPv6"},
		{"PROXY [::1]x", "junk"},
		{"PROXY a..b:1", "empty label"},
		{"PROXY a/b:1", "not allowed"},
		{"PROXY http://a:1", "not a URL"},
		{"DIRECT; PROXY é:1", "not allowed"},
		{strings.Repeat("DIRECT;", MaxResultLen/7+1), "more than"},
	}
	for _, c := range cases {
		got, err := ParseResult(c.in)
		if err == nil {
			t.Errorf("ParseResult(%.40q) = %v, want an error", c.in, got)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseResult(%.40q): error %q does not say %q", c.in, err, c.want)
		}
	}
	// The error names the entry.
	_, err := ParseResult("DIRECT; BOGUS x:1")
	if err == nil || !strings.Contains(err.Error(), `entry 2 "BOGUS x:1"`) {
		t.Errorf("error %v does not name entry 2", err)
	}
}

func TestProxyString(t *testing.T) {
	if got := Direct.String(); got != "DIRECT" {
		t.Errorf("Direct = %q", got)
	}
	if got := Format([]Proxy{{"PROXY", "a:1"}, Direct}); got != "PROXY a:1; DIRECT" {
		t.Errorf("Format = %q", got)
	}
}

// FuzzParseResult: ParseResult never panics, and what it accepts prints
// back (Format) to a string it parses again to the same list.
func FuzzParseResult(f *testing.F) {
	for _, s := range []string{
		"DIRECT", "PROXY a:1; SOCKS b:2; DIRECT", "proxy [::1]:8080;;", "HTTPS h", "SOCKS5 10.0.0.1:1080 ; direct",
		"PROXY a:1 b", "", ";", "PROXY [::ffff:1.2.3.4]", "PROXY a.:00080",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseResult(s)
		if err != nil {
			return
		}
		if len(ps) == 0 {
			t.Fatalf("ParseResult(%q) = no entries and no error", s)
		}
		out := Format(ps)
		again, err := ParseResult(out)
		if err != nil {
			t.Fatalf("ParseResult(%q) = %v, printed %q, which does not parse: %v", s, ps, out, err)
		}
		if !reflect.DeepEqual(again, ps) {
			t.Fatalf("ParseResult(%q) = %v, printed %q, parsed again to %v", s, ps, out, again)
		}
	})
}
