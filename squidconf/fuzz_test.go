package squidconf_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/squidconf"
)

// fuzzResolver resolves nothing: the fuzzed rules are only compiled.
type fuzzResolver struct{}

func (fuzzResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, nil
}

// fuzzFS is what the fuzzed configurations may include and name as files
// of values: nothing is read from the disk.
var fuzzFS = fstest.MapFS{
	"etc/squid/conf.d/auth.conf": {Data: []byte("auth_param basic program /usr/lib/squid/basic_ncsa_auth /etc/squid/passwd\nacl authed proxy_auth REQUIRED\n")},
	"etc/squid/conf.d/loop.conf": {Data: []byte("include /etc/squid/conf.d/loop.conf\n")},
	"etc/squid/sites.txt":        {Data: []byte("# sites\n.microsoftonline.com\nlogin.live.com # comment\n")},
	"etc/squid/ports.txt":        {Data: []byte("80\n443\n1025-65535\n")},
	"etc/squid/agents.txt":       {Data: []byte("-i\n^Microsoft-CryptoAPI/\n")},
}

// FuzzReadBytes: the reader never panics, and every error it returns is
// an *Error with a file.
func FuzzReadBytes(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/squid.conf")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"acl a dstdomain .x\nhttp_access allow a\n",
		"include /etc/squid/conf.d/*.conf\nhttp_access allow authed\n",
		"include /etc/squid/conf.d/loop.conf\n",
		"acl s dstdomain \"/etc/squid/sites.txt\"\nacl p port \"/etc/squid/ports.txt\"\nacl u browser \"/etc/squid/agents.txt\"\n",
		"acl d dst 10.0.0.0-10.0.9.0/24 ::1/128 ipv6\nacl p port 1-2 3\n",
		"if 1 = 1\nacl a src all\nelse\nendif\n",
		"configuration_includes_quoted_values on\nacl a dstdomain \"x\\ty\" parameters(\"/etc/squid/sites.txt\")\n",
		"acl r dstdom_regex -i a\\ b +i \\.c$\nacl x ssl::server_name --consensus .a\n",
		"http_port [::1]:3128 intercept\nauth_param basic realm \"x y\"\n",
		"acl a dstdomain a \\\n  b \\\n# c\n d\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := squidconf.ReadBytes("/etc/squid/squid.conf", data, squidconf.WithFS(fuzzFS))
		if err != nil {
			var e *squidconf.Error
			if !errors.As(err, &e) || e.Pos.File == "" {
				t.Fatalf("error %q is not an *Error with a file", err)
			}
			return
		}
		for _, l := range cfg.Access {
			for _, term := range l.Terms {
				if cfg.ACLs[term.Name] == nil {
					t.Fatalf("%s: term %q names no ACL", l.Pos, term.Name)
				}
			}
		}
		// What Translate accepts, the lab's proxy runs: every rule valid.
		pol, err := squidconf.Translate(cfg, false)
		if err != nil {
			return
		}
		opts := []proxy.Option{proxy.WithRules(pol.Rules...), proxy.WithResolver(fuzzResolver{})}
		if len(pol.Schemes) > 0 {
			opts = append(opts, proxy.WithAuth(proxy.Auth{Schemes: pol.Schemes, Users: []proxy.User{{Name: "a", Password: "b"}}}))
		}
		p, err := proxy.New(opts...)
		if err != nil {
			t.Fatalf("the translated rules do not run: %v", err)
		}
		p.Close()
	})
}
