package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outcome is what the user at the sign-in screen sees.
type Outcome string

// The outcomes, in the project's diagnosis vocabulary.
const (
	OutcomeSuccess            Outcome = "success"
	OutcomeSomethingWentWrong Outcome = "something-went-wrong"
	OutcomeContactAdmin       Outcome = "contact-admin"
	OutcomeNotEnabled         Outcome = "not-enabled"
	OutcomeCouldNotVerify     Outcome = "could-not-verify"
	OutcomeBlocked            Outcome = "blocked"
	OutcomeWeakPassword       Outcome = "weak-password"
)

// Cause is what a network team or an administrator needs to know: why the
// flow ended as it did.
type Cause string

// The causes. The network causes all show the user "Something went wrong";
// the service's own codes (SSPR_0009 ...) are causes too, under their code.
const (
	CauseNone Cause = "" // success

	CauseProxyAuthRequired   Cause = "proxy-auth-required"
	CauseProxyAuthBroken     Cause = "proxy-auth-misconfigured"
	CauseProxyDenied         Cause = "proxy-denied"
	CauseProxyRefusedRequest Cause = "proxy-request-refused"
	CauseProxyDNSFailure     Cause = "proxy-dns-failure"
	CauseProxyConnectFailed  Cause = "proxy-connect-failed"
	CauseProxyTimeout        Cause = "proxy-timeout"
	CauseProxyGatewayError   Cause = "proxy-gateway-error"
	CauseProxyError          Cause = "proxy-error"
	CauseProxyUnreachable    Cause = "proxy-unreachable"
	CauseDirectEgressBlocked Cause = "direct-egress-blocked"
	CauseDNSFailure          Cause = "dns-failure"
	CausePACUnavailable      Cause = "pac-unavailable"
	CausePACScriptError      Cause = "pac-script-error"
	CauseConnectionReset     Cause = "connection-reset"
	CauseInterrupted         Cause = "connection-interrupted"
	CauseTimeout             Cause = "timeout"
	CauseMalformedResponse   Cause = "malformed-response"
	CauseTLSVersion          Cause = "tls-version-unsupported"
	CauseTLSHandshake        Cause = "tls-handshake-failed"
	CauseInspection          Cause = "inspection-handshake-failed"
	CauseCertUntrusted       Cause = "certificate-untrusted"
	CauseCertHostname        Cause = "certificate-hostname-mismatch"
	CauseCertExpired         Cause = "certificate-expired"
	CauseCertNotYetValid     Cause = "certificate-not-yet-valid"
	CauseCertRevoked         Cause = "certificate-revoked"
	CauseRevocationOffline   Cause = "revocation-offline"
	CauseCDNUnreachable      Cause = "cdn-unreachable"
	CauseServiceError        Cause = "service-error"
	CauseUnexpectedResponse  Cause = "unexpected-response"
	CauseCanceled            Cause = "canceled"

	// Service-side causes without an SSPR_ code of their own.
	CauseThrottled          Cause = "throttled"
	CauseWeakPassword       Cause = "weak-password"
	CauseUserNotFound       Cause = "user-not-found"
	CauseUserDisabled       Cause = "user-disabled"
	CauseVerificationFailed Cause = "verification-failed"
	CauseNoUsableMethod     Cause = "no-usable-method"

	CauseTenantDisabled     Cause = "SSPR_0009"
	CauseWritebackDisabled  Cause = "SSPR_0010"
	CauseNoPolicy           Cause = "SSPR_0011"
	CauseUserNotLicensed    Cause = "SSPR_0012"
	CauseNotInGroup         Cause = "SSPR_0013"
	CauseNotRegistered      Cause = "SSPR_0014"
	CauseOnPremAdminAction  Cause = "SSPR_0029"
	CauseOnPremConnectivity Cause = "SSPR_0030"
)

// Remedy returns the documented remedy for c in one sentence, or "" for
// success and unknown causes.
func Remedy(c Cause) string { return remedies[c] }

// remedies indexes the vocabulary's remedies by cause.
var remedies = func() map[Cause]string {
	m := make(map[Cause]string, len(vocabulary))
	for _, e := range vocabulary {
		m[e.Cause] = e.Remedy
	}
	return m
}()

// remedyServerTLS is the remedy for a TLS version refusal when the client
// already offered TLS 1.2: the other side is the old one.
const remedyServerTLS = "The server, or a device on the path that answers for it, offers only TLS versions older than the client accepts: upgrade it or take the SSPR hosts out of its path."

// remedyNoSuiteForKey is the remedy for a handshake_failure alert when
// none of the client's cipher suites is for the server's key.
const remedyNoSuiteForKey = "The client's cipher suite policy has no suite for the key type of the server's certificate, so the server refused the handshake (alert handshake_failure, 40): add suites for it to the client's policy (Group Policy SSL Cipher Suite Order: TLS_ECDHE_ECDSA_* for an ECDSA certificate, TLS_ECDHE_RSA_* for an RSA one), or give the server a certificate of a key type the client's suites cover."

// remedyHandshakeFailure is the remedy for any other handshake_failure
// alert.
const remedyHandshakeFailure = "The server found nothing in common with the client's TLS offer (alert handshake_failure, 40: no cipher suite, curve or signature algorithm): compare the client's cipher suite policy (Group Policy SSL Cipher Suite Order) with what the server, or the device that answers for it, accepts."

// remedyFor is Remedy, told by the error where it depends on it.
func remedyFor(c Cause, err error) string {
	var te *TLSError
	switch {
	case c == CauseTLSVersion && errors.As(err, &te) && te.MaxVersion >= tls.VersionTLS12:
		return remedyServerTLS
	case c == CauseTLSHandshake && errors.As(err, &te) && te.NoSuiteForKey:
		return remedyNoSuiteForKey
	case c == CauseTLSHandshake && errors.As(err, &te) && te.handshakeFailure():
		return remedyHandshakeFailure
	}
	return Remedy(c)
}

// Step is a step of the flow.
type Step string

// The flow's steps, in order.
const (
	StepPage       Step = "page"       // load the portal page
	StepCDN        Step = "cdn"        // load the script the page references
	StepRevocation Step = "revocation" // check the certificates seen so far
	StepCaptcha    Step = "captcha"    // get the CAPTCHA
	StepBegin      Step = "begin"      // submit the user ID
	StepVerify     Step = "verify"     // pass a verification gate (Gate says which)
	StepPassword   Step = "password"   // set the new password
	StepDone       Step = "done"       // the flow finished
)

// Result is the client's diagnosis of one run of the flow.
type Result struct {
	// Outcome is what the user saw.
	Outcome Outcome `json:"outcome"`
	// Cause is why; empty on success.
	Cause Cause `json:"cause,omitempty"`
	// Step is where the flow ended: StepDone on success, else the step
	// that failed; Gate is the verification gate (1 or 2) at StepVerify.
	Step Step `json:"step"`
	Gate int  `json:"gate,omitempty"`
	// Host is the host the failed step talked to.
	Host string `json:"host,omitempty"`
	// Code is the service's error code, when it gave one.
	Code string `json:"code,omitempty"`
	// Message is the screen's text.
	Message string `json:"message,omitempty"`
	// Remedy is the documented remedy for Cause, in one sentence.
	Remedy string `json:"remedy,omitempty"`
	// Err is the underlying error; nil on success and for the service's
	// own refusals.
	Err error `json:"-"`
	// Error is Err's text, for reports.
	Error string `json:"error,omitempty"`
	// Proxy is the proxy the flow used ("" for direct) and ProxySource
	// the setting it came from (per-machine, per-user, default-profile,
	// winhttp or none).
	Proxy       string `json:"proxy,omitempty"`
	ProxySource string `json:"proxySource"`
	// AutoProxy is what proxy auto-configuration (WPAD, a PAC file) did,
	// when the settings that apply use it; nil otherwise.
	AutoProxy *AutoProxy `json:"autoProxy,omitempty"`
	// ProxyAuth is the scheme the client authenticated to the proxy
	// with, if it did.
	ProxyAuth string `json:"proxyAuth,omitempty"`
	// TLSVersion is the version negotiated with the portal.
	TLSVersion string `json:"tlsVersion,omitempty"`
	// Methods are the verification methods used, in order.
	Methods []string `json:"methods,omitempty"`
	// CorrelationID is the flow's correlation id in the audit log.
	CorrelationID string `json:"correlationId,omitempty"`
	// Warnings note what went wrong without ending the flow (a
	// soft-failed revocation check).
	Warnings []string `json:"warnings,omitempty"`
	// RevocationSource is where the revocation checks got their answers:
	// "ocsp", "crl", or "ocsp,crl" when the certificates' answers came
	// from both; empty when no check was made or none had an answer.
	RevocationSource string `json:"revocationSource,omitempty"`
	// RevocationDuration is how long the revocation step took, every
	// fetch of every certificate included: a slow responder or CRL host
	// delays the flow by as much.
	RevocationDuration time.Duration `json:"revocationDuration,omitempty"`
}

// addRevocationSource records that source ("" for none) answered a
// revocation check.
func (r *Result) addRevocationSource(source string) {
	if source == "" {
		return
	}
	have := strings.Split(r.RevocationSource, ",")
	var out []string
	for _, s := range []string{SourceOCSP, SourceCRL} {
		if s == source || slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	r.RevocationSource = strings.Join(out, ",")
}

// OK reports whether the reset went through.
func (r *Result) OK() bool { return r.Outcome == OutcomeSuccess }

// String is a one-line summary: outcome, cause, step and host.
func (r *Result) String() string {
	if r.OK() {
		return "success"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s at step %s", r.Outcome, r.Cause, r.Step)
	if r.Gate > 0 {
		fmt.Fprintf(&b, " (gate %d)", r.Gate)
	}
	if r.Host != "" {
		fmt.Fprintf(&b, " (%s)", r.Host)
	}
	if r.Err != nil {
		fmt.Fprintf(&b, ": %v", r.Err)
	}
	return b.String()
}

// Outcomes lists every outcome.
func Outcomes() []Outcome {
	return []Outcome{OutcomeSuccess, OutcomeSomethingWentWrong, OutcomeContactAdmin, OutcomeNotEnabled,
		OutcomeCouldNotVerify, OutcomeBlocked, OutcomeWeakPassword}
}

// Causes lists every cause the client gives, CauseNone excepted.
func Causes() []Cause {
	out := make([]Cause, 0, len(remedies))
	for c := range remedies {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
