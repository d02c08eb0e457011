package client

// CauseInfo is an entry of the diagnosis vocabulary: a cause, what on the
// wire (or in the service's answer) names it, what the user sees, and the
// remedy in one sentence.
type CauseInfo struct {
	Cause Cause
	// ReadFrom says what the client reads to name the cause.
	ReadFrom string
	// Outcome is what the user at the sign-in screen sees.
	Outcome Outcome
	// Remedy is the documented remedy ([Remedy]).
	Remedy string
}

// Vocabulary returns the diagnosis vocabulary, one entry per cause, in the
// order the README's diagnosis table lists them (a test checks that
// table against it).
func Vocabulary() []CauseInfo { return append([]CauseInfo(nil), vocabulary...) }

// vocabulary is written down once: Remedy, Causes and the README's
// diagnosis table come from it.
var vocabulary = []CauseInfo{
	{CauseProxyAuthRequired, "the proxy's 407 with a `Proxy-Authenticate` challenge, on CONNECT or plain HTTP", OutcomeSomethingWentWrong,
		"Let the SSPR hosts (passwordreset.microsoftonline.com, ajax.aspnetcdn.com, ocsp.digicert.com) through the proxy without user authentication, and give the temporary account a proxy it can use: per-machine proxy settings (ProxySettingsPerUser=0) or the Default user profile template."},
	{CauseProxyAuthBroken, "the proxy's 401, or a 407 without `Proxy-Authenticate`", OutcomeSomethingWentWrong,
		"The proxy asks for authentication in a way no client can answer (401, which is for web servers, or 407 without Proxy-Authenticate): correct the proxy's authentication settings, and let the SSPR hosts through without user authentication."},
	{CauseProxyDenied, "the proxy's 403", OutcomeSomethingWentWrong,
		"Allow passwordreset.microsoftonline.com, ajax.aspnetcdn.com (TCP 443) and ocsp.digicert.com (TCP 80) in the proxy's access list."},
	{CauseProxyRefusedRequest, "the proxy's 400 or 405", OutcomeSomethingWentWrong,
		"The proxy refused the form of the request itself (400 or 405: its request checks, or CONNECT not allowed to port 443): allow CONNECT to port 443 and plain GET to port 80 for the SSPR hosts in the proxy, and check its request filtering."},
	{CauseProxyDNSFailure, "`X-Squid-Error: ERR_DNS_FAIL`", OutcomeSomethingWentWrong,
		"The proxy cannot resolve the SSPR host (ERR_DNS_FAIL): fix the proxy's own DNS servers or forwarders so that passwordreset.microsoftonline.com, ajax.aspnetcdn.com and ocsp.digicert.com resolve from the proxy."},
	{CauseProxyConnectFailed, "`X-Squid-Error: ERR_CONNECT_FAIL` with an errno other than 110 (111: refused)", OutcomeSomethingWentWrong,
		"The proxy cannot connect to the SSPR host (ERR_CONNECT_FAIL: refused or unreachable): allow the proxy's own egress to the SSPR hosts (TCP 443, and 80 for OCSP) at the perimeter firewall, or fix its route or parent proxy."},
	{CauseProxyTimeout, "the proxy's 504, `ERR_CONNECT_FAIL 110` or `ERR_READ_TIMEOUT`", OutcomeSomethingWentWrong,
		"The proxy timed out reaching the SSPR host (504, ERR_CONNECT_FAIL 110, ERR_READ_TIMEOUT): look beyond the proxy for a device that drops its packets to the SSPR hosts, or a route that leads nowhere."},
	{CauseProxyGatewayError, "a 502 or 503 without `X-Squid-Error` (another product: its `Via`, `X-Cache` and `Server` go into the message)", OutcomeSomethingWentWrong,
		"A proxy that is not Squid (the message names it by its Via, X-Cache or Server header) could not serve the SSPR host and did not say why: look the host up in that product's own log (its DNS, its connection, its TLS to the host)."},
	{CauseProxyError, "any other refusal of the proxy (another Squid error id such as `ERR_READ_ERROR`, another status)", OutcomeSomethingWentWrong,
		"The proxy could not reach the SSPR host or failed itself: check the proxy's upstream path and its logs for this host."},
	{CauseProxyUnreachable, "the failed dial to the proxy", OutcomeSomethingWentWrong,
		"The configured proxy does not answer: check its address and port in the proxy settings that apply to this account."},
	{CauseDirectEgressBlocked, "the failed direct dial to the host (refused, unreachable)", OutcomeSomethingWentWrong,
		"The account connects directly but the firewall blocks direct egress: configure a proxy the temporary account inherits (per-machine settings or the Default user profile) or allow TCP 443 to the SSPR hosts."},
	{CauseDNSFailure, "the workstation's resolver", OutcomeSomethingWentWrong,
		"The SSPR host name does not resolve: allow DNS resolution of passwordreset.microsoftonline.com and ajax.aspnetcdn.com from the workstation, or use a proxy that resolves them."},
	{CausePACUnavailable, "the failed download (or compilation) of the PAC file (fetched directly, without a proxy), then a failed connection on the fallback route (the static proxy, or DIRECT)", OutcomeSomethingWentWrong,
		"The proxy auto-config file cannot be fetched at the sign-in screen (it is fetched directly, before any VPN user tunnel is up): serve it from a host the workstation reaches directly and anonymously, or give the temporary account a static per-machine proxy."},
	{CausePACScriptError, "an exception, a time-out or an unusable answer (no PROXY or DIRECT entry) from the PAC script's FindProxyForURL for the request's URL, then a failed connection on the fallback route", OutcomeSomethingWentWrong,
		"The proxy auto-config script fails (it throws, loops, or answers no PROXY or DIRECT entry): evaluate FindProxyForURL for the SSPR URLs (egresslab probe --pac FILE) and fix the script."},
	{CauseConnectionReset, "ECONNRESET", OutcomeSomethingWentWrong,
		"Something on the path (inspection, antivirus or a firewall) resets the connection: exclude the SSPR hosts from HTTPS inspection."},
	{CauseInterrupted, "EOF or unexpected EOF", OutcomeSomethingWentWrong,
		"Something on the path cuts responses short (inspection or antivirus scanning): exclude the SSPR hosts from inspection and scanning."},
	{CauseTimeout, "a deadline", OutcomeSomethingWentWrong,
		"The SSPR host did not answer in time: look for a device on the path that holds or drops the connection, or raise the timeout on a slow link."},
	{CauseMalformedResponse, "a proxy answer that is not HTTP, a TLS record that is not TLS", OutcomeSomethingWentWrong,
		"Something on the path answers with data that is not HTTP or TLS: exclude the SSPR hosts from inspection and check the proxy."},
	{CauseTLSVersion, "the `protocol_version` alert (70), or the version in the server's ServerHello below the client's minimum (Go reports that refusal only as text, so the client watches the ServerHello); the remedy points at the client when it offered less than TLS 1.2, else at the server or the device that answers for it", OutcomeSomethingWentWrong,
		"The service requires TLS 1.2: enable it on the client (Windows 7/8.1: DefaultSecureProtocols 0xA00 or 0xA80, KB3140245)."},
	{CauseTLSHandshake, "any other failed handshake; after the `handshake_failure` alert (40) the client makes one more handshake offering every suite it knows, only to see the certificate: the message names its key type, and the remedy points at the client's cipher suite policy (or the server's key type) when none of the suites offered is for that key, else at comparing the two sides' TLS settings", OutcomeSomethingWentWrong,
		"The TLS handshake failed: check that nothing on the path alters TLS to the SSPR hosts."},
	{CauseInspection, "a failed handshake (an unknown authority, the version refusal of a client that offered TLS 1.2 or more, or a `handshake_failure` alert) whose certificate chain none of the service's CAs issued (`WithServiceIssuers`): the chain of the failure, or after a refusal the chain of one more handshake that offers TLS 1.0 to 1.3 and every suite only to see it", OutcomeSomethingWentWrong,
		"HTTPS inspection on the path ended the handshake (the certificate it showed is not from the service's CA): exclude passwordreset.microsoftonline.com, ajax.aspnetcdn.com and ocsp.digicert.com from inspection; an inspection that must stay needs its root deployed to the workstation and the client's TLS versions accepted."},
	{CauseCertUntrusted, "the x509 verification error (`pki.Classify`): an unknown authority that is one of the service's CAs, or a self-signed certificate", OutcomeSomethingWentWrong,
		"The certificate chains to a root the client does not trust: update the workstation's trusted root certificates (the service's roots, such as DigiCert Global Root G2), or find the device that presents a self-signed certificate for the host."},
	{CauseCertHostname, "the x509 verification error: another host name", OutcomeSomethingWentWrong,
		"The certificate is for another host name (a captive portal or inspection device answered): exclude the SSPR hosts from interception."},
	{CauseCertExpired, "the x509 verification error: expired at the time of the request", OutcomeSomethingWentWrong,
		"The certificate has expired, or the workstation clock is ahead: correct the clock or the device that presents the certificate."},
	{CauseCertNotYetValid, "the x509 verification error: not yet valid at the time of the request", OutcomeSomethingWentWrong,
		"The certificate is not valid yet, or the workstation clock is behind: correct the clock."},
	{CauseCertRevoked, "the OCSP answer, or the CRL when OCSP gave none, says revoked, for the host's certificate or an intermediate in its chain (even under soft-fail)", OutcomeSomethingWentWrong,
		"The certificate presented for the host, or the issuing CA certificate in its chain, is revoked: the device that presents it must use a valid certificate and chain."},
	{CauseRevocationOffline, "no usable OCSP answer and no usable CRL under hard-fail (a warning under soft-fail)", OutcomeSomethingWentWrong,
		"Revocation could not be checked over OCSP nor from a CRL: allow ocsp.digicert.com and the CRL hosts crl3.digicert.com and crl4.digicert.com (TCP 80) through the proxy and firewall, without authentication."},
	{CauseCDNUnreachable, "the CDN answered without the script (status, integrity)", OutcomeSomethingWentWrong,
		"The portal's script from ajax.aspnetcdn.com could not be loaded: allow ajax.aspnetcdn.com (TCP 443) and exclude it from inspection."},
	{CauseServiceError, "a 5xx from the service", OutcomeSomethingWentWrong,
		"The service answered with a server error: retry later, and check the service health if it persists."},
	{CauseUnexpectedResponse, "any other answer the flow cannot use", OutcomeSomethingWentWrong,
		"The service's answer was not what the flow expects: check what sits between the client and the service."},
	{CauseCanceled, "the caller's context cancelled", OutcomeSomethingWentWrong,
		"The run was cancelled before it finished: run it again to learn the cause."},
	{CauseTenantDisabled, "the service's code SSPR_0009", OutcomeNotEnabled,
		"Enable self-service password reset for the tenant (Entra ID > Password reset > Properties)."},
	{CauseWritebackDisabled, "the service's code SSPR_0010", OutcomeContactAdmin,
		"The password is managed on-premises: enable password writeback in Entra Connect, or reset it on-premises."},
	{CauseNoPolicy, "the service's code SSPR_0011", OutcomeNotEnabled,
		"Select a group for self-service password reset, or enable it for all users."},
	{CauseUserNotLicensed, "the service's code SSPR_0012", OutcomeNotEnabled,
		"Assign the user a licence that includes self-service password reset."},
	{CauseNotInGroup, "the service's code SSPR_0013", OutcomeNotEnabled,
		"Add the user to the group enabled for self-service password reset."},
	{CauseNotRegistered, "the service's code SSPR_0014", OutcomeCouldNotVerify,
		"The user has not registered enough authentication methods: register them at https://aka.ms/ssprsetup."},
	{CauseOnPremAdminAction, "the service's code SSPR_0029", OutcomeContactAdmin,
		"An on-premises policy refused the password (or the account needs an administrator): reset it on-premises or check the writeback account's permissions."},
	{CauseOnPremConnectivity, "the service's code SSPR_0030", OutcomeContactAdmin,
		"Entra Connect cannot reach the on-premises directory for writeback: check the Entra Connect server and its connectivity."},
	{CauseUserNotFound, "the service's code UserNotFound", OutcomeCouldNotVerify,
		"The user ID is not in the directory: check the spelling of the user principal name."},
	{CauseUserDisabled, "the service's code UserDisabled", OutcomeContactAdmin,
		"The account is disabled: an administrator must enable it."},
	{CauseThrottled, "the service's outcome blocked", OutcomeBlocked,
		"The user reset or tried to verify too often and is blocked for 24 hours: wait, or have an administrator reset the password."},
	{CauseWeakPassword, "the service's outcome weak-password", OutcomeWeakPassword,
		"Choose a longer password that is not based on banned or guessable words."},
	{CauseVerificationFailed, "a wrong code or answer, a failed CAPTCHA, no code source", OutcomeCouldNotVerify,
		"The verification code or answers were wrong: send a new code and enter it exactly."},
	{CauseNoUsableMethod, "no offered method the profile allows", OutcomeCouldNotVerify,
		"None of the user's registered methods can be used from this client: register a method it supports (the Windows 7 add-in cannot use the Authenticator app)."},
}
