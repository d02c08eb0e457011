// Package ntlm is the server side of NTLM (MS-NLMP) for an HTTP proxy that
// answers 407, or a server that answers 401: it parses NTLM and Negotiate
// authorization values (a raw NTLMSSP message, or one inside SPNEGO), issues
// CHALLENGE messages and verifies NTLMv2 AUTHENTICATE messages.
//
// The handshake is three legs on ONE kept-alive connection:
//
//	client: Proxy-Authorization: NTLM <NEGOTIATE>      -> [ParseAuthorization], [Server.Challenge]
//	proxy:  407 Proxy-Authenticate: NTLM <CHALLENGE>   <- [Header]
//	client: Proxy-Authorization: NTLM <AUTHENTICATE>   -> [ParseAuthorization], [Server.Authenticate]
//
// The caller keeps the [State] returned by [Server.Challenge] with the
// connection (not with the client's address alone, and never across
// connections) and hands it to [Server.Authenticate]; a State is single-use.
//
// Only NTLMv2 is accepted: NTLMv1, NTLM2 session responses and LM responses
// are refused with [ErrNTLMv1], anonymous logons with [ErrAnonymous], and a
// Kerberos token in Negotiate with [ErrKerberos] (the lab has no KDC).
// Session security is not implemented: the CHALLENGE never offers signing,
// sealing or key exchange, and a MIC sent by the client is not verified;
// the lab only needs to know who authenticated.
//
// Every length and offset in a message is checked before use; messages
// above [MaxMessageSize] are refused. Errors never carry a password or a
// hash.
package ntlm
