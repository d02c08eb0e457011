package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
)

// exampleTB lets the examples build the test lab: it runs the cleanups
// when told and panics on a failed set-up (an example has no *testing.T).
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (e *exampleTB) Helper()                           {}
func (e *exampleTB) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) FailNow()                          { panic("example lab set-up failed") }
func (e *exampleTB) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// The temporary account at the sign-in screen, behind a proxy that
// authenticates everyone except the SSPR hosts, with the proxy set
// per-machine by policy: the documented remedy.
func ExampleClient_Run() {
	tb := &exampleTB{}
	defer tb.close()
	l := newLab(tb, withProxy(allow(mock.PortalHost, mock.CDNHost, mock.OCSPHost), authenticate()))

	c, err := client.New(client.Profile{
		OS:          client.Windows11,
		Account:     client.AccountDefaultUser1,
		UserID:      "adele@contoso.com",
		NewPassword: "Vq7#Lmz2!Rtx",
		Proxy:       client.ProxySources{PerMachine: &client.ProxySetting{Server: "proxy.corp.example:3128"}},
		Revocation:  client.RevocationHardFail,
	},
		client.WithRoots(l.auth.Pool()),      // the lab's CA
		client.WithDialer(l.net.workstation), // the workstation's network
		client.WithCodeSource(l.codes()),     // the user's mailbox
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	res := c.Run(context.Background())
	fmt.Println(res.Outcome, "via", res.ProxySource, "proxy,", res.TLSVersion, "with", res.Methods)
	// Output: success via per-machine proxy, TLS 1.3 with [email]
}

// The same account when only the signed-in user has a proxy configured and
// the firewall blocks direct egress: the diagnosis names the cause, the
// step and the remedy.
func ExampleResult() {
	tb := &exampleTB{}
	defer tb.close()
	l := newLab(tb, withProxy(allow(mock.PortalHost, mock.CDNHost, mock.OCSPHost)))

	c, err := client.New(client.Profile{
		OS:          client.Windows10,
		Account:     client.AccountDefaultUser1,
		UserID:      "adele@contoso.com",
		NewPassword: "Vq7#Lmz2!Rtx",
		Proxy:       client.ProxySources{PerUser: &client.ProxySetting{Server: "proxy.corp.example:3128"}},
	}, client.WithRoots(l.auth.Pool()), client.WithDialer(l.net.workstation))
	if err != nil {
		fmt.Println(err)
		return
	}
	res := c.Run(context.Background())
	fmt.Println("user sees:", res.Outcome)
	fmt.Println("cause:", res.Cause, "at step", res.Step, "on", res.Host)
	fmt.Println("remedy:", res.Remedy)
	// Output:
	// user sees: something-went-wrong
	// cause: direct-egress-blocked at step page on passwordreset.microsoftonline.com
	// remedy: The account connects directly but the firewall blocks direct egress: configure a proxy the temporary account inherits (per-machine settings or the Default user profile) or allow TCP 443 to the SSPR hosts.
}
