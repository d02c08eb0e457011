// Package yamlfile decodes YAML (and JSON, which is YAML) strictly: unknown
// fields, wrong types and invalid values are errors that name the file, the
// line and the field, for example
//
//	lab.yaml:12: users[1].tenant: unknown tenant "fabrikam"
//
// Structural errors come from the YAML decoder in strict mode, reworded to
// name the YAML path rather than a Go type ("client.acount: unknown field;
// did you mean account?", "client.timeouts.connect: 5 is not a duration
// (want e.g. 2s)"); a tag outside YAML's core schema (!!python/object:...)
// is an error too; a syntax error names the line and column of the
// offending token, not the line where its block began. Semantic errors
// come from the decoded value's Validate method, which reports *FieldError
// values with a path that Decode turns into a line.
//
// [ReadFile] reads the files to decode: regular files of at most
// [MaxFileSize] (1 MiB), never a pipe or a device.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is an invalid value at Path, written as Go-like selectors
// over the YAML keys: "users[2].methods.sms".
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Field returns a FieldError for path with a formatted message.
func Field(path, format string, a ...any) *FieldError {
	return &FieldError{Path: path, Err: fmt.Errorf(format, a...)}
}

// Validator is implemented by values that check themselves after decoding.
// Validate returns nil, a *FieldError, or several joined with errors.Join.
type Validator interface {
	Validate() error
}

// Error is one located error in a file.
type Error struct {
	File string
	Line int // 0 when unknown
	// Column is the offending token's column (from 1) where the line
	// alone would mislead (a syntax error); 0 when not given.
	Column int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 && e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Decode decodes data (named file in errors) into v, strictly: a single
// document, no unknown fields, no type mismatches. If v implements
// Validator, its field errors are located and returned too. Every error is
// an *Error, joined when there are several.
func Decode(file string, data []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return syntaxError(file, data, err)
	}
	nodes := index(&root)
	types := typesOf(reflect.TypeOf(v))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var structural error
	if tagErrs := tagErrors(file, nodes); len(tagErrs) > 0 {
		structural = errors.Join(tagErrs...)
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{File: file, Msg: "empty document"}
		}
		out := yamlErrors(file, err, nodes, types)
		// A value's own UnmarshalText or UnmarshalYAML error carries no
		// line: find the value it quotes.
		var e *Error
		if errors.As(out, &e) && e.Line == 0 {
			var root yaml.Node
			if yaml.Unmarshal(data, &root) == nil {
				e.Line = locateQuoted(&root, e.Msg)
			}
		}
		// After type errors the decoder went on to the end, so the values
		// are checked too and every error is reported at once; after any
		// other error the value is not worth checking.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return errors.Join(structural, out)
		}
		structural = errors.Join(structural, out)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return errors.Join(structural, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document"})
	}
	val, ok := v.(Validator)
	if !ok {
		return structural
	}
	verr := val.Validate()
	if verr == nil {
		return structural
	}
	var out []error
	for _, e := range Flatten(verr) {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, &Error{File: file, Line: Locate(&root, fe.Path), Msg: fe.Error()})
		} else {
			out = append(out, &Error{File: file, Msg: e.Error()})
		}
	}
	if structural != nil {
		out = append([]error{structural}, out...)
	}
	return errors.Join(out...)
}

// Flatten lists the errors joined in err (errors.Join, at any depth); nil
// gives none.
func Flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

var lineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// locateQuoted returns the line of the first scalar whose value msg
// quotes (as %q does), or 0.
func locateQuoted(n *yaml.Node, msg string) int {
	if n.Kind == yaml.ScalarNode && n.Value != "" && strings.Contains(msg, strconv.Quote(n.Value)) {
		return n.Line
	}
	for _, c := range n.Content {
		if l := locateQuoted(c, msg); l != 0 {
			return l
		}
	}
	return 0
}

// yamlErrors turns the decoder's errors ("yaml: unmarshal errors:\n  line 3:
// field x not found in type T") into located ones.
func yamlErrors(file string, err error, nodes []node, types map[string]reflect.Type) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out []error
		for _, m := range te.Errors {
			e := located(file, m)
			if ye, ok := e.(*Error); ok && ye.Line > 0 {
				ye.Msg = friendly(ye.Line, ye.Msg, nodes, types)
			}
			out = append(out, e)
		}
		return errors.Join(out...)
	}
	return located(file, strings.TrimPrefix(err.Error(), "yaml: "))
}

func located(file, msg string) error {
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Msg: m[2]}
	}
	return &Error{File: file, Msg: msg}
}

// pathStep is one step of a path: a key, or an index.
type pathStep struct {
	key   string
	index int // -1 for a key
}

// splitPath parses "a.b[2].c", with ["quoted.key"] for keys that hold
// dots (host names); nil when it does not parse.
func splitPath(path string) []pathStep {
	var out []pathStep
	for i := 0; i < len(path); {
		switch {
		case path[i] == '.':
			i++
		case strings.HasPrefix(path[i:], `["`):
			end := strings.Index(path[i+2:], `"]`)
			if end < 0 {
				return nil
			}
			out = append(out, pathStep{key: path[i+2 : i+2+end], index: -1})
			i += end + 4
		case path[i] == '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil
			}
			n, err := strconv.Atoi(path[i+1 : i+end])
			if err != nil {
				return nil
			}
			out = append(out, pathStep{index: n})
			i += end + 1
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			out = append(out, pathStep{key: path[i : i+end], index: -1})
			i += end
		}
	}
	return out
}

// Locate returns the line of the node at path in a parsed document, or of
// the deepest node on the way there that exists (a missing field is
// reported on its parent); 0 if nothing matches. Paths are Go-like
// selectors over the YAML keys, "users[2].methods.sms", with
// hosts["a.example"] for keys that hold dots.
func Locate(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, st := range splitPath(path) {
		if st.index < 0 {
			next := mapValue(n, st.key)
			if next == nil {
				return line
			}
			n, line = next, next.Line
			continue
		}
		if n.Kind != yaml.SequenceNode || st.index >= len(n.Content) {
			return line
		}
		n = n.Content[st.index]
		line = n.Line
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Located places fe in file at the line of its path in data, as
// Decode's errors are: "file:line: path: message".
func Located(file string, data []byte, fe *FieldError) error {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // it decoded, so it parses
	return &Error{File: file, Line: Locate(&root, fe.Path), Msg: fe.Error()}
}

// Warnings locates warnings about a file that decoded (values that are
// allowed but likely slips), each written "file:line: warning: path:
// message".
func Warnings(file string, data []byte, ws []*FieldError) []string {
	if len(ws) == 0 {
		return nil
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // it decoded, so it parses
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		e := &Error{File: file, Line: Locate(&root, w.Path), Msg: "warning: " + w.Error()}
		out = append(out, e.Error())
	}
	return out
}
