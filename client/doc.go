// Package client is a Go SSPR client that behaves like the Windows one and
// diagnoses every way the flow fails.
//
// A [Profile] is a Windows client: its OS (which decides the TLS versions
// it offers, with WinHTTP's DefaultSecureProtocols mask and an explicit
// override on top), the account that runs the flow (the signed-in user, or
// the temporary defaultuser1 of the sign-in screen), every place Windows
// keeps proxy settings (per-user, per-machine by policy, the Default user
// profile template, the WinHTTP machine proxy), the signed-in user's proxy
// credentials, and the revocation policy. [Profile.FlowProxy] resolves
// the proxy as Windows does for the account; defaultuser1 never sees the
// signed-in user's per-user settings or credentials.
//
// [Client.Run] loads the portal page, loads the script it references from
// the CDN (checking its Subresource Integrity), checks the revocation of
// the certificates the two hosts presented over OCSP, falling back to their
// CRL distribution points as CryptoAPI does (Go's TLS stack checks none),
// solves the CAPTCHA, begins with the user ID, passes one or two
// verification gates with codes from a [CodeSource], and sets the new
// password. Proxies are spoken to by the client itself: a CONNECT dialer
// that answers 407 with Basic, NTLM or Negotiate (NTLM inside) on the same
// kept-alive connection, and absolute-form requests for plain HTTP (the
// OCSP and CRL fetches).
//
// The [Result] says what the user saw ([Outcome]), why ([Cause]), at which
// [Step] and host, with the underlying error and the documented remedy in
// one sentence. Causes are read from the wire, never from error text: the
// proxy's status and X-Squid-Error ([ProxyError]), the socket error (reset,
// end of stream, timeout), the TLS alert or the version in the server's
// ServerHello ([TLSError]), the certificate verification error, the OCSP
// answer or the CRL ([RevocationError]), the service's status and its SSPR codes.
//
// The client works against any endpoint: [WithPortalURL], [WithRoots] and
// [WithDialer] point it at the lab (whose dialer is its virtual DNS and
// firewall) or at the real service through a real proxy. It never logs or
// records a password, a proxy credential, or a verification code.
package client
