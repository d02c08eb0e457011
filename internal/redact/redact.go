// Package redact hides credentials in text that may be logged or shown.
package redact

import "strings"

// Userinfo hides anything that may be the userinfo ("user:password@") of
// a URL, a request target or an address ("user:pass@host:port"), whether
// or not it parses, so that a credential reaches neither a log nor an
// error: in each part between slashes, what comes before the last @ is
// replaced with "***". It errs on the side of hiding: malformed targets
// such as "//user:pass@host/" and "http:/user:pass@host/" (which some
// URL parsers read as having an authority) are covered, and so is an @ in
// a path or query, which is rarely a credential but may be one.
func Userinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, part := range strings.Split(s, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if at := strings.LastIndex(part, "@"); at >= 0 {
			b.WriteString("***")
			part = part[at:]
		}
		b.WriteString(part)
	}
	return b.String()
}
