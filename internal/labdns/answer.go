package labdns

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// TTL is the time to live, in seconds, of every A record the server
// gives (RFC 1035 section 3.2.1).
const TTL = 60

// maxUDPSize is the largest DNS message over UDP without EDNS(0), in bytes
// (RFC 1035 section 4.2.1). The server ignores an OPT record in a query, as
// a responder without EDNS does (RFC 6891 section 7), so this is its limit.
const maxUDPSize = 512

// maxTCPSize is the largest DNS message the 2-byte length prefix of TCP
// can frame, in bytes (RFC 1035 section 4.2.2).
const maxTCPSize = 65535

// canonical returns name in lower case without its one trailing dot, or
// an error if it is not a host name: labels of 1 to 63 letters, digits,
// hyphens or underscores (no hyphen at either end), 253 bytes in all
// (RFC 1035 section 2.3.1 and 2.3.4).
func canonical(name string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if n == "" {
		return "", errors.New("empty name")
	}
	if len(n) > 253 {
		return "", fmt.Errorf("name is %d bytes long, at most 253 allowed", len(n))
	}
	for label := range strings.SplitSeq(n, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("label %q must be 1 to 63 bytes long", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("label %q has the byte %q: only letters, digits, '-' and '_' are allowed", label, c)
			}
		}
	}
	return n, nil
}

// validate returns a copy of records keyed by canonical names, or an
// error naming the first bad name (in sorted order) and saying what is
// wrong: not a host name, the same name twice once lower-cased, no
// address, or an address that is not IPv4.
func validate(records map[string][]netip.Addr) (map[string][]netip.Addr, error) {
	names := make([]string, 0, len(records))
	for name := range records {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string][]netip.Addr, len(records))
	from := make(map[string]string, len(records))
	for _, name := range names {
		c, err := canonical(name)
		if err != nil {
			return nil, fmt.Errorf("labdns: record %q: %w", name, err)
		}
		if prev, ok := from[c]; ok {
			return nil, fmt.Errorf("labdns: record %q: the same name as %q", name, prev)
		}
		from[c] = name
		addrs := records[name]
		if len(addrs) == 0 {
			return nil, fmt.Errorf("labdns: record %q: no address", name)
		}
		for _, a := range addrs {
			if !a.Is4() {
				return nil, fmt.Errorf("labdns: record %q: address %q is not IPv4 (only A records are served)", name, a)
			}
		}
		out[c] = append([]netip.Addr(nil), addrs...)
	}
	return out, nil
}

// lookupKey is the question's name as the records are keyed: ASCII lower
// case (RFC 4343 section 3), no trailing dot.
func lookupKey(n dnsmessage.Name) string {
	b := []byte(strings.TrimSuffix(n.String(), "."))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Answer returns the response to one DNS query message (RFC 1035 section
// 4.1), as it would go over TCP (at most 65535 bytes). It returns
// (nil, nil) for a message that is itself a response (QR set), which gets
// no answer, and (nil, error) when the 12-byte header does not parse: both
// are dropped by the servers. Any other malformed query gets FORMERR. It
// never panics, whatever the bytes.
//
// The response keeps the query's ID and RD bit, has RA clear, and echoes
// the question as asked (0x20 case mixing included). See [Server] for the
// RCODE of each case.
func (s *Server) Answer(query []byte) ([]byte, error) {
	return s.answer(query, maxTCPSize)
}

// answer is Answer with a size limit in bytes: a response longer than max
// is sent without its answers and with TC set (RFC 1035 section 4.1.1),
// so that the client retries over TCP.
func (s *Server) answer(query []byte, max int) ([]byte, error) {
	var p dnsmessage.Parser
	qh, err := p.Start(query)
	if err != nil {
		return nil, fmt.Errorf("labdns: query header: %w", err)
	}
	if qh.Response {
		return nil, nil
	}
	h := dnsmessage.Header{ID: qh.ID, Response: true, OpCode: qh.OpCode, RecursionDesired: qh.RecursionDesired}
	var (
		q     *dnsmessage.Question
		addrs []netip.Addr
	)
	switch q0, err := p.Question(); {
	case qh.OpCode != 0: // only QUERY (RFC 1035 section 4.1.1)
		h.RCode = dnsmessage.RCodeNotImplemented
	case err != nil: // no question, or a malformed one
		h.RCode = dnsmessage.RCodeFormatError
	default:
		if _, err := p.Question(); !errors.Is(err, dnsmessage.ErrSectionDone) {
			h.RCode = dnsmessage.RCodeFormatError // QDCOUNT must be 1
			break
		}
		q = &q0
		if q.Class != dnsmessage.ClassINET {
			h.RCode = dnsmessage.RCodeRefused
			break
		}
		h.Authoritative = true
		known, ok := s.records[lookupKey(q.Name)]
		switch {
		case !ok:
			h.RCode = dnsmessage.RCodeNameError // RFC 2308 section 2.1
		case q.Type == dnsmessage.TypeA:
			addrs = known
		} // else NODATA: NOERROR, no answer (RFC 2308 section 2.2)
	}
	resp, err := build(h, q, addrs)
	if err == nil && len(resp) > max {
		h.Truncated = true
		resp, err = build(h, q, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("labdns: building the response: %w", err)
	}
	s.observe(h, q)
	return resp, nil
}

// build packs a response with header h, question q if any and an A
// record of q's name for each of addrs.
func build(h dnsmessage.Header, q *dnsmessage.Question, addrs []netip.Addr) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, maxUDPSize), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if q != nil {
		if err := b.Question(*q); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: TTL}
		if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// rcodeNames are the mnemonics of RFC 1035 section 4.1.1 and RFC 2136.
var rcodeNames = map[dnsmessage.RCode]string{
	dnsmessage.RCodeSuccess:        "NOERROR",
	dnsmessage.RCodeFormatError:    "FORMERR",
	dnsmessage.RCodeServerFailure:  "SERVFAIL",
	dnsmessage.RCodeNameError:      "NXDOMAIN",
	dnsmessage.RCodeNotImplemented: "NOTIMP",
	dnsmessage.RCodeRefused:        "REFUSED",
}

// observe logs a response and reports it to the observer.
func (s *Server) observe(h dnsmessage.Header, q *dnsmessage.Question) {
	var name, qtype string
	if q != nil {
		name = lookupKey(q.Name)
		qtype = strings.TrimPrefix(q.Type.String(), "Type")
	}
	rcode := rcodeNames[h.RCode]
	s.log.Debug("labdns: answered", "id", h.ID, "name", name, "type", qtype, "rcode", rcode, "truncated", h.Truncated)
	if s.observer != nil {
		s.observer(name, qtype, rcode)
	}
}
