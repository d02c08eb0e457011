package winreg

import (
	"errors"
	"slices"
	"strings"

	"github.com/egresslab/egresslab/internal/yamlfile"
)

// Registry is the merge of any number of exports applied in order, as
// importing them one after the other would leave the registry: a key line
// creates the key and its missing parents, a value replaces the value of
// the same name (without regard to case), "Name"=- deletes a value and
// [-KEY] deletes the key with all its subkeys. The zero Registry is empty
// and ready to use. A Registry is not safe for concurrent use while
// [Registry.Add] runs.
type Registry struct {
	roots map[string]*node // by abbreviation (HKLM)
	seq   int
}

// node is one key of a Registry.
type node struct {
	name     string // as first spelled
	path     string // canonical
	file     string
	line     int
	children map[string]*node // by folded name
	values   map[string]*entry
}

type entry struct {
	v   *Value
	seq int // order of first setting
}

// Add applies an export on top of what r holds.
func (r *Registry) Add(e *Export) {
	for _, k := range e.Keys {
		parts := strings.Split(k.Path, `\`)
		if k.Delete {
			if parent := r.find(parts[:len(parts)-1], false, k); parent != nil {
				delete(parent.children, fold(parts[len(parts)-1]))
			}
			continue
		}
		n := r.find(parts, true, k)
		for _, v := range k.Values {
			f := fold(v.Name)
			if v.Delete {
				delete(n.values, f)
				continue
			}
			c := *v
			if old, ok := n.values[f]; ok {
				old.v = &c
				continue
			}
			r.seq++
			n.values[f] = &entry{v: &c, seq: r.seq}
		}
	}
}

// find returns the node at the canonical path parts, creating it and its
// parents (recording k's file and line) when create is set; nil when it
// does not exist.
func (r *Registry) find(parts []string, create bool, k *Key) *node {
	if r.roots == nil {
		if !create {
			return nil
		}
		r.roots = map[string]*node{}
	}
	n := r.roots[parts[0]]
	if n == nil {
		if !create {
			return nil
		}
		n = newNode(parts[0], parts[0], k)
		r.roots[parts[0]] = n
	}
	for _, p := range parts[1:] {
		c := n.children[fold(p)]
		if c == nil {
			if !create {
				return nil
			}
			c = newNode(p, n.path+`\`+p, k)
			n.children[fold(p)] = c
		}
		n = c
	}
	return n
}

func newNode(name, path string, k *Key) *node {
	return &node{name: name, path: path, file: k.File, line: k.Line,
		children: map[string]*node{}, values: map[string]*entry{}}
}

// lookup finds a key by a path in any spelling: the root abbreviated or in
// full, names in any case.
func (r *Registry) lookup(path string) *node {
	c, msg := canonical(path, false)
	if msg != "" {
		return nil
	}
	return r.find(strings.Split(c, `\`), false, nil)
}

// Key returns the key at path, given in any spelling: "HKLM\Software\X"
// or "HKEY_LOCAL_MACHINE\SOFTWARE\X", without regard to case. The Key is
// a snapshot: its Values, in the order they were first set, and its Path
// spelled as the key was first created. Keys implied by a subkey's line
// exist, as they would after importing the file. False when the key does
// not exist or path is malformed (an unknown root, an empty name).
func (r *Registry) Key(path string) (*Key, bool) {
	n := r.lookup(path)
	if n == nil {
		return nil, false
	}
	k := &Key{Path: n.path, Name: fullName(n.path), File: n.file, Line: n.line}
	es := make([]*entry, 0, len(n.values))
	for _, e := range n.values {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b *entry) int { return a.seq - b.seq })
	for _, e := range es {
		k.Values = append(k.Values, e.v)
	}
	return k, true
}

// fullName writes a canonical path with the root's full name.
func fullName(path string) string {
	root, rest, _ := strings.Cut(path, `\`)
	if rest == "" {
		return rootNames[root]
	}
	return rootNames[root] + `\` + rest
}

// Value returns the value name ("" for the default value) of the key at
// key (in any spelling, see [Registry.Key]), both without regard to case;
// false when either does not exist.
func (r *Registry) Value(key, name string) (*Value, bool) {
	n := r.lookup(key)
	if n == nil {
		return nil, false
	}
	e, ok := n.values[fold(name)]
	if !ok {
		return nil, false
	}
	return e.v, true
}

// Keys returns the canonical paths of all keys, sorted (byte order), for
// tests and debugging.
func (r *Registry) Keys() []string {
	var out []string
	var walk func(n *node)
	walk = func(n *node) {
		out = append(out, n.path)
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, n := range r.roots {
		walk(n)
	}
	slices.Sort(out)
	return out
}

// Users returns the names of the subkeys of HKEY_USERS, sorted: the SIDs
// of loaded user profiles, ".DEFAULT", and any hive a help desk loaded
// with `reg load HKU\<name> FILE` before exporting (the Default user
// profile template, C:\Users\Default\NTUSER.DAT, under the name chosen
// then; see the package documentation).
func (r *Registry) Users() []string {
	n := r.lookup("HKU")
	if n == nil {
		return nil
	}
	var out []string
	for _, c := range n.children {
		out = append(out, c.name)
	}
	slices.Sort(out)
	return out
}

// MaxFileSize is the most [Load] and [ReadFile] read of one file: 16 MiB.
// An export of a whole HKLM\SOFTWARE is larger; the keys preflight reads
// make a few kilobytes.
const MaxFileSize = 16 << 20

// Load reads, parses and applies the files in order (see [Registry.Add]).
// Every file is read and parsed; the errors of all of them are returned
// together, with a nil Registry.
func Load(paths ...string) (*Registry, error) {
	r := &Registry{}
	var errs []error
	for _, path := range paths {
		data, err := ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e, err := Parse(path, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Add(e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// ReadFile reads a regular file of at most [MaxFileSize] bytes. Anything
// else is refused with an error naming the file and saying why, before it
// is read: a named pipe (which would block), a device such as /dev/zero
// (which never ends), a socket, a directory (the module's
// yamlfile.ReadFileLimit).
func ReadFile(path string) ([]byte, error) { return yamlfile.ReadFileLimit(path, MaxFileSize) }
