package yamlfile

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/egresslab/egresslab/internal/enum"
)

// node is one node of a parsed document with its path.
type node struct {
	n    *yaml.Node
	path string
	key  bool // n is a mapping's key; path is the path of its value
}

// index lists the nodes of a parsed document in document order, each
// with its path ("client.timeouts.connect", hosts["a.example"]).
func index(root *yaml.Node) []node {
	var out []node
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
			return
		case yaml.MappingNode:
			out = append(out, node{n: n, path: path})
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := joinKey(path, n.Content[i].Value)
				out = append(out, node{n: n.Content[i], path: p, key: true})
				walk(n.Content[i+1], p)
			}
			return
		case yaml.SequenceNode:
			out = append(out, node{n: n, path: path})
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
		out = append(out, node{n: n, path: path})
	}
	walk(root, "")
	return out
}

// joinKey appends a mapping key to path: .key, or ["key"] for keys that
// are not plain words (host names).
func joinKey(path, key string) string {
	if key == "" || strings.ContainsAny(key, `.[]" `) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// standardTags are the tags of YAML's core schema: any other tag is an
// error, not something to ignore.
var standardTags = map[string]bool{
	"!!str": true, "!!int": true, "!!bool": true, "!!float": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!binary": true, "!!timestamp": true,
	"!": true, // the non-specific tag: "! text" is a string
}

// tagErrors reports every node with an explicit tag outside the core
// schema (!!python/object:..., !custom): the decoder would take such a
// value as if untagged.
func tagErrors(file string, nodes []node) []error {
	var out []error
	for _, x := range nodes {
		if x.key || x.n.Style&yaml.TaggedStyle == 0 || standardTags[x.n.Tag] {
			continue
		}
		where := x.path
		if where == "" {
			where = "the document"
		}
		out = append(out, &Error{File: file, Line: x.n.Line,
			Msg: fmt.Sprintf("%s: unknown tag %s: only the standard tags (!!str, !!int, !!bool, !!float, !!null, !!map, !!seq, !!binary, !!timestamp) are allowed", where, x.n.Tag)})
	}
	return out
}

var (
	notFoundRe = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	unmarshRe  = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// friendly rewrites a decoder error message found at line into one that
// names the YAML path and says what is wanted; msg unchanged when it
// cannot.
func friendly(line int, msg string, nodes []node, types map[string]reflect.Type) string {
	if m := notFoundRe.FindStringSubmatch(msg); m != nil {
		for _, x := range nodes {
			if !x.key || x.n.Line != line || x.n.Value != m[1] {
				continue
			}
			out := x.path + ": unknown field"
			if t, ok := types[m[2]]; ok {
				if near, ok := enum.Nearest(m[1], fieldNames(t)); ok {
					out += "; did you mean " + near + "?"
				}
			}
			return out
		}
		return msg
	}
	if m := unmarshRe.FindStringSubmatch(msg); m != nil {
		tag, val, into := m[1], strings.TrimSuffix(m[2], "..."), m[3]
		// The last match on the line is the innermost: "- name: [a]"
		// starts a list too.
		for i := len(nodes) - 1; i >= 0; i-- {
			x := nodes[i]
			if x.key || x.path == "" || x.n.Line != line || x.n.ShortTag() != tag || !strings.HasPrefix(x.n.Value, val) {
				continue
			}
			want := describe(into, types)
			if x.n.Kind == yaml.ScalarNode {
				return fmt.Sprintf("%s: %s is not %s", x.path, x.n.Value, want)
			}
			got := map[yaml.Kind]string{yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}[x.n.Kind]
			return fmt.Sprintf("%s: %s is not %s", x.path, got, want)
		}
	}
	return msg
}

// describe says what a Go type wants in YAML terms.
func describe(typ string, types map[string]reflect.Type) string {
	switch {
	case typ == "time.Duration":
		return "a duration (want e.g. 2s)"
	case strings.HasPrefix(typ, "int"), strings.HasPrefix(typ, "uint"):
		return "an integer"
	case typ == "bool":
		return "true or false"
	case strings.HasPrefix(typ, "float"):
		return "a number"
	case typ == "string":
		return "a string"
	case strings.HasPrefix(typ, "[]"):
		return "a list"
	case strings.HasPrefix(typ, "map["):
		return "a mapping"
	}
	if t, ok := types[typ]; ok {
		switch t.Kind() {
		case reflect.Struct, reflect.Map:
			return "a mapping"
		case reflect.Slice, reflect.Array:
			return "a list"
		case reflect.String:
			return "a string"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return "an integer"
		case reflect.Bool:
			return "true or false"
		}
	}
	return "a " + typ
}

// typesOf maps the names of the types reachable from t (as the decoder
// writes them: scenarios.Client) to the types.
func typesOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if t == nil {
			return
		}
		if _, ok := out[t.String()]; ok {
			return
		}
		out[t.String()] = t
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() {
					walk(f.Type)
				}
			}
		}
	}
	walk(t)
	return out
}

// fieldNames are the YAML keys of a struct type, inlined structs' too.
func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			out = append(out, fieldNames(f.Type)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

var syntaxRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError locates a syntax error at its offending token. The decoder
// reports the line where the enclosing block began (for a list item's
// mapping indented wrongly, the line after the parent): the first prefix
// of the file, in whole lines, that fails with the same problem ends at
// the offending line, and the token is its first non-blank character.
func syntaxError(file string, data []byte, err error) error {
	m := syntaxRe.FindStringSubmatch(err.Error())
	if m == nil {
		return located(file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	// fails reports whether the first k lines fail with the same problem.
	fails := func(k int) bool {
		var n yaml.Node
		perr := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if perr == nil {
			return false
		}
		pm := syntaxRe.FindStringSubmatch(perr.Error())
		return pm != nil && pm[2] == problem
	}
	// Once the offending line is in, longer prefixes fail the same way:
	// search for the shortest (a few parses, however long the file).
	lo, hi := line, len(lines) // fails(hi) holds: the whole file fails
	if lo > hi {
		lo = hi
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo > line && lo <= len(lines) {
		l := lines[lo-1]
		col := len(l) - len(bytes.TrimLeft(l, " \t")) + 1
		return &Error{File: file, Line: lo, Column: col, Msg: problem}
	}
	return &Error{File: file, Line: line, Msg: problem}
}
