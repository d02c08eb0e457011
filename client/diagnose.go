package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/egresslab/egresslab/pki"
)

// HTTPStatusError is an answer with a status the step cannot go on with.
type HTTPStatusError struct {
	URL    string
	Status int
	// Kind and Message are the service's JSON error, when it sent one.
	Kind, Message string
}

func (e *HTTPStatusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Kind != "" {
		msg += fmt.Sprintf(" (%s: %s)", e.Kind, e.Message)
	}
	return msg
}

// Diagnose names the cause of a failed request from what the wire gave:
// the proxy's status and headers, the TLS alert or the version in the
// ServerHello, the certificate verification error, the socket error
// (reset, end of stream, timeout), the OCSP answer, and the service's
// status. at is when the request ran (it tells an expired certificate from
// one not yet valid). It never reads error text.
func Diagnose(err error, at time.Time) Cause {
	var (
		pe   *ProxyError
		re   *RevocationError
		de   *DialError
		te   *TLSError
		he   *HTTPStatusError
		dnse *net.DNSError
		rhe  tls.RecordHeaderError
		me   *MalformedError
		ape  *AutoProxyError
	)
	switch {
	case err == nil:
		return CauseNone
	case errors.Is(err, context.Canceled):
		return CauseCanceled
	case errors.As(err, &ape):
		// The fallback route failed because the PAC file could not be
		// had: the PAC file is the cause.
		if ape.Script {
			return CausePACScriptError
		}
		return CausePACUnavailable
	case errors.As(err, &re):
		if re.Revoked {
			return CauseCertRevoked
		}
		return CauseRevocationOffline
	case errors.As(err, &pe):
		return pe.cause()
	case errors.As(err, &de):
		switch {
		case de.ToProxy:
			return CauseProxyUnreachable
		case errors.As(err, &dnse):
			return CauseDNSFailure
		}
		return CauseDirectEgressBlocked
	case isReset(err):
		return CauseConnectionReset
	case isTimeout(err):
		return CauseTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return CauseInterrupted
	case errors.As(err, &rhe), errors.As(err, &me):
		return CauseMalformedResponse
	case errors.As(err, &te):
		// A chain from another issuer than the service's: inspection
		// ended the handshake, whatever it refused.
		if te.Inspection != "" {
			return CauseInspection
		}
		// A certificate error first: it proves the versions were agreed.
		if f, ok := pki.Classify(te.Err, at); ok {
			switch f {
			case pki.Expired:
				return CauseCertExpired
			case pki.NotYetValid:
				return CauseCertNotYetValid
			case pki.WrongHost:
				return CauseCertHostname
			}
			return CauseCertUntrusted
		}
		if te.versionRefused() {
			return CauseTLSVersion
		}
		return CauseTLSHandshake
	case errors.As(err, &he):
		if he.Status >= 500 {
			return CauseServiceError
		}
		return CauseUnexpectedResponse
	}
	return CauseUnexpectedResponse
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
