package redact_test

import (
	"strings"
	"testing"

	"github.com/egresslab/egresslab/internal/redact"
)

// FuzzUserinfo checks the redactor's promise on URL-shaped text: for
// s = a + "//" + user + ":" + secret + "@" + h, where the secret holds
// neither '/' nor '@' (it would end the userinfo) and the user no '/',
// the output never contains the secret, provided the secret is at least
// 4 bytes and occurs in neither a, user nor h (where it may be shown
// legitimately). Whatever the input, the output is also a fixed point,
// keeps the slashes, and an input without '@' comes back unchanged. Run
// it with go test -run '^$' -fuzz FuzzUserinfo ./internal/redact.
func FuzzUserinfo(f *testing.F) {
	for _, s := range [][4]string{
		{"http:", "bob", "S3cret", "proxy:3128"},
		{"https:", "u", "p4ssword", "h.example:443/n?q=a@b"},
		{"", "a@b", "hunter2x", "host/"},
		{"http:/x", "", "pass:word", "host@evil.example:443"},
		{"allowed.com@evil.com:443/", "user", "%2Fsecret", ""},
		{"", "user", "s\x00\xffecret", "h"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, a, user, secret, h string) {
		user = strings.ReplaceAll(user, "/", "")
		secret = strings.NewReplacer("/", "", "@", "").Replace(secret)
		s := a + "//" + user + ":" + secret + "@" + h
		out := redact.Userinfo(s)
		if again := redact.Userinfo(out); again != out {
			t.Fatalf("Userinfo(%q) = %q, but Userinfo of that is %q", s, out, again)
		}
		if strings.Count(out, "/") != strings.Count(s, "/") {
			t.Fatalf("Userinfo(%q) = %q: slashes changed", s, out)
		}
		for _, in := range []string{a, user, secret, h} {
			if !strings.Contains(in, "@") && redact.Userinfo(in) != in {
				t.Fatalf("Userinfo(%q) = %q: changed text without '@'", in, redact.Userinfo(in))
			}
		}
		if len(secret) < 4 || strings.Contains(a, secret) || strings.Contains(user, secret) || strings.Contains(h, secret) {
			return
		}
		if strings.Contains(out, secret) {
			t.Fatalf("Userinfo(%q) = %q: shows the secret %q", s, out, secret)
		}
	})
}
