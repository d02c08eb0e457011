package probe

import (
	"fmt"
	"slices"
	"strings"

	"github.com/egresslab/egresslab/client"
)

// Documented is the verdict on one of the documented network causes of
// "Something went wrong" (Microsoft's "Enable SSPR at the Windows sign-in
// screen", troubleshooting; DOMAIN.md "Documented network causes").
type Documented struct {
	// Name is the documented cause: authenticating-proxy, per-user-proxy,
	// proxy-auto-config, blocked-egress, inspection, tls-version (and cipher suites),
	// certificate, revocation; other holds what none of them names.
	Name string `json:"name" jsonschema:"enum=authenticating-proxy,enum=per-user-proxy,enum=proxy-auto-config,enum=blocked-egress,enum=inspection,enum=tls-version,enum=certificate,enum=revocation,enum=other"`
	// Status is pass, fail (it stops SSPR for the account), warn, or
	// not-checked (revocation without a verified chain, or turned off).
	Status string `json:"status" jsonschema:"enum=pass,enum=fail,enum=warn,enum=not-checked"`
	// Causes are the diagnosis causes found under it, from Verdicts.
	Causes []client.Cause `json:"causes,omitempty"`
	// Detail says what was seen.
	Detail string `json:"detail"`
}

// documentedCauses groups the diagnosis vocabulary under the documented
// causes a network team is asked about.
var documentedCauses = []struct {
	name   string
	causes []client.Cause
	pass   string
}{
	{"authenticating-proxy", []client.Cause{client.CauseProxyAuthRequired, client.CauseProxyAuthBroken},
		"no proxy asked the account to authenticate"},
	{"per-user-proxy", nil, ""},
	{"proxy-auto-config", []client.Cause{client.CausePACUnavailable, client.CausePACScriptError},
		"no PAC file failed (or none is used)"},
	{"blocked-egress", []client.Cause{client.CauseDirectEgressBlocked, client.CauseDNSFailure, client.CauseProxyDenied, client.CauseProxyRefusedRequest,
		client.CauseProxyDNSFailure, client.CauseProxyConnectFailed, client.CauseProxyTimeout, client.CauseProxyGatewayError, client.CauseProxyError,
		client.CauseProxyUnreachable, client.CauseTimeout, client.CauseCDNUnreachable},
		"every required endpoint was reached"},
	{"inspection", []client.Cause{client.CauseInspection, client.CauseConnectionReset, client.CauseInterrupted, client.CauseMalformedResponse,
		client.CauseCertHostname},
		"the chains presented were the service's, and nothing cut the connections"},
	{"tls-version", []client.Cause{client.CauseTLSVersion, client.CauseTLSHandshake}, ""},
	{"certificate", []client.Cause{client.CauseCertUntrusted, client.CauseCertExpired, client.CauseCertNotYetValid},
		"no expired, not yet valid or untrusted certificate of the service was seen"},
	{"revocation", []client.Cause{client.CauseCertRevoked, client.CauseRevocationOffline},
		"OCSP or the CRL answered for every certificate checked"},
	{"other", []client.Cause{client.CauseServiceError, client.CauseUnexpectedResponse, client.CauseCanceled}, "nothing else failed"},
}

// documented fills r.Documented from its verdicts and endpoints.
func documented(r *Report, perUserNote string) {
	for _, d := range documentedCauses {
		out := Documented{Name: d.name, Status: "pass", Detail: d.pass}
		var details []string
		for _, v := range r.Verdicts {
			if !slices.Contains(d.causes, v.Cause) {
				continue
			}
			if !slices.Contains(out.Causes, v.Cause) {
				out.Causes = append(out.Causes, v.Cause)
			}
			if v.Blocking {
				out.Status = "fail"
			} else if out.Status == "pass" {
				out.Status = "warn"
			}
			details = append(details, fmt.Sprintf("%s at %s", v.Cause, v.Endpoint))
		}
		if len(details) > 0 {
			out.Detail = strings.Join(details, "; ")
		}
		switch d.name {
		case "per-user-proxy":
			out.Detail = "the account's proxy source is " + r.ProxySource + ", which applies to it"
			if r.Account == "user" && r.ProxySource == client.SourcePerUser {
				out.Status, out.Detail = "warn", "the user's proxy is a per-user setting: the temporary account at the sign-in screen does not get it (probe --as temporary)"
			}
			if perUserNote != "" {
				out.Status, out.Detail = "warn", perUserNote
				for _, v := range r.Verdicts {
					if v.Blocking && v.Cause == client.CauseDirectEgressBlocked {
						out.Status, out.Causes = "fail", []client.Cause{client.CauseDirectEgressBlocked}
					}
				}
			}
		case "revocation":
			checked := false
			for _, e := range r.Endpoints {
				checked = checked || len(e.Revocation) > 0
			}
			switch {
			case r.Revocation == client.RevocationOff:
				out.Status, out.Detail = "not-checked", "revocation checking is off"
			case !checked && out.Status == "pass":
				out.Status, out.Detail = "not-checked", "no verified chain to check"
			}
		case "tls-version":
			if len(details) == 0 {
				out.Detail = tlsDetail(r)
			} else {
				out.Detail += "; " + tlsDetail(r)
			}
		}
		r.Documented = append(r.Documented, out)
	}
}

// tlsDetail says which versions the portal and the CDN take.
func tlsDetail(r *Report) string {
	var parts []string
	for _, e := range r.Endpoints {
		if e.TLS == nil || (e.Role != RolePortal && e.Role != RoleCDN) {
			continue
		}
		var took []string
		for _, v := range e.TLS.Versions {
			if v.Accepted {
				took = append(took, strings.TrimPrefix(v.Version, "TLS "))
			}
		}
		s := fmt.Sprintf("%s takes TLS %s", e.Host, strings.Join(took, ", "))
		if len(took) == 0 {
			s = e.Host + " took no TLS version"
		}
		if !e.TLS.Windows7Default {
			s += " (not Windows 7's default TLS 1.0)"
		}
		if e.TLS.Inspection != nil {
			s += " as answered by the inspecting device"
		}
		parts = append(parts, s)
	}
	parts = append(parts, "the account offers "+r.TLSOffered)
	return strings.Join(parts, "; ")
}
