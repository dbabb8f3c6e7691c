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

	mu          sync.Mutex
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
		AutoDelete: autoDelete, Args: args, Owner: owner}
}

// Publish enqueues m at the tail and dispatches. It reports false if the queue has
// been deleted (the message is then dropped).
func (q *Queue) Publish(m *message.Message) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return false
	}
	q.nextSeq++
	q.ready.pushBack(entry{msg: m, seq: q.nextSeq})
	q.dispatchLocked()
	return true
}

// Get takes the message at the head, for basic.get. remaining is the number of
// ready messages left after it. With noAck the message is settled at once;
// otherwise the caller settles it with Ack or Requeue.
func (q *Queue) Get(noAck bool) (d Delivery, remaining int, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ready.len() == 0 {
		return Delivery{}, 0, false
	}
	e := q.ready.popFront()
	if noAck {
		q.settleLocked(e.msg)
	}
	return Delivery{Queue: q, Msg: e.msg, Seq: e.seq, Redelivered: e.redelivered}, q.ready.len(), true
}

// Ack settles deliveries for good.
func (q *Queue) Ack(ds ...Delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, d := range ds {
		q.settleLocked(d.Msg)
	}
}

// settleLocked is where a message leaves the queue for good (acked, or delivered
// to a no-ack consumer). Messages live in memory only, so there is nothing to free
// yet; storage deletes the queue's stored copy here.
func (q *Queue) settleLocked(m *message.Message) {}

// Requeue returns deliveries to their original places with redelivered set, then
// dispatches. Deliveries of a deleted queue are dropped.
func (q *Queue) Requeue(ds ...Delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
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
	q.mu.Unlock()
}

func (q *Queue) dispatchLocked() {
	for q.ready.len() > 0 && len(q.consumers) > 0 {
		n := len(q.consumers)
		taken := false
		for i := 0; i < n; i++ {
			k := (q.rr + i) % n
			e := q.ready.front()
			if q.consumers[k].c.Deliver(Delivery{Queue: q, Msg: e.msg, Seq: e.seq, Redelivered: e.redelivered}) {
				q.ready.popFront()
				if q.consumers[k].noAck {
					q.settleLocked(e.msg)
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
	defer q.mu.Unlock()
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
	defer q.mu.Unlock()
	return q.ready.clear()
}

// Counts returns the number of ready messages and of consumers.
func (q *Queue) Counts() (messages, consumers int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ready.len(), len(q.consumers)
}

// Delete marks the queue deleted, tells its consumers, drops its messages and
// returns how many ready messages it had. Later calls return 0.
func (q *Queue) Delete() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return 0
	}
	q.deleted = true
	for _, e := range q.consumers {
		e.c.Cancelled()
	}
	q.consumers = nil
	return q.ready.clear()
}

// Deleted reports whether Delete has been called.
func (q *Queue) Deleted() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.deleted
}
