package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/probe"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// ssprHosts are the hosts of the endpoints SSPR needs (probe.Endpoints),
// each once, in order: what the documented exemption lets through.
var ssprHosts = func() []string {
	var out []string
	for _, e := range probe.Endpoints {
		if !slices.Contains(out, e.Host) {
			out = append(out, e.Host)
		}
	}
	return out
}()

// PolicyCheck is check's answer for one squid.conf.
type PolicyCheck struct {
	// Policy is the squid.conf checked.
	Policy string `json:"policy"`
	// Works reports whether SSPR at the sign-in screen works: the
	// temporary account reaches every endpoint it needs through the
	// policy.
	Works bool `json:"works"`
	// Accounts are the temporary account's check, then the signed-in
	// user's.
	Accounts []AccountCheck `json:"accounts"`
	// Exemption is the squid.conf lines that let the SSPR hosts through
	// without authentication, and Before the http_access line to put them
	// before (0: at the end); set when the temporary account is stopped
	// by the policy. ExemptionWorks says whether the policy with them
	// added lets it through (checked the same way).
	Exemption      []string `json:"exemption,omitempty"`
	Before         int      `json:"before,omitempty"`
	ExemptionWorks *bool    `json:"exemptionWorks,omitempty"`
	// NotImported are the directives of the file not imported.
	NotImported []string `json:"notImported,omitempty"`
	// Notes say what the check cannot see as the real network would.
	Notes []string `json:"notes,omitempty"`
}

// AccountCheck is one account's way through the policy.
type AccountCheck struct {
	// Account is "temporary" (defaultuser1, no proxy credentials) or
	// "user" (a signed-in user with credentials).
	Account string `json:"account"`
	Works   bool   `json:"works"`
	// Cause and Remedy are the first blocking cause's (client vocabulary).
	Cause  client.Cause `json:"cause,omitempty"`
	Remedy string       `json:"remedy,omitempty"`
	// Endpoints are the policy's decisions for each endpoint SSPR needs.
	Endpoints []EndpointDecision `json:"endpoints"`
}

// EndpointDecision is what the policy did with one request.
type EndpointDecision struct {
	// Endpoint is "host:port", Role what SSPR needs it for, Method the
	// request (CONNECT, GET).
	Endpoint string `json:"endpoint"`
	Role     string `json:"role"`
	Method   string `json:"method,omitempty"`
	// Status is the proxy's answer (200 for an allowed tunnel, the
	// origin's status for plain HTTP), Schemes those a 407 offered.
	Status  int      `json:"status"`
	Schemes []string `json:"schemes,omitempty"`
	// Allowed reports whether the policy let the request through.
	Allowed bool `json:"allowed"`
	// Line is the http_access line that decided (0: Squid's implicit
	// last rule); Rule its name in the lab.
	Line int    `json:"line"`
	Rule string `json:"rule,omitempty"`
}

func newCheck() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "check squid.conf",
		Short: "Will SSPR at the sign-in screen work through this Squid policy?",
		Long: `Import a squid.conf (as import squid does), run its policy as the lab's
proxy, and probe every endpoint SSPR needs through it (as probe does, on
the lab's network: nothing leaves the machine), as the temporary account
(defaultuser1: no proxy credentials) and as a signed-in user (an account
of the check's own, with the policy's auth_param schemes). It says whether
SSPR at the sign-in screen works, and if not which http_access line stops
which endpoint, the documented remedy, and the lines to add: an exemption
of the SSPR hosts before the first line that stops them, checked by
running the policy again with it.

Exit status: 0 SSPR works for the temporary account, 1 it does not, 2 for
invalid input (the file, a line that cannot be imported).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("check takes one squid.conf, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			pc, err := CheckPolicy(ctx, args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(pc); err != nil {
					return err
				}
			} else if err := writeCheck(w, pc); err != nil {
				return err
			}
			if !pc.Works {
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

// CheckPolicy imports the squid.conf at path and checks it (see check).
func CheckPolicy(ctx context.Context, path string) (*PolicyCheck, error) {
	px, notImported, err := scenarios.ProxyFromSquid(path, false)
	if err != nil {
		return nil, usagef("%v", err)
	}
	pc := &PolicyCheck{Policy: path}
	for _, d := range notImported {
		pc.NotImported = append(pc.NotImported, d.String())
	}
	if slices.ContainsFunc(px.Rules, func(r proxy.Rule) bool { return len(r.Src) > 0 || (r.Not != nil && len(r.Not.Src) > 0) }) {
		pc.Notes = append(pc.Notes, "the policy's src ACLs see the lab workstation's address, 127.0.0.1: it is checked as a client outside your subnets")
	}
	pw, err := checkPassword()
	if err != nil {
		return nil, err
	}
	if pc.Accounts, err = checkAccounts(ctx, px, pw); err != nil {
		return nil, err
	}
	pc.Works = pc.Accounts[0].Works
	if pc.Works {
		return pc, nil
	}
	// The first http_access line that stopped the temporary account
	// (0: only Squid's implicit last rule did).
	stopped, first := false, 0
	for _, e := range pc.Accounts[0].Endpoints {
		if e.Allowed || e.Status == 0 {
			continue
		}
		stopped = true
		if e.Line > 0 && (first == 0 || e.Line < first) {
			first = e.Line
		}
	}
	if !stopped {
		return pc, nil // not the policy's doing: the remedy says what
	}
	pc.Before = first
	pc.Exemption = []string{
		"acl sspr_hosts dstdomain " + strings.Join(ssprHosts, " "),
		"http_access allow sspr_hosts",
	}
	// Check the remedy: the exemption's translation (a dstdomain ACL of
	// exact names, allowed), where the lines would go.
	at := len(px.Rules) - 1 // before the implicit last rule
	if first > 0 {
		at = slices.IndexFunc(px.Rules, func(r proxy.Rule) bool { return r.Line == first })
	}
	fixed := *px
	fixed.Rules = slices.Insert(slices.Clone(px.Rules), at, proxy.Rule{Name: "http_access allow sspr_hosts (egresslab check's exemption)", Hosts: ssprHosts, Action: proxy.Allow})
	again, err := checkAccounts(ctx, &fixed, pw)
	if err != nil {
		return nil, err
	}
	ok := again[0].Works
	pc.ExemptionWorks = &ok
	return pc, nil
}

// checkPassword is the check's own proxy account's password: random, never shown.
func checkPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "Ck-" + hex.EncodeToString(b), nil
}

// checkAccounts probes the endpoints through px as the temporary account
// and as a signed-in user, each in a lab of its own.
func checkAccounts(ctx context.Context, px *scenarios.Proxy, password string) ([]AccountCheck, error) {
	var out []AccountCheck
	for _, account := range []string{"temporary", "user"} {
		lab := *px
		// The signed-in user's account: the proxy knows it when the
		// policy authenticates; otherwise it is never asked for.
		creds := &client.Credentials{Username: "sspr-check", Domain: "CONTOSO", Password: password}
		if lab.Auth != nil && len(lab.Auth.Schemes) > 0 {
			auth := *lab.Auth
			auth.Users = []proxy.User{{Name: creds.Username, Domain: creds.Domain, Password: password}}
			lab.Auth = &auth
		}
		sc := &scenarios.Scenario{Name: "check", Description: "egresslab check", Reference: "egresslab check",
			Lab: scenarios.Lab{Proxy: &lab}, Expect: scenarios.Expect{Outcome: client.OutcomeSuccess}}
		p := client.Profile{OS: client.Windows11, Account: client.AccountDefaultUser1, UserID: "adele@contoso.com", NewPassword: "Vq7#Lmz2!Rtx",
			Proxy: client.ProxySources{PerMachine: &client.ProxySetting{Server: harness.DefaultProxyAddr}}, Revocation: client.RevocationHardFail}
		if account == "user" {
			p.Account, p.Credentials = client.AccountUser, creds
		}
		sc.Client.Profile = p
		l, err := scenarios.NewLab(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		rep, err := probe.Run(ctx, probe.Config{Profile: p, Dial: l.Dial, Resolver: l, Roots: l.Roots(), Issuers: harness.ServiceIssuers})
		journal := l.Journal().Entries()
		l.Close()
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		ac := AccountCheck{Account: account, Works: rep.Works, Cause: rep.Cause, Remedy: rep.Remedy}
		for _, e := range rep.Endpoints {
			if !e.Required {
				continue
			}
			d := EndpointDecision{Endpoint: e.Name, Role: e.Role}
			if e.Connect != nil {
				d.Status, d.Schemes = e.Connect.Status, e.Connect.Schemes
			}
			// The proxy's own record of the decision: the last for this target.
			for _, j := range slices.Backward(journal) {
				if j.Target == e.Name && !j.Intercepted {
					d.Method, d.Line, d.Rule = j.Method, j.Line, j.Rule
					d.Allowed = j.Action == proxy.Allow && j.Status != 403 && j.Status != 407
					if d.Status == 0 {
						d.Status = j.Status
					}
					break
				}
			}
			ac.Endpoints = append(ac.Endpoints, d)
		}
		out = append(out, ac)
	}
	return out, nil
}

// writeCheck writes the check for people.
func writeCheck(w io.Writer, pc *PolicyCheck) error {
	verdict := "works"
	if !pc.Works {
		verdict = "does NOT work"
	}
	fmt.Fprintf(w, "%s: SSPR at the sign-in screen %s\n\n", pc.Policy, verdict)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\trole\ttemporary account\tsigned-in user")
	for i, e := range pc.Accounts[0].Endpoints {
		row := []string{e.Endpoint, e.Role, decisionText(e), ""}
		if i < len(pc.Accounts[1].Endpoints) {
			row[3] = decisionText(pc.Accounts[1].Endpoints[i])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range pc.Accounts {
		var stopped []string
		for _, e := range a.Endpoints {
			if !e.Allowed && e.Status != 0 {
				stopped = append(stopped, e.Endpoint)
			}
		}
		if a.Works && len(stopped) > 0 {
			fmt.Fprintf(w, "\n%s: works, though the policy stops %s (not needed while the others answer)\n", accountName(a.Account), strings.Join(stopped, ", "))
			continue
		}
		if a.Works {
			fmt.Fprintf(w, "\n%s: works\n", accountName(a.Account))
			continue
		}
		fmt.Fprintf(w, "\n%s: %s\n  remedy: %s\n", accountName(a.Account), a.Cause, a.Remedy)
	}
	if len(pc.Exemption) > 0 {
		where := fmt.Sprintf("before http_access line %d", pc.Before)
		if pc.Before == 0 {
			where = "before the end (Squid's implicit last rule stops them)"
		}
		fmt.Fprintf(w, "\nadd %s:\n", where)
		for _, l := range pc.Exemption {
			fmt.Fprintf(w, "  %s\n", l)
		}
		if pc.ExemptionWorks != nil {
			if *pc.ExemptionWorks {
				fmt.Fprintln(w, "checked: with these lines the temporary account gets through")
			} else {
				fmt.Fprintln(w, "checked: these lines are not enough; see the remedy above")
			}
		}
	}
	for _, n := range pc.NotImported {
		fmt.Fprintf(w, "not imported: %s\n", n)
	}
	for _, n := range pc.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

func accountName(a string) string {
	if a == "temporary" {
		return "temporary account (defaultuser1)"
	}
	return "signed-in user"
}

func decisionText(e EndpointDecision) string {
	line := fmt.Sprintf("line %d", e.Line)
	if e.Line == 0 {
		line = "implicit last rule"
	}
	switch {
	case e.Status == 0 && e.Rule == "":
		return "not reached"
	case e.Allowed:
		return "allowed (" + line + ")"
	case e.Status == 407:
		return fmt.Sprintf("407 %s (%s)", strings.Join(e.Schemes, ","), line)
	}
	return fmt.Sprintf("%d (%s)", e.Status, line)
}
