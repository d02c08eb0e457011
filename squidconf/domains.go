package squidconf

import (
	"fmt"
	"strings"
)

// domainIndex holds the values of one dstdomain or ssl::server_name ACL,
// to find the overlaps Squid reacts to when it adds a value to its tree
// (src/acl/DomainData.cc, aclDomainCompare, with matchDomainName of
// src/anyp/Uri.cc):
//   - a value that covers one already there (".example.com" after
//     "www.example.com" or "example.com", "example.com" after
//     ".example.com") is fatal: "ERROR: ... is a subdomain of ...";
//   - a value covered by a wildcard already there ("www.example.com"
//     after ".example.com") is dropped with a WARNING;
//   - an exact repeat is dropped quietly.
type domainIndex struct {
	// stripped maps each value without its leading dots to the value.
	stripped map[string]Value
	// suffixes maps each label suffix of each stripped value
	// ("www.example.com", "example.com", "com") to the value.
	suffixes map[string]Value
	// wild maps the stripped form of each ".domain" value to it.
	wild  map[string]Value
	exact map[string]bool
}

// add checks a new value against the index and adds it. It returns a
// warning when Squid drops the value, an error when Squid refuses it.
func (ix *domainIndex) add(v Value) (warning string, err error) {
	if ix.exact == nil {
		ix.exact, ix.stripped, ix.suffixes, ix.wild = map[string]bool{}, map[string]Value{}, map[string]Value{}, map[string]Value{}
	}
	n := strings.TrimLeft(v.Text, ".")
	if n == "" {
		return "", fmt.Errorf("not a domain: it matches nothing")
	}
	if ix.exact[v.Text] {
		return "", nil
	}
	wildcard := strings.HasPrefix(v.Text, ".")
	// The new value covers one already there: fatal in Squid.
	if wildcard {
		if e, ok := ix.suffixes[n]; ok {
			return "", fmt.Errorf("%q is a subdomain of %q (%s), which is already in the ACL: Squid refuses it (\"You need to remove ...\"); put the wildcard first or drop the subdomain", e.Text, v.Text, e.Pos)
		}
	} else if e, ok := ix.stripped[n]; ok {
		return "", fmt.Errorf("%q is a subdomain of %q (%s): Squid refuses it (\"You need to remove ...\")", e.Text, v.Text, e.Pos)
	}
	// A wildcard already there covers the new value: Squid drops it.
	for s := n; ; {
		if e, ok := ix.wild[s]; ok {
			return fmt.Sprintf("%q is a subdomain of %q (%s): Squid warns and ignores it", v.Text, e.Text, e.Pos), nil
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	ix.exact[v.Text] = true
	ix.stripped[n] = v
	if wildcard {
		ix.wild[n] = v
	}
	for s := n; ; {
		if _, ok := ix.suffixes[s]; !ok {
			ix.suffixes[s] = v
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return "", nil
}
