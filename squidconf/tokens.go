package squidconf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// tokens splits the rest of a directive as src/ConfigParser.cc does: words
// separated by white space, a '#' that starts a word ending the line, and,
// with configuration_includes_quoted_values on, quoted strings and
// parameters("file").
type tokens struct {
	s      string
	quoted bool
}

// token is one word: its text, and whether it was quoted (with quoted
// values on) or named a file (a quoted word with quoted values off, or
// parameters("file") with them on).
type token struct {
	text   string
	quoted bool
	file   bool
}

// skip moves past white space, and reports whether a word follows.
func (t *tokens) skip() bool {
	t.s = strings.TrimLeft(t.s, wspace)
	if t.s == "" || t.s[0] == '#' {
		t.s = ""
		return false
	}
	return true
}

// rest returns what is left of the line, trimmed.
func (t *tokens) rest() string {
	r := strings.Trim(t.s, wspace)
	t.s = ""
	return r
}

// peek returns the next plain word without taking it, "" at the end.
func (t *tokens) peek() string {
	if !t.skip() {
		return ""
	}
	if i := strings.IndexAny(t.s, wspace); i >= 0 {
		return t.s[:i]
	}
	return t.s
}

// next returns the next word; ok is false at the end of the line.
func (t *tokens) next() (tok token, ok bool, err error) {
	if !t.skip() {
		return token{}, false, nil
	}
	if t.quoted && (t.s[0] == '"' || t.s[0] == '\'') {
		s, rest, err := unquote(t.s)
		if err != nil {
			return token{}, false, err
		}
		t.s = rest
		return token{text: s, quoted: true}, true, nil
	}
	if t.quoted && strings.HasPrefix(t.s, "parameters(") {
		t.s = t.s[len("parameters("):]
		t.skip()
		if t.s == "" || (t.s[0] != '"' && t.s[0] != '\'') {
			return token{}, false, errors.New("parameters(...) wants a quoted file name")
		}
		path, rest, err := unquote(t.s)
		if err != nil {
			return token{}, false, err
		}
		t.s = strings.TrimLeft(rest, wspace)
		if !strings.HasPrefix(t.s, ")") {
			return token{}, false, fmt.Errorf("missing ')' after parameters(%q", path)
		}
		t.s = t.s[1:]
		return token{text: path, file: true}, true, nil
	}
	end := strings.IndexAny(t.s, wspace)
	if end < 0 {
		end = len(t.s)
	}
	w := t.s[:end]
	t.s = t.s[end:]
	if !t.quoted && (w[0] == '"' || w[0] == '\'') {
		// strtokFile: the file name runs to the next quote of either kind.
		name := w[1:]
		if i := strings.IndexAny(name, `"'`); i >= 0 {
			name = name[:i]
		}
		return token{text: name, file: true}, true, nil
	}
	return token{text: w}, true, nil
}

// nextRegex returns the next word of a regular expression list: as next,
// but a backslash escapes the character after it, a space included
// (ConfigParser::RegexStrtokFile).
func (t *tokens) nextRegex() (tok token, ok bool, err error) {
	if t.quoted {
		return token{}, false, errors.New("regular expressions cannot be read while configuration_includes_quoted_values is on (Squid refuses them)")
	}
	if !t.skip() {
		return token{}, false, nil
	}
	if t.s[0] == '"' || t.s[0] == '\'' {
		return t.next()
	}
	i := 0
	for i < len(t.s) && !strings.ContainsRune(wspace, rune(t.s[i])) {
		if t.s[i] == '\\' {
			if i+1 >= len(t.s) || t.s[i+1] == '\r' || t.s[i+1] == '\n' {
				return token{}, false, fmt.Errorf("unescaped '\\' at the end of regular expression %q", t.s)
			}
			i += 2
			continue
		}
		i++
	}
	w := t.s[:i]
	t.s = t.s[i:]
	return token{text: w}, true, nil
}

// unquote reads a quoted string at the start of s as ConfigParser::UnQuote
// does, returning it and what follows.
func unquote(s string) (string, string, error) {
	q := s[0]
	var b strings.Builder
	i := 1
	for ; i < len(s) && s[i] != q; i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch e := s[i]; {
			case e == 'r':
				c = '\r'
			case e == 'n':
				c = '\n'
			case e == 't':
				c = '\t'
			case isAlnum(e):
				return "", "", fmt.Errorf("unsupported escape sequence \\%c in %s", e, s)
			default:
				c = e
			}
		}
		b.WriteByte(c)
	}
	if i >= len(s) {
		return "", "", fmt.Errorf("missing quote at the end of %s", s)
	}
	rest := s[i+1:]
	if rest != "" && !strings.ContainsRune(wspace+"()#", rune(rest[0])) {
		return "", "", fmt.Errorf("expecting a space after the quoted string %s", s)
	}
	return b.String(), rest, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// fileLine is one value read from a file, and its line.
type fileLine struct {
	text string
	line int
}

// fileValues splits a file of values as ConfigParser::strtokFile does with
// quoted values off: one value a line, from its first word to the end of
// the last word before a word that starts with '#'; lines empty or
// starting with '#' skipped. With quoted values on, each line is split into
// words as a configuration line is (ConfigParser::CfgFile::parse).
func fileValues(data []byte, quoted bool) ([]fileLine, error) {
	var out []fileLine
	n := 0
	for len(data) > 0 {
		n++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("line %d: NUL byte", n)
		}
		if len(line) > maxLine {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n, maxLine)
		}
		if quoted {
			t := tokens{s: string(line), quoted: true}
			for {
				tok, ok, err := t.next()
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				if !ok {
					break
				}
				if tok.file {
					return nil, fmt.Errorf("line %d: parameters() inside a file of values is not read", n)
				}
				out = append(out, fileLine{tok.text, n})
			}
			continue
		}
		words := strings.FieldsFunc(string(line), func(c rune) bool { return strings.ContainsRune(wspace, c) })
		if len(words) == 0 || words[0][0] == '#' {
			continue
		}
		s := strings.TrimLeft(string(line), wspace)
		last := 0
		for i, w := range words {
			if i > 0 && w[0] == '#' {
				break
			}
			last = i
		}
		// The value ends where its last word ends.
		end := 0
		for i := 0; i <= last; i++ {
			j := strings.Index(s[end:], words[i])
			end += j + len(words[i])
		}
		out = append(out, fileLine{s[:end], n})
	}
	return out, nil
}
