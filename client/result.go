package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	CauseProxyDenied         Cause = "proxy-denied"
	CauseProxyError          Cause = "proxy-error"
	CauseProxyUnreachable    Cause = "proxy-unreachable"
	CauseDirectEgressBlocked Cause = "direct-egress-blocked"
	CauseDNSFailure          Cause = "dns-failure"
	CauseConnectionReset     Cause = "connection-reset"
	CauseInterrupted         Cause = "connection-interrupted"
	CauseTimeout             Cause = "timeout"
	CauseMalformedResponse   Cause = "malformed-response"
	CauseTLSVersion          Cause = "tls-version-unsupported"
	CauseTLSHandshake        Cause = "tls-handshake-failed"
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

// remedies holds the documented remedy for each cause, in one sentence.
var remedies = map[Cause]string{
	CauseProxyAuthRequired:   "Let the SSPR hosts (passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com) through the proxy without user authentication, and give the temporary account a proxy it can use: per-machine proxy settings (ProxySettingsPerUser=0) or the Default user profile template.",
	CauseProxyDenied:         "Allow passwordreset.microsoftonline.com, ajax.aspnetcdn.com (TCP 443) and ocsp.digicert.com (TCP 80) in the proxy's access list.",
	CauseProxyError:          "The proxy could not reach the SSPR host or failed itself: check the proxy's upstream path and its logs for this host.",
	CauseProxyUnreachable:    "The configured proxy does not answer: check its address and port in the proxy settings that apply to this account.",
	CauseDirectEgressBlocked: "The account connects directly but the firewall blocks direct egress: configure a proxy the temporary account inherits (per-machine settings or the Default user profile) or allow TCP 443 to the SSPR hosts.",
	CauseDNSFailure:          "The SSPR host name does not resolve: allow DNS resolution of passwordreset.microsoftonline.com and ajax.aspnetcdn.com from the workstation, or use a proxy that resolves them.",
	CauseConnectionReset:     "Something on the path (inspection, antivirus or a firewall) resets the connection: exclude the SSPR hosts from HTTPS inspection.",
	CauseInterrupted:         "Something on the path cuts responses short (inspection or antivirus scanning): exclude the SSPR hosts from inspection and scanning.",
	CauseTimeout:             "The SSPR host did not answer in time: look for a device on the path that holds or drops the connection, or raise the timeout on a slow link.",
	CauseMalformedResponse:   "Something on the path answers with data that is not HTTP or TLS: exclude the SSPR hosts from inspection and check the proxy.",
	CauseTLSVersion:          "The service requires TLS 1.2: enable it on the client (Windows 7/8.1: DefaultSecureProtocols 0xA00 or 0xA80, KB3140245).",
	CauseTLSHandshake:        "The TLS handshake failed: check that nothing on the path alters TLS to the SSPR hosts.",
	CauseCertUntrusted:       "The certificate chains to a root the client does not trust (typically HTTPS inspection): exclude the SSPR hosts from inspection, or deploy the inspection root to the workstation.",
	CauseCertHostname:        "The certificate is for another host name (a captive portal or inspection device answered): exclude the SSPR hosts from interception.",
	CauseCertExpired:         "The certificate has expired, or the workstation clock is ahead: correct the clock or the device that presents the certificate.",
	CauseCertNotYetValid:     "The certificate is not valid yet, or the workstation clock is behind: correct the clock.",
	CauseCertRevoked:         "The certificate presented for the host is revoked: the device that presents it must use a valid certificate.",
	CauseRevocationOffline:   "Revocation could not be checked: allow ocsp.digicert.com (TCP 80) and the CRL hosts through the proxy and firewall, without authentication.",
	CauseCDNUnreachable:      "The portal's script from ajax.aspnetcdn.com could not be loaded: allow ajax.aspnetcdn.com (TCP 443) and exclude it from inspection.",
	CauseServiceError:        "The service answered with a server error: retry later, and check the service health if it persists.",
	CauseUnexpectedResponse:  "The service's answer was not what the flow expects: check what sits between the client and the service.",
	CauseCanceled:            "The run was cancelled before it finished: run it again to learn the cause.",

	CauseThrottled:          "The user reset or tried to verify too often and is blocked for 24 hours: wait, or have an administrator reset the password.",
	CauseWeakPassword:       "Choose a longer password that is not based on banned or guessable words.",
	CauseUserNotFound:       "The user ID is not in the directory: check the spelling of the user principal name.",
	CauseUserDisabled:       "The account is disabled: an administrator must enable it.",
	CauseVerificationFailed: "The verification code or answers were wrong: send a new code and enter it exactly.",
	CauseNoUsableMethod:     "None of the user's registered methods can be used from this client: register a method it supports (the Windows 7 add-in cannot use the Authenticator app).",

	CauseTenantDisabled:     "Enable self-service password reset for the tenant (Entra ID > Password reset > Properties).",
	CauseWritebackDisabled:  "The password is managed on-premises: enable password writeback in Entra Connect, or reset it on-premises.",
	CauseNoPolicy:           "Select a group for self-service password reset, or enable it for all users.",
	CauseUserNotLicensed:    "Assign the user a licence that includes self-service password reset.",
	CauseNotInGroup:         "Add the user to the group enabled for self-service password reset.",
	CauseNotRegistered:      "The user has not registered enough authentication methods: register them at https://aka.ms/ssprsetup.",
	CauseOnPremAdminAction:  "An on-premises policy refused the password (or the account needs an administrator): reset it on-premises or check the writeback account's permissions.",
	CauseOnPremConnectivity: "Entra Connect cannot reach the on-premises directory for writeback: check the Entra Connect server and its connectivity.",
}

// Remedy returns the documented remedy for c in one sentence, or "" for
// success and unknown causes.
func Remedy(c Cause) string { return remedies[c] }

// remedyServerTLS is the remedy for a TLS version refusal when the client
// already offered TLS 1.2: the other side is the old one.
const remedyServerTLS = "The server, or a device on the path that answers for it, offers only TLS versions older than the client accepts: upgrade it or take the SSPR hosts out of its path."

// remedyFor is Remedy, told by the error where it depends on it.
func remedyFor(c Cause, err error) string {
	var te *TLSError
	if c == CauseTLSVersion && errors.As(err, &te) && te.MaxVersion >= tls.VersionTLS12 {
		return remedyServerTLS
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
