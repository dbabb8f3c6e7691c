package queue

import "time"

// Message expiry works on the heads: as in RabbitMQ's classic queues, a message
// expires when it is at the head of its level and its time has passed, so a
// message with a long TTL ahead of one with a short TTL holds it back (with a
// queue TTL alone, heads always expire first). A timer per queue fires when the
// earliest head expires.

// expireLocked drops (dead-lettering) the heads whose expiry is at or before
// now, then sets the timer for the next head to expire.
func (q *Queue) expireLocked(now int64) {
	for l := range q.levels {
		r := &q.levels[l]
		for r.len() > 0 {
			f := r.front()
			if f.expires == 0 || f.expires > now {
				break
			}
			if q.settings.DeadLetter && f.msg == nil && !q.pageInLocked(l) {
				break // try again when the timer next fires
			}
			e := q.popLocked(l)
			if e.msg != nil {
				q.deadLetterLocked(e.msg, ReasonExpired)
			}
			q.releaseEntryLocked(&e)
		}
	}
	q.armTTLLocked(now)
}

// armTTLLocked makes the TTL timer fire by the time the earliest head expires.
// A timer already due earlier is left alone: it re-arms when it fires.
func (q *Queue) armTTLLocked(now int64) {
	if q.deleted {
		return
	}
	var next int64
	for l := range q.levels {
		if r := &q.levels[l]; r.len() > 0 {
			if x := r.front().expires; x != 0 && (next == 0 || x < next) {
				next = x
			}
		}
	}
	if next == 0 || (q.ttlTimer != nil && q.ttlAt <= next) {
		return
	}
	if q.ttlTimer != nil {
		q.ttlTimer.Stop()
	}
	q.ttlAt = next
	q.ttlTimer = q.clock.AfterFunc(time.Duration(max(next-now, 0))*time.Millisecond, q.onTTL)
}

// onTTL runs when the TTL timer fires.
func (q *Queue) onTTL() {
	q.mu.Lock()
	defer q.unlock()
	q.ttlTimer = nil
	if q.deleted {
		return
	}
	q.expireLocked(q.clock.Now())
}

// touchLocked records a use of the queue: its expiry (x-expires) starts again,
// or stops while it has consumers.
func (q *Queue) touchLocked() {
	if q.settings.Expires <= 0 || q.deleted {
		return
	}
	q.idleGen++
	if q.idleTimer != nil {
		q.idleTimer.Stop()
		q.idleTimer = nil
	}
	if q.consumers.len() > 0 {
		return
	}
	gen := q.idleGen
	q.idleTimer = q.clock.AfterFunc(time.Duration(q.settings.Expires)*time.Millisecond, func() { q.onIdle(gen) })
}

// onIdle runs when the queue has been unused for its expiry: it asks the owner
// to delete it, unless it was used since.
func (q *Queue) onIdle(gen uint64) {
	q.mu.Lock()
	due := !q.deleted && gen == q.idleGen && q.consumers.len() == 0
	if due {
		q.idleTimer = nil
	}
	q.mu.Unlock()
	if due && q.env.Expire != nil {
		q.env.Expire(q)
	}
}

func (q *Queue) stopTimersLocked() {
	if q.ttlTimer != nil {
		q.ttlTimer.Stop()
		q.ttlTimer = nil
	}
	if q.idleTimer != nil {
		q.idleTimer.Stop()
		q.idleTimer = nil
	}
	q.idleGen++
}
