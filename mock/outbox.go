package mock

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"
)

// Message is a verification message the service sent: an email, a text
// message or a voice call. The outbox stands for the user's mailbox and
// phone, so it holds the code; nothing else in the service does.
type Message struct {
	ID      int       `json:"id"`
	Time    time.Time `json:"time"`
	Channel Method    `json:"channel"` // email, sms or voice
	UPN     string    `json:"upn"`
	To      string    `json:"to"`
	Code    string    `json:"code"`
	Text    string    `json:"text"`
	// CorrelationID is the correlation id of the flow that sent it, so
	// that a lab client running several flows finds its own code.
	CorrelationID string `json:"correlationId"`
}

// Outbox records the messages the service sent, up to the retention's
// limit ([Retention].Messages): over it, the oldest message goes. It files
// each message by user and by flow, so that finding a user's or a flow's
// messages costs the same however many were sent. It is safe for
// concurrent use.
type Outbox struct {
	mu      sync.Mutex
	limit   int // 0: no limit
	lastID  int
	msgs    fifo[*Message]             // oldest first
	byUser  map[string]*fifo[*Message] // by UPN, oldest first
	byFlow  map[string]*fifo[*Message] // by correlation id, oldest first
	dropped int
}

func (o *Outbox) add(m Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.byUser == nil {
		o.byUser, o.byFlow = map[string]*fifo[*Message]{}, map[string]*fifo[*Message]{}
	}
	for o.limit > 0 && o.msgs.len() >= o.limit {
		old := o.msgs.pop()
		popIndex(o.byUser, old.UPN, old)
		popIndex(o.byFlow, old.CorrelationID, old)
		o.dropped++
	}
	o.lastID++
	m.ID = o.lastID
	p := &m
	o.msgs.push(p)
	pushIndex(o.byUser, m.UPN, p)
	pushIndex(o.byFlow, m.CorrelationID, p)
}

// pushIndex files v under key.
func pushIndex[T any](index map[string]*fifo[*T], key string, v *T) {
	q := index[key]
	if q == nil {
		q = &fifo[*T]{}
		index[key] = q
	}
	q.push(v)
}

// popIndex takes v, the oldest of all values, from the front of key's
// queue, where it must be: queues by key keep the order of the whole.
func popIndex[T any](index map[string]*fifo[*T], key string, v *T) {
	q := index[key]
	if q == nil || q.len() == 0 || q.front() != v {
		panic("mock: index out of step with its queue")
	}
	q.pop()
	if q.len() == 0 {
		delete(index, key)
	}
}

// copyOut copies the messages out of q, or returns nil for none.
func copyOut[T any](q *fifo[*T]) []T {
	if q == nil || q.len() == 0 {
		return nil
	}
	out := make([]T, 0, q.len())
	for _, p := range q.all() {
		out = append(out, *p)
	}
	return out
}

// Messages returns the messages kept for upn ("" for everyone), oldest
// first.
func (o *Outbox) Messages(upn string) []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	if upn == "" {
		return copyOut(&o.msgs)
	}
	return copyOut(o.byUser[upn])
}

// Flow returns the messages kept that the flow with correlation id
// correlationID sent, oldest first: what a lab client running several
// flows reads its code from.
func (o *Outbox) Flow(correlationID string) []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return copyOut(o.byFlow[correlationID])
}

// Last returns the newest message kept for upn over channel, if any.
func (o *Outbox) Last(upn string, channel Method) (Message, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.byUser[upn]
	if q == nil {
		return Message{}, false
	}
	for _, m := range slices.Backward(q.all()) {
		if m.Channel == channel {
			return *m, true
		}
	}
	return Message{}, false
}

// Clear empties the outbox. Message ids go on from where they were.
func (o *Outbox) Clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs, o.byUser, o.byFlow = fifo[*Message]{}, nil, nil
}

// stats returns how many messages are kept and how many the limit
// dropped.
func (o *Outbox) stats() (kept, dropped int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.msgs.len(), o.dropped
}

// randomCode returns n random decimal digits.
func randomCode(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("verification code: %w", err)
	}
	return fmt.Sprintf("%0*d", n, v), nil
}

// Authenticator simulates users' Microsoft Authenticator apps: a code that
// changes every 30 seconds of the service's clock (TOTP, RFC 6238, 6
// digits), and notifications that the lab approves or denies. A
// notification belongs to one flow: two flows of one user each wait for
// their own answer. It is safe for concurrent use.
type Authenticator struct {
	clock *Clock
	key   []byte // per service; each user's secret derives from it

	mu      sync.Mutex
	seq     uint64
	pending map[string]notification       // flow token -> notification awaiting an answer
	answers map[string]NotificationAnswer // flow token -> answer not yet taken by the flow
	owners  map[string]string             // flow token -> upn, for answers
}

type notification struct {
	upn string
	seq uint64 // order of sending: the newest is answered by upn alone
}

// NotificationAnswer is what the user did with a notification.
type NotificationAnswer string

const (
	NotificationPending  NotificationAnswer = "pending"
	NotificationApproved NotificationAnswer = "approved"
	NotificationDenied   NotificationAnswer = "denied"
)

func newAuthenticator(clock *Clock) (*Authenticator, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("authenticator: %w", err)
	}
	return &Authenticator{clock: clock, key: key, pending: map[string]notification{},
		answers: map[string]NotificationAnswer{}, owners: map[string]string{}}, nil
}

// Code returns the code the app of upn shows now.
func (a *Authenticator) Code(upn string) string {
	return a.codeAt(upn, a.clock.Now())
}

func (a *Authenticator) codeAt(upn string, t time.Time) string {
	secret := hmac.New(sha256.New, a.key)
	secret.Write([]byte(upn))
	mac := hmac.New(sha256.New, secret.Sum(nil))
	var step [8]byte
	binary.BigEndian.PutUint64(step[:], uint64(t.Unix()/30))
	mac.Write(step[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// checkCode accepts the current code and the previous one (clock drift).
func (a *Authenticator) checkCode(upn, code string) bool {
	now := a.clock.Now()
	return hmac.Equal([]byte(code), []byte(a.codeAt(upn, now))) ||
		hmac.Equal([]byte(code), []byte(a.codeAt(upn, now.Add(-30*time.Second))))
}

// notify pushes a notification for the flow, replacing the flow's earlier
// one and any answer it was not given yet.
func (a *Authenticator) notify(upn, flow string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	a.pending[flow] = notification{upn: upn, seq: a.seq}
	a.owners[flow] = upn
	delete(a.answers, flow)
}

// Pending reports whether upn's app shows a notification waiting for an
// answer, for any flow.
func (a *Authenticator) Pending(upn string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.pending {
		if n.upn == upn {
			return true
		}
	}
	return false
}

// Answer approves or denies upn's newest pending notification. It fails
// when none is pending.
func (a *Authenticator) Answer(upn string, approve bool) error {
	return a.AnswerFlow(upn, "", approve)
}

// AnswerFlow approves or denies the notification pending for upn in the
// flow with token flow; with flow "", upn's newest pending notification.
// It fails when no such notification is pending.
func (a *Authenticator) AnswerFlow(upn, flow string, approve bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if flow == "" {
		var newest uint64
		for tok, n := range a.pending {
			if n.upn == upn && n.seq > newest {
				flow, newest = tok, n.seq
			}
		}
		if flow == "" {
			return fmt.Errorf("no notification pending for %s", upn)
		}
	}
	if n, ok := a.pending[flow]; !ok || n.upn != upn {
		return fmt.Errorf("no notification pending for %s in that flow", upn)
	}
	delete(a.pending, flow)
	if approve {
		a.answers[flow] = NotificationApproved
	} else {
		a.answers[flow] = NotificationDenied
	}
	return nil
}

// take returns the answer to the flow's notification and forgets it once
// given.
func (a *Authenticator) take(flow string) NotificationAnswer {
	a.mu.Lock()
	defer a.mu.Unlock()
	ans, ok := a.answers[flow]
	if !ok {
		return NotificationPending
	}
	delete(a.answers, flow)
	return ans
}

// forgetFlow drops the flow's notification and answer.
func (a *Authenticator) forgetFlow(flow string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pending, flow)
	delete(a.answers, flow)
	delete(a.owners, flow)
}

// forgetUser drops every notification and answer of upn.
func (a *Authenticator) forgetUser(upn string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for flow, owner := range a.owners {
		if owner == upn {
			delete(a.pending, flow)
			delete(a.answers, flow)
			delete(a.owners, flow)
		}
	}
}

// size returns how many flows the app holds state for.
func (a *Authenticator) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.owners)
}
