// Package junit writes the JUnit XML that CI systems read (Jenkins,
// GitLab, GitHub Actions' test reporters): one <testsuite> of test cases,
// each passed, failed (with a message and a body) or with output only.
// It is the report format of preflight and probe.
package junit

import (
	"encoding/xml"
	"io"
)

// Suite is a <testsuite>; Write fills in Tests and Failures.
type Suite struct {
	XMLName  xml.Name `xml:"testsuite"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Cases    []Case   `xml:"testcase"`
}

// Case is a <testcase>: failed when Failure is set.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Failure   *Failure `xml:"failure,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Failure is a <failure>: its message, and the details as its text.
type Failure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// Write writes s as an XML document, indented, with Tests and Failures
// counted from its cases.
func Write(w io.Writer, s Suite) error {
	s.Tests, s.Failures = len(s.Cases), 0
	for _, c := range s.Cases {
		if c.Failure != nil {
			s.Failures++
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
