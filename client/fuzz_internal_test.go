package client

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzProxySetting checks the parsing of a proxy setting (ProxyServer
// and ProxyOverride) on arbitrary text: it never panics; a parsed address
// is http://host:port, and its printed form never holds userinfo (no '@');
// and for a server spelled with a credential, prefix + user + ":" + secret
// + "@" + rest, the error never shows the secret with its '@' (raw or
// quoted), and no parsed address shows the secret (when it is at least 4
// bytes, holds none of the separators "/@;=" and is not written
// elsewhere in the setting). Whatever the host, proxyFor
// never panics and picks one of the parsed addresses or none. Run it with
// go test -run '^$' -fuzz FuzzProxySetting ./client.
func FuzzProxySetting(f *testing.F) {
	for _, s := range [][6]string{
		{"proxy.contoso.com:8080", "*.contoso.com;<local>", "login.microsoftonline.com", "http://", "bob", "S3cret!"},
		{"http=p1:3128;https=p2:3129", "10.*", "10.1.2.3", "https=", "DOMAIN\\bob", "hunter22"},
		{"http://[::1]:3128", "", "x", "http=", "", "passw0rd"},
		{"HTTPS=p:1; ftp=q:2", "[", "h.", "", "u", "secret"},
		{"p:0", "a:b;;c/d", "", "", "u", "s3cr3t"},
		{"http://p:3128/path?q", "<LOCAL>", "intranet", "http://x/", "a", "b%40cdef"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	f.Fuzz(func(t *testing.T, server, bypass, host, prefix, user, secret string) {
		set := &ProxySetting{Server: server}
		if bypass != "" {
			set.Bypass = strings.Split(bypass, "\n")
		}
		r, err := set.parse()
		if err == nil {
			for scheme, u := range r.perScheme {
				if u.User != nil || strings.Contains(u.String(), "@") {
					t.Fatalf("%q: %q address %q holds userinfo", server, scheme, u)
				}
				if u.Scheme != "http" || u.Port() == "" || u.Path != "" || u.RawQuery != "" {
					t.Fatalf("%q: %q address %q is not http://host:port", server, scheme, u)
				}
			}
			for _, scheme := range []string{"http", "https"} {
				if u := r.proxyFor(scheme, host); u != nil && u != r.perScheme[scheme] && u != r.perScheme[""] {
					t.Fatalf("%q: proxyFor(%q, %q) = %v, not a parsed address", server, scheme, host, u)
				}
			}
		}

		secret = strings.NewReplacer("/", "", "@", "", ";", "", "=", "").Replace(secret)
		user = strings.NewReplacer("/", "", "@", "").Replace(user)
		rest, _, _ := strings.Cut(server, "@")
		withCred := prefix + user + ":" + secret + "@" + rest
		if len(secret) < 4 || strings.Contains(prefix, secret) || strings.Contains(user, secret) || strings.Contains(rest, secret) || strings.Contains(bypass, secret) {
			return
		}
		set = &ProxySetting{Server: withCred, Bypass: set.Bypass}
		r, err = set.parse()
		if err != nil {
			// The secret followed by its '@', raw or as %q prints it: the
			// secret alone may be in an error's own words ("cred") or in
			// the quoted form of another part ("\x0000" holds "0000").
			q := strconv.Quote(secret)
			for _, shown := range []string{secret + "@", q[1:len(q)-1] + "@"} {
				if strings.Contains(err.Error(), shown) {
					t.Fatalf("Server %q: the error shows the secret %q: %v", withCred, secret, err)
				}
			}
			return
		}
		for _, u := range r.perScheme {
			if strings.Contains(u.String(), secret) {
				t.Fatalf("Server %q: address %q shows the secret %q", withCred, u, secret)
			}
		}
	})
}

// FuzzProxyAuthenticate checks the parsing of Proxy-Authenticate headers:
// it never panics; every challenge has a scheme without spaces;
// offeredSchemes lists each lower-case scheme once; pickScheme picks an
// allowed one or none. And whatever comes before and after it, a challenge
// "scheme realm=quoted-string" is found whole, with its scheme, however
// many commas, quotes and backslashes its realm holds. Run it with
// go test -run '^$' -fuzz FuzzProxyAuthenticate ./client.
func FuzzProxyAuthenticate(f *testing.F) {
	for _, s := range [][4]string{
		{"NTLM", `Basic realm="Squid proxy-caching web server"`, "Negotiate", "x"},
		{"NTLM, Basic realm=\"a, b\"", "Negotiate TlRMTVNTUAACAAAA", "Basic", `a "quoted", \ realm`},
		{`Basic realm="unterminated`, "", "Digest", "r"},
		{`, ,, realm=x`, `Bearer error="invalid_token", scope="a b"`, "bearer", ",,,"},
		{"\"\\", "a=b", "NTLM", `\`},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, h1, h2, scheme, realm string) {
		headers := []string{h1, h2}
		for _, c := range parseChallenges(headers) {
			if c.scheme == "" || strings.ContainsAny(c.scheme, " ") {
				t.Fatalf("%q: challenge with scheme %q", headers, c.scheme)
			}
		}
		offered := offeredSchemes(headers)
		for i, s := range offered {
			if s != strings.ToLower(s) || slices.Index(offered, s) != i {
				t.Fatalf("%q: offered schemes %q", headers, offered)
			}
		}
		allowed := []string{"basic", "ntlm"}
		if p := pickScheme(headers, allowed); p != "" && !slices.Contains(allowed, p) {
			t.Fatalf("%q: picked %q", headers, p)
		}

		// A well-formed challenge, after well-formed or empty headers.
		scheme = strings.Map(func(r rune) rune {
			if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+.^_`|~-", r)) {
				return r
			}
			return -1
		}, scheme)
		if scheme == "" {
			scheme = "Basic"
		}
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(realm) + `"`
		token := "realm=" + quoted
		cs := parseChallenges([]string{"NTLM", scheme + " " + token})
		if len(cs) != 2 || cs[1].scheme != scheme || cs[1].token != token {
			t.Fatalf("%s %s: parsed as %q", scheme, token, cs)
		}
		cs = parseChallenges([]string{"Negotiate, " + scheme + " " + token + ", NTLM"})
		if len(cs) != 3 || cs[1].scheme != scheme || cs[1].token != token || cs[2].scheme != "NTLM" {
			t.Fatalf("%s %s between others: parsed as %q", scheme, token, cs)
		}
	})
}
