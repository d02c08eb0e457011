package pac

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// MaxWPADSize bounds, in bytes, a wpad.dat that Discover accepts (1 MiB,
// the same as MaxScriptSize).
const MaxWPADSize = MaxScriptSize

// WPADCandidates lists the URLs WPAD's DNS discovery tries for a
// machine in domain (its primary DNS suffix, e.g. "a.b.corp.example"), in
// order: http://wpad.<domain>/wpad.dat, then one label less each time
// ("devolution"), ending with the domain's last two labels:
//
//	a.b.corp.example → http://wpad.a.b.corp.example/wpad.dat
//	                   http://wpad.b.corp.example/wpad.dat
//	                   http://wpad.corp.example/wpad.dat
//
// It never goes down to wpad.<top-level domain>. Source: the IE 5 era
// description of WPAD devolution (the search "stops at the third-level
// domain, wpad.microsoft.com, in order to not search outside of the
// current network", Microsoft's WPAD notes as quoted in FAQs); that
// Windows still stops there after MS16-077's WPAD changes is assumed,
// not verified on a machine. Like Windows, this does not consult the
// public suffix list, so a domain under a two-label public suffix such as
// corp.co.uk still reaches wpad.co.uk, which the lab can then show. A
// domain of one label, or an empty or malformed one (empty labels,
// characters not allowed in host names, an IP address),
// gives none. Case is folded and one trailing dot is ignored.
//
// WPAD's first method, DHCP option 252 (the PAC URL in the DHCP lease),
// needs the operating system's DHCP client and is not done here.
func WPADCandidates(domain string) []string {
	d := strings.ToLower(strings.TrimSpace(domain))
	d = strings.TrimSuffix(d, ".")
	if d == "" || strings.HasSuffix(d, ".") || checkHostName(d) != nil {
		return nil
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return nil
	}
	labels := strings.Split(d, ".")
	var out []string
	for i := 0; i+2 <= len(labels); i++ {
		out = append(out, "http://wpad."+strings.Join(labels[i:], ".")+"/wpad.dat")
	}
	return out
}

// Discover runs WPAD's DNS discovery for domain: for each of
// WPADCandidates(domain) in order it resolves the wpad name with r
// (network "ip"; a name that does not resolve is skipped) and fetches the
// URL with get, the caller's HTTP client (see HTTPGet); the first fetch
// that succeeds with a non-empty body of at most MaxWPADSize bytes wins
// and Discover returns its URL and body. get must return an error for
// anything but 200 OK. The error when none wins lists what each candidate
// gave; ctx ending stops the search with ctx's error.
func Discover(ctx context.Context, domain string, r Resolver, get func(ctx context.Context, url string) ([]byte, error)) (string, []byte, error) {
	if r == nil || get == nil {
		return "", nil, errors.New("pac: Discover needs a resolver and a get function")
	}
	cands := WPADCandidates(domain)
	if len(cands) == 0 {
		return "", nil, fmt.Errorf("pac: domain %q gives no WPAD candidate", domain)
	}
	var errs []error
	for _, u := range cands {
		if err := ctx.Err(); err != nil {
			return "", nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/wpad.dat")
		lctx, cancel := context.WithTimeout(ctx, DefaultDNSTimeout)
		addrs, err := r.LookupNetIP(lctx, "ip", name)
		cancel()
		if err != nil || len(addrs) == 0 {
			if err == nil {
				err = errors.New("no address")
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		body, err := get(ctx, u)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
		case len(body) == 0:
			errs = append(errs, fmt.Errorf("%s: empty body", u))
		case len(body) > MaxWPADSize:
			errs = append(errs, fmt.Errorf("%s: %d bytes, more than %d", u, len(body), MaxWPADSize))
		default:
			return u, body, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	return "", nil, fmt.Errorf("pac: no WPAD file found for %q: %w", domain, errors.Join(errs...))
}

// HTTPGet makes a get function for Discover from client: a GET that
// fails unless the answer is 200 OK and reads at most MaxWPADSize+1 bytes
// (so that Discover sees a bigger file as too big without reading it
// all).
func HTTPGet(client *http.Client) func(ctx context.Context, url string) ([]byte, error) {
	return func(ctx context.Context, url string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("status %s", resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, MaxWPADSize+1))
	}
}
