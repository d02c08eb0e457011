package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/pac"
)

// FetchPAC gets a PAC script from an http(s) URL directly, as WinHTTP's
// auto-proxy fetches it (no proxy), with dial, at most pac.MaxScriptSize
// bytes, within timeout.
func FetchPAC(ctx context.Context, dial client.DialFunc, url string, timeout time.Duration) ([]byte, error) {
	hc, done := pacClient(dial, timeout)
	defer done()
	return pacGet(hc)(ctx, url)
}

// DiscoverPAC finds a PAC script by WPAD's DNS method (pac.Discover):
// http://wpad.<domain>/wpad.dat for domain (the DNS suffix) and each
// parent with two labels or more, looked up with r and fetched directly
// with dial. DHCP option 252 is not used. It returns the script's URL and
// the compiled script, whose helpers resolve with r.
func DiscoverPAC(ctx context.Context, domain string, r Resolver, dial client.DialFunc, timeout time.Duration) (string, *pac.Script, error) {
	hc, done := pacClient(dial, timeout)
	defer done()
	u, src, err := pac.Discover(ctx, domain, r, pacGet(hc))
	if err != nil {
		return "", nil, err
	}
	s, err := pac.Compile(u, src, pac.WithResolver(r))
	if err != nil {
		return u, nil, err
	}
	return u, s, nil
}

func pacClient(dial client.DialFunc, timeout time.Duration) (*http.Client, func()) {
	tr := &http.Transport{DialContext: dial, Proxy: nil, DisableKeepAlives: true}
	return &http.Client{Transport: tr, Timeout: timeout}, tr.CloseIdleConnections
}

// pacGet is pac.HTTPGet with a bounded body and the status checked.
func pacGet(hc *http.Client) func(ctx context.Context, url string) ([]byte, error) {
	return func(ctx context.Context, url string) ([]byte, error) {
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return nil, fmt.Errorf("%q: want an http or https URL", url)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %s", url, resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, pac.MaxScriptSize+1))
		if err != nil {
			return nil, err
		}
		if len(b) > pac.MaxScriptSize {
			return nil, fmt.Errorf("%s: more than %d bytes", url, pac.MaxScriptSize)
		}
		return b, nil
	}
}
