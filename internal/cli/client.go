package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/scenarios"
)

// clientOptions are client's flags.
type clientOptions struct {
	profile   string
	scenario  string
	roots     []string
	admin     string
	tokenFile string
	directory string
	logLevel  string
}

func newClient(getenv func(string) string) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "client (--profile FILE | --scenario FILE|NAME) --roots PEM [--roots PEM]... --admin URL",
		Short: "Run the Go SSPR client against a served lab and print its result as JSON",
		Long: `Run the Go SSPR client once (or the profile's runs times) from where this
command runs, against a lab served by 'egresslab serve', and print the last
run's result as one JSON object on stdout (logs, if any, go to stderr).

It is meant to run inside the lab's network (a container on the lab's
workstation network): names resolve with the system resolver of where it
runs, and it dials with the default dialer, so the profile's proxy address
(proxy.corp.example:3128) must resolve there to the lab's proxy.

The profile comes from --profile, a file that holds what a scenario's
client: section holds (the profile's fields, trustInterception, runs), or
from --scenario, a scenario file or built-in name (see 'egresslab list'),
whose client section is used. --roots names the certificates the
workstation trusts (the lab's root is in no system store); nothing is
fetched, so a profile with trustInterception needs the interception root's
PEM among the --roots too (GET /api/v1/roots/interception.pem of the admin
API).

Verification codes come from the lab's admin API (--admin; its token from
--token-file or EGRESSLAB_ADMIN_TOKEN). Security questions are answered
from a directory: --directory, else the scenario's directory, else the
lab's default one; it must be the served lab's. An admin API that cannot
be reached is not invalid input: the run fails at the gate that needed a
code.

Passwords, proxy credentials and codes are never printed or logged.

Exit status: 0 when the outcome is success, 1 otherwise (the JSON is
printed either way; an interrupt ends the run, with the JSON of what was
seen), 2 for invalid input (flags, files), before anything is dialled.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClient(cmd.Context(), o, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.profile, "profile", "", "the client's profile: a YAML `FILE` holding what a scenario's client section holds")
	f.StringVar(&o.scenario, "scenario", "", "take the profile (and directory) from a scenario: a `FILE|NAME` (built-in)")
	f.StringArrayVar(&o.roots, "roots", nil, "a PEM `FILE` of certificates the workstation trusts (repeatable; required)")
	f.StringVar(&o.admin, "admin", "", "`URL` of the served lab's admin API, where codes come from (required; e.g. http://127.0.0.1:8128)")
	f.StringVar(&o.tokenFile, "token-file", "", "read the admin token from `FILE` (else EGRESSLAB_ADMIN_TOKEN)")
	f.StringVar(&o.directory, "directory", "", "answer security questions from this directory YAML `FILE`")
	f.StringVar(&o.logLevel, "log-level", "warn", "the client's `LEVEL` of logs on stderr: debug, info, warn, error")
	return cmd
}

// runClient is client; extra options come after the command's own (tests
// pass the lab's dialer, so that no name reaches the system resolver).
func runClient(ctx context.Context, o clientOptions, getenv func(string) string, stdout, stderr io.Writer, extra ...client.Option) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	var (
		sec *scenarios.Client
		dir *mock.DirectoryData
	)
	switch {
	case (o.profile == "") == (o.scenario == ""):
		return usagef("give exactly one of --profile and --scenario")
	case o.profile != "":
		c, err := scenarios.LoadClient(o.profile)
		if err != nil {
			return usagef("--profile: %w", err)
		}
		sec = c
	default:
		list, err := scenarios.Resolve([]string{o.scenario})
		if err != nil {
			return usagef("--scenario: %w", err)
		}
		if len(list) != 1 {
			return usagef("--scenario %s: names %d scenarios, want one", o.scenario, len(list))
		}
		if err := list[0].Validate(); err != nil {
			return usagef("--scenario: %w", err)
		}
		sec, dir = &list[0].Client, list[0].Directory
	}
	if len(o.roots) == 0 {
		return usagef("--roots: required: the PEM of the lab's root (it is in no system store)")
	}
	pool := x509.NewCertPool()
	for _, path := range o.roots {
		certs, err := readCerts(path)
		if err != nil {
			return usagef("--roots: %w", err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	if o.admin == "" {
		return usagef("--admin: required: the served lab's admin API URL, for verification codes")
	}
	if u, err := url.Parse(o.admin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return usagef("--admin %q: want http(s)://host:port", o.admin)
	}
	token, err := adminToken(o.tokenFile, getenv)
	if err != nil {
		return err
	}
	if o.directory != "" {
		b, err := yamlfile.ReadFile(o.directory)
		if err != nil {
			return usagef("--directory: %w", err)
		}
		if dir, err = mock.ParseDirectory(o.directory, b); err != nil {
			return usagef("--directory: %w", err)
		}
	}
	if dir == nil {
		dir = harness.DefaultDirectory()
	}
	admin := &labserver.Client{BaseURL: o.admin, Token: token}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// This command runs as the workstation (in the container backend, a
	// container whose resolver is the lab's DNS): WPAD and PAC scripts
	// ask its resolver, as its connections do.
	opts := []client.Option{client.WithRoots(pool), client.WithServiceIssuers(harness.ServiceIssuers...), client.WithResolver(net.DefaultResolver),
		client.WithCodeSource(codeSource(admin.Codes(), o.admin, dir)), client.WithLogger(logger)}
	c, err := client.New(sec.Profile, append(opts, extra...)...)
	if err != nil {
		return usageError{err}
	}
	var res *client.Result
	for range max(sec.Runs, 1) {
		res = c.Run(ctx)
		if ctx.Err() != nil {
			break
		}
	}
	if err := writeResult(stdout, res); err != nil {
		return err
	}
	if !res.OK() {
		return errFailed
	}
	return nil
}

// writeResult writes res as one indented JSON object.
func writeResult(w io.Writer, res *client.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// adminToken is the admin API's token: from file when given, else from
// EGRESSLAB_ADMIN_TOKEN, else none.
func adminToken(file string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := yamlfile.ReadFile(file) // a regular file, bounded
		if err != nil {
			return "", usagef("--token-file: %w", err)
		}
		token := strings.TrimSpace(string(b))
		if token == "" {
			return "", usagef("--token-file %s: empty", file)
		}
		return token, nil
	}
	if env := getenv("EGRESSLAB_ADMIN_TOKEN"); env != "" {
		token := strings.TrimSpace(env)
		if token == "" {
			return "", usagef("EGRESSLAB_ADMIN_TOKEN holds only blanks: unset it, or give a token")
		}
		return token, nil
	}
	return "", nil
}

// codeSource answers security questions from dir and every other
// challenge through admin (the served lab's admin API at adminURL, named
// in its errors).
func codeSource(admin client.CodeSource, adminURL string, dir *mock.DirectoryData) client.CodeSource {
	return client.CodeFunc(func(ctx context.Context, ch client.Challenge) (client.Response, error) {
		if ch.Method != string(mock.MethodSecurityQuestions) {
			r, err := admin.Respond(ctx, ch)
			if err != nil {
				return r, fmt.Errorf("admin API %s: %w", adminURL, err)
			}
			return r, nil
		}
		answers, err := dir.SecurityAnswers(ch.UserID, ch.Questions)
		return client.Response{Answers: answers}, err
	})
}

// readCerts reads the certificates of a PEM file (a regular file of at
// most 1 MiB): at least one, each a CERTIFICATE block; errors name the
// file.
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := yamlfile.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: PEM block %d: %w", path, n, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no CERTIFICATE in PEM")
	}
	return out, nil
}
