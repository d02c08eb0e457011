// Package tlsalert names TLS alerts (RFC 5246 section 7.2, RFC 8446 section 6)
// and recovers the alert a peer sent from the error crypto/tls returns.
//
// crypto/tls reports an alert received from the peer as a *net.OpError whose
// Op is "remote error" and whose Err is an unexported uint8 type; its text
// ("tls: protocol version not supported") is meant for people. [FromError]
// returns the alert number instead, so that a diagnosis never matches error
// text.
package tlsalert

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"reflect"
)

// Alert is a TLS alert description code.
type Alert uint8

// The alerts the lab produces or diagnoses. Names follow the RFCs.
const (
	CloseNotify            Alert = 0
	UnexpectedMessage      Alert = 10
	BadRecordMAC           Alert = 20
	HandshakeFailure       Alert = 40
	BadCertificate         Alert = 42
	UnsupportedCertificate Alert = 43
	CertificateRevoked     Alert = 44
	CertificateExpired     Alert = 45
	CertificateUnknown     Alert = 46
	IllegalParameter       Alert = 47
	UnknownCA              Alert = 48
	DecodeError            Alert = 50
	DecryptError           Alert = 51
	ProtocolVersion        Alert = 70
	InsufficientSecurity   Alert = 71
	InternalError          Alert = 80
	InappropriateFallback  Alert = 86
	MissingExtension       Alert = 109
	UnrecognizedName       Alert = 112
	NoApplicationProtocol  Alert = 120
)

var names = map[Alert]string{
	CloseNotify:            "close_notify",
	UnexpectedMessage:      "unexpected_message",
	BadRecordMAC:           "bad_record_mac",
	HandshakeFailure:       "handshake_failure",
	BadCertificate:         "bad_certificate",
	UnsupportedCertificate: "unsupported_certificate",
	CertificateRevoked:     "certificate_revoked",
	CertificateExpired:     "certificate_expired",
	CertificateUnknown:     "certificate_unknown",
	IllegalParameter:       "illegal_parameter",
	UnknownCA:              "unknown_ca",
	DecodeError:            "decode_error",
	DecryptError:           "decrypt_error",
	ProtocolVersion:        "protocol_version",
	InsufficientSecurity:   "insufficient_security",
	InternalError:          "internal_error",
	InappropriateFallback:  "inappropriate_fallback",
	MissingExtension:       "missing_extension",
	UnrecognizedName:       "unrecognized_name",
	NoApplicationProtocol:  "no_application_protocol",
}

// String returns the RFC name of the alert, for example "protocol_version(70)".
func (a Alert) String() string {
	if n, ok := names[a]; ok {
		return fmt.Sprintf("%s(%d)", n, uint8(a))
	}
	return fmt.Sprintf("alert(%d)", uint8(a))
}

// FromError reports the alert that the peer sent, if err (or an error it
// wraps) is crypto/tls's report of a received alert. It returns false for
// every other error, including alerts this side sent.
func FromError(err error) (Alert, bool) {
	var ae tls.AlertError // QUIC transports and some wrappers use the exported type
	if errors.As(err, &ae) {
		return Alert(ae), true
	}
	var op *net.OpError
	for e := err; errors.As(e, &op); e = op.Err {
		if op.Op == "remote error" && op.Err != nil {
			v := reflect.ValueOf(op.Err)
			t := v.Type()
			if t.PkgPath() == "crypto/tls" && t.Kind() == reflect.Uint8 {
				return Alert(v.Uint()), true
			}
		}
		if op.Err == nil {
			break
		}
	}
	return 0, false
}
