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
// (the signed-in user's per-user settings never apply to defaultuser1); a
// PAC script (package pac), whose result's entries are tried in order as
// WinHTTP does, the next only when the proxy cannot be connected to; and
// the system's settings ([SystemSources]: the environment on Linux, the
// WinINet and WinHTTP registry settings on Windows through [Registry]).
package probe
