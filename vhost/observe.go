package vhost

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"
)

// watchHandshakes makes cfg report every handshake to s.observe: the
// ClientHello is recorded by GetConfigForClient; success is reported by a
// per-connection VerifyConnection; failure by net/http's error log line,
// the only place a server-side handshake error surfaces.
func (s *Server) watchHandshakes(cfg *tls.Config) {
	base := cfg.Clone()
	prev := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		remote := hello.Conn.RemoteAddr().String()
		hs := Handshake{Remote: remote, ServerName: hello.ServerName, Offered: append([]uint16(nil), hello.SupportedVersions...)}
		s.pending.Store(remote, hs)
		c := base
		if prev != nil {
			pc, err := prev(hello)
			if err != nil {
				return nil, err
			}
			if pc != nil {
				c = pc
			}
		}
		c = c.Clone()
		next := c.VerifyConnection
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if next != nil {
				if err := next(cs); err != nil {
					return err // reported through the error log
				}
			}
			s.pending.Delete(remote)
			done := hs
			done.Time, done.Version, done.CipherSuite = time.Now(), cs.Version, cs.CipherSuite
			s.observe(done)
			return nil
		}
		return c, nil
	}
}

// logWriter receives net/http's error log for the server.
type logWriter struct{ s *Server }

const handshakeErrPrefix = "http: TLS handshake error from "

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	rest, ok := strings.CutPrefix(line, handshakeErrPrefix)
	if !ok {
		w.s.logger.Warn(line, "host", w.s.Host)
		return len(p), nil
	}
	remote, reason, _ := strings.Cut(rest, ": ")
	w.s.logger.Debug("TLS handshake refused", "host", w.s.Host, "remote", remote, "reason", reason)
	if w.s.observe != nil {
		hs := Handshake{Remote: remote}
		if v, ok := w.s.pending.LoadAndDelete(remote); ok {
			hs = v.(Handshake)
		}
		hs.Time, hs.Err = time.Now(), errors.New(reason)
		w.s.observe(hs)
	}
	return len(p), nil
}
