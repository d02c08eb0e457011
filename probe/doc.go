// Package probe checks, from the machine it runs on, what the Microsoft
// Entra self-service password reset (SSPR) flow at the Windows sign-in
// screen needs from the network, for the account it imitates: the
// temporary account defaultuser1 (no proxy credentials) or the signed-in
// user (with them). It never resets a password.
//
// For each endpoint of [Endpoints] (and [ExtendedEndpoints] on request) it
// reports the DNS answer (or that the proxy resolves the name), TCP
// reach (directly or through which proxy), the proxy's answer to CONNECT
// (status, Proxy-Authenticate schemes, X-Squid-Error), the TLS versions
// accepted (one handshake per version, TLS 1.0 to 1.3: does it take 1.2,
// what Windows 7's default of TLS 1.0 gets), the imitated client's own
// handshake with the chain presented and an inspection verdict (an issuer
// that is not the service's), the OCSP (RFC 6960) and CRL (RFC 5280)
// fetches for the portal's and the CDN's chains, and whether the portal's
// page loads its CDN script with its Subresource Integrity.
//
// Then it gives a verdict per cause, in the vocabulary of package client
// ([client.Cause], [client.Remedy]), read from the wire by
// [client.Diagnose] over the client's own error types: the probe and the
// client share one dialer, one proxy authentication, one TLS diagnosis
// and one revocation check (client.Net).
//
// Proxy sources are those of Windows: a client.ProxySources, of which
// client.Profile.FlowProxy picks the one that applies to the account
// (the signed-in user's per-user settings never apply to defaultuser1),
// and whose automatic configuration is followed as WinINet does (WPAD's
// DNS discovery from the profile's DNS suffix, then the AutoConfigURL;
// fetched directly; a PAC file that cannot be had, or whose script fails,
// leaves the static settings in force, and their failure is then
// diagnosed pac-unavailable or pac-script-error); a PAC script given
// directly (Config.PAC); a proxy given directly (Config.Proxy); and the
// system's settings ([SystemSources]: the environment on Linux, the
// WinINet and WinHTTP registry settings on Windows through [Registry]).
// A PAC result's entries are tried in order as WinHTTP does, the next
// only when the proxy cannot be connected to; each endpoint's [Route]
// says which entry was used and why the others were passed over.
//
// Revocation is checked as CryptoAPI does for a TLS server (every
// certificate of the verified chain but the root; OCSP first, the CRL
// when OCSP gives no answer), through WinHTTP's proxy when one is set.
// Under soft-fail (Windows' default) a status that cannot be learnt is a
// warning; under hard-fail it stops the flow; "revoked" always does.
//
// In tests everything is injected: the dialer, the resolver, the roots,
// the service's issuers, the clock, connect-to overrides and the
// timeouts. The package never reaches the system's resolver or network
// unless Config leaves Dial or Resolver nil.
package probe
