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
