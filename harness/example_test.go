package harness_test

import (
	"context"
	"fmt"

	"go.uber.org/goleak"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// Example_noGoroutinesLeft checks, as a developer's test can, that a
// lab leaves nothing running once Close returns: here the Windows-like
// client resets a password through an inspecting proxy that it trusts,
// and go.uber.org/goleak then finds no goroutine that was not there
// before. (In a test: defer goleak.VerifyNone(t), or goleak.VerifyTestMain
// in TestMain.)
func Example_noGoroutinesLeft() {
	before := goleak.IgnoreCurrent()
	ctx := context.Background()
	lab, err := harness.New(ctx, harness.WithProxy(proxy.WithRules(
		proxy.Rule{Name: "inspect the sspr hosts", Hosts: []string{mock.PortalHost, mock.CDNHost}, Action: proxy.Intercept},
		proxy.Rule{Action: proxy.Allow},
	)))
	if err != nil {
		lab.Close()
		fmt.Println(err)
		return
	}
	roots, err := lab.InterceptionRoots() // the inspection product's root, deployed
	if err != nil {
		lab.Close()
		fmt.Println(err)
		return
	}
	c, err := lab.Client(client.Profile{
		OS: client.Windows10, Account: client.AccountDefaultUser1,
		UserID: "adele@contoso.com", NewPassword: "Vq7#Lmz2!Rtx",
		Proxy: client.ProxySources{PerMachine: &client.ProxySetting{Server: harness.DefaultProxyAddr}},
	}, client.WithRoots(roots))
	if err != nil {
		lab.Close()
		fmt.Println(err)
		return
	}
	res := c.Run(ctx)
	fmt.Println("outcome:", res.Outcome)
	for _, e := range lab.Journal().Entries() {
		if e.Method == "CONNECT" {
			fmt.Println(e.Target, e.Action, e.Result)
		}
	}
	lab.Close()
	fmt.Println("goroutines left:", goleak.Find(before))
	// Output:
	// outcome: success
	// passwordreset.microsoftonline.com:443 intercept ok
	// ajax.aspnetcdn.com:443 intercept ok
	// goroutines left: <nil>
}
