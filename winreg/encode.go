package winreg

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Encode writes the export in Regedit's version 5.00 format as UTF-8
// without a byte-order mark, lines ending with CRLF: the header, a blank
// line, then each key line with its values and a blank line, as Regedit
// writes (KB310516). Keys are written with their spelling in the file
// ([Key.Name]). REG_SZ data that is a NUL-terminated string without other
// NULs, unpaired surrogates or line breaks is written "quoted"; other
// REG_SZ data as hex(1):; REG_DWORD of 4 bytes as dword:XXXXXXXX;
// REG_BINARY as hex:; anything else as hex(N):, byte lists wrapped with
// ",\" near 80 columns. Parsing the result gives the same keys and values
// (with other line numbers); a version 4 export comes back as version 5.
func (e *Export) Encode() []byte {
	var b strings.Builder
	b.WriteString(Header5 + "\r\n\r\n")
	for _, k := range e.Keys {
		b.WriteByte('[')
		if k.Delete {
			b.WriteByte('-')
		}
		b.WriteString(k.Name)
		b.WriteString("]\r\n")
		for _, v := range k.Values {
			encodeValue(&b, v)
		}
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

func encodeValue(b *strings.Builder, v *Value) {
	start := b.Len()
	if v.Name == "" {
		b.WriteByte('@')
	} else {
		b.WriteString(quoteReg(v.Name))
	}
	b.WriteByte('=')
	switch {
	case v.Delete:
		b.WriteByte('-')
	case v.Type == SZ && plainString(v.Data):
		s, _ := v.Text()
		b.WriteString(quoteReg(s))
	case v.Type == DWORD && len(v.Data) == 4:
		fmt.Fprintf(b, "dword:%08x", binary.LittleEndian.Uint32(v.Data))
	default:
		if v.Type == BINARY {
			b.WriteString("hex:")
		} else {
			fmt.Fprintf(b, "hex(%x):", uint32(v.Type))
		}
		col := b.Len() - start
		for i, c := range v.Data {
			if i > 0 {
				b.WriteByte(',')
				col++
				if col > 76 {
					b.WriteString("\\\r\n  ")
					col = 2
				}
			}
			fmt.Fprintf(b, "%02x", c)
			col += 2
		}
	}
	b.WriteString("\r\n")
}

// quoteReg quotes s with the escapes \\ and \".
func quoteReg(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// plainString reports whether REG_SZ data can be written as a "quoted"
// string and read back to the same bytes.
func plainString(d []byte) bool {
	if len(d) < 2 || len(d)%2 != 0 {
		return false
	}
	u := units(d)
	if u[len(u)-1] != 0 {
		return false
	}
	u = u[:len(u)-1]
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == 0 || c == '\r' || c == '\n':
			return false
		case utf16.IsSurrogate(rune(c)):
			if c >= 0xDC00 || i+1 == len(u) || u[i+1] < 0xDC00 || u[i+1] >= 0xE000 {
				return false
			}
			i++
		}
	}
	return true
}
