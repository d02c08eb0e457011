package winreg

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// utf16LE encodes s as reg export writes it: UTF-16LE after the
// byte-order mark FF FE.
func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// crlf turns LF line endings into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// hexUTF16 writes s as UTF-16LE hex bytes with a terminating NUL, as
// Regedit writes hex(2) data.
func hexUTF16(s string) string {
	var parts []string
	for _, c := range utf16z(s) {
		parts = append(parts, strings.ToLower(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
	}
	return strings.Join(parts, ",")
}

// export5 is a reg export of the kind a help desk collects, with every
// value type.
const export5 = `Windows Registry Editor Version 5.00

; proxy settings of the Default profile, loaded as HKU\DefaultProfile
[HKEY_USERS\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings]
"ProxyEnable"=dword:00000001
"ProxyServer"="proxy.corp.example:8080"
"ProxyOverride"="<local>;*.corp.example"
@="default \"quoted\" C:\\path"
"Binary"=hex:46,00,00,00,02,00,00,00,\
  03,00,00,00
"Expand"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,\
  74,00,25,00,00,00
"Multi"=hex(7):61,00,00,00,62,00,63,00,00,00,00,00
"Q"=hex(b):01,02,03,04,05,06,07,08
"None"=hex(0):
"DwordBytes"=hex(4):1f,00,00,00
"BigEndian"=hex(5):00,00,00,1f
"Odd"=hex(1f):aa,BB
"SzBytes"=hex(1):68,00,69,00,00,00

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\AzureADAccount]
"AllowPasswordReset"=dword:00000001
`

func TestParseEveryType(t *testing.T) {
	for name, data := range map[string][]byte{
		"UTF-8":             []byte(export5),
		"UTF-8 BOM CRLF":    append([]byte{0xEF, 0xBB, 0xBF}, crlf(export5)...),
		"UTF-16LE BOM CRLF": utf16LE(crlf(export5)),
	} {
		t.Run(name, func(t *testing.T) {
			e, err := Parse("a.reg", data)
			require.NoError(t, err)
			assert.Equal(t, 5, e.Version)
			require.Len(t, e.Keys, 2)
			k := e.Keys[0]
			assert.Equal(t, `HKU\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings`, k.Path)
			assert.Equal(t, `HKEY_USERS\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings`, k.Name)
			assert.Equal(t, 4, k.Line)
			get := func(n string) *Value {
				v, ok := k.Value(n)
				require.True(t, ok, n)
				return v
			}
			n, ok := get("proxyenable").Uint32()
			assert.True(t, ok)
			assert.EqualValues(t, 1, n)
			assert.Equal(t, 5, get("ProxyEnable").Line)
			s, ok := get("ProxyServer").Text()
			assert.True(t, ok)
			assert.Equal(t, "proxy.corp.example:8080", s)
			assert.Equal(t, utf16z("proxy.corp.example:8080"), get("ProxyServer").Data)
			s, ok = get("").Text()
			assert.True(t, ok)
			assert.Equal(t, `default "quoted" C:\path`, s)
			assert.Equal(t, BINARY, get("Binary").Type)
			assert.Equal(t, []byte{0x46, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0}, get("Binary").Data)
			assert.Equal(t, 9, get("Binary").Line)
			assert.Equal(t, 11, get("Expand").Line, "the line where the value starts")
			s, ok = get("Expand").Text()
			assert.True(t, ok)
			assert.Equal(t, "%SystemRoot%", s)
			assert.Equal(t, EXPAND_SZ, get("Expand").Type)
			ss, ok := get("Multi").Strings()
			assert.True(t, ok)
			assert.Equal(t, []string{"a", "bc"}, ss)
			q, ok := get("Q").Uint64()
			assert.True(t, ok)
			assert.Equal(t, uint64(0x0807060504030201), q)
			assert.Equal(t, NONE, get("None").Type)
			assert.Equal(t, []byte{}, get("None").Data)
			n, ok = get("DwordBytes").Uint32()
			assert.True(t, ok)
			assert.EqualValues(t, 31, n)
			n, ok = get("BigEndian").Uint32()
			assert.True(t, ok)
			assert.EqualValues(t, 31, n)
			q, ok = get("BigEndian").Uint64()
			assert.True(t, ok)
			assert.EqualValues(t, 31, q)
			assert.Equal(t, Type(0x1f), get("Odd").Type)
			assert.Equal(t, "REG_TYPE(0x1f)", get("Odd").Type.String())
			assert.Equal(t, []byte{0xaa, 0xbb}, get("Odd").Data)
			s, ok = get("SzBytes").Text()
			assert.True(t, ok)
			assert.Equal(t, "hi", s)
			for _, v := range k.Values {
				assert.Equal(t, "a.reg", v.File)
			}
		})
	}
}

func TestAccessorsRefuseOtherTypes(t *testing.T) {
	dw := &Value{Type: DWORD, Data: []byte{1, 0, 0}}
	_, ok := dw.Uint32()
	assert.False(t, ok, "3-byte DWORD")
	_, ok = dw.Uint64()
	assert.False(t, ok)
	_, ok = (&Value{Type: SZ, Data: []byte{1, 0, 0}}).Text()
	assert.False(t, ok, "odd length")
	_, ok = (&Value{Type: BINARY, Data: utf16z("x")}).Text()
	assert.False(t, ok, "binary")
	_, ok = (&Value{Type: SZ, Data: utf16z("x")}).Strings()
	assert.False(t, ok)
	_, ok = (&Value{Type: SZ, Data: utf16z("x")}).Uint32()
	assert.False(t, ok)
	s, ok := (&Value{Type: SZ, Data: append(utf16z("ab"), utf16z("c")...)}).Text()
	assert.True(t, ok)
	assert.Equal(t, "ab", s, "up to the first NUL")
	for data, want := range map[string][]string{
		"":                   {},
		"\x00":               {},
		"a\x00\x00":          {"a"},
		"a":                  {"a"},
		"a\x00\x00b\x00\x00": {"a"},
	} {
		b := []byte{}
		for _, c := range data {
			b = append(b, byte(c), 0)
		}
		got, ok := (&Value{Type: MULTI_SZ, Data: b}).Strings()
		assert.True(t, ok)
		assert.Equal(t, want, got, "%q", data)
	}
	assert.Equal(t, "REG_EXPAND_SZ", EXPAND_SZ.String())
	assert.Equal(t, "REG_QWORD", QWORD.String())
}

func TestRegedit4AndComments(t *testing.T) {
	e, err := Parse("4.reg", []byte("\n\nREGEDIT4\n; comment\n   ; indented comment\n[hkey_current_user\\Software\\X]\n"+
		"\"A\"=\"x\"\n\"E\"=hex(2):25,50,25,00\n\"M\"=hex(7):61,00,62,00,00\n\t\"D\"=dword:0000000A  \n"))
	require.NoError(t, err)
	assert.Equal(t, 4, e.Version)
	k := e.Keys[0]
	assert.Equal(t, `HKCU\Software\X`, k.Path)
	assert.Equal(t, 6, k.Line)
	v, _ := k.Value("E")
	s, ok := v.Text()
	assert.True(t, ok)
	assert.Equal(t, "%P%", s)
	assert.Equal(t, hexUTF16("%P%"), strings.Join(strings.Fields(hexBytes(v.Data)), ","))
	v, _ = k.Value("M")
	ss, _ := v.Strings()
	assert.Equal(t, []string{"a", "b"}, ss)
	v, _ = k.Value("d")
	n, _ := v.Uint32()
	assert.EqualValues(t, 10, n)

	_, err = Parse("4.reg", []byte("REGEDIT4\n[HKEY_CURRENT_USER\\X]\n\"E\"=hex(2):e9,00\n"))
	assert.EqualError(t, err, "4.reg:3: byte 0xE9 in a REGEDIT4 REG_EXPAND_SZ value: its ANSI code page is unknown, only ASCII is accepted")
}

func hexBytes(b []byte) string {
	var parts []string
	for _, c := range b {
		parts = append(parts, string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15]))
	}
	return strings.Join(parts, " ")
}

// TestMergeOrder: a second file overrides values, deletes values and keys.
func TestMergeOrder(t *testing.T) {
	first := utf16LE(crlf(`Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\System]
"DisableLockScreenAppNotifications"=dword:00000001
"Keep"="yes"
"Gone"="soon"

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\Personalization]
"NoLockScreen"=dword:00000001

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\Personalization\Sub]
@="sub"

[HKEY_USERS\.DEFAULT\Software]
[HKEY_USERS\Tmp\Software]
`))
	second := []byte(`Windows Registry Editor Version 5.00

[hkey_local_machine\software\policies\microsoft\windows\system]
"disablelockscreenappnotifications"=dword:00000000
"GONE"=-
"New"=hex:01

[-HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\Personalization]
`)
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "1.reg"), filepath.Join(dir, "2.reg")
	require.NoError(t, os.WriteFile(p1, first, 0o644))
	require.NoError(t, os.WriteFile(p2, second, 0o644))
	r, err := Load(p1, p2)
	require.NoError(t, err)

	for _, key := range []string{
		`HKLM\SOFTWARE\Policies\Microsoft\Windows\System`,
		`HKEY_LOCAL_MACHINE\Software\policies\Microsoft\Windows\SYSTEM`,
		`hklm\software\policies\microsoft\windows\system`,
	} {
		v, ok := r.Value(key, "DisableLockScreenAppNotifications")
		require.True(t, ok, key)
		n, _ := v.Uint32()
		assert.EqualValues(t, 0, n, "the later file wins")
		assert.Equal(t, p2, v.File)
		assert.Equal(t, 4, v.Line)
	}
	_, ok := r.Value(`HKLM\SOFTWARE\Policies\Microsoft\Windows\System`, "Gone")
	assert.False(t, ok, "deleted value")
	k, ok := r.Key(`HKLM\SOFTWARE\Policies\Microsoft\Windows\System`)
	require.True(t, ok)
	assert.Equal(t, `HKLM\SOFTWARE\Policies\Microsoft\Windows\System`, k.Path, "the first spelling")
	assert.Equal(t, `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\System`, k.Name)
	var names []string
	for _, v := range k.Values {
		names = append(names, v.Name)
	}
	assert.Equal(t, []string{"disablelockscreenappnotifications", "Keep", "New"}, names)
	_, ok = r.Key(`HKLM\SOFTWARE\Policies\Microsoft\Windows\Personalization`)
	assert.False(t, ok, "deleted key")
	_, ok = r.Key(`HKLM\SOFTWARE\Policies\Microsoft\Windows\Personalization\Sub`)
	assert.False(t, ok, "subkey of a deleted key")
	_, ok = r.Key(`HKLM\SOFTWARE\Policies`)
	assert.True(t, ok, "implied parent")
	_, ok = r.Key(`HKEY_PERFORMANCE_DATA\x`)
	assert.False(t, ok)
	_, ok = r.Key(`HKLM\\SOFTWARE`)
	assert.False(t, ok)
	_, ok = r.Value(`HKLM\Nope`, "x")
	assert.False(t, ok)
	assert.Equal(t, []string{".DEFAULT", "Tmp"}, r.Users())
	assert.Equal(t, []string{
		`HKLM`, `HKLM\SOFTWARE`, `HKLM\SOFTWARE\Policies`, `HKLM\SOFTWARE\Policies\Microsoft`,
		`HKLM\SOFTWARE\Policies\Microsoft\Windows`, `HKLM\SOFTWARE\Policies\Microsoft\Windows\System`,
		`HKU`, `HKU\.DEFAULT`, `HKU\.DEFAULT\Software`, `HKU\Tmp`, `HKU\Tmp\Software`,
	}, r.Keys())
	assert.Nil(t, (&Registry{}).Users())
	assert.Empty(t, (&Registry{}).Keys())
}

func TestErrors(t *testing.T) {
	const h = "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n"
	tests := map[string]struct {
		data []byte
		want string
	}{
		"not an export":                  {[]byte("hello\n"), `f.reg:1: not a registry export (want "Windows Registry Editor Version 5.00")`},
		"empty":                          {nil, `f.reg:1: not a registry export (want "Windows Registry Editor Version 5.00"): the file is empty`},
		"UTF-16 not an export":           {utf16LE("Windows Registry Editor Version 4.00\r\n"), `f.reg:1: not a registry export (want "Windows Registry Editor Version 5.00")`},
		"value outside a key":            {[]byte("REGEDIT4\n\"A\"=\"b\"\n"), `f.reg:2: value outside a key: want a key line [HKEY_...] before it`},
		"value under a deleted key":      {[]byte("REGEDIT4\n[-HKEY_CURRENT_USER\\X]\n@=\"b\"\n"), `f.reg:3: value under a deleted key [-HKEY_CURRENT_USER\X]`},
		"unterminated string":            {[]byte(h + "\"A\"=\"b\n"), `f.reg:4: unterminated string: missing closing '"'`},
		"unterminated name":              {[]byte(h + "\"A=b\n"), `f.reg:4: value name: unterminated string: missing closing '"'`},
		"bad escape":                     {[]byte(h + "\"A\"=\"C:\\temp\"\n"), `f.reg:4: bad escape \t in string: only \\ and \" are allowed`},
		"dword 9 digits":                 {[]byte(h + "\"A\"=dword:000000001\n"), `f.reg:4: bad dword "000000001": want exactly 8 hex digits, as dword:0000001f`},
		"dword short":                    {[]byte(h + "\"A\"=dword:1\n"), `f.reg:4: bad dword "1": want exactly 8 hex digits, as dword:0000001f`},
		"dword non-hex":                  {[]byte(h + "\"A\"=dword:0000000g\n"), `f.reg:4: bad dword "0000000g": want exactly 8 hex digits, as dword:0000001f`},
		"bad hex byte":                   {[]byte(h + "\"A\"=hex:01,2,03\n"), `f.reg:4: bad hex byte "2": want two hex digits, bytes separated by ','`},
		"bad hex on a continuation line": {[]byte(h + "\"A\"=hex:01,\\\n  zz\n"), `f.reg:5: bad hex byte "zz": want two hex digits, bytes separated by ','`},
		"hex trailing comma":             {[]byte(h + "\"A\"=hex:01,\n"), `f.reg:4: bad hex list: ends with ',' (want ',\' to go on on the next line, or no ',')`},
		"continuation at end":            {[]byte(h + "\"A\"=hex:01,\\\n"), `f.reg:5: empty continuation line: want hex bytes after a line ending with ',\'`},
		"continuation at EOF":            {[]byte(h + "\"A\"=hex:01,\\"), `f.reg:4: hex list ends with ',\' but the file ends: want the next bytes on the next line`},
		"bad hex type":                   {[]byte(h + "\"A\"=hex(x):01\n"), `f.reg:4: bad type number "x" in hex(N): want 1 to 8 hex digits`},
		"unknown root":                   {[]byte("REGEDIT4\n[HKEY_LOCAL_MACHIN\\SOFTWARE]\n"), `f.reg:2: unknown root key "HKEY_LOCAL_MACHIN": want HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG`},
		"abbreviated root":               {[]byte("REGEDIT4\n[HKLM\\SOFTWARE]\n"), `f.reg:2: unknown root key "HKLM": want HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG`},
		"empty key name":                 {[]byte("REGEDIT4\n[HKEY_USERS\\\\X]\n"), `f.reg:2: empty key name in "HKEY_USERS\\\\X" (a doubled or trailing '\')`},
		"delete a root":                  {[]byte("REGEDIT4\n[-HKEY_USERS]\n"), `f.reg:2: a root key cannot be deleted: [-HKEY_USERS]`},
		"missing ]":                      {[]byte("REGEDIT4\n[HKEY_USERS\\X\n"), `f.reg:2: missing ']' at the end of the key line`},
		"garbage after ]":                {[]byte("REGEDIT4\n[HKEY_USERS\\X] ; c\n"), `f.reg:2: trailing garbage after ']': " ; c"`},
		"trailing garbage":               {[]byte(h + "\"A\"=\"b\" x\n"), `f.reg:4: trailing garbage after the string: " x"`},
		"garbage after dword":            {[]byte(h + "\"A\"=dword:00000001 ; one\n"), `f.reg:4: trailing garbage after dword:00000001: "; one"`},
		"missing =":                      {[]byte(h + "\"A\" \"b\"\n"), `f.reg:4: missing '=' after the value name, got " \"b\""`},
		"missing data":                   {[]byte(h + "@=\n"), `f.reg:4: missing value data after '='`},
		"bad data":                       {[]byte(h + "@=qword:1\n"), `f.reg:4: bad value data "qword:1": want "string", dword:XXXXXXXX, hex:XX,..., hex(N):XX,... or - to delete`},
		"stray line":                     {[]byte(h + "Name=1\n"), `f.reg:4: want a key [HKEY_...], a value "Name"=... or @=..., a comment ; or a blank line, got "Name=1"`},
		"stray CR":                       {[]byte(h + "@=\"a\"\rb\n"), `f.reg:4: carriage return in the middle of a line: lines end with CRLF or LF` + "\n" + `f.reg:4: trailing garbage after the string: "b"`},
		"odd UTF-16":                     {append(utf16LE(crlf(h)), 'x'), `f.reg:4: invalid UTF-16LE: odd number of bytes after the byte-order mark (147): the file is cut`},
		"unpaired surrogate":             {append(utf16LE(crlf(h)), 0x00, 0xD8, 'x', 0), `f.reg:4: invalid UTF-16LE: unpaired surrogate 0xD800 at byte offset 148`},
		"UTF-16 big-endian":              {[]byte{0xFE, 0xFF, 0, 'W'}, `f.reg:1: UTF-16 big-endian (byte-order mark FE FF) is not a registry export encoding: want UTF-16LE with byte-order mark FF FE, or UTF-8`},
		"UTF-16 without BOM":             {utf16LE("Windows")[2:], `f.reg:1: NUL byte at byte offset 1: not UTF-8 text (a UTF-16 file without its byte-order mark FF FE?)`},
		"invalid UTF-8":                  {[]byte(h + "@=\"caf\xe9\"\n"), `f.reg:4: invalid UTF-8 at byte offset 76 (byte 0xE9): want UTF-8, or UTF-16LE with byte-order mark FF FE`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := Parse("f.reg", tt.data)
			assert.Nil(t, e)
			assert.EqualError(t, err, tt.want)
		})
	}
}

// TestAllErrors: every error of a file is reported, up to MaxErrors.
func TestAllErrors(t *testing.T) {
	_, err := Parse("f.reg", []byte("REGEDIT4\n@=\"a\"\n[HKEY_CURRENT_USER\\X]\n\"A\"=dword:1\n\"B\"=hex:zz,\\\n  yy\n\"C\"=\"ok\"\n\"D\"=\"\\n\"\n"))
	assert.EqualError(t, err, `f.reg:2: value outside a key: want a key line [HKEY_...] before it
f.reg:4: bad dword "1": want exactly 8 hex digits, as dword:0000001f
f.reg:5: bad hex byte "zz": want two hex digits, bytes separated by ','
f.reg:8: bad escape \n in string: only \\ and \" are allowed`)

	_, err = Parse("f.reg", []byte("REGEDIT4\n"+strings.Repeat("x\n", 100)))
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, MaxErrors+1)
	assert.Equal(t, "f.reg:52: too many errors (50): the rest of the file is not read", lines[MaxErrors])
}

func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.reg")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(MaxFileSize+1))
	require.NoError(t, f.Close())
	ok := filepath.Join(dir, "ok.reg")
	require.NoError(t, os.WriteFile(ok, []byte("REGEDIT4\n"), 0o644))

	_, err = Load(dir)
	assert.EqualError(t, err, dir+": not a regular file (a directory): only regular files are read")
	_, err = ReadFile(big)
	assert.EqualError(t, err, big+": 16777217 bytes or more, over the limit of 16 MiB (16777216 bytes)")
	if _, serr := os.Stat("/dev/null"); serr == nil {
		_, err = Load(ok, "/dev/null")
		assert.EqualError(t, err, "/dev/null: not a regular file (a character device): only regular files are read")
	}
	_, err = Load(filepath.Join(dir, "missing.reg"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	r, err := Load(ok)
	require.NoError(t, err)
	assert.Empty(t, r.Keys())
}

func TestEncodeRoundTrip(t *testing.T) {
	long := make([]byte, 300)
	for i := range long {
		long[i] = byte(i)
	}
	e := &Export{Keys: []*Key{
		{Name: `HKEY_CURRENT_USER\Software\A "b" \ c`, Path: `HKCU\Software\A "b" \ c`, Values: []*Value{
			{Name: "", Type: SZ, Data: utf16z(`C:\x "y"`)},
			{Name: `n\"`, Type: DWORD, Data: []byte{1, 2, 3, 4}},
			{Name: "long", Type: BINARY, Data: long},
			{Name: "sz with newline", Type: SZ, Data: utf16z("a\r\nb")},
			{Name: "sz without NUL", Type: SZ, Data: []byte{'a', 0}},
			{Name: "emoji", Type: SZ, Data: utf16z("😀")},
			{Name: "q", Type: QWORD, Data: make([]byte, 8)},
			{Name: "gone", Delete: true},
		}},
		{Name: `HKEY_CLASSES_ROOT\x`, Path: `HKCR\x`, Delete: true},
	}}
	out := e.Encode()
	assert.True(t, strings.HasPrefix(string(out), "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\A \"b\" \\ c]\r\n@=\"C:\\\\x \\\"y\\\"\"\r\n\"n\\\\\\\"\"=dword:04030201\r\n\"long\"=hex:00,01,"), string(out))
	for _, l := range strings.Split(string(out), "\r\n") {
		assert.LessOrEqual(t, len(l), 80, l)
	}
	back, err := Parse("out.reg", out)
	require.NoError(t, err, string(out))
	assertSameKeys(t, e, back)
}

// assertSameKeys compares two exports' keys and values, not their lines.
func assertSameKeys(t testing.TB, want, got *Export) {
	t.Helper()
	require.Len(t, got.Keys, len(want.Keys))
	for i, k := range want.Keys {
		g := got.Keys[i]
		require.Equal(t, k.Path, g.Path)
		require.Equal(t, k.Delete, g.Delete, k.Path)
		require.Len(t, g.Values, len(k.Values), k.Path)
		for j, v := range k.Values {
			w := g.Values[j]
			require.Equal(t, v.Name, w.Name)
			require.Equal(t, v.Delete, w.Delete, v.Name)
			if !v.Delete {
				require.Equal(t, v.Type, w.Type, v.Name)
				require.Equal(t, v.Data, w.Data, v.Name)
			}
		}
	}
}

func TestMoreErrors(t *testing.T) {
	const h = "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n"
	long := strings.Repeat("k", 256)
	tests := map[string]struct {
		data []byte
		want string
	}{
		"long line quoted short": {[]byte(h + strings.Repeat("é", 50) + "\n"),
			`f.reg:4: want a key [HKEY_...], a value "Name"=... or @=..., a comment ; or a blank line, got "` + strings.Repeat("é", 40) + `..."`},
		"bad name skips its continuation": {[]byte(h + "\"A\\x\"=hex:01,\\\n  02,\\\n  zz\n\"B\"=-\n"),
			`f.reg:4: value name: bad escape \x in string: only \\ and \" are allowed`},
		"key name too long":                {[]byte("REGEDIT4\n[HKEY_USERS\\" + long + "]\n"), `f.reg:2: key name longer than 255 characters in "HKEY_USERS\\` + strings.Repeat("k", 29) + `..."`},
		"value name too long":              {[]byte(h + "\"" + strings.Repeat("v", 16384) + "\"=-\n"), `f.reg:4: value name longer than 16383 characters`},
		"missing root":                     {[]byte("REGEDIT4\n[\\SOFTWARE]\n"), `f.reg:2: missing root key in [\SOFTWARE]: want HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG`},
		"hex( without ):":                  {[]byte(h + "@=hex(2)01\n"), `f.reg:4: bad hex(N): want the type number in hex and "):", as hex(7):`},
		"hex type too long":                {[]byte(h + "@=hex(100000000):01\n"), `f.reg:4: bad type number "100000000" in hex(N): want 1 to 8 hex digits`},
		"no comma before \\":               {[]byte(h + "@=hex:01\\\n  02\n"), `f.reg:4: bad hex list: want ',' before the continuation '\'`},
		"backslash at the end of a string": {[]byte(h + "@=\"a\\\n"), `f.reg:4: unterminated string: missing closing '"'`},
		"NUL in UTF-16":                    {utf16LE("REGEDIT4\r\n\x00"), `f.reg:2: NUL character in UTF-16LE text`},
		"stray CR in header":               {[]byte("REGEDIT4\rx\n"), `f.reg:1: carriage return in the middle of a line: lines end with CRLF or LF`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := Parse("f.reg", tt.data)
			assert.Nil(t, e)
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestUTF16SurrogatesAndEmptyHex(t *testing.T) {
	e, err := Parse("u.reg", utf16LE(crlf("Windows Registry Editor Version 5.00\n[HKEY_CURRENT_CONFIG\\😀]\n\"😀\"=\"x😀\"\n\"H\"=hex(7):\\\n  61,00,00,00,00,00\n")))
	require.NoError(t, err)
	k := e.Keys[0]
	assert.Equal(t, `HKCC\😀`, k.Path)
	v, ok := k.Value("😀")
	require.True(t, ok)
	s, _ := v.Text()
	assert.Equal(t, "x😀", s)
	v, _ = k.Value("h")
	ss, _ := v.Strings()
	assert.Equal(t, []string{"a"}, ss)
	assert.Equal(t, 4, v.Line)
	_, ok = k.Value("nope")
	assert.False(t, ok)
}
