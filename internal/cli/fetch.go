package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// maxFetchBody bounds the body fetch writes.
const maxFetchBody = 10 << 20

// fetchOptions are fetch's flags.
type fetchOptions struct {
	proxy          string
	cacert         string
	connectTimeout time.Duration
	maxTime        time.Duration
	include        bool
}

func newFetch() *cobra.Command {
	var o fetchOptions
	cmd := &cobra.Command{
		Use:   "fetch URL",
		Short: "GET a URL, directly or through a proxy (a tiny curl for images without one)",
		Long: `GET an http or https URL over HTTP/1.1, directly or through an HTTP proxy
(--proxy), and write the body to stdout (at most 10 MiB; with -i the status
line and the headers first). Redirects are not followed. It is the curl of
the project's image, which has none: from a container on the lab's
workstation network it shows what the network lets through.

A failure is one line on stderr, in a person's terms: a name not found,
a connection refused or timed out, a TLS failure and Go's reason, the
proxy's refusal (its status line and X-Squid-Error), or the HTTP status.

Exit status: 0 for a 2xx or 3xx answer, 1 for any failure (network, or
an HTTP status of 400 or more: the body is still written), 2 for invalid
input (the URL, the flags, the --cacert file), before anything is dialled.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("fetch takes one URL, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFetch(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.proxy, "proxy", "", "the HTTP proxy to go through (`URL`: http://host:port, without credentials)")
	f.StringVar(&o.cacert, "cacert", "", "trust only the certificates of this PEM `FILE` (default: the system's roots)")
	f.DurationVar(&o.connectTimeout, "connect-timeout", 10*time.Second, "how long a TCP connection may take")
	f.DurationVar(&o.maxTime, "max-time", 30*time.Second, "how long the whole fetch may take")
	f.BoolVarP(&o.include, "include", "i", false, "write the status line and the headers before the body")
	return cmd
}

// runFetch is fetch.
func runFetch(ctx context.Context, o fetchOptions, raw string, stdout io.Writer) error {
	target, err := url.Parse(raw)
	if err != nil {
		return usagef("URL %q: %v", raw, err)
	}
	if target.Scheme != "http" && target.Scheme != "https" {
		return usagef("URL %q: want an http:// or https:// URL", raw)
	}
	if target.Host == "" {
		return usagef("URL %q: no host", raw)
	}
	if o.connectTimeout <= 0 || o.maxTime <= 0 {
		return usagef("--connect-timeout and --max-time must be positive")
	}
	tr := &http.Transport{
		DialContext:       (&net.Dialer{Timeout: o.connectTimeout}).DialContext,
		TLSClientConfig:   &tls.Config{},
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
		DisableKeepAlives: true,
		// A refused CONNECT: its status line and Squid's error id, which
		// Go's transport would drop.
		OnProxyConnectResponse: func(_ context.Context, _ *url.URL, _ *http.Request, res *http.Response) error {
			if res.StatusCode == http.StatusOK {
				return nil
			}
			return &proxyRefusal{method: http.MethodConnect, status: res.Status, squid: res.Header.Get("X-Squid-Error")}
		},
	}
	if o.proxy != "" {
		p, err := url.Parse(o.proxy)
		switch {
		case err != nil || p.Scheme != "http" || p.Host == "":
			return usagef("--proxy %q: want http://host:port", o.proxy)
		case p.User != nil:
			return usagef("--proxy: the URL holds credentials: do not put credentials on a command line (they show in the process list and the shell's history)")
		}
		tr.Proxy = http.ProxyURL(p)
	}
	if o.cacert != "" {
		certs, err := readCerts(o.cacert)
		if err != nil {
			return usagef("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(ctx, o.maxTime)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return usagef("URL %q: %v", raw, err)
	}
	req.Header.Set("User-Agent", "egresslab-fetch/"+Version)
	resp, err := hc.Do(req)
	if err != nil {
		return errors.New(describeFetchError(err, target, o))
	}
	defer resp.Body.Close()
	if o.include {
		fmt.Fprintf(stdout, "%s %s\r\n", resp.Proto, resp.Status)
		_ = resp.Header.Write(stdout)
		fmt.Fprint(stdout, "\r\n")
	}
	n, err := io.Copy(stdout, io.LimitReader(resp.Body, maxFetchBody))
	if err != nil {
		return fmt.Errorf("the body was cut after %d bytes: %s", n, describeFetchError(err, target, o))
	}
	if n == maxFetchBody {
		if k, _ := resp.Body.Read(make([]byte, 1)); k > 0 {
			return fmt.Errorf("the body was cut at %d MiB (fetch writes no more)", maxFetchBody>>20)
		}
	}
	if resp.StatusCode >= 400 {
		if id := resp.Header.Get("X-Squid-Error"); id != "" && tr.Proxy != nil {
			return &proxyRefusal{method: http.MethodGet, status: resp.Status, squid: id}
		}
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return nil
}

// proxyRefusal is a proxy's answer that refused a request.
type proxyRefusal struct {
	method, status, squid string
}

func (e *proxyRefusal) Error() string {
	s := fmt.Sprintf("proxy answered %s with %s", e.method, e.status)
	if e.squid != "" {
		// Squid's id, then the errno when there was one ("ERR_CONNECT_FAIL 111").
		s += " (" + strings.TrimSuffix(e.squid, " 0") + ")"
	}
	return s
}

// describeFetchError says what went wrong in a person's terms.
func describeFetchError(err error, target *url.URL, o fetchOptions) string {
	var (
		refusal *proxyRefusal
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		alert   tls.AlertError
		recErr  tls.RecordHeaderError
	)
	// Go's transport names a failure to reach the proxy "proxyconnect".
	via := ""
	if errors.As(err, &opErr) && opErr.Op == "proxyconnect" {
		via = "the proxy " + o.proxy + ": "
	}
	switch {
	case errors.As(err, &refusal):
		return refusal.Error()
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("%sname not found: %s (DNS)", via, dnsErr.Name)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("%sDNS failure for %s: %s", via, dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%sconnection refused (%s)", via, dialTarget(err, target))
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("%sconnection reset (%s)", via, dialTarget(err, target))
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("%sno route to %s", via, dialTarget(err, target))
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		return fmt.Sprintf("%sconnection timed out (%s, --connect-timeout %s)", via, dialTarget(err, target), o.connectTimeout)
	case errors.As(err, &certErr), errors.As(err, &alert), errors.As(err, &recErr):
		return fmt.Sprintf("TLS failure with %s: %v", target.Host, tlsReason(err))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no complete answer within --max-time %s", o.maxTime)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	return err.Error()
}

// dialTarget is the address a failed dial was for.
func dialTarget(err error, target *url.URL) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		return opErr.Addr.String()
	}
	return target.Host
}

// tlsReason is the innermost useful part of a TLS error: Go's reason
// without the URL and the operation around it.
func tlsReason(err error) error {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return certErr.Err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
