package ntlm

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Message types (MS-NLMP 2.2.1), as returned by [Token.Type].
const (
	TypeNegotiate    = 1
	TypeChallenge    = 2
	TypeAuthenticate = 3
)

// MaxMessageSize is the largest NTLMSSP message (and decoded
// authorization token) accepted. Real NTLM messages are well under 4 KiB.
const MaxMessageSize = 64 << 10

// signature opens every NTLMSSP message.
const signature = "NTLMSSP\x00"

// Negotiate flags (MS-NLMP 2.2.2.5).
const (
	flagUnicode                 = 1 << 0  // A
	flagOEM                     = 1 << 1  // B
	flagRequestTarget           = 1 << 2  // C
	flagNTLM                    = 1 << 9  // H
	flagAnonymous               = 1 << 11 // J
	flagDomainSupplied          = 1 << 12 // K
	flagWorkstationSupplied     = 1 << 13 // L
	flagAlwaysSign              = 1 << 15 // M
	flagTargetTypeDomain        = 1 << 16 // N
	flagExtendedSessionSecurity = 1 << 19 // P
	flagTargetInfo              = 1 << 23 // S
	flagVersion                 = 1 << 25 // T
	flag128                     = 1 << 29 // U
	flag56                      = 1 << 31 // W
)

// AV pair identifiers (MS-NLMP 2.2.2.1).
const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avTimestamp       = 7
)

// Fixed layout sizes.
const (
	negotiateMinSize    = 16 // signature, type, flags
	negotiateFieldsSize = 32 // ... domain and workstation fields
	challengeHeaderSize = 56 // up to and including the version
	authenticateMinSize = 64 // up to and including the flags
	ntlmv1ResponseSize  = 24
	ntProofSize         = 16
	// An NTLMv2 response is the NTProofStr and a blob of at least 28
	// bytes (RespType, HiRespType, reserved, timestamp, client challenge,
	// reserved) before the AV pairs.
	ntlmv2MinResponseSize = ntProofSize + 28
)

// serverVersion is the VERSION structure (MS-NLMP 2.2.2.10) announced when
// the client negotiates it: Windows Server 2022 (10.0.20348), NTLM revision 15.
var serverVersion = [8]byte{10, 0, 0x4c, 0x4f, 0, 0, 0, 15}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// checkHeader checks the signature and message type of msg.
func checkHeader(msg []byte, want uint32, min int) error {
	if len(msg) > MaxMessageSize {
		return malformed("message of %d bytes exceeds %d", len(msg), MaxMessageSize)
	}
	if len(msg) < 12 || string(msg[:8]) != signature {
		return malformed("no NTLMSSP signature")
	}
	if got := binary.LittleEndian.Uint32(msg[8:]); got != want {
		return malformed("message type %d, want %d", got, want)
	}
	if len(msg) < min {
		return malformed("message of %d bytes is shorter than %d", len(msg), min)
	}
	return nil
}

// messageType returns the type of an NTLMSSP message, or 0.
func messageType(msg []byte) int {
	if len(msg) < 12 || string(msg[:8]) != signature {
		return 0
	}
	switch t := binary.LittleEndian.Uint32(msg[8:]); t {
	case TypeNegotiate, TypeChallenge, TypeAuthenticate:
		return int(t)
	}
	return 0
}

// field returns the payload a security buffer (length, max length, offset)
// at msg[at:] points to, after checking it lies inside msg. The returned
// slice aliases msg: nothing is allocated from the length.
func field(msg []byte, at int, name string) ([]byte, error) {
	if at < 0 || len(msg) < at+8 {
		return nil, malformed("%s field past the end", name)
	}
	n := uint64(binary.LittleEndian.Uint16(msg[at:]))
	off := uint64(binary.LittleEndian.Uint32(msg[at+4:]))
	if n == 0 {
		return nil, nil
	}
	if off > uint64(len(msg)) || n > uint64(len(msg))-off {
		return nil, malformed("%s (offset %d, length %d) past the end of a %d-byte message", name, off, n, len(msg))
	}
	return msg[off : off+n], nil
}

// parseNegotiate returns the flags of a NEGOTIATE message (MS-NLMP 2.2.1.1).
func parseNegotiate(msg []byte) (uint32, error) {
	if err := checkHeader(msg, TypeNegotiate, negotiateMinSize); err != nil {
		return 0, err
	}
	flags := binary.LittleEndian.Uint32(msg[12:])
	// The domain and workstation are only read by old servers; check they
	// are well formed when the client says it supplied them.
	if flags&flagDomainSupplied != 0 {
		if _, err := field(msg, 16, "domain"); err != nil {
			return 0, err
		}
	}
	if flags&flagWorkstationSupplied != 0 {
		if _, err := field(msg, 24, "workstation"); err != nil {
			return 0, err
		}
	}
	return flags, nil
}

// challengeFlags answers the client's negotiate flags (MS-NLMP 3.2.5.1.1).
// NTLM and target info are always on (clients such as curl only use
// NTLMv2 when the CHALLENGE carries target info), and so is the target name
// (some clients take the user's domain from it). Signing, sealing, key
// exchange and LM_KEY are never offered.
func challengeFlags(client uint32) uint32 {
	f := uint32(flagNTLM | flagTargetInfo | flagRequestTarget | flagTargetTypeDomain)
	if client&flagUnicode != 0 || client&flagOEM == 0 {
		f |= flagUnicode
	} else {
		f |= flagOEM
	}
	f |= client & (flagExtendedSessionSecurity | flagAlwaysSign | flag128 | flag56 | flagVersion)
	return f
}

// buildChallenge lays out a CHALLENGE message (MS-NLMP 2.2.1.2). The
// version field is always present (zero unless negotiated), so the payload
// starts at 56 as it does from Windows.
func buildChallenge(flags uint32, serverChallenge [8]byte, targetName string, targetInfo []byte) []byte {
	name := encodeString(targetName, flags&flagUnicode != 0)
	msg := make([]byte, challengeHeaderSize, challengeHeaderSize+len(name)+len(targetInfo))
	copy(msg, signature)
	binary.LittleEndian.PutUint32(msg[8:], TypeChallenge)
	putField(msg[12:], len(name), challengeHeaderSize)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:], serverChallenge[:])
	putField(msg[40:], len(targetInfo), challengeHeaderSize+len(name))
	if flags&flagVersion != 0 {
		copy(msg[48:], serverVersion[:])
	}
	msg = append(msg, name...)
	return append(msg, targetInfo...)
}

func putField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

// avPairs encodes target info AV pairs; strings are always UTF-16LE.
type avPairs []byte

func (p avPairs) add(id uint16, value []byte) avPairs {
	p = binary.LittleEndian.AppendUint16(p, id)
	p = binary.LittleEndian.AppendUint16(p, uint16(len(value)))
	return append(p, value...)
}

func (p avPairs) addString(id uint16, s string) avPairs {
	return p.add(id, utf16le(s))
}

// authenticateMessage is the part of an AUTHENTICATE message (MS-NLMP
// 2.2.1.3) the server verifies.
type authenticateMessage struct {
	lm, nt       []byte
	domain, user string
	flags        uint32
}

func parseAuthenticate(msg []byte) (authenticateMessage, error) {
	var m authenticateMessage
	if err := checkHeader(msg, TypeAuthenticate, authenticateMinSize); err != nil {
		return m, err
	}
	m.flags = binary.LittleEndian.Uint32(msg[60:])
	var err error
	if m.lm, err = field(msg, 12, "LM response"); err != nil {
		return m, err
	}
	if m.nt, err = field(msg, 20, "NT response"); err != nil {
		return m, err
	}
	unicode := m.flags&flagUnicode != 0
	domain, err := field(msg, 28, "domain")
	if err != nil {
		return m, err
	}
	if m.domain, err = decodeString(domain, unicode, "domain"); err != nil {
		return m, err
	}
	user, err := field(msg, 36, "user name")
	if err != nil {
		return m, err
	}
	if m.user, err = decodeString(user, unicode, "user name"); err != nil {
		return m, err
	}
	// Workstation and session key: checked for bounds only.
	if _, err := field(msg, 44, "workstation"); err != nil {
		return m, err
	}
	if _, err := field(msg, 52, "session key"); err != nil {
		return m, err
	}
	return m, nil
}

// utf16le encodes s as UTF-16LE.
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// encodeString encodes a message string as negotiated: UTF-16LE, or OEM
// (sent as UTF-8; ASCII in practice).
func encodeString(s string, unicode bool) []byte {
	if unicode {
		return utf16le(s)
	}
	return []byte(s)
}

// decodeString decodes a message string: UTF-16LE when unicode, otherwise
// OEM bytes, read as UTF-8 when valid and as Latin-1 otherwise.
func decodeString(b []byte, unicode bool, name string) (string, error) {
	if !unicode {
		if utf8.Valid(b) {
			return string(b), nil
		}
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	}
	if len(b)%2 != 0 {
		return "", malformed("%s of odd length %d in UTF-16", name, len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}
