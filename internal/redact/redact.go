// Package redact hides credentials in text that may be logged or shown.
package redact

import "strings"

// Userinfo hides the userinfo ("user:password@") of a URL, a request
// target or an address ("user:pass@host:port"), whether or not it parses,
// so that a credential reaches neither a log nor an error. An @ in a path,
// query or fragment is left alone.
func Userinfo(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		start = i + 3
	}
	if slash := strings.IndexAny(s[start:], "/?#"); slash >= 0 && start+slash < at {
		return s // the @ is in the path, not in an authority
	}
	return s[:start] + "***@" + s[at+1:]
}
