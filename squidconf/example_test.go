package squidconf_test

import (
	"fmt"
	"path/filepath"

	"github.com/egresslab/egresslab/squidconf"
)

func ExampleRead() {
	cfg, err := squidconf.Read("testdata/auth-cryptoapi-exemption/squid.conf")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range cfg.Access {
		fmt.Printf("%s:%d http_access %s", filepath.Base(l.Pos.File), l.Pos.Line, l.Action)
		for _, term := range l.Terms {
			a := cfg.ACLs[term.Name]
			fmt.Printf(" %s(%s)", term, a.Type)
		}
		fmt.Println()
	}
	fmt.Println("schemes:", cfg.AuthOrder)
	// Output:
	// squid.conf:15 http_access deny !Safe_ports(port)
	// squid.conf:16 http_access deny CONNECT(method) !SSL_ports(port)
	// squid.conf:17 http_access allow sspr(dstdomain)
	// squid.conf:18 http_access allow revocation(dstdomain) cryptoapi(browser)
	// squid.conf:19 http_access allow authenticated(proxy_auth)
	// squid.conf:20 http_access deny all(src)
	// schemes: [basic]
}

func ExampleError() {
	_, err := squidconf.ReadBytes("/etc/squid/squid.conf", []byte("acl sites dstdomain .example.com\nacl sites dst 10.0.0.0/8\n"))
	fmt.Println(err)
	// Output:
	// /etc/squid/squid.conf:2: acl: type: ACL "sites" is dstdomain (defined at /etc/squid/squid.conf:1), not dst: the lines of one ACL must agree on its type
}

func ExampleTranslate() {
	cfg, err := squidconf.Read("testdata/auth-deny-not-auth/squid.conf")
	if err != nil {
		fmt.Println(err)
		return
	}
	pol, err := squidconf.Translate(cfg, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("schemes:", pol.Schemes, "realm:", pol.Realm)
	for _, r := range pol.Rules {
		fmt.Printf("line %2d %-9s auth=%-5v %s\n", r.Line, r.Action, r.Auth, r.Name)
	}
	// Output:
	// schemes: [basic] realm: Corporate web proxy
	// line 16 deny      auth=false http_access deny CONNECT !SSL_ports (squid.conf:16)
	// line 17 allow     auth=false http_access allow sspr (squid.conf:17)
	// line 18 allow     auth=false http_access allow revocation cryptoapi (squid.conf:18)
	// line 19 continue  auth=true  http_access deny !authenticated (squid.conf:19): authentication, then the next line
	// line 20 challenge auth=true  http_access deny blocked authenticated (squid.conf:20)
	// line 21 allow     auth=false http_access allow all (squid.conf:21)
	// line  0 deny      auth=false implicit default (the opposite of the last http_access line)
}

func ExampleTranslate_refused() {
	cfg, err := squidconf.ReadBytes("/etc/squid/squid.conf", []byte(
		"acl blocked url_regex -i \\.exe$\nacl ok dstdomain .microsoftonline.com\nhttp_access allow ok\nhttp_access deny blocked\nhttp_access allow all\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = squidconf.Translate(cfg, false)
	fmt.Println(err)
	// Output:
	// /etc/squid/squid.conf:4: http_access deny blocked: the lab cannot express acl blocked (url_regex, /etc/squid/squid.conf:1): the ACL type url_regex is not modelled
}
