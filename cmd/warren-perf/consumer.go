package main

import (
	"sync/atomic"

	"github.com/warren-mq/warren/amqp/wire"
)

// consumer receives on one channel; its methods run on the connection's reader.
type consumer struct {
	queue    int // index of its queue
	autoAck  bool
	multiAck int
	limit    int64        // stop counting after this many, 0 = no limit
	stopped  *atomic.Bool // the run is over: deliveries after it are not counted
	nonce    uint64       // the run's nonce: only bodies that carry it give a latency

	count     atomic.Int64 // messages received
	cancelled atomic.Bool  // the broker sent basic.cancel
	_         [64]byte

	// Reader goroutine only; read by others after the reader has ended.
	unacked int       // counted deliveries not acked yet
	lastTag uint64    // tag of the last counted delivery
	hist    Histogram // end-to-end latency
	firstAt int64
	lastAt  int64
}

// received counts one whole delivery; stamp is the send time from its body.
func (cs *consumer) received(ch *channel, tag uint64, stamp int64, now int64) {
	n := cs.count.Load()
	if cs.limit > 0 && n >= cs.limit || cs.stopped.Load() {
		return
	}
	n++
	cs.count.Store(n)
	if cs.firstAt == 0 {
		cs.firstAt = now
	}
	cs.lastAt = now
	if stamp > 0 && stamp <= now {
		cs.hist.Record(now - stamp)
	}
	if !cs.autoAck {
		cs.unacked++
		cs.lastTag = tag
		if cs.unacked >= cs.multiAck || (cs.limit > 0 && n == cs.limit) {
			ack := wire.BasicAck{DeliveryTag: tag, Multiple: cs.unacked > 1}
			ch.c.ctl = ack.AppendFrame(ch.c.ctl, ch.id)
			cs.unacked = 0
			if len(ch.c.ctl) > 16<<10 {
				ch.c.sendNow(ch.c.ctl)
				ch.c.ctl = ch.c.ctl[:0]
			}
		}
	}
}

// done reports whether the consumer has received its limit.
func (cs *consumer) done() bool { return cs.limit > 0 && cs.count.Load() >= cs.limit }
