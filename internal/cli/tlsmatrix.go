package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/tlsalert"
	"github.com/egresslab/egresslab/vhost"
)

const matrixHost = "passwordreset.microsoftonline.com"

// matrixCell is one live handshake: a client pinned to one version against
// a server restricted to a range.
type matrixCell struct {
	Server     string `json:"server"`
	Client     string `json:"client"`
	Negotiated string `json:"negotiated,omitempty"`
	Alert      string `json:"alert,omitempty"`
	Error      string `json:"error,omitempty"`
	AsExpected bool   `json:"asExpected"`
}

// faultRow is one live handshake with a faulty certificate.
type faultRow struct {
	Fault      string `json:"fault"`
	Error      string `json:"error,omitempty"`
	Note       string `json:"note,omitempty"`
	AsExpected bool   `json:"asExpected"`
}

type matrixReport struct {
	KeyType  string       `json:"keyType"`
	Versions []matrixCell `json:"versions"`
	Faults   []faultRow   `json:"faults"`
}

func newTLSMatrix(getenv func(string) string) *cobra.Command {
	var keyType, format string
	cmd := &cobra.Command{
		Use:   "tls-matrix",
		Short: "Run live TLS handshakes: every client version against every server range, and every certificate fault",
		Long: `tls-matrix starts a lab host on a loopback port for each TLS version range
(1.0 to 1.3 in every min/max combination), connects with a Go client pinned to
each version, and prints what each client meets: the negotiated version, or the
alert the server refused it with (Windows 7's TLS 1.0 against the TLS 1.2+
service is the "TLS 1.2+ only" cell). It then serves each certificate fault to a
client that trusts the lab root and prints the verification error.

Nothing leaves 127.0.0.1. Exit status 0 when every handshake ends as TLS says it
must, 1 otherwise.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			source := "--key"
			if keyType == "" {
				keyType, source = getenv("EGRESSLAB_KEY_TYPE"), "EGRESSLAB_KEY_TYPE"
			}
			if keyType == "" {
				keyType = pki.ECDSAP256.String()
			}
			kt, err := pki.ParseKeyType(keyType)
			if err != nil {
				return usagef("%s: %v", source, err)
			}
			if format != "text" && format != "json" {
				return usagef("--format: unknown format %q (want text or json)", format)
			}
			rep, err := runMatrix(cmd.Context(), kt)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := writeMatrixText(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			for _, c := range rep.Versions {
				if !c.AsExpected {
					return errFailed
				}
			}
			for _, f := range rep.Faults {
				if !f.AsExpected {
					return errFailed
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyType, "key", "", "certificate key type: ecdsa-p256 or rsa-2048 (default ecdsa-p256, or $EGRESSLAB_KEY_TYPE)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

var quiet = slog.New(slog.DiscardHandler)

func runMatrix(ctx context.Context, kt pki.KeyType) (*matrixReport, error) {
	auth, err := pki.New(pki.WithKeyType(kt))
	if err != nil {
		return nil, err
	}
	rep := &matrixReport{KeyType: kt.String()}
	leaf, err := auth.Issue(pki.Request{Hosts: []string{matrixHost}})
	if err != nil {
		return nil, err
	}
	for _, lo := range vhost.Versions() {
		for _, hi := range vhost.Versions() {
			if lo > hi {
				continue
			}
			r := vhost.Range{Min: lo, Max: hi}
			s, err := vhost.New(http.NotFoundHandler(), vhost.WithHost(matrixHost), vhost.WithCertificate(leaf.TLS), vhost.WithVersions(r), vhost.WithLogger(quiet))
			if err != nil {
				return nil, err
			}
			for _, v := range vhost.Versions() {
				cfg := vhost.Range{Min: v, Max: v}.ClientConfig()
				cfg.RootCAs, cfg.ServerName = auth.Pool(), matrixHost
				cs, err := dialTLS(ctx, s.Addr(), cfg)
				cell := matrixCell{Server: r.String(), Client: vhost.VersionName(v)}
				if err == nil {
					cell.Negotiated = vhost.VersionName(cs.Version)
					cell.AsExpected = r.Contains(v) && cs.Version == v
				} else {
					cell.Error = err.Error()
					a, ok := tlsalert.FromError(err)
					if ok {
						cell.Alert = a.String()
					}
					cell.AsExpected = !r.Contains(v) && ok && a == tlsalert.ProtocolVersion
				}
				rep.Versions = append(rep.Versions, cell)
			}
			s.Close()
		}
	}
	for _, f := range pki.Faults() {
		row, err := faultHandshake(ctx, auth, f)
		if err != nil {
			return nil, err
		}
		rep.Faults = append(rep.Faults, row)
	}
	return rep, nil
}

func faultHandshake(ctx context.Context, auth *pki.Authority, f pki.Fault) (faultRow, error) {
	leaf, err := auth.Issue(pki.Request{Hosts: []string{matrixHost}, Fault: f})
	if err != nil {
		return faultRow{}, err
	}
	s, err := vhost.New(http.NotFoundHandler(), vhost.WithHost(matrixHost), vhost.WithCertificate(leaf.TLS), vhost.WithLogger(quiet))
	if err != nil {
		return faultRow{}, err
	}
	defer s.Close()
	cs, err := dialTLS(ctx, s.Addr(), &tls.Config{RootCAs: auth.Pool(), ServerName: matrixHost})
	row := faultRow{Fault: f.String()}
	if err != nil {
		row.Error = err.Error()
		got, ok := pki.Classify(err, time.Now())
		row.AsExpected = ok && got == f
	} else {
		row.AsExpected = f == pki.NoFault || f == pki.Revoked || f == pki.RevokedIntermediate
	}
	if (f == pki.Revoked || f == pki.RevokedIntermediate) && err == nil {
		// Go's TLS stack does not check revocation: ask the lab's OCSP
		// responder about the certificate the server presented, issued by
		// the issuing CA (about that intermediate, issued by the root, for
		// a revoked intermediate), as the verified chain says.
		chain := cs.VerifiedChains[0]
		i := 0
		if f == pki.RevokedIntermediate {
			i = 1
		}
		if len(chain) < i+2 {
			return faultRow{}, fmt.Errorf("fault %s: verified chain of %d certificates", f, len(chain))
		}
		req, err := pki.OCSPRequest(chain[i], chain[i+1])
		if err != nil {
			return faultRow{}, err
		}
		_, status, err := auth.RespondOCSP(req)
		if err != nil {
			return faultRow{}, err
		}
		row.Note = "Go does not check revocation; OCSP says " + status.String()
		row.AsExpected = status == pki.OCSPRevoked
	}
	return row, nil
}

func dialTLS(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

func writeMatrixText(w io.Writer, rep *matrixReport) error {
	fmt.Fprintf(w, "TLS versions (%s certificates): a client pinned to one version against each server range\n\n", rep.KeyType)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "server\tclient 1.0\tclient 1.1\tclient 1.2\tclient 1.3\n")
	for i, c := range rep.Versions {
		if i%4 == 0 {
			fmt.Fprint(tw, c.Server)
		}
		cell := "TLS " + c.Negotiated
		if c.Negotiated == "" {
			cell = "refused"
			if c.Alert != "" {
				cell += ": " + c.Alert
			}
		}
		if !c.AsExpected {
			cell += " (UNEXPECTED: " + c.Error + ")"
		}
		fmt.Fprint(tw, "\t"+cell)
		if i%4 == 3 {
			fmt.Fprint(tw, "\n")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprint(w, "\nCertificate faults, as a Go client that trusts the lab root sees them\n\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "fault\tresult\n")
	for _, f := range rep.Faults {
		res := "accepted"
		if f.Error != "" {
			res = f.Error
		}
		if f.Note != "" {
			res += " (" + f.Note + ")"
		}
		if !f.AsExpected {
			res = "UNEXPECTED: " + res
		}
		fmt.Fprintf(tw, "%s\t%s\n", f.Fault, res)
	}
	return tw.Flush()
}
