package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/invopop/jsonschema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/internal/junit"
	"github.com/egresslab/egresslab/internal/schemacompile"
)

// SchemaID is the $id of the report's JSON Schema.
const SchemaID = "https://egresslab.dev/schemas/probe-report.json"

// Schema is the JSON Schema (2020-12) of [WriteJSON]'s output.
func Schema() ([]byte, error) {
	rf := &jsonschema.Reflector{DoNotReference: true, RequiredFromJSONSchemaTags: false}
	s := rf.Reflect(&Report{})
	s.ID = SchemaID
	s.Title = "egresslab probe report"
	s.Description = "What the network gave the endpoints Microsoft Entra SSPR needs at the Windows sign-in screen, and a verdict per cause (egresslab probe --format json)."
	causes := make([]any, 0, len(client.Causes())+1)
	causes = append(causes, "")
	for _, c := range client.Causes() {
		causes = append(causes, string(c))
	}
	setEnum(s, causes)
	return json.MarshalIndent(s, "", "  ")
}

// setEnum gives every property named "cause" the vocabulary's causes.
func setEnum(s *jsonschema.Schema, causes []any) {
	if s == nil {
		return
	}
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			if pair.Key == "cause" {
				pair.Value.Enum = causes
			}
			setEnum(pair.Value, causes)
		}
	}
	setEnum(s.Items, causes)
}

// compiledSchema is Schema, compiled once.
var compiledSchema = sync.OnceValues(func() (*sjs.Schema, error) {
	raw, err := Schema()
	if err != nil {
		return nil, err
	}
	return schemacompile.Compile(SchemaID, raw)
})

// ValidateJSON checks a JSON report against [Schema]: it proves that the
// published schema and [WriteJSON] agree.
func ValidateJSON(data []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	inst, err := sjs.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// WriteJSON writes the report as indented JSON (its shape: [Schema]).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Marks are the pass and fail marks of the text report: symbols on a
// terminal, words elsewhere.
type Marks struct{ Pass, Fail, Warn, Skip string }

// Text marks: TerminalMarks for a person, PlainMarks for a file or a pipe.
var (
	TerminalMarks = Marks{Pass: "✔", Fail: "✘", Warn: "!", Skip: "-"}
	PlainMarks    = Marks{Pass: "ok", Fail: "FAIL", Warn: "warn", Skip: "-"}
)

// WriteText writes the report as a table, one row per endpoint, then the
// verdicts with their remedies.
func WriteText(w io.Writer, r *Report, m Marks) error {
	var b strings.Builder
	src := r.ProxySource
	if r.PAC != "" {
		src += " " + r.PAC
	}
	fmt.Fprintf(&b, "egresslab probe: account %s, %s (offers %s), proxy source %s, revocation %s\n\n", r.Account, r.OS, r.TLSOffered, src, r.Revocation)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tDNS\tROUTE\tTCP\tPROXY\tTLS 1.0/1.1/1.2/1.3\tCLIENT TLS\tCHAIN\tREVOCATION")
	mark := func(ok bool) string {
		if ok {
			return m.Pass
		}
		return m.Fail
	}
	for _, e := range r.Endpoints {
		dns := e.DNS.ResolvedBy
		switch {
		case e.DNS.Error != "":
			dns = m.Fail + " " + dns
		case len(e.DNS.Answer) > 0:
			dns = strings.Join(e.DNS.Answer, ",")
		}
		route := "direct"
		if e.Route != nil && e.Route.Proxy != "" {
			route = e.Route.Proxy
		}
		if e.Route != nil && e.Route.Error != "" {
			route = m.Fail + " no route"
		}
		proxy := m.Skip
		if c := e.Connect; c != nil {
			proxy = fmt.Sprint(c.Status)
			if len(c.Schemes) > 0 {
				proxy += " " + strings.Join(c.Schemes, ",")
			}
			if c.SquidError != "" {
				proxy += " " + c.SquidError
			}
			if c.AuthScheme != "" {
				proxy += " (" + c.AuthScheme + ")"
			}
			proxy = mark(c.StatusLine == "") + " " + proxy // a refusal has its status line
		}
		versions, clientTLS, chain, rev := m.Skip, m.Skip, m.Skip, m.Skip
		if t := e.TLS; t != nil {
			var vs []string
			for _, v := range t.Versions {
				vs = append(vs, mark(v.Accepted))
			}
			versions = strings.Join(vs, "/")
			clientTLS = mark(t.Client.OK)
			if t.Negotiated != "" {
				clientTLS += " " + t.Negotiated
			} else if t.Client.Cause != "" {
				clientTLS += " " + string(t.Client.Cause)
			}
			switch {
			case t.Inspection != nil && t.Client.OK:
				chain = m.Warn + " inspected by " + t.Inspection.Issuer
			case t.Inspection != nil:
				chain = m.Fail + " inspected by " + t.Inspection.Issuer
			case len(t.Chain) > 0 && t.Client.OK:
				chain = m.Pass + " " + t.Chain[0].Issuer
			case len(t.Chain) > 0:
				chain = m.Fail + " " + t.Chain[0].Issuer
			}
		}
		if len(e.Revocation) > 0 {
			var rs []string
			for _, rc := range e.Revocation {
				rs = append(rs, rc.Status)
			}
			rev = strings.Join(rs, ",")
		}
		tcp := mark(e.TCP.OK)
		if !e.TCP.OK && e.TCP.Cause != "" {
			tcp += " " + string(e.TCP.Cause)
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark(e.OK), e.Name, dns, route, tcp, proxy, versions, clientTLS, chain, rev)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p := r.Portal; p != nil {
		fmt.Fprintf(&b, "\nportal page: %s", mark(p.Page.OK))
		if p.Page.Error != "" {
			fmt.Fprintf(&b, " %s", p.Page.Error)
		}
		if p.ScriptCheck != nil {
			fmt.Fprintf(&b, "; script %s: %s", p.Script, mark(p.ScriptCheck.OK))
			if p.ScriptCheck.OK && p.Integrity != "" {
				b.WriteString(" (integrity matches)")
			}
			if p.ScriptCheck.Error != "" {
				fmt.Fprintf(&b, " %s", p.ScriptCheck.Error)
			}
		}
		b.WriteString("\n")
	}
	// What a PAC script answered, where an entry was passed over or the
	// script failed.
	for _, e := range r.Endpoints {
		rt := e.Route
		if rt == nil {
			continue
		}
		var failed []string
		for _, a := range rt.Attempts {
			if !a.Used {
				failed = append(failed, a.Entry+" ("+a.Error+")")
			}
		}
		switch {
		case rt.AutoProxyError != "":
			fmt.Fprintf(&b, "proxy auto-config for %s: %s\n", e.Name, rt.AutoProxyError)
		case len(failed) > 0:
			fmt.Fprintf(&b, "PAC for %s: %q; passed over %s\n", e.Name, rt.PACResult, strings.Join(failed, "; "))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	var old []string
	for _, e := range r.Endpoints {
		if e.TLS != nil && len(e.TLS.Versions) > 0 && !e.TLS.Windows7Default {
			old = append(old, e.Name)
		}
	}
	if len(old) > 0 {
		fmt.Fprintf(&b, "Windows 7's default (TLS 1.0 only, KB3140245) is refused by %s\n", strings.Join(old, ", "))
	}
	b.WriteString("\n")
	// One line per verdict; each cause's remedy once, after its verdicts.
	var causes []client.Cause
	for _, v := range r.Verdicts {
		if !slices.Contains(causes, v.Cause) {
			causes = append(causes, v.Cause)
		}
	}
	for _, c := range causes {
		remedy := ""
		for _, v := range r.Verdicts {
			if v.Cause != c {
				continue
			}
			if remedy == "" {
				remedy = v.Remedy
			}
			mk := m.Warn
			if v.Blocking {
				mk = m.Fail
			}
			fmt.Fprintf(&b, "%s %s at %s (%s): %s\n", mk, v.Cause, orDash(v.Endpoint), v.Check, v.Error)
		}
		fmt.Fprintf(&b, "  remedy: %s\n", remedy)
	}
	b.WriteString("\ndocumented causes:\n")
	for _, d := range r.Documented {
		mk := map[string]string{"pass": m.Pass, "fail": m.Fail, "warn": m.Warn, "not-checked": m.Skip}[d.Status]
		fmt.Fprintf(&b, "  %-4s %-20s %s\n", mk, d.Name, d.Detail)
	}
	b.WriteString("\n")
	if r.Works {
		fmt.Fprintf(&b, "%s SSPR at the sign-in screen would work for the %s account (%d ms).\n", m.Pass, r.Account, r.DurationMS)
	} else {
		fmt.Fprintf(&b, "%s SSPR at the sign-in screen would fail for the %s account: %s (%d ms).\n", m.Fail, r.Account, r.Cause, r.DurationMS)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJUnit writes the report as JUnit XML: a test case per endpoint,
// failed when a blocking verdict names it, and one for the whole flow.
func WriteJUnit(w io.Writer, r *Report) error {
	s := junit.Suite{Name: "egresslab probe"}
	for _, e := range r.Endpoints {
		c := junit.Case{Name: e.Name, Classname: "egresslab.probe." + e.Role}
		for _, v := range r.Verdicts {
			if v.Endpoint != e.Name {
				continue
			}
			detail := fmt.Sprintf("%s (%s): %s\nremedy: %s", v.Cause, v.Check, v.Error, v.Remedy)
			if v.Blocking && c.Failure == nil {
				c.Failure = &junit.Failure{Message: string(v.Cause), Text: detail}
			} else {
				c.SystemOut += detail + "\n"
			}
		}
		s.Cases = append(s.Cases, c)
	}
	flow := junit.Case{Name: "sspr-" + r.Account, Classname: "egresslab.probe"}
	if !r.Works {
		flow.Failure = &junit.Failure{Message: string(r.Cause), Text: r.Remedy}
	}
	s.Cases = append(s.Cases, flow)
	return junit.Write(w, s)
}
