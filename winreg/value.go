package winreg

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Type is a registry value type, the number Regedit writes in hex(N). The
// names and numbers are those of winnt.h (REG_SZ = 1, ...), as in
// golang.org/x/sys/windows/registry.
type Type uint32

// The registry value types (winnt.h).
const (
	NONE                       Type = 0  // REG_NONE: no defined type
	SZ                         Type = 1  // REG_SZ: NUL-terminated UTF-16LE string
	EXPAND_SZ                  Type = 2  // REG_EXPAND_SZ: string with %VARIABLE% references
	BINARY                     Type = 3  // REG_BINARY: any bytes
	DWORD                      Type = 4  // REG_DWORD: 32-bit little-endian number
	DWORD_BIG_ENDIAN           Type = 5  // REG_DWORD_BIG_ENDIAN: 32-bit big-endian number
	LINK                       Type = 6  // REG_LINK: symbolic link target (UTF-16LE)
	MULTI_SZ                   Type = 7  // REG_MULTI_SZ: NUL-terminated strings ending with an empty one
	RESOURCE_LIST              Type = 8  // REG_RESOURCE_LIST
	FULL_RESOURCE_DESCRIPTOR   Type = 9  // REG_FULL_RESOURCE_DESCRIPTOR
	RESOURCE_REQUIREMENTS_LIST Type = 10 // REG_RESOURCE_REQUIREMENTS_LIST
	QWORD                      Type = 11 // REG_QWORD: 64-bit little-endian number
)

var typeNames = [...]string{
	NONE: "REG_NONE", SZ: "REG_SZ", EXPAND_SZ: "REG_EXPAND_SZ", BINARY: "REG_BINARY",
	DWORD: "REG_DWORD", DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN", LINK: "REG_LINK",
	MULTI_SZ: "REG_MULTI_SZ", RESOURCE_LIST: "REG_RESOURCE_LIST",
	FULL_RESOURCE_DESCRIPTOR:   "REG_FULL_RESOURCE_DESCRIPTOR",
	RESOURCE_REQUIREMENTS_LIST: "REG_RESOURCE_REQUIREMENTS_LIST", QWORD: "REG_QWORD",
}

// String returns the winnt.h name ("REG_SZ"), or "REG_TYPE(0x1f)" for a
// number without one.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("REG_TYPE(0x%x)", uint32(t))
}

// Value is one registry value as read from an export.
type Value struct {
	// Name is the value's name as written, without escapes; "" is the
	// key's default value (@ in the file).
	Name string
	// Type is the value's type; meaningless when Delete is set.
	Type Type
	// Data holds the bytes as the registry holds them: REG_SZ and
	// REG_EXPAND_SZ as NUL-terminated UTF-16LE (a "text" string in the file
	// gives the same bytes as hex(1) would), REG_DWORD as 4 bytes
	// little-endian, REG_QWORD as 8. Whatever a hex(N) list holds is kept
	// as is, even of a length its type does not allow (the registry keeps
	// such values too); the accessors then report false. Data must not be
	// modified: a [Registry] shares it with the [Export] it came from.
	Data []byte
	// Delete is set for "Name"=- : the value is deleted.
	Delete bool
	// File and Line say where the value was read: the file name given to
	// [Parse] and the 1-based line where the value starts.
	File string
	Line int
}

// Text returns a REG_SZ, REG_EXPAND_SZ or REG_LINK value as a Go string,
// up to its first NUL character (where Windows' string functions stop;
// the terminating NUL is not part of it); unpaired surrogates become
// U+FFFD. It reports false for any other type and for data of an odd
// length. REG_EXPAND_SZ references (%SystemRoot%) are not expanded.
func (v *Value) Text() (string, bool) {
	if v.Delete || (v.Type != SZ && v.Type != EXPAND_SZ && v.Type != LINK) || len(v.Data)%2 != 0 {
		return "", false
	}
	u := units(v.Data)
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u)), true
}

// Uint32 returns a REG_DWORD (little-endian) or REG_DWORD_BIG_ENDIAN
// value; false for any other type or for data that is not 4 bytes long.
func (v *Value) Uint32() (uint32, bool) {
	if v.Delete || len(v.Data) != 4 {
		return 0, false
	}
	switch v.Type {
	case DWORD:
		return binary.LittleEndian.Uint32(v.Data), true
	case DWORD_BIG_ENDIAN:
		return binary.BigEndian.Uint32(v.Data), true
	}
	return 0, false
}

// Uint64 returns a REG_QWORD value (8 bytes little-endian), or a DWORD
// value widened (see [Value.Uint32]); false otherwise.
func (v *Value) Uint64() (uint64, bool) {
	if !v.Delete && v.Type == QWORD && len(v.Data) == 8 {
		return binary.LittleEndian.Uint64(v.Data), true
	}
	n, ok := v.Uint32()
	return uint64(n), ok
}

// Strings returns a REG_MULTI_SZ value as its strings. The data is
// UTF-16LE strings, each NUL-terminated, the list ending with an empty
// string (an extra NUL); as for Windows' readers, the list ends at the
// first empty string, and a last string missing its NUL is kept. An empty
// list gives a non-nil empty slice. False for any other type and for data
// of an odd length.
func (v *Value) Strings() ([]string, bool) {
	if v.Delete || v.Type != MULTI_SZ || len(v.Data)%2 != 0 {
		return nil, false
	}
	out := []string{}
	u := units(v.Data)
	for len(u) > 0 {
		i := 0
		for i < len(u) && u[i] != 0 {
			i++
		}
		if i == 0 {
			break
		}
		out = append(out, string(utf16.Decode(u[:i])))
		if i == len(u) {
			break
		}
		u = u[i+1:]
	}
	return out, true
}

// units splits little-endian bytes into UTF-16 code units (an odd last
// byte is dropped).
func units(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}

// utf16z encodes s as UTF-16LE with a terminating NUL: REG_SZ data.
func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

// Key is a registry key: in an [Export], one [KEY] or [-KEY] line and the
// values under it; from a [Registry], the key as the merge left it.
type Key struct {
	// Path is the canonical path: the root abbreviated (HKLM, HKCU, HKU,
	// HKCR, HKCC) and the subkey names as spelled, joined with '\'.
	Path string
	// Name is the path as written in the file (HKEY_LOCAL_MACHINE\...),
	// for messages.
	Name string
	// Delete is set for a [-KEY] line: the key and its subkeys are deleted.
	// Never set on a key from a [Registry].
	Delete bool
	// Values are the key's values: in an Export in file order (deletions
	// included, a name possibly more than once); from a Registry in the
	// order they were first set, one per name.
	Values []*Value
	// File and Line say where the key was read (from a Registry: where the
	// key was first created, possibly implied by a subkey's line).
	File string
	Line int
}

// Value returns the key's last value named name (without regard to case;
// "" for the default value), or false. In a key of an [Export] that may
// be a deletion ([Value.Delete] set).
func (k *Key) Value(name string) (*Value, bool) {
	f := fold(name)
	for i := len(k.Values) - 1; i >= 0; i-- {
		if fold(k.Values[i].Name) == f {
			return k.Values[i], true
		}
	}
	return nil, false
}

// fold is the case-insensitive comparison form of a key or value name.
func fold(s string) string { return strings.ToUpper(s) }
