package winreg

import (
	"bytes"
	"testing"
)

// FuzzParse: any bytes → Parse never panics; when it succeeds, every key
// and value is placed in the file (its File, a Line within the file), and
// Encode then Parse gives the same keys and values; and a Registry built
// from it answers for each of its keys.
func FuzzParse(f *testing.F) {
	f.Add([]byte(export5))
	f.Add(utf16LE(crlf(export5)))
	f.Add([]byte("REGEDIT4\n[HKEY_CURRENT_USER\\X]\n\"E\"=hex(2):25,50,25,00\n\"M\"=hex(7):61,00,62,00,00\n@=-\n[-HKEY_CURRENT_USER\\X\\Y]\n"))
	f.Add([]byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_USERS\\Tmp]\r\n\"a\\\"b\"=hex:\\\r\n  01,02,\\\r\n  03\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse("f.reg", data)
		if err != nil {
			if e != nil {
				t.Fatal("an Export with an error")
			}
			return
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, k := range e.Keys {
			if k.File != "f.reg" || k.Line < 1 || k.Line > lines {
				t.Fatalf("key %s at %s:%d, the file has at most %d lines", k.Path, k.File, k.Line, lines)
			}
			for _, v := range k.Values {
				if v.File != "f.reg" || v.Line < k.Line || v.Line > lines {
					t.Fatalf("value %q at %s:%d, its key at line %d, the file has at most %d lines", v.Name, v.File, v.Line, k.Line, lines)
				}
			}
		}
		out := e.Encode()
		back, err := Parse("out.reg", out)
		if err != nil {
			t.Fatalf("encoded export does not parse: %v\n%s", err, out)
		}
		assertSameKeys(t, e, back)
		var r Registry
		r.Add(e)
		for _, p := range r.Keys() {
			if _, ok := r.Key(p); !ok {
				t.Fatalf("Keys lists %s, Key does not find it", p)
			}
		}
	})
}
