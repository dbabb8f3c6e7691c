// Package queue implements one AMQP queue: its ready messages in order (by
// priority level in a priority queue), its consumers served by priority and
// round robin as their credit allows, get, requeue to the original position with
// redelivered set, purge and delete; and RabbitMQ's extensions that live in a
// queue: message TTL, queue expiry, length limits with their overflow
// behaviours, dead-lettering (handed to the owner to republish), consumer
// priorities and single active consumer.
//
// Locking: a Queue has one mutex. Consumer.Deliver and Consumer.Cancelled are called
// with it held, so a consumer may take its own (leaf) locks there but must never call
// back into a queue. Code that holds a consumer-side lock must release it before it
// calls any Queue method. The lock order is queue -> channel -> connection writer.
// Env's functions are called with no queue lock held.
package queue

import (
	"sync"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/storage"
)

// Delivery is a message handed out by a queue, to a consumer or through get. It is
// the handle the holder gives back to Ack, Reject or Requeue.
type Delivery struct {
	Queue       *Queue
	Msg         *message.Message
	Seq         uint64
	Redelivered bool
	// Origin is what the publisher passed to Publish or PublishAt when the
	// delivery is made during that call, and nil otherwise. The queue does
	// nothing with it; a consumer may use it to leave work for the publisher
	// to finish (see amqp's deferred flush).
	Origin any

	level   uint8 // its priority level
	expires int64 // kept across a requeue, as in RabbitMQ
}

// Consumer receives a queue's messages.
type Consumer interface {
	// Deliver offers d. It is called with the queue's lock held and must not block
	// or call into any queue. It returns false when the consumer cannot take a
	// message now (no prefetch credit, channel closing); the queue then offers the
	// message to its next consumer, and the consumer must call Queue.Dispatch
	// once it can take messages again.
	Deliver(d Delivery) bool
	// Cancelled tells the consumer that the queue was deleted and has dropped it.
	// Called with the queue's lock held; same rules as Deliver.
	Cancelled()
}

// Result is what became of a message offered to a queue.
type Result uint8

const (
	// Enqueued: the queue has the message.
	Enqueued Result = iota
	// Rejected: the queue is full and its overflow is reject-publish(-dlx).
	Rejected
	// Gone: the queue has been deleted.
	Gone
)

// Queue is one queue. Its identity fields are set at declaration and never change.
type Queue struct {
	Name       string
	Vhost      string
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Args       wire.Table
	// Owner identifies the connection that declared an exclusive queue.
	Owner any
	// ID is the queue's id in the store (durable queues; see SetStore).
	ID uint64

	settings Settings
	env      Env
	clock    Clock
	store    storage.Store // nil: nothing this queue holds is stored

	mu          sync.Mutex
	pending     storage.Batch // store operations made under mu, submitted by unlock
	deadLetters []DeadLetter  // dropped under mu, republished by unlock
	budget      int           // body octets kept in memory before paging, 0: its share (see paging.go)
	delivered   uint64        // highest stored seq delivered at least once
	markedUpTo  uint64        // the delivered mark last submitted
	levels      []readyList   // ready messages by priority level (one level unless a priority queue)
	count       int           // ready messages
	bytes       int64         // their body octets
	mem         int           // body octets of ready messages held in memory
	reserved    int           // seqs reserved (see Reserve) and not yet published
	reservedLen int64         // their body octets
	nextSeq     uint64
	consumers   consumerSet
	hadConsumer bool // for auto-delete: only a queue that had a consumer is deleted when it has none
	deleted     bool
	// With single active consumer: the seqs delivered to consumers and not yet
	// settled, and whether a hand-over waits for them (see RemoveConsumer).
	sacOut      map[uint64]struct{}
	handingOver bool

	ttlTimer  Timer // fires when the earliest head expires
	ttlAt     int64 // when ttlTimer fires (Unix ms)
	idleTimer Timer // queue expiry (Settings.Expires)
	idleGen   uint64

	origin any // the publish in progress under mu: Delivery.Origin; unlock clears it
}

// New returns an empty queue with DefaultSettings; Configure gives it others.
func New(name, vhost string, durable, exclusive, autoDelete bool, args wire.Table, owner any) *Queue {
	q := &Queue{Name: name, Vhost: vhost, Durable: durable, Exclusive: exclusive,
		AutoDelete: autoDelete, Args: args, Owner: owner,
		settings: DefaultSettings(), clock: realClock{}}
	q.levels = make([]readyList, 1)
	return q
}

// Configure sets the queue's settings and environment and starts its expiry
// timer. Call it before the queue is used.
func (q *Queue) Configure(s Settings, env Env) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.settings, q.env = s, env
	q.clock = env.Clock
	if q.clock == nil {
		q.clock = realClock{}
	}
	q.levels = make([]readyList, int(s.MaxPriority)+1)
	q.consumers.single = s.SingleActiveConsumer
	q.touchLocked()
}

// Settings returns the queue's settings.
func (q *Queue) Settings() Settings { return q.settings }

// SetStore makes the queue keep its persistent messages in store under id. Call
// it before the queue is used.
func (q *Queue) SetStore(store storage.Store, id uint64) {
	q.store, q.ID = store, id
	if q.env.Memory != nil {
		q.env.Memory.queues.Add(1) // until Delete
	}
}

// Stores reports whether the queue keeps m in the store: a durable queue and a
// persistent message.
func (q *Queue) Stores(m *message.Message) bool { return q.store != nil && m.Persistent() }

// unlock releases mu, then republishes the messages dead-lettered while it was
// held and submits the store operations made meanwhile, in that order: a dead
// letter's new stored copy is submitted before the deletion of its old one, so
// a crash between the two duplicates it rather than losing it.
//
// Store failures on this path (settling, purging) leave stored copies behind,
// which come back after a restart flagged redelivered; publishes, which must not
// be confirmed unless written, report their own failures.
func (q *Queue) unlock() {
	q.origin = nil
	if q.delivered > q.markedUpTo {
		q.pending.SetDelivered(q.ID, q.delivered)
		q.markedUpTo = q.delivered
	}
	if q.pending.Len() == 0 && len(q.deadLetters) == 0 {
		q.mu.Unlock()
		return
	}
	b, dls := q.pending, q.deadLetters
	q.pending, q.deadLetters = storage.Batch{}, nil
	q.mu.Unlock()
	if len(dls) > 0 && q.env.DeadLetter != nil {
		q.env.DeadLetter(q, dls)
	}
	if b.Len() > 0 {
		q.store.Submit(&b, func(error) {})
	}
}

// levelOf is the priority level a message takes in this queue: its priority,
// capped at the queue's maximum (0 in a queue without priorities).
func (q *Queue) levelOf(m *message.Message) uint8 {
	return min(m.Priority(), q.settings.MaxPriority)
}

// expiryOf returns when m expires in this queue if it enters it now: the
// shorter of the queue's message TTL and the message's own; 0 for never. It
// reads the clock only for a message that has a TTL.
func (q *Queue) expiryOf(m *message.Message) int64 {
	ttl := q.settings.MessageTTL
	if own, ok := m.Expiration(); ok && (ttl < 0 || own < ttl) {
		ttl = own
	}
	if ttl < 0 {
		return 0
	}
	return max(q.clock.Now()+ttl, 1)
}

// Reservation is a place in the queue taken for a stored message (see Reserve):
// its seq and what its index entry must hold.
type Reservation struct {
	Seq     uint64
	Expires int64
	Level   uint8
}

// IndexEntry is the index entry the store keeps for m at r.
func (r Reservation) IndexEntry(m *message.Message) storage.IndexEntry {
	return storage.IndexEntry{MsgID: m.ID, Expires: r.Expires, Priority: r.Level, Size: uint32(m.Size())}
}

// Reserve takes the queue's next place for a stored message whose index entry
// the caller writes to the store before it publishes the message with
// PublishAt, so that any ack of it is submitted after that entry. It returns
// Rejected (and reserves nothing) when the queue is full and refuses new
// messages, Gone when it has been deleted.
func (q *Queue) Reserve(m *message.Message) (Reservation, Result) {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return Reservation{}, Gone
	}
	if q.refusesLocked(m) {
		return Reservation{}, Rejected
	}
	q.nextSeq++
	q.reserved++
	q.reservedLen += int64(m.Size())
	return Reservation{Seq: q.nextSeq, Expires: q.expiryOf(m), Level: q.levelOf(m)}, Enqueued
}

// refusesLocked reports whether a queue whose overflow is reject-publish(-dlx)
// is too full to take m, and dead-letters m for reject-publish-dlx.
func (q *Queue) refusesLocked(m *message.Message) bool {
	s := &q.settings
	if s.Overflow == DropHead || !s.limited() {
		return false
	}
	n, bytes := int64(q.count+q.reserved), q.bytes+q.reservedLen
	full := (s.MaxLength >= 0 && n >= s.MaxLength) ||
		(s.MaxLengthBytes >= 0 && bytes+int64(m.Size()) > s.MaxLengthBytes)
	if full && s.Overflow == RejectPublishDLX {
		q.deadLetterLocked(m, ReasonMaxLen)
	}
	return full
}

// PublishAt enqueues m at the place Reserve returned and dispatches. It returns
// Gone if the queue has been deleted since; the stored copy is then released.
// Deliveries made during the call carry origin (see Delivery.Origin).
func (q *Queue) PublishAt(m *message.Message, r Reservation, origin any) Result {
	q.mu.Lock()
	defer q.unlock()
	q.origin = origin // unlock clears it
	q.reserved--
	q.reservedLen -= int64(m.Size())
	if q.deleted {
		q.releaseLocked(m, r.Seq)
		return Gone
	}
	q.enqueueLocked(r.Level, entry{msg: m, seq: r.Seq, expires: r.Expires, size: uint32(m.Size())})
	return Enqueued
}

// Publish enqueues a message the queue does not store and dispatches.
// Deliveries made during the call carry origin (see Delivery.Origin).
func (q *Queue) Publish(m *message.Message, origin any) Result {
	q.mu.Lock()
	defer q.unlock()
	q.origin = origin // unlock clears it
	if q.deleted {
		return Gone
	}
	if q.refusesLocked(m) {
		return Rejected
	}
	q.nextSeq++
	e := entry{msg: m, seq: q.nextSeq, expires: q.expiryOf(m), size: uint32(m.Size())}
	q.enqueueLocked(q.levelOf(m), e)
	return Enqueued
}

// enqueueLocked adds a new message, dispatches, and then applies the length
// limit, expiry and paging, in RabbitMQ's order: a message a consumer takes at
// once never counts against the limit, and one with a TTL of 0 is delivered if a
// consumer takes it at once and expires otherwise.
func (q *Queue) enqueueLocked(level uint8, e entry) {
	if q.count == 0 && q.consumers.len() > 0 && !q.handingOver {
		// Straight to a consumer, as RabbitMQ attempts delivery before it
		// enqueues: an entry with a TTL of 0 is live for this attempt.
		if k := q.consumers.offer(q.delivery(&e, int(level))); k != nil {
			q.deliveredTo(k, &e)
			return
		}
	}
	r := &q.levels[level]
	if r.len() == 0 || e.seq > lastSeq(r) {
		r.pushBack(e)
	} else {
		r.insert(e)
	}
	q.added(&e)
	q.dispatchLocked()
	q.dropOverLimitLocked()
	if e.expires != 0 {
		q.expireLocked(q.clock.Now())
	}
	q.pageOutLocked()
}

func lastSeq(r *readyList) uint64 {
	cs := r.live()
	return cs[len(cs)-1].lastSeq()
}

// added and removed keep the counts of ready messages.
func (q *Queue) added(e *entry) {
	q.count++
	q.bytes += int64(e.size)
	if e.msg != nil {
		q.mem += int(e.size)
	}
}

func (q *Queue) removed(e *entry) {
	q.count--
	q.bytes -= int64(e.size)
	if e.msg != nil {
		q.mem -= int(e.size)
	}
}

// topLevel returns the highest priority level that has ready messages; the
// queue must have some.
func (q *Queue) topLevel() int {
	for l := len(q.levels) - 1; l > 0; l-- {
		if q.levels[l].len() > 0 {
			return l
		}
	}
	return 0
}

// popLocked removes the head of level l.
func (q *Queue) popLocked(l int) entry {
	e := q.levels[l].popFront()
	q.removed(&e)
	return e
}

// RecoverEntry puts back, at recovery, a message the store's index of the queue
// holds at seq, in seq order, paged out: it is read when it nears the head. Then
// RecoverDelivered and ShareRecovered fix up what the whole index tells, and
// Recovered ends recovery.
func (q *Queue) RecoverEntry(seq uint64, ie storage.IndexEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := entry{id: ie.MsgID, seq: seq, expires: ie.Expires, size: ie.Size}
	r := &q.levels[min(ie.Priority, q.settings.MaxPriority)]
	r.pushBack(e)
	r.pageSeq = seq // a recovered entry is paged out
	if cs := r.live(); len(cs[len(cs)-1].e) == 1 {
		r.packPaged() // a chunk began: the one before it can be packed
	}
	q.added(&e)
	if seq > q.nextSeq {
		q.nextSeq = seq
	}
}

// RecoverDelivered flags the recovered messages up to the store's delivered
// mark as redelivered.
func (q *Queue) RecoverDelivered(mark uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if mark == 0 {
		return
	}
	for l := range q.levels {
		q.levels[l].each(func(e *entry) bool {
			if e.seq > mark {
				return false
			}
			e.redelivered = true
			return true
		})
	}
	q.delivered, q.markedUpTo = max(q.delivered, mark), max(q.markedUpTo, mark)
}

// ShareRecovered gives the recovered entries of messages that several queues
// hold the one copy they share (read once by the caller), counting this queue
// as a holder of each.
func (q *Queue) ShareRecovered(shared map[uint64]*message.Message) {
	if len(shared) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for l := range q.levels {
		r := &q.levels[l]
		r.each(func(e *entry) bool {
			if m := shared[e.id]; m != nil && e.msg == nil {
				m.Ref()
				e.msg = m
				q.mem += int(e.size)
			}
			return true
		})
		r.packSeq = 0 // each unpacked them all: pack those without a shared one
		r.packPaged()
	}
}

// Recovered ends recovery: messages that expired while the broker was down go
// (dead-lettered if the queue says so) and the expiry timers start.
func (q *Queue) Recovered() {
	q.mu.Lock()
	defer q.unlock()
	q.dropOverLimitLocked()
	q.expireLocked(q.clock.Now())
}

// Get takes the message at the head, for basic.get. remaining is the number of
// ready messages left after it. With noAck the message is settled at once;
// otherwise the caller settles it with Ack, Reject or Requeue.
func (q *Queue) Get(noAck bool) (d Delivery, remaining int, ok bool) {
	q.mu.Lock()
	defer q.unlock()
	q.touchLocked()
	if q.count == 0 {
		return Delivery{}, 0, false
	}
	q.expireLocked(q.clock.Now())
	if q.count == 0 {
		return Delivery{}, 0, false
	}
	l := q.topLevel()
	if !q.pageInLocked(l) {
		return Delivery{}, 0, false
	}
	e := q.popLocked(l)
	if noAck {
		q.releaseEntryLocked(&e)
	} else {
		q.markDelivered(&e)
	}
	return q.delivery(&e, l), q.count, true
}

func (q *Queue) delivery(e *entry, level int) Delivery {
	return Delivery{Queue: q, Msg: e.msg, Seq: e.seq, Redelivered: e.redelivered, Origin: q.origin, level: uint8(level), expires: e.expires}
}

// Ack settles deliveries for good. Deliveries of a deleted queue still release
// their stored copies.
func (q *Queue) Ack(ds ...Delivery) {
	q.mu.Lock()
	defer q.unlock()
	for _, d := range ds {
		q.releaseLocked(d.Msg, d.Seq)
	}
	q.settledLocked(ds)
}

// Reject settles deliveries that their consumer rejected without requeue
// (basic.reject, basic.nack): they are dead-lettered if the queue says so.
func (q *Queue) Reject(ds ...Delivery) {
	q.mu.Lock()
	defer q.unlock()
	for _, d := range ds {
		if !q.deleted {
			q.deadLetterLocked(d.Msg, ReasonRejected)
		}
		q.releaseLocked(d.Msg, d.Seq)
	}
	q.settledLocked(ds)
}

// deadLetterLocked queues m for republishing to the dead-letter exchange, if
// the queue has one.
func (q *Queue) deadLetterLocked(m *message.Message, reason string) {
	if q.settings.DeadLetter {
		q.deadLetters = append(q.deadLetters, DeadLetter{Msg: m, Reason: reason})
	}
}

// releaseLocked is where a message leaves the queue for good (acked, delivered to
// a no-ack consumer, purged, expired, dropped, deleted): the queue's index entry
// goes, and the stored copy with it when no other queue holds it.
func (q *Queue) releaseLocked(m *message.Message, seq uint64) {
	if !q.Stores(m) {
		return
	}
	if !q.deleted {
		q.pending.DeleteIndex(q.ID, seq)
	}
	if m.Unref() {
		q.pending.DeleteMessage(m.ID)
	}
}

// releaseEntryLocked releases a ready entry, which may be paged out (then the
// queue alone held it).
func (q *Queue) releaseEntryLocked(e *entry) {
	if e.msg != nil {
		q.releaseLocked(e.msg, e.seq)
		return
	}
	if !q.deleted {
		q.pending.DeleteIndex(q.ID, e.seq)
	}
	q.pending.DeleteMessage(e.id)
}

// markDelivered notes that a stored message went out to be acked later, so that
// after a restart it comes back flagged redelivered.
func (q *Queue) markDelivered(e *entry) {
	if e.seq > q.delivered && q.Stores(e.msg) {
		q.delivered = e.seq
	}
}

// Requeue returns deliveries to their original places with redelivered set, then
// dispatches. Deliveries of a deleted queue are dropped.
func (q *Queue) Requeue(ds ...Delivery) {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		for _, d := range ds {
			q.releaseLocked(d.Msg, d.Seq)
		}
		return
	}
	// Going from the last to the first keeps each insert at the head when the
	// deliveries came from the head in order, the usual case.
	expiring := false
	for i := len(ds) - 1; i >= 0; i-- {
		d := &ds[i]
		e := entry{msg: d.Msg, seq: d.Seq, expires: d.expires, size: uint32(d.Msg.Size()), redelivered: true}
		q.levels[d.level].insert(e)
		q.added(&e)
		expiring = expiring || e.expires != 0
	}
	if expiring {
		q.expireLocked(q.clock.Now())
	}
	q.settledLocked(ds)
	q.dispatchLocked()
	q.dropOverLimitLocked()
}

// Dispatch offers ready messages to consumers; consumers call it when they regain
// credit.
func (q *Queue) Dispatch() {
	q.mu.Lock()
	defer q.unlock()
	q.dispatchLocked()
}

// dispatchLocked offers the head to the consumers until none takes it. A head
// whose expiry has come is expired instead of delivered.
func (q *Queue) dispatchLocked() {
	if q.handingOver {
		return
	}
	var now int64
	for q.count > 0 && q.consumers.len() > 0 {
		l := q.topLevel()
		if !q.pageInLocked(l) {
			return
		}
		f := q.levels[l].front()
		if f.expires != 0 {
			if now == 0 {
				now = q.clock.Now()
			}
			if f.expires <= now {
				q.expireLocked(now)
				continue
			}
		}
		k := q.consumers.offer(q.delivery(f, l))
		if k == nil {
			return
		}
		// f points into the list: popLocked clears (or moves) what it points to.
		e := q.popLocked(l)
		q.deliveredTo(k, &e)
	}
}

// deliveredTo settles or records an entry a consumer took.
func (q *Queue) deliveredTo(k *consumerEntry, e *entry) {
	if k.noAck {
		q.releaseEntryLocked(e)
		return
	}
	q.markDelivered(e)
	if q.consumers.single {
		if q.sacOut == nil {
			q.sacOut = map[uint64]struct{}{}
		}
		q.sacOut[e.seq] = struct{}{}
	}
}

// settledLocked forgets deliveries settled with the queue; a hand-over of
// single active consumer that waited for them completes.
func (q *Queue) settledLocked(ds []Delivery) {
	if q.sacOut == nil {
		return
	}
	for _, d := range ds {
		delete(q.sacOut, d.Seq)
	}
	if q.handingOver && len(q.sacOut) == 0 {
		q.handingOver = false
		q.dispatchLocked()
	}
}

// dropOverLimitLocked drops messages from the head (dead-lettering them) while
// a drop-head queue is over its length limit.
func (q *Queue) dropOverLimitLocked() {
	s := &q.settings
	if s.Overflow != DropHead || !s.limited() {
		return
	}
	for q.count > 0 && ((s.MaxLength >= 0 && int64(q.count) > s.MaxLength) ||
		(s.MaxLengthBytes >= 0 && q.bytes > s.MaxLengthBytes)) {
		l := q.topLevel()
		if s.DeadLetter && !q.pageInLocked(l) {
			return
		}
		e := q.popLocked(l)
		if e.msg != nil {
			q.deadLetterLocked(e.msg, ReasonMaxLen)
		}
		q.releaseEntryLocked(&e)
	}
}

// AddConsumer attaches c and dispatches to it. An exclusive consumer needs a
// queue with no consumers; no consumer may join one that has an exclusive consumer.
// A noAck consumer's deliveries are settled as they go out. priority is the
// consumer's x-priority.
func (q *Queue) AddConsumer(c Consumer, exclusive, noAck bool, priority int) *wire.Error {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return wire.Errorf(wire.NotFound, "no queue '%s' in vhost '%s'", q.Name, q.Vhost)
	}
	if (q.consumers.len() > 0 || q.consumers.single) && (exclusive || q.consumers.anyExclusive()) {
		return wire.Errorf(wire.AccessRefused, "queue '%s' in vhost '%s' in exclusive use", q.Name, q.Vhost)
	}
	q.consumers.add(consumerEntry{c: c, exclusive: exclusive, noAck: noAck, priority: priority})
	q.hadConsumer = true
	q.touchLocked()
	q.dispatchLocked()
	return nil
}

// RemoveConsumer detaches c. It reports whether the queue is now due for
// auto-delete: auto-delete set, and its last consumer gone. With single active
// consumer the next consumer in line becomes active; if the one that left still
// has deliveries out, the next one gets messages only once those are settled
// (requeued ones come first), which is what RabbitMQ's clients see.
func (q *Queue) RemoveConsumer(c Consumer) (autoDelete bool) {
	q.mu.Lock()
	defer q.unlock()
	wasActive := q.consumers.single && q.consumers.len() > 0 && q.consumers.order[0] == c
	if q.consumers.remove(c) {
		q.touchLocked()
		if wasActive {
			if len(q.sacOut) > 0 {
				q.handingOver = true
			} else {
				q.dispatchLocked()
			}
		}
	}
	return q.AutoDelete && q.hadConsumer && q.consumers.len() == 0 && !q.deleted
}

// Purge drops every ready message (not the unacked ones) and returns how many.
// Purged messages are not dead-lettered, as in RabbitMQ.
func (q *Queue) Purge() int {
	q.mu.Lock()
	defer q.unlock()
	return q.dropReadyLocked()
}

// dropReadyLocked releases and drops every ready message.
func (q *Queue) dropReadyLocked() int {
	for i := range q.levels {
		q.levels[i].scan(func(e *entry) bool {
			q.releaseEntryLocked(e)
			return true
		})
		q.levels[i].clear()
	}
	n := q.count
	q.count, q.bytes, q.mem = 0, 0, 0
	return n
}

// Counts returns the number of ready messages and of consumers.
func (q *Queue) Counts() (messages, consumers int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count, q.consumers.len()
}

// Touch records a use of the queue (a redeclaration) for its expiry.
func (q *Queue) Touch() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.touchLocked()
}

// Delete marks the queue deleted, tells its consumers, drops its messages
// without dead-lettering them (the store's index of the queue goes in one
// DropQueue), stops its timers and returns how many ready messages it had.
// Later calls return 0.
func (q *Queue) Delete() int {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return 0
	}
	q.deleted = true
	q.consumers.each(func(c Consumer) { c.Cancelled() })
	q.consumers.clear()
	n := q.dropReadyLocked()
	q.delivered = q.markedUpTo // the mark goes with the index
	q.stopTimersLocked()
	q.unlock()
	if q.store != nil {
		q.store.DropQueue(q.ID)
		if q.env.Memory != nil {
			q.env.Memory.queues.Add(-1)
		}
	}
	return n
}

// Deleted reports whether Delete has been called.
func (q *Queue) Deleted() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.deleted
}
