package scenarios_test

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/scenarios"
)

// ExampleNewLab drives a client of one's own in a catalog scenario's lab:
// in cdn-blocked the proxy lets the portal through and denies the CDN,
// so a plain net/http client gets the proxy's 403 for it. The journal
// shows every decision, the portal's tunnel while it is still open (the
// client keeps its connection).
func ExampleNewLab() {
	list, err := scenarios.Resolve([]string{"cdn-blocked"})
	if err != nil {
		fmt.Println(err)
		return
	}
	lab, err := scenarios.NewLab(context.Background(), list[0])
	if err != nil {
		lab.Close() // the partly built lab is closed too
		fmt.Println(err)
		return
	}
	defer lab.Close()
	hc := lab.HTTPClient() // trusts the lab's root, goes through its proxy
	defer hc.CloseIdleConnections()
	for _, url := range []string{
		"https://" + mock.PortalHost + mock.PortalPath,
		"http://" + mock.CDNHost + "/",
		"https://" + mock.CDNHost + "/",
	} {
		resp, err := hc.Get(url)
		if err != nil {
			// net/http reports a refused CONNECT as an error with the
			// proxy's status text.
			fmt.Println(err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body) // read whole, the connection stays
		resp.Body.Close()
		fmt.Println(url, resp.Status, cmp.Or(resp.Header.Get("X-Squid-Error"), "-"))
	}
	for _, e := range lab.Journal().Entries() {
		fmt.Println(e.Method, e.Target, e.Status, e.Result)
	}
	// Output:
	// https://passwordreset.microsoftonline.com/n/passwordreset 200 OK -
	// http://ajax.aspnetcdn.com/ 403 Forbidden ERR_ACCESS_DENIED 0
	// Get "https://ajax.aspnetcdn.com/": Forbidden
	// CONNECT passwordreset.microsoftonline.com:443 200 open
	// GET ajax.aspnetcdn.com:80 403 denied
	// CONNECT ajax.aspnetcdn.com:443 403 denied
}
