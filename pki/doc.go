// Package pki is the lab's public key infrastructure: a certificate authority
// that issues leaf certificates for the lab's virtual hosts, the certificate
// faults the lab reproduces (expired, not yet valid, wrong host, self-signed,
// chained to an untrusted root, revoked), an interception root that mints a
// certificate for any host on the fly (what an antivirus or an inspecting
// proxy does), and signed OCSP responses for the certificates it issued.
//
// An [Authority] holds three roots:
//   - the lab root, which clients trust ([Authority.Root]), and under it
//     the issuing CA ([Authority.Issuing]), an intermediate that signs the
//     lab's leaves and that servers send along with them, as public CAs'
//     leaves are served; it is made anew with every Authority, never
//     saved: trust is anchored in the root;
//   - a second, untrusted root, for certificates "chained to a root the client
//     does not trust" ([Authority.Untrusted]);
//   - the interception root ([Authority.Interception]), which clients trust
//     only when a scenario says they do.
//
// [New] keeps everything in memory, and nothing is written to disk unless
// asked for ([CA.WritePEM]). [Open] keeps the three roots and their keys
// in a directory instead, so that a lab served again has the same roots
// and a browser or a VM trusts it once. Leaf and intermediate certificates carry an OCSP URL (AIA) that points at
// the lab's responder, http://ocsp.digicert.com by default, which the lab
// resolves to its own loopback listener.
package pki
