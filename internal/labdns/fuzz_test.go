package labdns_test

import (
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/egresslab/egresslab/internal/labdns"
)

// FuzzAnswer: whatever the bytes, Answer does not panic, and a response
// it gives parses, is a response, keeps the query's ID and fits the TCP
// length prefix.
func FuzzAnswer(f *testing.F) {
	s, err := labdns.New(records())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(query(f, 1, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET))
	f.Add(query(f, 2, "PROXY.corp.example.", dnsmessage.TypeAAAA, dnsmessage.ClassINET))
	f.Add(query(f, 3, "nowhere.example.", dnsmessage.TypeA, dnsmessage.ClassINET))
	f.Add(query(f, 4, many+".", dnsmessage.TypeA, dnsmessage.ClassCHAOS))
	f.Add(query(f, 5, many+".", dnsmessage.TypeA, dnsmessage.ClassINET))
	f.Add(pack(f, dnsmessage.Message{
		Header: dnsmessage.Header{ID: 6, OpCode: 5},
		Questions: []dnsmessage.Question{
			{Name: dnsmessage.MustNewName("a."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
			{Name: dnsmessage.MustNewName("b."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		},
	}))
	f.Add([]byte{0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12}) // a name pointing at itself
	f.Fuzz(func(t *testing.T, q []byte) {
		resp, err := s.Answer(q)
		if resp == nil {
			return
		}
		if err != nil {
			t.Fatalf("both a response and an error: %v", err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("response %x does not parse: %v", resp, err)
		}
		if !m.Response || m.ID != uint16(q[0])<<8|uint16(q[1]) || len(resp) > 65535 {
			t.Fatalf("response %x: QR %v, ID %d, %d bytes, to query %x", resp, m.Response, m.ID, len(resp), q)
		}
	})
}
