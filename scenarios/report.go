package scenarios

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary counts reports.
type Summary struct {
	Total, Passed, Failed, Errors int
	// NotRun counts the scenarios that did not run or finish.
	NotRun int
	// Unsupported counts the scenarios the backend cannot run; they do
	// not make the run fail.
	Unsupported int
	Duration    time.Duration
}

// Summarize counts the reports; d is the wall time of the run.
func Summarize(reports []*Report, d time.Duration) Summary {
	s := Summary{Total: len(reports), Duration: d}
	for _, r := range reports {
		switch {
		case r.NotRun != "":
			s.NotRun++
		case r.Unsupported != "":
			s.Unsupported++
		case r.Error != "":
			s.Errors++
		case r.Passed:
			s.Passed++
		default:
			s.Failed++
		}
	}
	return s
}

// OK reports whether every scenario ran and passed.
func (s Summary) OK() bool { return s.Failed == 0 && s.Errors == 0 && s.NotRun == 0 }

// Line is one report's line: "PASS name (12ms)" or "FAIL name: ...".
func (r *Report) Line() string {
	d := r.Duration.Round(time.Millisecond)
	switch {
	case r.NotRun != "":
		return fmt.Sprintf("SKIP  %s (%s): %s", r.Name, d, r.NotRun)
	case r.Unsupported != "":
		return fmt.Sprintf("SKIP  %s: not on this backend: %s", r.Name, r.Unsupported)
	case r.Error != "":
		return fmt.Sprintf("ERROR %s (%s): %s", r.Name, d, r.Error)
	case r.Passed:
		return fmt.Sprintf("PASS  %s (%s)", r.Name, d)
	}
	return fmt.Sprintf("FAIL  %s (%s)", r.Name, d)
}

// WriteText writes the reports for people: a line each, and for each
// failure what was expected and what came, the failed step, the error,
// and the proxy decisions that led there.
func WriteText(w io.Writer, reports []*Report, sum Summary, verbose bool) error {
	var b strings.Builder
	for _, r := range reports {
		if r.Passed && !verbose {
			continue
		}
		writeDetail(&b, r)
	}
	fmt.Fprintf(&b, "%d scenarios: %d passed, %d failed, %d errors", sum.Total, sum.Passed, sum.Failed, sum.Errors)
	if sum.NotRun > 0 {
		fmt.Fprintf(&b, ", %d not run", sum.NotRun)
	}
	if sum.Unsupported > 0 {
		fmt.Fprintf(&b, ", %d not on this backend", sum.Unsupported)
	}
	fmt.Fprintf(&b, " in %s\n", sum.Duration.Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDetail(b *strings.Builder, r *Report) {
	fmt.Fprintf(b, "%s\n", r.Line())
	if r.File != "" {
		fmt.Fprintf(b, "    file: %s\n", r.File)
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(b, "    %s\n", m)
	}
	if res := r.Result; res != nil {
		fmt.Fprintf(b, "    got: %s\n", res)
		if res.Proxy != "" || res.ProxySource != "" {
			via := ""
			if a := res.AutoProxy; a != nil && a.Method != "" {
				via = ", through the PAC file from " + a.Method
			}
			fmt.Fprintf(b, "    proxy: %s (settings from %s%s)\n", orNone(res.Proxy), res.ProxySource, via)
		}
		if a := res.AutoProxy; a != nil {
			switch {
			case a.Method != "":
				fmt.Fprintf(b, "    auto-proxy: %s %s", a.Method, a.URL)
				if a.Used != "" {
					fmt.Fprintf(b, ", portal via %s", a.Used)
				}
			default:
				fmt.Fprintf(b, "    auto-proxy: no PAC file")
			}
			if a.Fallback != "" {
				fmt.Fprintf(b, ", fallback %s", a.Fallback)
			}
			b.WriteString("\n")
			for _, e := range a.Errors {
				fmt.Fprintf(b, "      error: %s\n", e)
			}
			for _, f := range a.Failed {
				fmt.Fprintf(b, "      failed over: %s\n", f)
			}
		}
		if len(r.Journal) > 0 {
			fmt.Fprintf(b, "    proxy decisions:\n")
			for _, e := range r.Journal {
				line := fmt.Sprintf("%s %s", e.Method, e.Target)
				if e.Path != "" {
					line += " " + e.Path
				}
				fmt.Fprintf(b, "      %-60s rule=%q", line, e.Rule)
				if e.Line != 0 {
					fmt.Fprintf(b, " line=%d", e.Line)
				}
				fmt.Fprintf(b, " action=%s status=%d result=%s", e.Action, e.Status, e.Result)
				if e.User != "" {
					fmt.Fprintf(b, " user=%s", e.User)
				}
				if e.Surrogate {
					b.WriteString(" surrogate")
				}
				if e.Detail != "" {
					fmt.Fprintf(b, " (%s)", e.Detail)
				}
				b.WriteString("\n")
			}
		}
		if res.Remedy != "" && !r.Passed && r.NotRun == "" {
			fmt.Fprintf(b, "    remedy: %s\n", res.Remedy)
		}
	}
}

// WriteJSON writes the reports and the summary as one JSON document.
func WriteJSON(w io.Writer, reports []*Report, sum Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Summary   jsonSummary `json:"summary"`
		Scenarios []*Report   `json:"scenarios"`
	}{jsonSummary{sum.Total, sum.Passed, sum.Failed, sum.Errors, sum.NotRun, sum.Unsupported, sum.Duration.Seconds()}, reports})
}

type jsonSummary struct {
	Total       int     `json:"total"`
	Passed      int     `json:"passed"`
	Failed      int     `json:"failed"`
	Errors      int     `json:"errors"`
	NotRun      int     `json:"notRun"`
	Unsupported int     `json:"unsupported"`
	Duration    float64 `json:"durationSeconds"`
}

// JUnit XML, as CI systems (Jenkins, GitLab, GitHub actions) read it.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Time     string      `xml:"time,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		File      string        `xml:"file,attr,omitempty"`
		Time      string        `xml:"time,attr"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
		Failure   *junitProblem `xml:"failure,omitempty"`
		Error     *junitProblem `xml:"error,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	}
)

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the reports as JUnit XML: a test case per scenario,
// skipped (with the reason) when it did not run or finish.
func WriteJUnit(w io.Writer, reports []*Report, sum Summary) error {
	suite := junitSuite{Name: "egresslab", Tests: sum.Total, Failures: sum.Failed, Errors: sum.Errors, Skipped: sum.NotRun + sum.Unsupported, Time: secs(sum.Duration)}
	for _, r := range reports {
		c := junitCase{Name: r.Name, Classname: "egresslab.scenarios", File: r.File, Time: secs(r.Duration)}
		var detail strings.Builder
		writeDetail(&detail, r)
		switch {
		case r.NotRun != "":
			c.Skipped = &junitSkipped{Message: r.NotRun}
		case r.Unsupported != "":
			c.Skipped = &junitSkipped{Message: "not on this backend: " + r.Unsupported}
		case r.Error != "":
			c.Error = &junitProblem{Message: r.Error, Type: "error", Body: detail.String()}
		case !r.Passed:
			msgs := make([]string, len(r.Mismatches))
			for i, m := range r.Mismatches {
				msgs[i] = m.String()
			}
			c.Failure = &junitProblem{Message: strings.Join(msgs, "; "), Type: "mismatch", Body: detail.String()}
		default:
			if r.Result != nil {
				c.SystemOut = r.Result.String()
			}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Tests: sum.Total, Failures: sum.Failed, Errors: sum.Errors, Skipped: sum.NotRun + sum.Unsupported, Time: secs(sum.Duration), Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
