package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/egresslab/egresslab/internal/junit"
)

// WriteText writes the report for a person: the machine, the proxy each
// account gets, then each finding with its setting, value, source,
// effect, remedy and reference, the blocking ones first.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	m := r.Machine
	switch {
	case m.OS != "":
		fmt.Fprintf(&b, "%s", m.OS)
		if m.Display != "" {
			fmt.Fprintf(&b, " %s", m.Display)
		}
		if m.Build > 0 {
			fmt.Fprintf(&b, " (build %d", m.Build)
			if m.Edition != "" {
				fmt.Fprintf(&b, ", %s", m.Edition)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	default:
		b.WriteString("Windows version: not in the exports\n")
	}
	fmt.Fprintf(&b, "temporary account (defaultuser1): %s\n", r.TemporaryAccount)
	fmt.Fprintf(&b, "signed-in user:                   %s\n", r.SignedInUser)
	if w := r.Proxies.WinHTTP; w != nil {
		s := "direct"
		if w.Server != "" {
			s = "proxy " + w.Server
		}
		fmt.Fprintf(&b, "WinHTTP (revocation fetches):     %s\n", s)
	}
	blocks := 0
	all := append(append([]Finding(nil), r.Findings...), r.Notes...)
	for _, sev := range []Severity{Blocks, Warning, Info} {
		for _, f := range all {
			if f.Severity != sev {
				continue
			}
			if sev == Blocks {
				blocks++
			}
			label := strings.ToUpper(string(sev))
			if sev == Info {
				label = "NOTE"
			}
			fmt.Fprintf(&b, "\n%-8s %s: %s = %s", label, f.ID, f.Setting, shorten(f.Value))
			if f.Source != "" {
				fmt.Fprintf(&b, " (%s)", f.Source)
			}
			fmt.Fprintf(&b, "\n         %s\n         remedy: %s\n         see: %s\n", f.Effect, f.Remedy, f.Reference)
		}
	}
	if blocks == 0 {
		b.WriteString("\nNothing documented blocks SSPR at the sign-in screen on these settings.\n")
	} else {
		fmt.Fprintf(&b, "\n%d finding(s) block SSPR at the sign-in screen.\n", blocks)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as JSON (its shape: Schema).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Schema is the JSON Schema (2020-12) of WriteJSON's output.
func Schema() ([]byte, error) {
	rf := &jsonschema.Reflector{DoNotReference: true}
	s := rf.Reflect(&Report{})
	sev := []any{string(Blocks), string(Warning), string(Info)}
	for _, name := range []string{"findings", "notes"} {
		if p, ok := s.Properties.Get(name); ok && p.Items != nil {
			if f, ok := p.Items.Properties.Get("severity"); ok {
				f.Enum = sev
			}
		}
	}
	s.Title = "egresslab preflight report"
	s.Description = "What a Windows machine's settings say about Microsoft Entra SSPR at its sign-in screen (egresslab preflight --format json)."
	return json.MarshalIndent(s, "", "  ")
}

// WriteJUnit writes the report as JUnit XML: a test case per finding,
// failed when it blocks SSPR; one passing case when there is none.
func WriteJUnit(w io.Writer, r *Report) error {
	s := junit.Suite{Name: "egresslab preflight"}
	for _, f := range r.Findings {
		c := junit.Case{Name: f.ID, Classname: "egresslab.preflight." + string(f.Severity)}
		detail := fmt.Sprintf("%s = %s %s\n%s\nremedy: %s\nsee: %s", f.Setting, f.Value, f.Source, f.Effect, f.Remedy, f.Reference)
		if f.Severity == Blocks {
			c.Failure = &junit.Failure{Message: f.Effect, Text: detail}
		} else {
			c.SystemOut = detail
		}
		s.Cases = append(s.Cases, c)
	}
	if len(s.Cases) == 0 {
		s.Cases = append(s.Cases, junit.Case{Name: "no-findings", Classname: "egresslab.preflight"})
	}
	return junit.Write(w, s)
}

// shorten cuts a value for a person's report (JSON keeps it whole).
func shorten(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + fmt.Sprintf("... (%d bytes)", len(s))
}
