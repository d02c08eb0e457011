// Package vhost serves the lab's virtual hosts: each one an HTTPS server on
// an ephemeral loopback port, restricted to a range of TLS versions and
// serving one certificate (usually from package pki, faults included).
//
// It follows net/http/httptest: a [Server] has exported fields (URL,
// Listener, TLS, Config), [New] returns a server that is already listening,
// [NewUnstarted] and [Server.Start] let a caller adjust the TLS
// configuration first, and [Server.Close] may be called more than once.
// Unlike httptest it returns errors instead of panicking, supports TLS 1.0
// and 1.1 when a range asks for them, and reports every handshake to an
// observer, so that a test can assert what the server saw ("the client
// offered only TLS 1.0") as well as what the client got.
package vhost
