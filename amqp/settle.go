package amqp

import (
	"sync/atomic"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/broker"
	"github.com/warren-mq/warren/queue"
)

// settlement is what becomes of settled deliveries.
type settlement int

const (
	settleAck     settlement = iota // done with: acked
	settleDrop                      // nack/reject without requeue
	settleRequeue                   // nack/reject with requeue
)

func requeueOrDrop(requeue bool) settlement {
	if requeue {
		return settleRequeue
	}
	return settleDrop
}

// txAck is an ack, nack or reject held by a transaction until commit.
type txAck struct {
	entries []unacked
	how     settlement
}

// settle handles basic.ack, nack and reject.
func (ch *channel) settle(tag uint64, multiple bool, how settlement) *wire.Error {
	entries, ok := ch.take(tag, multiple)
	if !ok {
		return wire.Errorf(wire.PreconditionFailed, "unknown delivery tag %d", tag)
	}
	if ch.tx {
		ch.txAcks = append(ch.txAcks, txAck{entries: entries, how: how})
		return nil
	}
	apply(entries, how)
	ch.dispatchConsumers()
	return nil
}

// take removes deliveries from the unacked set and returns the consumers' credit.
func (ch *channel) take(tag uint64, multiple bool) ([]unacked, bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	entries, ok := ch.unacked.take(tag, multiple, nil)
	for _, u := range entries {
		if u.k != nil {
			u.k.unacked--
			ch.consumerUnacked--
		}
	}
	return entries, ok
}

// untake puts deliveries back into the unacked set (a rolled-back transaction).
func (ch *channel) untake(entries []unacked) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, u := range entries {
		ch.unacked.add(u)
		if u.k != nil {
			u.k.unacked++
			ch.consumerUnacked++
		}
	}
}

// apply settles deliveries with their queues, a call per queue.
func apply(entries []unacked, how settlement) {
	for len(entries) > 0 {
		q := entries[0].d.Queue
		var ds []queue.Delivery
		rest := entries[:0]
		for _, u := range entries {
			if u.d.Queue == q {
				ds = append(ds, u.d)
			} else {
				rest = append(rest, u)
			}
		}
		entries = rest
		switch how {
		case settleRequeue:
			q.Requeue(ds...)
		case settleDrop:
			q.Reject(ds...)
		default:
			q.Ack(ds...)
		}
	}
}

// requeue returns deliveries to their queues.
func requeue(entries []unacked) { apply(entries, settleRequeue) }

// recover handles basic.recover with requeue: every unacked delivery goes back.
func (ch *channel) recover() {
	entries, _ := ch.take(0, true)
	requeue(entries)
	ch.dispatchConsumers()
}

// txCommit applies the transaction's publishes, then its acks, and sends
// tx.commit-ok once the stored publishes are on disk.
func (ch *channel) txCommit() {
	w, id := ch.conn.w, ch.id
	var pending atomic.Int32
	pending.Store(1) // the commit itself, released below
	finish := func(broker.Outcome, error) {
		if pending.Add(-1) == 0 {
			w.method(id, &wire.TxCommitOk{})
		}
	}
	for _, p := range ch.txPublishes {
		pending.Add(1)
		if o := ch.deliver(p.msg, p.queues, p.mandatory, p.reply, finish); !o.Stored {
			finish(o, nil)
		}
	}
	clear(ch.txPublishes)
	ch.txPublishes = ch.txPublishes[:0]
	for _, a := range ch.txAcks {
		apply(a.entries, a.how)
	}
	ch.txAcks = nil
	ch.dispatchConsumers()
	finish(broker.Outcome{}, nil)
}

// txRollback drops the transaction's publishes and makes its acked deliveries
// unacked again.
func (ch *channel) txRollback() {
	clear(ch.txPublishes)
	ch.txPublishes = ch.txPublishes[:0]
	for _, a := range ch.txAcks {
		ch.untake(a.entries)
	}
	ch.txAcks = nil
}
