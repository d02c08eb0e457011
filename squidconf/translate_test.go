package squidconf_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/squidconf"
)

func translate(t *testing.T, conf string, strict bool) (*squidconf.Policy, error) {
	t.Helper()
	cfg, err := squidconf.ReadBytes("/etc/squid/squid.conf", []byte(conf))
	require.NoError(t, err)
	return squidconf.Translate(cfg, strict)
}

// rule is the first rule of a one-line policy, without name and line.
func rule(t *testing.T, conf string) proxy.Rule {
	t.Helper()
	p, err := translate(t, conf, false)
	require.NoError(t, err)
	require.NotEmpty(t, p.Rules)
	r := p.Rules[0]
	r.Name, r.Line = "", 0
	return r
}

func TestTranslateACLTypes(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		conf string
		want proxy.Rule
	}{
		"dstdomain": {"acl a dstdomain .Example.com www.test\nhttp_access allow a",
			proxy.Rule{Hosts: []string{".example.com", "www.test"}, Action: proxy.Allow}},
		"dstdomain -n with an address": {"acl a dstdomain -n .example.com 10.1.2.3\nhttp_access deny a",
			proxy.Rule{HostRegexes: []string{`(^|\.)example\.com$`, `^10\.1\.2\.3$`}, Action: proxy.Deny}},
		"ssl::server_name": {"acl a ssl::server_name .example.com\nhttp_access allow CONNECT a",
			proxy.Rule{Hosts: []string{".example.com"}, Methods: []string{"CONNECT"}, Action: proxy.Allow}},
		"dstdom_regex -i": {"acl a dstdom_regex -n ^www\\. -i \\.example\\.com$\nhttp_access allow a",
			proxy.Rule{HostRegexes: []string{`^www\.`, `(?i)\.example\.com$`}, Action: proxy.Allow}},
		"dst": {"acl a dst 10.0.0.0/8 192.168.1.1 172.16.0.0-172.16.1.255\nhttp_access deny a",
			proxy.Rule{Hosts: []string{"10.0.0.0/8", "192.168.1.1/32", "172.16.0.0/23"}, Action: proxy.Deny}},
		"src": {"acl a src 10.20.0.0/16 10.0.0.1-10.0.0.6\nhttp_access allow a",
			proxy.Rule{Src: []string{"10.20.0.0/16", "10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}, Action: proxy.Allow}},
		"src all": {"acl a src all\nhttp_access allow a",
			proxy.Rule{Action: proxy.Allow}},
		"port": {"acl a port 443 0-1024 8000-8080\nhttp_access deny !a",
			proxy.Rule{Not: &proxy.Conditions{PortRanges: []string{"443", "1-1024", "8000-8080"}}, Action: proxy.Deny}},
		"method": {"acl a method PUT DELETE\nhttp_access deny a",
			proxy.Rule{Methods: []string{"PUT", "DELETE"}, Action: proxy.Deny}},
		"proto HTTP": {"acl a proto HTTP FTP\nhttp_access allow a",
			proxy.Rule{Schemes: []string{"http"}, Action: proxy.Allow}},
		"proto FTP matches nothing": {"acl a proto FTP\nhttp_access deny a",
			proxy.Rule{Not: &proxy.Conditions{Hosts: []string{"*"}}, Action: proxy.Deny}},
		"!proto FTP matches everything": {"acl a proto FTP\nhttp_access deny !a",
			proxy.Rule{Action: proxy.Deny}},
		"browser -i": {"acl a browser -i ^Microsoft-CryptoAPI/\nhttp_access allow a",
			proxy.Rule{UserAgents: []string{"(?i)^Microsoft-CryptoAPI/"}, Action: proxy.Allow}},
		"predefined": {"http_access allow localhost CONNECT",
			proxy.Rule{Src: []string{"127.0.0.1/32", "::1/128"}, Methods: []string{"CONNECT"}, Action: proxy.Allow}},
		"manager matches nothing": {"http_access deny manager",
			proxy.Rule{Not: &proxy.Conditions{Hosts: []string{"*"}}, Action: proxy.Deny}},
		"negations of a type are one union": {"acl a dstdomain .a.test\nacl b dstdomain .b.test\nacl m method GET\nhttp_access deny !a !b !m",
			proxy.Rule{Not: &proxy.Conditions{Hosts: []string{".a.test", ".b.test"}, Methods: []string{"GET"}}, Action: proxy.Deny}},
		"two ACLs of a type intersect": {"acl a dstdomain .a.test\nacl b dstdomain x.a.test y.b.test\nhttp_access allow a b",
			proxy.Rule{Hosts: []string{".a.test"}, And: []proxy.Conditions{{Hosts: []string{"x.a.test", "y.b.test"}}}, Action: proxy.Allow}},
		"dst with dstdomain": {"acl a dstdomain .a.test\nacl d dst 127.0.0.0/8\nacl p port 1025-65535\nhttp_access allow a d p",
			proxy.Rule{Hosts: []string{"127.0.0.0/8"}, PortRanges: []string{"1025-65535"}, And: []proxy.Conditions{{Hosts: []string{".a.test"}}}, Action: proxy.Allow}},
		"an empty ACL matches nothing": {"acl a dstdom_regex # no values\nacl b dstdomain .b.test\nhttp_access deny b a",
			proxy.Rule{Hosts: []string{".b.test"}, Not: &proxy.Conditions{Hosts: []string{"*"}}, Action: proxy.Deny}},
		"a number as a dstdomain is text": {"acl a dstdomain 0000000000 .b.test\nhttp_access deny a",
			proxy.Rule{HostRegexes: []string{`^0000000000$`, `(^|\.)b\.test$`}, Action: proxy.Deny}},
		"!all never matches": {"http_access allow !all",
			proxy.Rule{Not: &proxy.Conditions{Hosts: []string{"*"}}, Action: proxy.Allow}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := rule(t, c.conf)
			assert.Equal(t, c.want, got)
			require.NoError(t, got.Validate())
		})
	}
}

func TestTranslateAuth(t *testing.T) {
	t.Parallel()
	const head = "auth_param basic program /usr/lib/squid/basic_ncsa_auth passwd\nauth_param basic realm Corp\n" +
		"acl auth proxy_auth REQUIRED\nacl x dstdomain .x.test\nacl g method GET\n"
	for name, c := range map[string]struct {
		line string
		want []proxy.Rule
	}{
		"allow auth": {"http_access allow auth",
			[]proxy.Rule{{Action: proxy.Allow, Auth: true}}},
		"allow x auth: auth only for x": {"http_access allow x auth",
			[]proxy.Rule{{Hosts: []string{".x.test"}, Action: proxy.Allow, Auth: true}}},
		"deny !auth: authenticate, then the next line": {"http_access deny !auth",
			[]proxy.Rule{{Action: proxy.Continue, Auth: true}}},
		"allow x !auth, not last: no challenge": {"http_access allow x !auth\nhttp_access deny all",
			[]proxy.Rule{{Hosts: []string{".x.test"}, Action: proxy.Continue, Auth: true}, {Action: proxy.Deny}}},
		"deny x !auth": {"http_access deny x !auth",
			[]proxy.Rule{{Hosts: []string{".x.test"}, Action: proxy.Continue, Auth: true}}},
		"deny x auth: 407, not 403": {"http_access deny x auth",
			[]proxy.Rule{{Hosts: []string{".x.test"}, Action: proxy.Challenge, Auth: true}}},
		"allow g auth x: authenticate GETs, then test x": {"http_access allow g auth x",
			[]proxy.Rule{{Methods: []string{"GET"}, Action: proxy.Continue, Auth: true}, {Methods: []string{"GET"}, Hosts: []string{".x.test"}, Action: proxy.Allow, Auth: true}}},
		"deny auth x: 403 after authentication": {"http_access deny auth x",
			[]proxy.Rule{{Action: proxy.Continue, Auth: true}, {Hosts: []string{".x.test"}, Action: proxy.Deny, Auth: true}}},
		"deny auth x auth: the last ACL is proxy_auth": {"http_access deny auth x auth",
			[]proxy.Rule{{Action: proxy.Continue, Auth: true}, {Hosts: []string{".x.test"}, Action: proxy.Challenge, Auth: true}}},
		"allow x !auth last: the implicit deny challenges": {"http_access allow x !auth",
			[]proxy.Rule{{Hosts: []string{".x.test"}, Action: proxy.Continue, Auth: true}, {Hosts: []string{".x.test"}, Action: proxy.Challenge, Auth: true}}},
		"allow x auth g !auth last": {"http_access allow x auth g !auth",
			[]proxy.Rule{{Hosts: []string{".x.test"}, Action: proxy.Continue, Auth: true}, {Hosts: []string{".x.test"}, Methods: []string{"GET"}, Action: proxy.Challenge, Auth: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := translate(t, head+c.line+"\n", false)
			require.NoError(t, err)
			assert.Equal(t, []string{"basic"}, p.Schemes)
			assert.Equal(t, "Corp", p.Realm)
			require.Len(t, p.Rules, len(c.want)+1)
			first, _, _ := strings.Cut(c.line, "\n")
			for i := range c.want {
				if p.Rules[i].Line == 6 {
					assert.Contains(t, p.Rules[i].Name, first+" (squid.conf:6)")
				}
				p.Rules[i].Name, p.Rules[i].Line = "", 0
				assert.Equal(t, c.want[i], p.Rules[i], "rule %d", i)
			}
		})
	}
}

func TestTranslateImplicitDefault(t *testing.T) {
	t.Parallel()
	for conf, want := range map[string]proxy.Action{
		"":                              proxy.Deny,
		"http_access allow localhost\n": proxy.Deny,
		"http_access deny CONNECT\n":    proxy.Allow,
		"http_access deny all\nacl a src 10.0.0.1\n": proxy.Allow,
	} {
		p, err := translate(t, conf, false)
		require.NoError(t, err)
		last := p.Rules[len(p.Rules)-1]
		assert.Equal(t, proxy.Rule{Name: squidconf.DefaultRuleName, Action: want}, last, "%q", conf)
	}
}

func TestTranslateErrors(t *testing.T) {
	t.Parallel()
	conf := `auth_param basic program /usr/lib/squid/basic_ncsa_auth passwd
acl u url_regex ^http://
acl users proxy_auth alice bob
acl named dst www.example.com
acl d1 dst 10.0.0.0/8
acl d2 dst 10.1.0.0/16
acl https proto HTTPS
acl sni ssl::server_name --client-requested .example.com
acl ok dstdomain .example.com
http_access allow ok
http_access deny u
http_access allow users
http_access deny named
http_access allow !d1
http_access allow d1 d2
http_access deny https
http_access allow sni
http_access deny all
`
	_, err := translate(t, conf, false)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"squid.conf:11: http_access deny u: the lab cannot express acl u (url_regex, /etc/squid/squid.conf:2): the ACL type url_regex is not modelled",
		`squid.conf:12: http_access allow users: the lab cannot express acl users (proxy_auth, /etc/squid/squid.conf:3): the user name "alice"`,
		"squid.conf:13: http_access deny named: the lab cannot express acl named (dst, /etc/squid/squid.conf:4): the host name www.example.com",
		"squid.conf:14: http_access allow !d1: the lab cannot negate a dst ACL (!d1)",
		"squid.conf:15: http_access allow d1 d2: the lab cannot intersect two dst ACLs on one line (d2)",
		"squid.conf:16: http_access deny https: the lab cannot express acl https (proto, /etc/squid/squid.conf:7): proto HTTPS",
		"squid.conf:17: http_access allow sni: the lab cannot express acl sni (ssl::server_name, /etc/squid/squid.conf:8): the flag --client-requested is not modelled",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "squid.conf:10:", "a line the lab can express is not in the error")
	assert.NotContains(t, msg, "squid.conf:18:")

	_, err = translate(t, "auth_param digest program /usr/lib/squid/digest_file_auth x\nacl a proxy_auth REQUIRED\nhttp_access allow a\n", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "squid.conf:1: auth_param digest: the lab's proxy does not offer the digest scheme")
}

func TestTranslateStrict(t *testing.T) {
	t.Parallel()
	conf := "cache_mem 64 MB\nacl a dstdomain .a.test\nhttp_access allow a\n"
	p, err := translate(t, conf, false)
	require.NoError(t, err)
	require.Len(t, p.NotImported, 1)
	assert.Equal(t, "cache_mem", p.NotImported[0].Name)
	assert.Equal(t, 1, p.NotImported[0].Pos.Line)
	_, err = translate(t, conf, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "squid.conf:1: cache_mem: not imported")
	_, err = translate(t, "acl a dstdomain .a.test\nhttp_access allow a\n", true)
	assert.NoError(t, err)
}

// TestTranslateSchemesAsOffered: Squid offers its schemes in the order of
// their first auth_param lines; the Debian package cannot run Negotiate
// (negotiate_kerberos_auth needs a Kerberos keytab) or check NTLM
// credentials without a domain (ntlm_fake_auth accepts anything), so the
// order is checked here, through the lab's proxy, against that
// documented rule (squid-cache.org/Doc/config/auth_param).
func TestTranslateSchemesAsOffered(t *testing.T) {
	t.Parallel()
	conf := `auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth
auth_param ntlm program /usr/lib/squid/ntlm_smb_lm_auth
auth_param basic program /usr/lib/squid/basic_ncsa_auth passwd
auth_param basic realm Corporate web proxy
acl auth proxy_auth REQUIRED
http_access allow auth
`
	p, err := translate(t, conf, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"negotiate", "ntlm", "basic"}, p.Schemes)
	lab, err := proxy.New(proxy.WithRules(p.Rules...), proxy.WithAuth(proxy.Auth{Realm: p.Realm, Schemes: p.Schemes,
		Users: []proxy.User{{Name: "alice", Password: "alice-password"}}}))
	require.NoError(t, err)
	require.NoError(t, lab.Start())
	t.Cleanup(lab.Close)
	c, err := net.Dial("tcp", strings.TrimPrefix(lab.URL, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = c.Write([]byte("GET http://www.example.com/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
	assert.Equal(t, []string{"Negotiate", "NTLM", `Basic realm="Corporate web proxy"`}, resp.Header.Values("Proxy-Authenticate"))
}
