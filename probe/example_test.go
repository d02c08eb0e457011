package probe_test

import (
	"context"
	"fmt"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
)

// The temporary account behind a proxy that wants everyone to
// authenticate: the probe names the cause and its remedy.
func Example() {
	lab, err := harness.New(context.Background(), harness.WithProxy(proxy.WithDefault(proxy.Authenticate),
		proxy.WithAuth(proxy.Auth{Users: []proxy.User{{Name: "alice", Password: "Pr0xy-pw"}}})))
	//lint:ignore SA5001 New returns the partly built lab with its error: it is closed either way.
	defer lab.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := probe.Run(context.Background(), probe.Config{
		Profile:  client.Profile{Account: client.AccountDefaultUser1, Proxy: client.ProxySources{PerMachine: &client.ProxySetting{Server: lab.ProxyAddr}}},
		Dial:     lab.Dial,
		Resolver: lab,
		Roots:    lab.Roots(),
		Issuers:  harness.ServiceIssuers,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	portal := r.Endpoints[0]
	fmt.Println(portal.Name, portal.Connect.Status, portal.Connect.Schemes)
	fmt.Println("works:", r.Works)
	fmt.Println("cause:", r.Cause)
	fmt.Println("remedy:", r.Remedy == client.Remedy(client.CauseProxyAuthRequired))
	// Output:
	// passwordreset.microsoftonline.com:443 407 [basic]
	// works: false
	// cause: proxy-auth-required
	// remedy: true
}

// The signed-in user's proxy is per-user: the temporary account at the
// sign-in screen does not get it (client.Profile.FlowProxy's rule).
func ExampleSystemSources() {
	reg := probe.MapRegistry{
		probe.KeyUser: {"ProxyEnable": uint32(1), "ProxyServer": "proxy.contoso.com:8080"},
	}
	sources, _ := probe.SystemSources(reg)
	for _, account := range []client.Account{client.AccountUser, client.AccountDefaultUser1} {
		p := client.Profile{Account: account, Proxy: sources}
		set, source := p.FlowProxy()
		server := "direct"
		if set != nil {
			server = set.Server
		}
		fmt.Printf("%s: %s (%s)\n", account, server, source)
	}
	// Output:
	// user: proxy.contoso.com:8080 (per-user)
	// defaultuser1: direct (none)
}
