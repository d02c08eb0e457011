package winreg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxErrors is the most errors [Parse] reports for one file; it stops
// reading the file at the next one.
const MaxErrors = 50

// Header5 and Header4 are the header lines of the two versions of the
// format (KB310516).
const (
	Header5 = "Windows Registry Editor Version 5.00"
	Header4 = "REGEDIT4"
)

// Limits from Microsoft Learn, "Registry element size limits".
const (
	maxKeyName   = 255   // characters in one key name
	maxValueName = 16383 // characters in a value name
)

// Error is one problem of a file, at a line.
type Error struct {
	File string
	Line int    // 1-based
	Msg  string // what is wrong and what was wanted
}

// Error returns "FILE:LINE: message".
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Export is one parsed .reg file.
type Export struct {
	// File is the name given to [Parse], used in errors and in
	// [Value.File] and [Key.File].
	File string
	// Version is 5 for "Windows Registry Editor Version 5.00", 4 for
	// "REGEDIT4".
	Version int
	// Keys are the file's key lines in order, a key possibly more than
	// once, deletions ([-KEY]) included.
	Keys []*Key
}

// roots maps a root key's full name, upper-cased, to its abbreviation.
var roots = map[string]string{
	"HKEY_LOCAL_MACHINE":  "HKLM",
	"HKEY_CURRENT_USER":   "HKCU",
	"HKEY_USERS":          "HKU",
	"HKEY_CLASSES_ROOT":   "HKCR",
	"HKEY_CURRENT_CONFIG": "HKCC",
}

// rootNames maps an abbreviation to the full name Regedit writes.
var rootNames = map[string]string{
	"HKLM": "HKEY_LOCAL_MACHINE",
	"HKCU": "HKEY_CURRENT_USER",
	"HKU":  "HKEY_USERS",
	"HKCR": "HKEY_CLASSES_ROOT",
	"HKCC": "HKEY_CURRENT_CONFIG",
}

// Parse parses the contents of one .reg file; file names it in errors and
// in the Export. On any problem it returns a nil Export and every error
// found (each an [*Error], joined with [errors.Join], at most
// [MaxErrors] and a last one saying the rest was not read). A file that
// is not a registry export (encoding or header) gives one error.
func Parse(file string, data []byte) (*Export, error) {
	text, err := decode(file, data)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file, e: &Export{File: file}}
	p.lines = strings.Split(text, "\n")
	if err := p.header(); err != nil {
		return nil, err
	}
	p.body()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.e, nil
}

// decode turns the file's bytes into text after checking its encoding.
func decode(file string, data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		body := data[2:]
		u := units(body)
		var sb strings.Builder
		sb.Grow(len(body) / 2)
		line := 1
		for i := 0; i < len(u); i++ {
			c := u[i]
			switch {
			case c == '\n':
				line++
			case c == 0:
				return "", &Error{file, line, "NUL character in UTF-16LE text"}
			case utf16.IsSurrogate(rune(c)):
				if c < 0xDC00 && i+1 < len(u) && u[i+1] >= 0xDC00 && u[i+1] < 0xE000 {
					sb.WriteRune(utf16.DecodeRune(rune(c), rune(u[i+1])))
					i++
					continue
				}
				return "", &Error{file, line, fmt.Sprintf("invalid UTF-16LE: unpaired surrogate 0x%04X at byte offset %d", c, 2+2*i)}
			}
			sb.WriteRune(rune(c))
		}
		if len(body)%2 != 0 {
			return "", &Error{file, line, fmt.Sprintf("invalid UTF-16LE: odd number of bytes after the byte-order mark (%d): the file is cut", len(body))}
		}
		return sb.String(), nil
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return "", &Error{file, 1, "UTF-16 big-endian (byte-order mark FE FF) is not a registry export encoding: want UTF-16LE with byte-order mark FF FE, or UTF-8"}
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	line := 1
	for i := 0; i < len(data); {
		b := data[i]
		if b < utf8.RuneSelf {
			switch b {
			case '\n':
				line++
			case 0:
				return "", &Error{file, line, fmt.Sprintf("NUL byte at byte offset %d: not UTF-8 text (a UTF-16 file without its byte-order mark FF FE?)", i)}
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return "", &Error{file, line, fmt.Sprintf("invalid UTF-8 at byte offset %d (byte 0x%02X): want UTF-8, or UTF-16LE with byte-order mark FF FE", i, b)}
		}
		i += n
	}
	return string(data), nil
}

type parser struct {
	file  string
	lines []string
	i     int // index of the next line
	e     *Export
	cur   *Key // the key values go to
	errs  []error
	full  bool // MaxErrors reached
}

func (p *parser) errorf(line int, format string, args ...any) {
	if p.full {
		return
	}
	if len(p.errs) == MaxErrors {
		p.errs = append(p.errs, &Error{p.file, line, fmt.Sprintf("too many errors (%d): the rest of the file is not read", MaxErrors)})
		p.full = true
		return
	}
	p.errs = append(p.errs, &Error{p.file, line, fmt.Sprintf(format, args...)})
}

// next returns the next line without its line ending, trimmed of spaces
// and tabs, and its 1-based number; ok is false at the end.
func (p *parser) next() (s string, n int, ok bool) {
	if p.i >= len(p.lines) {
		return "", 0, false
	}
	s = p.lines[p.i]
	p.i++
	n = p.i
	s = strings.TrimSuffix(s, "\r")
	if strings.Contains(s, "\r") {
		p.errorf(n, "carriage return in the middle of a line: lines end with CRLF or LF")
		s = strings.ReplaceAll(s, "\r", "")
	}
	return strings.Trim(s, " \t"), n, true
}

func (p *parser) header() error {
	for {
		s, n, ok := p.next()
		if !ok {
			return &Error{p.file, max(n, 1), fmt.Sprintf("not a registry export (want %q): the file is empty", Header5)}
		}
		if len(p.errs) > 0 {
			return p.errs[0]
		}
		switch s {
		case "":
			continue
		case Header5:
			p.e.Version = 5
		case Header4:
			p.e.Version = 4
		default:
			return &Error{p.file, n, fmt.Sprintf("not a registry export (want %q)", Header5)}
		}
		return nil
	}
}

func (p *parser) body() {
	for !p.full {
		s, n, ok := p.next()
		if !ok {
			return
		}
		switch {
		case s == "" || s[0] == ';':
		case s[0] == '[':
			p.key(s, n)
		case s[0] == '"' || s[0] == '@':
			p.value(s, n)
		default:
			p.errorf(n, "want a key [HKEY_...], a value \"Name\"=... or @=..., a comment ; or a blank line, got %s", quote(s))
		}
	}
}

// quote shortens s for a message.
func quote(s string) string {
	if len(s) > 40 {
		r := []rune(s)
		if len(r) > 40 {
			s = string(r[:40]) + "..."
		}
	}
	return strconv.Quote(s)
}

func (p *parser) key(s string, n int) {
	p.cur = nil
	end := strings.LastIndexByte(s, ']')
	if end < 0 {
		p.errorf(n, "missing ']' at the end of the key line")
		return
	}
	if end != len(s)-1 {
		p.errorf(n, "trailing garbage after ']': %s", quote(s[end+1:]))
		return
	}
	name := s[1:end]
	k := &Key{File: p.file, Line: n}
	if strings.HasPrefix(name, "-") {
		k.Delete = true
		name = name[1:]
	}
	k.Name = name
	path, msg := canonical(name, true)
	if msg != "" {
		p.errorf(n, "%s", msg)
		return
	}
	if k.Delete && !strings.Contains(path, `\`) {
		p.errorf(n, "a root key cannot be deleted: [-%s]", name)
		return
	}
	k.Path = path
	p.e.Keys = append(p.e.Keys, k)
	p.cur = k
}

// canonical returns the canonical path of a key path, or a message saying
// what is wrong. In files (strictRoot) only the full root names are
// accepted; in lookups the abbreviations too.
func canonical(name string, strictRoot bool) (string, string) {
	parts := strings.Split(name, `\`)
	root := fold(parts[0])
	abbr, ok := roots[root]
	if !ok && !strictRoot {
		if _, ok = rootNames[root]; ok {
			abbr = root
		}
	}
	if !ok {
		if parts[0] == "" {
			return "", fmt.Sprintf("missing root key in [%s]: want HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG", name)
		}
		return "", fmt.Sprintf("unknown root key %s: want HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG", quote(parts[0]))
	}
	for _, c := range parts[1:] {
		if c == "" {
			return "", fmt.Sprintf("empty key name in %s (a doubled or trailing '\\')", quote(name))
		}
		if utf8.RuneCountInString(c) > maxKeyName {
			return "", fmt.Sprintf("key name longer than %d characters in %s", maxKeyName, quote(name))
		}
	}
	parts[0] = abbr
	return strings.Join(parts, `\`), ""
}

func (p *parser) value(s string, n int) {
	v := &Value{File: p.file, Line: n}
	var rest string
	if s[0] == '@' {
		rest = s[1:]
	} else {
		name, r, msg := unquote(s)
		if msg != "" {
			p.errorf(n, "value name: %s", msg)
			p.skipContinuation(s)
			return
		}
		if utf8.RuneCountInString(name) > maxValueName {
			p.errorf(n, "value name longer than %d characters", maxValueName)
			p.skipContinuation(s)
			return
		}
		v.Name, rest = name, r
	}
	if !strings.HasPrefix(rest, "=") {
		p.errorf(n, "missing '=' after the value name, got %s", quote(rest))
		p.skipContinuation(s)
		return
	}
	rest = rest[1:]
	ok := p.data(v, rest, n)
	if !ok {
		return
	}
	switch {
	case p.cur == nil:
		p.errorf(n, "value outside a key: want a key line [HKEY_...] before it")
	case p.cur.Delete:
		p.errorf(n, "value under a deleted key [-%s]", p.cur.Name)
	default:
		p.cur.Values = append(p.cur.Values, v)
	}
}

// skipContinuation skips the continuation lines of a value line that had
// an error, so they do not give errors of their own.
func (p *parser) skipContinuation(s string) {
	for strings.HasSuffix(s, `\`) {
		var ok bool
		if s, _, ok = p.next(); !ok {
			return
		}
	}
}

// unquote reads a "quoted" string at the start of s with the escapes \\
// and \"; it returns the string, what follows the closing quote, or a
// message.
func unquote(s string) (string, string, string) {
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return sb.String(), s[i+1:], ""
		case '\\':
			if i+1 == len(s) {
				return "", "", "unterminated string: missing closing '\"'"
			}
			i++
			if s[i] != '\\' && s[i] != '"' {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return "", "", fmt.Sprintf("bad escape \\%c in string: only \\\\ and \\\" are allowed", r)
			}
			sb.WriteByte(s[i])
		default:
			sb.WriteByte(c)
		}
	}
	return "", "", "unterminated string: missing closing '\"'"
}

// data parses what follows '=' into v, reading continuation lines; false
// after an error.
func (p *parser) data(v *Value, s string, n int) bool {
	switch {
	case s == "-":
		v.Delete = true
		return true
	case strings.HasPrefix(s, `"`):
		str, rest, msg := unquote(s)
		if msg != "" {
			p.errorf(n, "%s", msg)
			return false
		}
		if rest != "" {
			p.errorf(n, "trailing garbage after the string: %s", quote(rest))
			return false
		}
		v.Type, v.Data = SZ, utf16z(str)
		return true
	case strings.HasPrefix(s, "dword:"):
		h := s[len("dword:"):]
		if len(h) > 8 && isHex(h[:8]) && (h[8] == ' ' || h[8] == '\t') {
			p.errorf(n, "trailing garbage after dword:%s: %s", h[:8], quote(strings.TrimLeft(h[8:], " \t")))
			return false
		}
		if len(h) != 8 || !isHex(h) {
			p.errorf(n, "bad dword %s: want exactly 8 hex digits, as dword:0000001f", quote(h))
			return false
		}
		x, _ := strconv.ParseUint(h, 16, 32)
		v.Type, v.Data = DWORD, binary.LittleEndian.AppendUint32(nil, uint32(x))
		return true
	case strings.HasPrefix(s, "hex:"):
		v.Type = BINARY
		return p.hexList(v, s[len("hex:"):], n)
	case strings.HasPrefix(s, "hex("):
		end := strings.Index(s, "):")
		if end < 0 {
			p.errorf(n, "bad hex(N): want the type number in hex and \"):\", as hex(7):")
			p.skipContinuation(s)
			return false
		}
		h := s[len("hex("):end]
		if len(h) < 1 || len(h) > 8 || !isHex(h) {
			p.errorf(n, "bad type number %s in hex(N): want 1 to 8 hex digits", quote(h))
			p.skipContinuation(s)
			return false
		}
		t, _ := strconv.ParseUint(h, 16, 32)
		v.Type = Type(t)
		if !p.hexList(v, s[end+2:], n) {
			return false
		}
		if p.e.Version == 4 && (v.Type == SZ || v.Type == EXPAND_SZ || v.Type == MULTI_SZ) {
			w := make([]byte, 0, 2*len(v.Data))
			for _, b := range v.Data {
				if b >= utf8.RuneSelf {
					p.errorf(n, "byte 0x%02X in a REGEDIT4 %s value: its ANSI code page is unknown, only ASCII is accepted", b, v.Type)
					return false
				}
				w = append(w, b, 0)
			}
			v.Data = w
		}
		return true
	case s == "":
		p.errorf(n, "missing value data after '='")
	default:
		p.errorf(n, "bad value data %s: want \"string\", dword:XXXXXXXX, hex:XX,..., hex(N):XX,... or - to delete", quote(s))
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// hexList reads comma-separated two-digit hex bytes into v.Data, starting
// with s and going on over lines while a line ends with '\'.
func (p *parser) hexList(v *Value, s string, n int) bool {
	v.Data = []byte{}
	line, first, good := n, true, true
	for {
		cont := strings.HasSuffix(s, `\`)
		if good {
			var msg string
			if v.Data, msg = appendHex(v.Data, s, first); msg != "" {
				p.errorf(line, "%s", msg)
				good = false
			}
		}
		if !cont {
			return good
		}
		var ok bool
		s, line, ok = p.next()
		if !ok {
			if good {
				p.errorf(n, "hex list ends with ',\\' but the file ends: want the next bytes on the next line")
			}
			return false
		}
		first = false
	}
}

// appendHex appends the bytes of one line's part of a hex list: "aa,bb",
// "aa,bb,\" (continued), "" (an empty list) or "\" (continued right after
// the colon; first only).
func appendHex(b []byte, s string, first bool) ([]byte, string) {
	cont := strings.HasSuffix(s, `\`)
	if cont {
		s = s[:len(s)-1]
		if s == "" {
			if first {
				return b, ""
			}
			return b, "empty continuation line: want hex bytes after a line ending with ',\\'"
		}
		if !strings.HasSuffix(s, ",") {
			return b, "bad hex list: want ',' before the continuation '\\'"
		}
		s = s[:len(s)-1]
	} else if s == "" {
		if first {
			return b, ""
		}
		return b, "empty continuation line: want hex bytes after a line ending with ',\\'"
	}
	for i, x := range strings.Split(s, ",") {
		if len(x) != 2 || !isHex(x) {
			if x == "" && i > 0 && !cont && strings.HasSuffix(s, ",") {
				return b, "bad hex list: ends with ',' (want ',\\' to go on on the next line, or no ',')"
			}
			return b, fmt.Sprintf("bad hex byte %s: want two hex digits, bytes separated by ','", quote(x))
		}
		c, _ := strconv.ParseUint(x, 16, 8)
		b = append(b, byte(c))
	}
	return b, ""
}
