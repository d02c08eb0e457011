package labserver

import (
	"errors"
	"net"
	"sync"
	"time"
)

// handoff keeps the proxy's listening socket across scenario switches: it
// accepts on the front listener and hands each connection to the lane of
// the lab in force, whose proxy serves it as its own (the client's
// address stays the real one). A lab closing closes its lane; a
// connection offered to a lane that closed meanwhile goes to the next.
type handoff struct {
	front  net.Listener
	mu     sync.Mutex
	cur    *laneListener
	closed chan struct{}
	once   sync.Once
}

func newHandoff(front net.Listener) *handoff {
	return &handoff{front: front, closed: make(chan struct{})}
}

// newLane makes a listener for a lab's proxy, not yet in use.
func (h *handoff) newLane() *laneListener {
	return &laneListener{addr: h.front.Addr(), ch: make(chan net.Conn), done: make(chan struct{})}
}

// use makes l the lane new connections go to.
func (h *handoff) use(l *laneListener) {
	h.mu.Lock()
	h.cur = l
	h.mu.Unlock()
}

// run accepts until the front listener closes, backing off on temporary
// errors (a full descriptor table) as net/http's server does.
func (h *handoff) run() {
	var delay time.Duration
	for {
		c, err := h.front.Accept()
		if err != nil {
			select {
			case <-h.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
			case <-h.closed:
				return
			}
			continue
		}
		delay = 0
		h.deliver(c)
	}
}

func (h *handoff) deliver(c net.Conn) {
	for {
		h.mu.Lock()
		l := h.cur
		h.mu.Unlock()
		if l == nil {
			c.Close()
			return
		}
		select {
		case l.ch <- c:
			return
		case <-h.closed:
			c.Close()
			return
		case <-l.done:
			h.mu.Lock()
			same := h.cur == l
			h.mu.Unlock()
			if same { // no lab takes connections any more
				c.Close()
				return
			}
		}
	}
}

// close stops accepting; connections already handed over stay with
// their lab.
func (h *handoff) close() {
	h.once.Do(func() {
		close(h.closed)
		h.front.Close()
	})
}

// laneListener is one lab's side of the handoff: a net.Listener whose
// connections come from the front listener.
type laneListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *laneListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *laneListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *laneListener) Addr() net.Addr { return l.addr }
