package labdns_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/egresslab/egresslab/internal/labdns"
)

var (
	intranet = netip.MustParseAddr("10.77.0.10")
	proxy    = netip.MustParseAddr("10.77.0.3")
)

// many is a name with so many addresses that its answer does not fit in
// 512 bytes.
const many = "many.corp.example"

func records() map[string][]netip.Addr {
	var lots []netip.Addr
	for i := range 40 {
		lots = append(lots, netip.AddrFrom4([4]byte{10, 78, 0, byte(i + 1)}))
	}
	return map[string][]netip.Addr{
		"Intranet.Corp.Example.": {intranet},
		"proxy.corp.example":     {proxy},
		many:                     lots,
	}
}

// observed collects what WithObserver reports.
type observed struct {
	mu   sync.Mutex
	seen []string
}

func (o *observed) observe(name, qtype, rcode string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, name+" "+qtype+" "+rcode)
}

func (o *observed) has(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Contains(o.seen, s)
}

// start serves records on 127.0.0.1 with ListenAndServe until the test
// ends.
func start(t *testing.T) (*labdns.Server, *observed, net.Addr, net.Addr) {
	t.Helper()
	o := &observed{}
	s, err := labdns.New(records(), labdns.WithObserver(o.observe))
	if err != nil {
		t.Fatal(err)
	}
	udpAddr, tcpAddr, err := s.ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, o, udpAddr, tcpAddr
}

// resolver is Go's own stub resolver, asking only addr.
func resolver(addr net.Addr, network string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, nw, _ string) (net.Conn, error) {
		var d net.Dialer
		if network != "" {
			nw = network
		}
		return d.DialContext(ctx, nw, addr.String())
	}}
}

func TestGoResolver(t *testing.T) {
	_, o, udpAddr, tcpAddr := start(t)
	if udpAddr.(*net.UDPAddr).Port != tcpAddr.(*net.TCPAddr).Port {
		t.Fatalf("UDP on %v but TCP on %v", udpAddr, tcpAddr)
	}
	for _, network := range []string{"", "tcp"} {
		t.Run("network="+network, func(t *testing.T) {
			ctx := t.Context()
			r := resolver(udpAddr, network)

			got, err := r.LookupNetIP(ctx, "ip4", "intranet.corp.example")
			if err != nil || !slices.Equal(got, []netip.Addr{intranet}) {
				t.Errorf("LookupNetIP(intranet) = %v, %v; want [%v]", got, err, intranet)
			}
			// "ip" asks A and AAAA: the AAAA's NODATA must not spoil the A.
			got, err = r.LookupNetIP(ctx, "ip", "proxy.corp.example.")
			if err != nil || !slices.Equal(got, []netip.Addr{proxy}) {
				t.Errorf("LookupNetIP(proxy) = %v, %v; want [%v]", got, err, proxy)
			}
			hosts, err := r.LookupHost(ctx, "InTrAnEt.CORP.example")
			if err != nil || !slices.Equal(hosts, []string{intranet.String()}) {
				t.Errorf("LookupHost(InTrAnEt.CORP.example) = %v, %v", hosts, err)
			}

			_, err = r.LookupNetIP(ctx, "ip", "www.google.com")
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
				t.Errorf("LookupNetIP(www.google.com) error = %#v; want a DNSError with IsNotFound", err)
			}
		})
	}
	if !o.has("intranet.corp.example A NOERROR") || !o.has("www.google.com A NXDOMAIN") || !o.has("proxy.corp.example AAAA NOERROR") {
		t.Errorf("observer saw %q", o.seen)
	}
}

// TestTruncated: an answer longer than 512 bytes comes with TC over UDP,
// and Go's resolver then gets it whole over TCP on the same port.
func TestTruncated(t *testing.T) {
	_, _, udpAddr, _ := start(t)
	resp := exchangeUDP(t, udpAddr, query(t, 7, many+".", dnsmessage.TypeA, dnsmessage.ClassINET))
	h, answers := parse(t, resp)
	if !h.Truncated || len(answers) != 0 || len(resp) > 512 {
		t.Errorf("UDP response: TC %v, %d answers, %d bytes; want TC, none, at most 512", h.Truncated, len(answers), len(resp))
	}
	got, err := resolver(udpAddr, "").LookupNetIP(t.Context(), "ip4", many)
	if err != nil || len(got) != 40 {
		t.Errorf("LookupNetIP(%s) = %d addresses, %v; want 40", many, len(got), err)
	}
}

// query packs a query with one question.
func query(t testing.TB, id uint16, name string, typ dnsmessage.Type, class dnsmessage.Class) []byte {
	t.Helper()
	return pack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: class}},
	})
}

func pack(t testing.TB, m dnsmessage.Message) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parse parses a whole response, failing the test if it is malformed.
func parse(t *testing.T, resp []byte) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	if !m.Response {
		t.Errorf("QR clear in the response")
	}
	return m.Header, m.Answers
}

func exchangeUDP(t *testing.T, addr net.Addr, q []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func writeTCP(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(msg)))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
}

func readTCP(t *testing.T, c net.Conn) ([]byte, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(l[:]))
	_, err := io.ReadFull(c, resp)
	return resp, err
}

func TestRawQueries(t *testing.T) {
	_, _, udpAddr, tcpAddr := start(t)
	twoQuestions := pack(t, dnsmessage.Message{
		Header: dnsmessage.Header{ID: 2},
		Questions: []dnsmessage.Question{
			{Name: dnsmessage.MustNewName("proxy.corp.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
			{Name: dnsmessage.MustNewName("intranet.corp.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		},
	})
	noQuestion := pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: 3}})
	status := pack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 4, OpCode: 2}, // STATUS
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName("proxy.corp.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	})
	// A question cut short: the header says one, the name never ends.
	cut := query(t, 5, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET)[:20]
	withOPT := pack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 9},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName("proxy.corp.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
		Additionals: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("."), Type: dnsmessage.TypeOPT, Class: 1232},
			Body:   &dnsmessage.OPTResource{},
		}},
	})

	tests := []struct {
		name    string
		query   []byte
		id      uint16
		rcode   dnsmessage.RCode
		aa, rd  bool
		answers []netip.Addr
	}{
		{"A", query(t, 1, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET), 1, dnsmessage.RCodeSuccess, true, true, []netip.Addr{proxy}},
		{"0x20", query(t, 11, "pRoXy.CoRp.ExAmPlE.", dnsmessage.TypeA, dnsmessage.ClassINET), 11, dnsmessage.RCodeSuccess, true, true, []netip.Addr{proxy}},
		{"two questions", twoQuestions, 2, dnsmessage.RCodeFormatError, false, false, nil},
		{"no question", noQuestion, 3, dnsmessage.RCodeFormatError, false, false, nil},
		{"opcode STATUS", status, 4, dnsmessage.RCodeNotImplemented, false, false, nil},
		{"cut question", cut, 5, dnsmessage.RCodeFormatError, false, true, nil},
		{"class CH", query(t, 6, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassCHAOS), 6, dnsmessage.RCodeRefused, false, true, nil},
		{"AAAA of a known name", query(t, 7, "proxy.corp.example.", dnsmessage.TypeAAAA, dnsmessage.ClassINET), 7, dnsmessage.RCodeSuccess, true, true, nil},
		{"MX of a known name", query(t, 8, "proxy.corp.example.", dnsmessage.TypeMX, dnsmessage.ClassINET), 8, dnsmessage.RCodeSuccess, true, true, nil},
		{"unknown name", query(t, 10, "example.com.", dnsmessage.TypeA, dnsmessage.ClassINET), 10, dnsmessage.RCodeNameError, true, true, nil},
		{"subdomain of a known name", query(t, 12, "x.proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET), 12, dnsmessage.RCodeNameError, true, true, nil},
		{"root", query(t, 13, ".", dnsmessage.TypeNS, dnsmessage.ClassINET), 13, dnsmessage.RCodeNameError, true, true, nil},
		{"EDNS(0)", withOPT, 9, dnsmessage.RCodeSuccess, true, false, []netip.Addr{proxy}},
	}
	tc, err := net.Dial("tcp", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeTCP(t, tc, tt.query)
			viaTCP, err := readTCP(t, tc)
			if err != nil {
				t.Fatal(err)
			}
			for transport, resp := range map[string][]byte{"udp": exchangeUDP(t, udpAddr, tt.query), "tcp": viaTCP} {
				h, answers := parse(t, resp)
				var got []netip.Addr
				for _, a := range answers {
					if a.Header.TTL != labdns.TTL {
						t.Errorf("%s: TTL %d", transport, a.Header.TTL)
					}
					got = append(got, netip.AddrFrom4(a.Body.(*dnsmessage.AResource).A))
				}
				if h.ID != tt.id || h.RCode != tt.rcode || h.Authoritative != tt.aa || h.RecursionDesired != tt.rd || h.RecursionAvailable || !slices.Equal(got, tt.answers) {
					t.Errorf("%s: ID %d, %v, AA %v, RD %v, RA %v, answers %v; want ID %d, %v, AA %v, RD %v, no RA, %v",
						transport, h.ID, h.RCode, h.Authoritative, h.RecursionDesired, h.RecursionAvailable, got,
						tt.id, tt.rcode, tt.aa, tt.rd, tt.answers)
				}
			}
		})
	}
}

// TestQuestionEchoed: the question comes back as asked, 0x20 case mixing
// included.
func TestQuestionEchoed(t *testing.T) {
	s, err := labdns.New(records())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Answer(query(t, 1, "PrOxY.corp.EXAMPLE.", dnsmessage.TypeA, dnsmessage.ClassINET))
	if err != nil {
		t.Fatal(err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	if len(m.Questions) != 1 || m.Questions[0].Name.String() != "PrOxY.corp.EXAMPLE." || m.Answers[0].Header.Name.String() != "PrOxY.corp.EXAMPLE." {
		t.Errorf("question %v, answers %v; want the name as asked", m.Questions, m.Answers)
	}
}

// TestDropped: a response, or less than a header, gets no answer; over
// TCP the connection is closed.
func TestDropped(t *testing.T) {
	s, o, udpAddr, tcpAddr := start(t)
	response := pack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 1, Response: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName("proxy.corp.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	})
	for _, msg := range [][]byte{response, {0, 1, 2}, {}} {
		if resp, err := s.Answer(msg); resp != nil {
			t.Errorf("Answer(%x) = %x, %v; want no response", msg, resp, err)
		}
		c, err := net.Dial("tcp", tcpAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		writeTCP(t, c, msg)
		if resp, err := readTCP(t, c); err != io.EOF {
			t.Errorf("TCP response to %x: %x, %v; want EOF", msg, resp, err)
		}
		c.Close()
	}
	if _, err := s.Answer(response); err != nil {
		t.Errorf("Answer(a response) error = %v; want nil", err)
	}
	if _, err := s.Answer([]byte{1}); err == nil {
		t.Errorf("Answer(1 byte) error = nil; want one")
	}
	// The UDP server got the same and still answers.
	c, err := net.Dial("udp", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{response, {0, 1, 2}, make([]byte, 5000)} {
		c.Write(msg)
	}
	c.Close()
	h, _ := parse(t, exchangeUDP(t, udpAddr, query(t, 99, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET)))
	if h.ID != 99 {
		t.Errorf("ID %d", h.ID)
	}
	// A 5000-byte datagram of zeros is cut to 4096 bytes: a header with no
	// question, so FORMERR.
	if !o.has("  FORMERR") {
		t.Errorf("observer saw %q; want a FORMERR", o.seen)
	}
}

func TestNew(t *testing.T) {
	a := []netip.Addr{proxy}
	long := strings.Repeat("a", 64)
	tests := []struct {
		records map[string][]netip.Addr
		want    string // in the error; "" for none
	}{
		{map[string][]netip.Addr{"A.b.": a, "c": a, "x_y.z-1": a}, ""},
		{map[string][]netip.Addr{"": a}, `record "": empty name`},
		{map[string][]netip.Addr{".": a}, `record ".": empty name`},
		{map[string][]netip.Addr{"a..b": a}, `record "a..b": label ""`},
		{map[string][]netip.Addr{long + ".lab": a}, `record "` + long + `.lab": label`},
		{map[string][]netip.Addr{strings.Repeat("a.", 127) + "ab": a}, "at most 253"},
		{map[string][]netip.Addr{"-a.lab": a}, `record "-a.lab": label "-a" starts or ends with a hyphen`},
		{map[string][]netip.Addr{"a b.lab": a}, `record "a b.lab": label "a b" has the byte ' '`},
		{map[string][]netip.Addr{"Host.lab": a, "host.lab.": a}, `record "host.lab.": the same name as "Host.lab"`},
		{map[string][]netip.Addr{"host.lab": nil}, `record "host.lab": no address`},
		{map[string][]netip.Addr{"host.lab": {proxy, netip.MustParseAddr("::1")}}, `record "host.lab": address "::1" is not IPv4`},
		{map[string][]netip.Addr{"host.lab": {netip.MustParseAddr("::ffff:10.0.0.1")}}, `is not IPv4`},
		{map[string][]netip.Addr{"host.lab": {{}}}, `record "host.lab": address "invalid IP" is not IPv4`},
	}
	for i, tt := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			s, err := labdns.New(tt.records)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New(%v) = %v", tt.records, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New(%v) error = %v; want one with %q", tt.records, err, tt.want)
			}
			if s != nil {
				s.Close()
			}
		})
	}
}

// TestNewCopies: changing the map after New changes nothing.
func TestNewCopies(t *testing.T) {
	r := map[string][]netip.Addr{"host.lab": {proxy}}
	s, err := labdns.New(r)
	if err != nil {
		t.Fatal(err)
	}
	r["host.lab"][0] = intranet
	r["other.lab"] = []netip.Addr{intranet}
	resp, _ := s.Answer(query(t, 1, "host.lab.", dnsmessage.TypeA, dnsmessage.ClassINET))
	_, answers := parse(t, resp)
	if len(answers) != 1 || netip.AddrFrom4(answers[0].Body.(*dnsmessage.AResource).A) != proxy {
		t.Errorf("answers %v; want %v", answers, proxy)
	}
}

// TestClose: Close ends the servers while a TCP client holds a connection
// open and a Serve call is running; both Serve calls return nil, and
// serving after Close returns at once.
func TestClose(t *testing.T) {
	s, err := labdns.New(records())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- s.ServeUDP(pc) }()
	go func() { errs <- s.ServeTCP(ln) }()

	// Once a query is answered on each, both servers run.
	exchangeUDP(t, pc.LocalAddr(), query(t, 1, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET))
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	writeTCP(t, c, query(t, 1, "proxy.corp.example.", dnsmessage.TypeA, dnsmessage.ClassINET))
	if _, err := readTCP(t, c); err != nil {
		t.Fatal(err)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Serve returned %v; want nil", err)
		}
	}
	if _, err := readTCP(t, c); err == nil {
		t.Errorf("the TCP connection is still open after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}

	pc2, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServeUDP(pc2); err != nil {
		t.Errorf("ServeUDP after Close = %v; want nil", err)
	}
	if _, _, err := s.ListenAndServe("127.0.0.1:0"); !errors.Is(err, labdns.ErrClosed) {
		t.Errorf("ListenAndServe after Close = %v; want ErrClosed", err)
	}
}

// TestDig asks dig, if it is installed.
func TestDig(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig not installed")
	}
	_, _, udpAddr, _ := start(t)
	port := strconv.Itoa(udpAddr.(*net.UDPAddr).Port)
	for _, tt := range []struct{ args, want string }{
		{"intranet.corp.example A", "status: NOERROR"},
		{"intranet.corp.example A +short", intranet.String()},
		{"intranet.corp.example A +tcp +short", intranet.String()},
		{"nowhere.example A", "status: NXDOMAIN"},
		{"intranet.corp.example AAAA", "status: NOERROR"},
	} {
		args := append([]string{"-p", port, "@127.0.0.1", "+time=5", "+tries=1"}, strings.Fields(tt.args)...)
		out, err := exec.CommandContext(t.Context(), dig, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("dig %s: %v\n%s\nwant %q", strings.Join(args, " "), err, out, tt.want)
		}
	}
}

func ExampleServer() {
	s, err := labdns.New(map[string][]netip.Addr{
		"intranet.corp.example": {netip.MustParseAddr("10.77.0.10")},
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	udpAddr, _, err := s.ListenAndServe("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, udpAddr.String())
	}}
	addrs, err := r.LookupNetIP(context.Background(), "ip4", "intranet.corp.example")
	fmt.Println(addrs, err)
	_, err = r.LookupNetIP(context.Background(), "ip4", "www.example.com")
	fmt.Println(err.(*net.DNSError).IsNotFound)
	// Output:
	// [10.77.0.10] <nil>
	// true
}
