//go:build linux

package fault

import (
	"encoding/binary"
	"errors"
	"net"
	"syscall"
)

// TCP states from the kernel's tcp_states.h in which the peer has sent its
// FIN or the connection is gone.
const (
	tcpTimeWait  = 6
	tcpClose     = 7
	tcpCloseWait = 8
	tcpLastAck   = 9
	tcpClosing   = 11
)

// waitPeerGone returns when c's peer has closed or reset the connection, or
// when a read deadline or Close wakes it, without consuming a byte: the
// runtime poller says when something arrived, MSG_PEEK tells data from a
// FIN, and TCP_INFO finds a FIN queued behind unread data.
func waitPeerGone(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		discardUntilGone(c)
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		discardUntilGone(c)
		return
	}
	var one [1]byte
	// The error is a deadline (ctx done) or a closed connection: either
	// way the wait is over.
	_ = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			return false // nothing yet: wait for the poller
		case err != nil:
			return true // reset, or another error: the peer is gone
		case n == 0:
			return true // FIN with nothing before it
		}
		return peerClosed(int(fd))
	})
}

// peerClosed reports whether the TCP connection on fd has received its
// peer's FIN or a reset, whatever data is still unread.
func peerClosed(fd int) bool {
	// The kernel copies as much of struct tcp_info as asked for; its first
	// byte is the state.
	v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_INFO)
	if err != nil {
		return false // not TCP: only the next event can tell
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	switch b[0] {
	case tcpTimeWait, tcpClose, tcpCloseWait, tcpLastAck, tcpClosing:
		return true
	}
	return false
}
