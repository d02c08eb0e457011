// Package mock holds the lab's mock services, each an http.Handler on
// gorilla/mux:
//
//   - the SSPR service of passwordreset.microsoftonline.com ([Service]): one
//     flow engine behind an HTML portal at /n/passwordreset and a JSON API
//     under /n/passwordreset/api/, with a directory of tenants and users, an
//     outbox of the codes it sends, a simulated authenticator app, an audit
//     log, throttling on a clock the lab controls, and an admin API on a
//     handler of its own ([Service.AdminHandler]);
//   - the CDN of ajax.aspnetcdn.com ([CDN]), which serves the portal's script;
//   - the OCSP responder of ocsp.digicert.com ([OCSPResponder]), which answers
//     for the certificates the lab's pki.Authority issued.
//
// A service keeps bounded state however long it runs: flows, unused
// captchas, outbox messages and audit entries up to the limits of its
// [Retention], the oldest going first, and ended flows for an hour;
// [Service.Stats] counts what it keeps and what it let go. No call walks
// everything the service ever held.
//
// No password, verification code or security answer is ever logged or
// recorded: the log (a debug line per flow call), the audit log, the admin
// API's views and every error message leave them out. Only the outbox
// holds codes: it stands for the user's mailbox and phone.
package mock
