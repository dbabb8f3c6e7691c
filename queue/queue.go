// Package queue implements one AMQP queue: its ready messages in order, its
// consumers served round robin as their credit allows, get, requeue to the original
// position with redelivered set, purge and delete.
//
// Locking: a Queue has one mutex. Consumer.Deliver and Consumer.Cancelled are called
// with it held, so a consumer may take its own (leaf) locks there but must never call
// back into a queue. Code that holds a consumer-side lock must release it before it
// calls any Queue method. The lock order is queue -> channel -> connection writer.
package queue

import (
	"sync"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/storage"
)

// Delivery is a message handed out by a queue, to a consumer or through get. It is
// the handle the holder gives back to Ack or Requeue.
type Delivery struct {
	Queue       *Queue
	Msg         *message.Message
	Seq         uint64
	Redelivered bool
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

	store storage.Store // nil: nothing this queue holds is stored

	mu          sync.Mutex
	pending     storage.Batch // store operations made under mu, submitted by unlock
	budget      int           // body octets kept in memory before paging (see paging.go)
	pageSeq     uint64        // entries up to this seq have been considered for paging
	delivered   uint64        // highest stored seq delivered at least once
	markedUpTo  uint64        // the delivered mark last submitted
	ready       readyList
	nextSeq     uint64
	consumers   []consumerEntry
	rr          int  // index of the consumer to offer the next message to first
	hadConsumer bool // for auto-delete: only a queue that had a consumer is deleted when it has none
	deleted     bool
}

type consumerEntry struct {
	c         Consumer
	exclusive bool
	noAck     bool // deliveries to it are settled as they go out
}

// New returns an empty queue.
func New(name, vhost string, durable, exclusive, autoDelete bool, args wire.Table, owner any) *Queue {
	return &Queue{Name: name, Vhost: vhost, Durable: durable, Exclusive: exclusive,
		AutoDelete: autoDelete, Args: args, Owner: owner, budget: DefaultMemoryBudget}
}

// SetStore makes the queue keep its persistent messages in store under id. Call
// it before the queue is used.
func (q *Queue) SetStore(store storage.Store, id uint64) {
	q.store, q.ID = store, id
}

// Stores reports whether the queue keeps m in the store: a durable queue and a
// persistent message.
func (q *Queue) Stores(m *message.Message) bool { return q.store != nil && m.Persistent() }

// unlock releases mu and submits the store operations made while it was held.
// Store failures on this path (settling, purging) leave stored copies behind,
// which come back after a restart flagged redelivered; publishes, which must not
// be confirmed unless written, report their own failures.
func (q *Queue) unlock() {
	if q.delivered > q.markedUpTo {
		q.pending.SetDelivered(q.ID, q.delivered)
		q.markedUpTo = q.delivered
	}
	if q.pending.Len() == 0 {
		q.mu.Unlock()
		return
	}
	b := q.pending
	q.pending = storage.Batch{}
	q.mu.Unlock()
	q.store.Submit(&b, func(error) {})
}

// Reserve takes the queue's next seq for a message whose index entry the caller
// writes to the store before it publishes the message with PublishAt, so that any
// ack of it is submitted after that entry.
func (q *Queue) Reserve() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextSeq++
	return q.nextSeq
}

// Publish enqueues m at the tail and dispatches. It reports false if the queue has
// been deleted (the message is then dropped).
func (q *Queue) Publish(m *message.Message) bool {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return false
	}
	q.nextSeq++
	q.ready.pushBack(entry{msg: m, seq: q.nextSeq})
	q.dispatchLocked()
	return true
}

// PublishAt enqueues m at seq, which Reserve returned, and dispatches. It reports
// false if the queue has been deleted; a stored message is then released.
func (q *Queue) PublishAt(m *message.Message, seq uint64) bool {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		q.releaseLocked(m, seq)
		return false
	}
	if n := q.ready.len(); n == 0 || q.ready.items[len(q.ready.items)-1].seq < seq {
		q.ready.pushBack(entry{msg: m, seq: seq})
	} else {
		q.ready.insert(entry{msg: m, seq: seq})
	}
	q.dispatchLocked()
	q.pageOutLocked()
	return true
}

// Recover puts back a message read from the store at recovery, in seq order.
func (q *Queue) Recover(m *message.Message, seq uint64, redelivered bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ready.pushBack(entry{msg: m, seq: seq, redelivered: redelivered})
	if seq > q.nextSeq {
		q.nextSeq = seq
	}
	if redelivered && seq > q.delivered {
		q.delivered, q.markedUpTo = seq, seq
	}
}

// Get takes the message at the head, for basic.get. remaining is the number of
// ready messages left after it. With noAck the message is settled at once;
// otherwise the caller settles it with Ack or Requeue.
func (q *Queue) Get(noAck bool) (d Delivery, remaining int, ok bool) {
	q.mu.Lock()
	defer q.unlock()
	if q.ready.len() == 0 || !q.pageInLocked() {
		return Delivery{}, 0, false
	}
	e := q.ready.popFront()
	if noAck {
		q.releaseLocked(e.msg, e.seq)
	} else {
		q.markDelivered(e.msg, e.seq)
	}
	return Delivery{Queue: q, Msg: e.msg, Seq: e.seq, Redelivered: e.redelivered}, q.ready.len(), true
}

// Ack settles deliveries for good. Deliveries of a deleted queue still release
// their stored copies.
func (q *Queue) Ack(ds ...Delivery) {
	q.mu.Lock()
	defer q.unlock()
	for _, d := range ds {
		q.releaseLocked(d.Msg, d.Seq)
	}
}

// releaseLocked is where a message leaves the queue for good (acked, delivered to
// a no-ack consumer, purged, deleted): the queue's index entry goes, and the
// stored copy with it when no other queue holds it.
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

// markDelivered notes that a stored message went out to be acked later, so that
// after a restart it comes back flagged redelivered.
func (q *Queue) markDelivered(m *message.Message, seq uint64) {
	if seq > q.delivered && q.Stores(m) {
		q.delivered = seq
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
	for i := len(ds) - 1; i >= 0; i-- {
		q.ready.insert(entry{msg: ds[i].Msg, seq: ds[i].Seq, redelivered: true})
	}
	q.dispatchLocked()
}

// Dispatch offers ready messages to consumers; consumers call it when they regain
// credit.
func (q *Queue) Dispatch() {
	q.mu.Lock()
	q.dispatchLocked()
	q.unlock()
}

func (q *Queue) dispatchLocked() {
	for q.ready.len() > 0 && len(q.consumers) > 0 {
		if !q.pageInLocked() {
			return
		}
		n := len(q.consumers)
		taken := false
		for i := 0; i < n; i++ {
			k := (q.rr + i) % n
			f := q.ready.front()
			if q.consumers[k].c.Deliver(Delivery{Queue: q, Msg: f.msg, Seq: f.seq, Redelivered: f.redelivered}) {
				// popFront clears (and may move) the slot f points to: use its copy.
				e := q.ready.popFront()
				if q.consumers[k].noAck {
					q.releaseLocked(e.msg, e.seq)
				} else {
					q.markDelivered(e.msg, e.seq)
				}
				q.rr = (k + 1) % n
				taken = true
				break
			}
		}
		if !taken {
			return
		}
	}
}

// AddConsumer attaches c and dispatches to it. An exclusive consumer needs a
// queue with no consumers; no consumer may join one that has an exclusive consumer.
// A noAck consumer's deliveries are settled as they go out.
func (q *Queue) AddConsumer(c Consumer, exclusive, noAck bool) *wire.Error {
	q.mu.Lock()
	defer q.unlock()
	if q.deleted {
		return wire.Errorf(wire.NotFound, "no queue '%s' in vhost '%s'", q.Name, q.Vhost)
	}
	if len(q.consumers) > 0 && (exclusive || q.consumers[0].exclusive) {
		return wire.Errorf(wire.AccessRefused, "queue '%s' in vhost '%s' in exclusive use", q.Name, q.Vhost)
	}
	q.consumers = append(q.consumers, consumerEntry{c: c, exclusive: exclusive, noAck: noAck})
	q.hadConsumer = true
	q.dispatchLocked()
	return nil
}

// RemoveConsumer detaches c. It reports whether the queue is now due for
// auto-delete: auto-delete set, and its last consumer gone.
func (q *Queue) RemoveConsumer(c Consumer) (autoDelete bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, e := range q.consumers {
		if e.c == c {
			q.consumers = append(q.consumers[:i], q.consumers[i+1:]...)
			if q.rr > i {
				q.rr--
			}
			if len(q.consumers) > 0 {
				q.rr %= len(q.consumers)
			} else {
				q.rr = 0
			}
			break
		}
	}
	return q.AutoDelete && q.hadConsumer && len(q.consumers) == 0 && !q.deleted
}

// Purge drops every ready message (not the unacked ones) and returns how many.
func (q *Queue) Purge() int {
	q.mu.Lock()
	defer q.unlock()
	return q.dropReadyLocked()
}

// dropReadyLocked releases and drops every ready message.
func (q *Queue) dropReadyLocked() int {
	for i := q.ready.head; i < len(q.ready.items); i++ {
		e := &q.ready.items[i]
		if e.msg == nil { // paged: this queue alone held it
			if !q.deleted {
				q.pending.DeleteIndex(q.ID, e.seq)
			}
			q.pending.DeleteMessage(e.id)
			continue
		}
		q.releaseLocked(e.msg, e.seq)
	}
	return q.ready.clear()
}

// Counts returns the number of ready messages and of consumers.
func (q *Queue) Counts() (messages, consumers int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ready.len(), len(q.consumers)
}

// Delete marks the queue deleted, tells its consumers, drops its messages (the
// store's index of the queue goes in one DropQueue) and returns how many ready
// messages it had. Later calls return 0.
func (q *Queue) Delete() int {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return 0
	}
	q.deleted = true
	for _, e := range q.consumers {
		e.c.Cancelled()
	}
	q.consumers = nil
	n := q.dropReadyLocked()
	q.delivered = q.markedUpTo // the mark goes with the index
	q.unlock()
	if q.store != nil {
		q.store.DropQueue(q.ID)
	}
	return n
}

// Deleted reports whether Delete has been called.
func (q *Queue) Deleted() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.deleted
}
