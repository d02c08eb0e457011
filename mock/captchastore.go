package mock

import "time"

// captchaStore keeps the captchas issued and not yet used: by id, and in
// the order they were issued, which is also the order they expire in (all
// live DefaultCaptchaTTL). Issuing and taking one cost the same however
// many were issued before. It is guarded by the service's mutex.
type captchaStore struct {
	byID  map[string]*elem[captcha]
	order list[captcha] // oldest first
	limit int           // the most kept; 0 for no limit

	dropped int // over the limit, oldest first
	expired int // unused until they expired
}

type captcha struct {
	id      string
	answer  string
	expires time.Time
}

// issue keeps a new captcha, after letting go of the expired ones and, at
// the limit, of the oldest.
func (cs *captchaStore) issue(id, answer string, now time.Time) {
	if cs.byID == nil {
		cs.byID = map[string]*elem[captcha]{}
	}
	cs.purge(now)
	for cs.limit > 0 && cs.order.len() >= cs.limit {
		cs.removeFront()
		cs.dropped++
	}
	cs.byID[id] = cs.order.pushBack(captcha{id: id, answer: answer, expires: now.Add(DefaultCaptchaTTL)})
}

// take removes the captcha id, used once whatever the answer, and returns
// it if it was kept and has not expired.
func (cs *captchaStore) take(id string, now time.Time) (captcha, bool) {
	e, ok := cs.byID[id]
	if !ok {
		return captcha{}, false
	}
	delete(cs.byID, id)
	e.remove()
	if now.After(e.v.expires) {
		cs.expired++
		return captcha{}, false
	}
	return e.v, true
}

// purge lets go of the captchas expired at now, oldest first. After the
// clock was set back, a captcha issued later may expire earlier than the
// ones before it: it then goes with them, later than its time, never
// before.
func (cs *captchaStore) purge(now time.Time) {
	for e := cs.order.front(); e != nil && now.After(e.v.expires); e = cs.order.front() {
		cs.removeFront()
		cs.expired++
	}
}

func (cs *captchaStore) removeFront() {
	e := cs.order.front()
	delete(cs.byID, e.v.id)
	e.remove()
}

func (cs *captchaStore) len() int { return cs.order.len() }

// peek returns the captcha id without using it up, if it is kept and
// not expired.
func (cs *captchaStore) peek(id string, now time.Time) (captcha, bool) {
	e, ok := cs.byID[id]
	if !ok || now.After(e.v.expires) {
		return captcha{}, false
	}
	return e.v, true
}
