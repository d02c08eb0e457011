//go:build !linux

package fault

import "net"

// waitPeerGone returns when c's peer has closed the connection, or when a
// read deadline or Close wakes it. Outside Linux it reads and discards:
// the peer still sees nothing, but its data is consumed.
func waitPeerGone(c net.Conn) {
	discardUntilGone(c)
}
