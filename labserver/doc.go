// Package labserver serves a lab to clients outside the Go process: a
// curl, a browser, a test VM, a client in another language. A [Server]
// runs a scenario's lab (package harness) with its proxy on a listener
// that stays across scenario switches, keeps a journal of every proxy
// decision (numbered, streamed as server-sent events), and serves an
// admin API under [APIPrefix] and a dashboard that is a view of it
// ([Server.Handler]). [Client] is the API's typed Go client.
//
// `egresslab serve` is the command line around it.
package labserver
