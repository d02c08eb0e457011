// Package labdns is the lab's corporate DNS server: the server the lab's
// containers are given as their DNS server (docker run --dns), so that
// Docker's embedded DNS forwards to it every name that is not a container
// alias. It answers a fixed set of host names with fixed IPv4 addresses
// and every other name with NXDOMAIN, authoritatively. It never forwards
// or recurses: no query leaves the lab.
//
// Messages are parsed and built with golang.org/x/net/dns/dnsmessage.
package labdns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Limits of the servers.
const (
	// udpBufSize is the read buffer of ServeUDP, in bytes: a longer
	// datagram is cut to it and then answered FORMERR or dropped.
	udpBufSize = 4096
	// MaxTCPConns is how many TCP connections ServeTCP serves at once; it
	// accepts no more until one ends.
	MaxTCPConns = 64
	// TCPIdleTimeout is how long a TCP connection may stay without a
	// complete query, and how long writing a response may take, before
	// the server closes it (RFC 7766 section 6.2.3).
	TCPIdleTimeout = 10 * time.Second
)

// ErrClosed is returned by ListenAndServe after Close.
var ErrClosed = errors.New("labdns: server closed")

// Server answers DNS queries from a fixed set of A records: see [New].
// For a query (RFC 1035 section 4.1) it answers:
//
//   - a known name, type A: its addresses as A records, TTL 60 s, NOERROR,
//     AA set;
//   - a known name, any other type: NOERROR with no answer, AA set (NODATA,
//     RFC 2308 section 2.2; without an SOA, so it is not cached);
//   - an unknown name: NXDOMAIN, AA set (RFC 2308 section 2.1; no SOA);
//   - a class other than IN: REFUSED;
//   - an opcode other than QUERY: NOTIMP;
//   - no question, more than one, or a malformed one: FORMERR;
//   - a response (QR set), or fewer than the 12 bytes of a header: nothing.
//
// An EDNS(0) OPT record in a query is ignored and the response has none
// (RFC 6891 section 7), so a UDP response is at most 512 bytes; a longer
// one is sent without answers and with TC set (RFC 1035 section 4.2.1).
//
// Its methods may be called from several goroutines at once.
type Server struct {
	records  map[string][]netip.Addr // canonical name -> IPv4 addresses
	log      *slog.Logger
	observer func(name, qtype, rcode string)

	slots chan struct{} // one per TCP connection being served
	done  chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	closers map[io.Closer]struct{} // packet conns, listeners and TCP conns to close
	wg      sync.WaitGroup         // Serve loops and TCP connections
}

// Option configures a Server in New.
type Option func(*Server)

// WithLogger sets the logger: queries at Debug, failures to read or write
// at Warn. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.log = l }
}

// WithObserver sets a function called once for each response, from the
// goroutine serving it: name is the question's name in lower case without
// the trailing dot, qtype its type ("A", "AAAA", "MX", or a number for a
// type without a mnemonic), rcode the response's ("NOERROR", "NXDOMAIN",
// "FORMERR", "NOTIMP", "REFUSED"). name and qtype are empty when the
// response has no question (FORMERR, NOTIMP). It must not block for long.
func WithObserver(f func(name, qtype, rcode string)) Option {
	return func(s *Server) { s.observer = f }
}

// New returns a server for records, which maps each host name to its IPv4
// addresses. A name is taken in lower case, with or without one trailing
// dot, and must be a host name (RFC 1035 section 2.3.1, with '_' allowed):
// dot-separated labels of 1 to 63 letters, digits, hyphens or
// underscores, 253 bytes in all. Each name needs at least one address and
// all must be IPv4 (an IPv4-mapped IPv6 address is not). The error names
// the offending name. New copies records.
func New(records map[string][]netip.Addr, opts ...Option) (*Server, error) {
	r, err := validate(records)
	if err != nil {
		return nil, err
	}
	s := &Server{
		records: r,
		log:     slog.New(slog.DiscardHandler),
		slots:   make(chan struct{}, MaxTCPConns),
		done:    make(chan struct{}),
		closers: make(map[io.Closer]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// track registers c to be closed by Close and counts one goroutine in the
// wait group, or reports false if the server is closed.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closers[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// untrack undoes track once its goroutine ends.
func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.closers, c)
	s.mu.Unlock()
	s.wg.Done()
}

// isClosed reports whether Close was called.
func (s *Server) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// ServeUDP answers the queries that arrive on pc, one datagram each (RFC
// 1035 section 4.2.1), until Close, and then returns nil. It returns the
// error of a failed read otherwise. pc is closed when it returns.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	if !s.track(pc) {
		pc.Close()
		return nil
	}
	defer s.untrack(pc)
	return s.serveUDP(pc)
}

func (s *Server) serveUDP(pc net.PacketConn) error {
	defer pc.Close()
	buf := make([]byte, udpBufSize)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if s.isClosed() {
				return nil
			}
			return fmt.Errorf("labdns: reading UDP: %w", err)
		}
		resp, err := s.answer(buf[:n], maxUDPSize)
		if err != nil || resp == nil {
			s.log.Debug("labdns: dropped a UDP message", "from", addr, "bytes", n, "error", err)
			continue
		}
		if _, err := pc.WriteTo(resp, addr); err != nil && !s.isClosed() {
			s.log.Warn("labdns: writing a UDP response", "to", addr, "error", err)
		}
	}
}

// ServeTCP accepts connections on ln and answers the queries on each, a
// 2-byte big-endian length before each message (RFC 1035 section 4.2.2),
// until Close, and then returns nil. It serves at most [MaxTCPConns]
// connections at once and closes one that sends no complete query within
// [TCPIdleTimeout]. It returns the error of a failed accept otherwise,
// after retrying for a while those that may pass (too many open files).
// ln is closed when it returns.
func (s *Server) ServeTCP(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return nil
	}
	defer s.untrack(ln)
	return s.serveTCP(ln)
}

func (s *Server) serveTCP(ln net.Listener) error {
	defer ln.Close()
	var backoff time.Duration
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.done:
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-s.slots
			if s.isClosed() {
				return nil
			}
			if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
				return fmt.Errorf("labdns: accepting TCP: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("labdns: accepting TCP, retrying", "error", err, "in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-s.done:
				return nil
			}
		}
		backoff = 0
		if !s.track(c) {
			c.Close()
			<-s.slots
			return nil
		}
		go func() {
			defer func() { <-s.slots }()
			defer s.untrack(c)
			defer c.Close()
			s.serveConn(c)
		}()
	}
}

// serveConn answers the queries on one TCP connection until it ends, is
// idle for TCPIdleTimeout, or a message gets no answer.
func (s *Server) serveConn(c net.Conn) {
	var lenBuf [2]byte
	for {
		if err := c.SetReadDeadline(time.Now().Add(TCPIdleTimeout)); err != nil {
			return
		}
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return // EOF, idle, or closed
		}
		query := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			s.log.Debug("labdns: reading a TCP query", "from", c.RemoteAddr(), "error", err)
			return
		}
		resp, err := s.answer(query, maxTCPSize)
		if err != nil || resp == nil {
			s.log.Debug("labdns: dropped a TCP message", "from", c.RemoteAddr(), "bytes", len(query), "error", err)
			return
		}
		msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		msg = append(msg, resp...)
		if err := c.SetWriteDeadline(time.Now().Add(TCPIdleTimeout)); err != nil {
			return
		}
		if _, err := c.Write(msg); err != nil {
			if !s.isClosed() {
				s.log.Warn("labdns: writing a TCP response", "to", c.RemoteAddr(), "error", err)
			}
			return
		}
	}
}

// ListenAndServe binds UDP and TCP on addr ("host:port"; with port 0, the
// port UDP gets, on which TCP is bound too, trying again with another if
// TCP's is taken), serves both in goroutines until Close, and returns
// their addresses once both are listening. It returns ErrClosed after
// Close. An error of a serving goroutine is logged at Warn.
func (s *Server) ListenAndServe(addr string) (udpAddr, tcpAddr net.Addr, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("labdns: address %q: %w", addr, err)
	}
	pc, ln, err := listenBoth(host, port)
	if err != nil {
		return nil, nil, err
	}
	if !s.track(pc) {
		pc.Close()
		ln.Close()
		return nil, nil, ErrClosed
	}
	if !s.track(ln) {
		ln.Close()
		s.untrack(pc)
		pc.Close()
		return nil, nil, ErrClosed
	}
	go func() {
		defer s.untrack(pc)
		if err := s.serveUDP(pc); err != nil {
			s.log.Warn("labdns: UDP server stopped", "error", err)
		}
	}()
	go func() {
		defer s.untrack(ln)
		if err := s.serveTCP(ln); err != nil {
			s.log.Warn("labdns: TCP server stopped", "error", err)
		}
	}()
	return pc.LocalAddr(), ln.Addr(), nil
}

// listenBoth binds UDP and TCP on the same host and port. With port "0",
// TCP takes the port UDP got, up to 10 tries when it is taken.
func listenBoth(host, port string) (net.PacketConn, net.Listener, error) {
	const tries = 10
	for i := 0; ; i++ {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("labdns: listening on UDP: %w", err)
		}
		p := port
		if p == "0" {
			p = strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || i+1 == tries || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("labdns: listening on TCP port %s: %w", p, err)
		}
	}
}

// Close stops the servers: it closes their packet conns, listeners and
// TCP connections and waits until their goroutines have ended. Queries
// in flight get no answer. Close may be called more than once; it always
// returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
		for c := range s.closers {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
