package squidconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMaxFileSize bounds each file read: the configuration, every
// included file and every file of ACL values.
const DefaultMaxFileSize = 1 << 20

// MaxIncludeDepth is how deeply include may nest, Squid's own limit
// (src/cache_cf.cc: "includes are nested too deeply (>16)").
const MaxIncludeDepth = 16

// maxFiles bounds how many files one read opens, globs included.
const maxFiles = 1000

// maxLine is the longest line Squid reads whole (BUFSIZ, less the NUL).
const maxLine = 8191

// Option changes how [Read] reads.
type Option func(*options)

type options struct {
	strict      bool
	maxFileSize int64
	version     int
	// fsys, when set, holds every file read (tests and fuzzing): an
	// absolute path is taken relative to its root.
	fsys fs.FS
}

// WithStrict makes every directive that would be listed in
// [Config.NotImported] an error instead (wrapping [ErrNotImported]).
func WithStrict() Option { return func(o *options) { o.strict = true } }

// WithMaxFileSize sets the size limit of each file read (default
// [DefaultMaxFileSize]); n <= 0 keeps the default.
func WithMaxFileSize(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxFileSize = n
		}
	}
}

// WithSquidVersion sets the major version of Squid whose predefined ACLs
// are there from the start: 6 (the default) predefines to_linklocal, 5 does
// not (src/cf.data.pre of SQUID_5_7 and SQUID_6_14).
func WithSquidVersion(major int) Option { return func(o *options) { o.version = major } }

// Read reads the squid.conf at path, its includes and its files of ACL
// values.
//
// Relative paths (include, a quoted file of ACL values) are resolved
// against the directory of the file that names them. Squid resolves them
// against its working directory, so the two agree when Squid is started in
// the configuration's directory, as internal/squidtest does; absolute
// paths mean the same to both.
//
// The error, if any, is an [*Error] naming the file, the line, the
// directive and the field.
func Read(path string, opts ...Option) (*Config, error) {
	r := newReader(opts)
	data, err := r.readFile(path)
	if err != nil {
		return nil, &Error{Pos: Pos{File: path}, Err: err}
	}
	return r.run(path, data)
}

// ReadBytes reads a squid.conf held in data as if it were the file name:
// its includes and files of values are read from disk, relative to name's
// directory.
func ReadBytes(name string, data []byte, opts ...Option) (*Config, error) {
	r := newReader(opts)
	if int64(len(data)) > r.o.maxFileSize {
		return nil, &Error{Pos: Pos{File: name}, Err: fmt.Errorf("%w: over %d bytes", ErrTooLarge, r.o.maxFileSize)}
	}
	return r.run(name, data)
}

type reader struct {
	o       options
	cfg     *Config
	chain   []Pos
	files   int
	domains map[string]*domainIndex
}

func newReader(opts []Option) *reader {
	o := options{maxFileSize: DefaultMaxFileSize, version: 6}
	for _, opt := range opts {
		opt(&o)
	}
	r := &reader{o: o, domains: map[string]*domainIndex{}, cfg: &Config{
		ACLs:       map[string]*ACL{},
		AuthParams: map[string]*AuthScheme{},
	}}
	r.predefine()
	return r
}

func (r *reader) run(name string, data []byte) (*Config, error) {
	r.cfg.File = name
	if err := r.parseFile(name, data); err != nil {
		return nil, err
	}
	return r.cfg, nil
}

// readFile reads a regular file of at most the size limit. Anything else (a
// directory, a pipe, a device) is refused before it is read.
func (r *reader) readFile(path string) ([]byte, error) {
	r.files++
	if r.files > maxFiles {
		return nil, fmt.Errorf("more than %d files read", maxFiles)
	}
	var f fs.File
	if r.o.fsys != nil {
		name, err := fsName(path)
		if err != nil {
			return nil, err
		}
		if f, err = r.o.fsys.Open(name); err != nil {
			return nil, err
		}
	} else {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", path)
		}
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, r.o.maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > r.o.maxFileSize {
		return nil, fmt.Errorf("%s: %w: over %d bytes", path, ErrTooLarge, r.o.maxFileSize)
	}
	return data, nil
}

// fsName turns a path into a name in options.fsys.
func fsName(p string) (string, error) {
	n := strings.TrimPrefix(path.Clean(filepath.ToSlash(p)), "/")
	if n == "" {
		n = "."
	}
	if !fs.ValidPath(n) {
		return "", fmt.Errorf("%s: not a valid path", p)
	}
	return n, nil
}

// glob expands a pattern, on disk or in options.fsys.
func (r *reader) glob(pattern string) ([]string, error) {
	if r.o.fsys == nil {
		return filepath.Glob(pattern)
	}
	n, err := fsName(pattern)
	if err != nil {
		return nil, err
	}
	m, err := fs.Glob(r.o.fsys, n)
	for i := range m {
		m[i] = "/" + m[i]
	}
	return m, err
}

// resolve makes a path named in file relative to file's directory.
func resolve(file, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(file), path)
}

// errorf makes an error at pos with the current include chain.
func (r *reader) errorf(pos Pos, directive, field string, format string, args ...any) error {
	return r.wrap(pos, directive, field, fmt.Errorf(format, args...))
}

func (r *reader) wrap(pos Pos, directive, field string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Pos: pos, Directive: directive, Field: field, Chain: append([]Pos(nil), r.chain...), Err: err}
}

// wspace is Squid's w_space: the separators of tokens.
const wspace = " \t\n\r"

// isSpace is C's isspace, what Squid's skip_ws skips.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// parseFile reads one configuration file as src/cache_cf.cc's
// parseOneConfigFile does: lines without leading white space, '#' lines
// and empty lines skipped (also inside a continued line), a trailing
// backslash joining the next line, if/else/endif, include, then the
// directive.
func (r *reader) parseFile(name string, data []byte) error {
	if len(r.chain) > MaxIncludeDepth {
		return r.errorf(Pos{File: name}, "include", "", "includes nested more than %d deep", MaxIncludeDepth)
	}
	var (
		pending  strings.Builder
		start    int
		ifStates []bool
		lineNo   int
	)
	for len(data) > 0 {
		lineNo++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > maxLine {
			return r.errorf(Pos{name, lineNo}, "", "", "line longer than %d bytes (Squid reads at most that much at once)", maxLine)
		}
		if i := bytes.IndexByte(line, '\r'); i >= 0 {
			line = line[:i]
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return r.errorf(Pos{name, lineNo}, "", "", "NUL byte in line")
		}
		s := strings.TrimLeftFunc(string(line), func(c rune) bool { return c < 0x80 && isSpace(byte(c)) })
		if s == "" || s[0] == '#' {
			continue
		}
		if pending.Len() == 0 {
			start = lineNo
		}
		pending.WriteString(s)
		if strings.HasSuffix(s, `\`) {
			p := pending.String()
			pending.Reset()
			pending.WriteString(p[:len(p)-1])
			continue
		}
		text := strings.TrimRightFunc(pending.String(), func(c rune) bool { return c < 0x80 && isSpace(byte(c)) })
		pending.Reset()
		text = expandMacros(text)
		pos := Pos{name, start}
		if expr, ok := statement(text, "if"); ok {
			v, err := evalBool(expr)
			if err != nil {
				return r.wrap(pos, "if", "", err)
			}
			ifStates = append(ifStates, v)
			continue
		}
		if _, ok := statement(text, "endif"); ok {
			if len(ifStates) == 0 {
				return r.errorf(pos, "endif", "", "'endif' without 'if'")
			}
			ifStates = ifStates[:len(ifStates)-1]
			continue
		}
		if _, ok := statement(text, "else"); ok {
			if len(ifStates) == 0 {
				return r.errorf(pos, "else", "", "'else' without 'if'")
			}
			ifStates[len(ifStates)-1] = !ifStates[len(ifStates)-1]
			continue
		}
		if len(ifStates) > 0 && !ifStates[len(ifStates)-1] {
			continue
		}
		if len(text) >= 9 && strings.HasPrefix(text, "include") && isSpace(text[7]) {
			if err := r.include(pos, text[8:]); err != nil {
				return err
			}
			continue
		}
		if err := r.directive(pos, text); err != nil {
			return err
		}
	}
	if pending.Len() > 0 {
		// Squid drops a continued line that the file ends in.
		if err := r.notImported(Pos{name, start}, "", pending.String(), "the file ends inside a continued line: Squid drops it"); err != nil {
			return err
		}
	}
	if len(ifStates) > 0 {
		return r.errorf(Pos{name, lineNo}, "if", "", "if-statement without 'endif'")
	}
	return nil
}

// expandMacros replaces Squid's configuration macros with their values in
// a non-SMP Squid started without -n (src/cache_cf.cc: ProcessMacros).
func expandMacros(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	s = strings.ReplaceAll(s, "${service_name}", "squid")
	s = strings.ReplaceAll(s, "${process_name}", "squid")
	return strings.ReplaceAll(s, "${process_number}", "0")
}

// statement reports whether line is the statement word, and the rest.
func statement(line, word string) (string, bool) {
	if !strings.HasPrefix(line, word) {
		return "", false
	}
	rest := line[len(word):]
	if rest == "" {
		return "", true
	}
	if !isSpace(rest[0]) {
		return "", false
	}
	return strings.TrimLeft(rest, " \t\v\f\r\n"), true
}

// evalBool evaluates an if-statement's condition as Squid does: true,
// false, or integer = integer.
func evalBool(expr string) (bool, error) {
	switch expr {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	l, rv, ok := strings.Cut(expr, "=")
	if !ok {
		return false, fmt.Errorf("unable to evaluate expression %q", expr)
	}
	a, err := strconv.ParseInt(strings.TrimSpace(l), 0, 64)
	if err != nil {
		return false, fmt.Errorf("%q is not an integer", strings.TrimSpace(l))
	}
	b, err := strconv.ParseInt(strings.TrimSpace(rv), 0, 64)
	if err != nil {
		return false, fmt.Errorf("%q is not an integer", strings.TrimSpace(rv))
	}
	return a == b, nil
}

// include reads the files an include line names, each a glob pattern, in
// the order the globs list them (squid-cache.org/Doc/config/include: "include
// /path/to/included/file/squid.acl.config"; src/cache_cf.cc globs each
// word). A pattern that matches nothing is an error, as in Squid.
func (r *reader) include(pos Pos, rest string) error {
	words := strwords(rest)
	if len(words) == 0 {
		return r.errorf(pos, "include", "", "no file named")
	}
	var paths []string
	for _, w := range words {
		if strings.HasPrefix(w, "!") || strings.HasPrefix(w, "|") {
			return r.errorf(pos, "include", strconv.Quote(w), "a command's output is not read")
		}
		pattern := resolve(pos.File, w)
		m, err := r.glob(pattern)
		if err != nil {
			return r.errorf(pos, "include", strconv.Quote(w), "%v", err)
		}
		if len(m) == 0 {
			return r.errorf(pos, "include", strconv.Quote(w), "no file matches %s", pattern)
		}
		paths = append(paths, m...)
		if len(paths) > maxFiles {
			return r.errorf(pos, "include", strconv.Quote(w), "more than %d files match", maxFiles)
		}
	}
	for _, p := range paths {
		for _, c := range r.chain {
			if c.File == p {
				return r.errorf(pos, "include", strconv.Quote(p), "includes itself")
			}
		}
		if p == pos.File {
			return r.errorf(pos, "include", strconv.Quote(p), "includes itself")
		}
		if len(r.chain) >= MaxIncludeDepth {
			return r.errorf(pos, "include", strconv.Quote(p), "includes nested more than %d deep", MaxIncludeDepth)
		}
		data, err := r.readFile(p)
		if err != nil {
			return r.wrap(pos, "include", strconv.Quote(p), err)
		}
		r.chain = append(r.chain, pos)
		err = r.parseFile(p, data)
		r.chain = r.chain[:len(r.chain)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// strwords splits include's words as Squid's strwordtok (src/String.cc)
// does: white space separates words outside double quotes; inside them a
// backslash escapes the next character (\n and \r are a newline and a
// carriage return); outside them a backslash is itself.
func strwords(s string) []string {
	var (
		out    []string
		word   []byte
		quoted bool
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && quoted:
			if i+1 >= len(s) {
				continue
			}
			i++
			switch s[i] {
			case 'n':
				word = append(word, '\n')
			case 'r':
				word = append(word, '\r')
			default:
				word = append(word, s[i])
			}
			inWord = true
		case c == '"':
			quoted = !quoted
			inWord = true
		case !quoted && isSpace(c):
			if inWord {
				out = append(out, string(word))
				word, inWord = word[:0:0], false
			}
		default:
			word = append(word, c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, string(word))
	}
	return out
}

// notImported lists a directive as not imported, or fails in strict mode.
func (r *reader) notImported(pos Pos, name, text, reason string) error {
	if r.o.strict {
		return r.wrap(pos, name, "", fmt.Errorf("%w: %s", ErrNotImported, reason))
	}
	r.cfg.NotImported = append(r.cfg.NotImported, Directive{Pos: pos, Name: name, Text: text, Reason: reason})
	return nil
}

// directive dispatches one directive by its first word.
func (r *reader) directive(pos Pos, text string) error {
	name, rest := text, ""
	if i := strings.IndexAny(text, wspace); i >= 0 {
		name, rest = text[:i], text[i+1:]
	}
	switch name {
	case "acl":
		return r.acl(pos, rest)
	case "http_access":
		return r.httpAccess(pos, rest)
	case "auth_param":
		return r.authParam(pos, rest)
	case "http_port":
		return r.httpPort(pos, rest)
	case "configuration_includes_quoted_values":
		switch strings.TrimSpace(rest) {
		case "on":
			r.cfg.QuotedValues = true
		case "off":
			r.cfg.QuotedValues = false
		default:
			return r.errorf(pos, name, "", "want on or off, got %q", strings.TrimSpace(rest))
		}
		return nil
	}
	if accessDirectives[name] {
		return r.notImported(pos, name, text, "a Squid directive that can change what is allowed, denied or challenged; not imported, so a translation must account for it")
	}
	if knownDirectives[name] {
		return r.notImported(pos, name, text, "a Squid directive this reader does not import")
	}
	return r.notImported(pos, name, text, "not a directive of Squid 5 or 6")
}
