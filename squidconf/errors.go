package squidconf

import (
	"errors"
	"strings"
)

// Error is a configuration the reader refuses: where (the file and line,
// and the include chain that led there, outermost first), which directive
// and which of its fields, and what is wrong. Every error [Read] returns is
// an *Error (errors.As finds it), wrapping the underlying error where there
// is one (an [fs.PathError], [ErrTooLarge]).
type Error struct {
	Pos Pos
	// Directive is the directive's name ("acl", "include"), "" for an
	// error in the file itself.
	Directive string
	// Field names what is wrong in the directive ("type", "value
	// \"10.0.0.300\"", "ACL \"blocked\""), "" for the whole directive.
	Field string
	// Chain is the include lines that led to the file, outermost first.
	Chain []Pos
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Directive != "" {
		b.WriteString(e.Directive)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	for i := len(e.Chain) - 1; i >= 0; i-- {
		b.WriteString(" (included from ")
		b.WriteString(e.Chain[i].String())
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is wrapped by the error for a configuration file or a file of
// ACL values over the size limit ([WithMaxFileSize]).
var ErrTooLarge = errors.New("file too large")

// ErrNotImported is wrapped by the error for a directive that is not
// imported, in strict mode ([WithStrict]).
var ErrNotImported = errors.New("directive not imported")
