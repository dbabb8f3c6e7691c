package amqp

import (
	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
)

// consumer is one basic.consume on a channel: the queue.Consumer a queue delivers to.
type consumer struct {
	ch        *channel
	tag       string
	q         *queue.Queue
	noAck     bool
	exclusive bool
	prefetch  uint32 // per-consumer prefetch-count (basic.qos global=false), 0 = unlimited

	// Guarded by ch.mu.
	unacked   uint32
	active    bool // consume-ok has gone out: deliveries may follow
	cancelled bool
}

// Deliver implements queue.Consumer: it takes d if the consumer and its channel
// have prefetch credit, assigns the delivery tag and appends the frames to the
// connection's outbound buffer, all under the channel lock so that tags go out in
// order.
func (k *consumer) Deliver(d queue.Delivery) bool {
	ch := k.ch
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed || !k.active || k.cancelled || ch.conn.w.full() {
		return false
	}
	if !k.noAck {
		if k.prefetch > 0 && k.unacked >= k.prefetch {
			return false
		}
		if ch.globalPrefetch > 0 && ch.consumerUnacked >= ch.globalPrefetch {
			return false
		}
	}
	origin := d.Origin
	d.Origin = nil // the unacked entry must not keep the publisher's context
	ch.nextTag++
	tag := ch.nextTag
	if !k.noAck {
		ch.unacked.add(unacked{tag: tag, d: d, k: k})
		k.unacked++
		ch.consumerUnacked++
	}
	if b, ok := ch.conn.w.begin(); ok {
		m := wire.BasicDeliver{
			ConsumerTag: k.tag,
			DeliveryTag: tag,
			Redelivered: d.Redelivered,
			Exchange:    d.Msg.Exchange,
			RoutingKey:  d.Msg.RoutingKey,
		}
		b = m.AppendFrame(b, ch.id)
		ch.conn.w.endFor(appendContent(b, ch.id, d.Msg, ch.conn.frameMax), origin)
	}
	return true
}

// Cancelled implements queue.Consumer: the queue was deleted. The client hears of
// it through basic.cancel if it declared consumer_cancel_notify.
func (k *consumer) Cancelled() {
	ch := k.ch
	ch.mu.Lock()
	if k.cancelled || ch.closed {
		ch.mu.Unlock()
		return
	}
	k.cancelled = true
	delete(ch.consumers, k.tag)
	notify := ch.conn.clientCaps["consumer_cancel_notify"] == true
	if notify && ch.holdCancels {
		ch.heldCancels = append(ch.heldCancels, k.tag)
		notify = false
	}
	ch.mu.Unlock()
	if notify {
		ch.conn.w.method(ch.id, &wire.BasicCancel{ConsumerTag: k.tag, NoWait: true})
	}
}

// appendContent appends m's content header frame, with the publisher's property
// octets where it has them, and its body frames.
func appendContent(b []byte, channel uint16, m *message.Message, frameMax uint32) []byte {
	if m.RawProps != nil {
		b = wire.AppendRawHeaderFrame(b, channel, classBasic, uint64(len(m.Body)), m.RawProps)
	} else {
		b = wire.AppendHeaderFrame(b, channel, classBasic, uint64(len(m.Body)), &m.Props)
	}
	return wire.AppendBodyFrames(b, channel, m.Body, frameMax)
}
