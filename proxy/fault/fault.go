// Package fault holds the network faults the forward proxy applies per rule:
// what a broken network, an inspecting proxy or an antivirus does to a
// connection, made observable by a client as the error a real network would
// give (a reset, a truncated response, a timeout, a malformed answer).
//
// A [Spec] names one fault and its parameters, as written in scenario files
// and proxy rules. [Relay] applies it to an established CONNECT tunnel and
// [WrapBody] to a plain-HTTP response body; [ResetConn], [Hold] and
// [MalformedResponse] are the pieces the proxy uses when it answers in place
// of the upstream.
package fault

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/egresslab/egresslab/internal/enum"
)

// Kind names a fault.
type Kind string

// The fault kinds.
const (
	// Reset resets the connection (TCP RST): SO_LINGER 0, then close.
	Reset Kind = "reset"
	// CloseAfter cuts the response stream (FIN) after Spec.Bytes bytes
	// from upstream.
	CloseAfter Kind = "close-after"
	// Latency waits Spec.Delay before each chunk from upstream, as
	// Toxiproxy's latency toxic.
	Latency Kind = "latency"
	// Bandwidth lets at most Spec.Rate bytes per second through from
	// upstream.
	Bandwidth Kind = "bandwidth"
	// Stall accepts, then does nothing: never a byte, never a close,
	// until the client gives up.
	Stall Kind = "stall"
	// Status answers with the HTTP error status Spec.Status (502, 503 or
	// 504) instead of forwarding.
	Status Kind = "status"
	// Malformed answers with bytes that are not a valid HTTP response
	// ([MalformedResponse]).
	Malformed Kind = "malformed"
)

// kinds lists the valid kinds in the order error messages give them.
var kinds = []Kind{Reset, CloseAfter, Latency, Bandwidth, Stall, Status, Malformed}

// statuses are the answers a Status fault may give: what a proxy says when
// its upstream is broken, unavailable or too slow.
var statuses = []int{502, 503, 504}

// Spec is one fault as configured in scenario files and the proxy's rules.
// Only the field its Kind uses may be set: Bytes for [CloseAfter], Delay for
// [Latency], Rate for [Bandwidth], Status for [Status].
type Spec struct {
	// Kind is the fault.
	Kind Kind `json:"kind" yaml:"kind"`
	// Bytes is how many bytes from upstream reach the client before a
	// CloseAfter cut; 0 cuts before the first byte.
	Bytes int64 `json:"bytes,omitempty" yaml:"bytes,omitempty"`
	// Delay is the Latency fault's wait before each chunk, e.g. "150ms".
	Delay Duration `json:"delay,omitempty" yaml:"delay,omitempty"`
	// Rate is the Bandwidth fault's limit in bytes per second.
	Rate int64 `json:"rate,omitempty" yaml:"rate,omitempty"`
	// Status is the Status fault's HTTP status: 502, 503 or 504.
	Status int `json:"status,omitempty" yaml:"status,omitempty"`
}

// Validate reports why s cannot apply, naming the field: an unknown or
// missing kind, a field the kind does not use, negative bytes, a latency
// without a positive delay, a bandwidth without a positive rate, a status
// other than 502, 503 or 504. All problems are joined in one error.
func (s Spec) Validate() error {
	switch {
	case s.Kind == "":
		return fmt.Errorf("kind: required (one of %s)", kindList())
	case !knownKind(s.Kind):
		return fmt.Errorf("kind: unknown kind %w", enum.Error(s.Kind, kinds))
	}
	var errs []error
	unused := func(field string) {
		errs = append(errs, fmt.Errorf("%s: the %s fault does not use it (only %s does)", field, s.Kind, userOf(field)))
	}
	switch {
	case s.Bytes < 0:
		errs = append(errs, fmt.Errorf("bytes: %d is negative", s.Bytes))
	case s.Bytes != 0 && s.Kind != CloseAfter:
		unused("bytes")
	}
	switch {
	case s.Kind == Latency && s.Delay <= 0:
		errs = append(errs, fmt.Errorf("delay: the latency fault needs a positive delay (e.g. 150ms), got %s", s.Delay))
	case s.Kind != Latency && s.Delay != 0:
		unused("delay")
	}
	switch {
	case s.Kind == Bandwidth && s.Rate <= 0:
		errs = append(errs, fmt.Errorf("rate: the bandwidth fault needs a positive rate in bytes per second, got %d", s.Rate))
	case s.Kind != Bandwidth && s.Rate != 0:
		unused("rate")
	}
	switch {
	case s.Kind == Status && s.Status == 0:
		errs = append(errs, fmt.Errorf("status: required for the status fault (502, 503 or 504)"))
	case s.Kind == Status && !validStatus(s.Status):
		errs = append(errs, fmt.Errorf("status: %d is not one of 502, 503, 504", s.Status))
	case s.Kind != Status && s.Status != 0:
		unused("status")
	}
	return errors.Join(errs...)
}

func knownKind(k Kind) bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

func validStatus(code int) bool {
	for _, v := range statuses {
		if code == v {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// userOf names the kind that uses a field.
func userOf(field string) Kind {
	switch field {
	case "bytes":
		return CloseAfter
	case "delay":
		return Latency
	case "rate":
		return Bandwidth
	default:
		return Status
	}
}

// Duration is a [time.Duration] that reads and writes as text such as
// "150ms" in YAML and JSON.
type Duration time.Duration

// String returns the duration as [time.Duration.String] does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements [encoding.TextMarshaler]: "150ms".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; it accepts what
// [time.ParseDuration] accepts.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, such as 150ms or 2s", text)
	}
	*d = Duration(v)
	return nil
}
