package amqp

import (
	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
)

// Direct reply-to, as RabbitMQ has it: a channel consumes (no-ack) from the
// pseudo-queue amq.rabbitmq.reply-to; a request it publishes with reply_to set
// to that name goes out with reply_to rewritten to the channel's own address
// (amq.rabbitmq.reply-to.<token>), and a reply published to the default exchange
// with that address as routing key is delivered straight to the channel, with
// no queue in between.
const (
	replyToQueue  = "amq.rabbitmq.reply-to"
	replyToPrefix = replyToQueue + "."
)

// replyConsumer is a channel's direct reply-to consumer.
type replyConsumer struct {
	tag  string
	addr string // the channel's address: replyToPrefix + token
}

// consumeReplyTo handles basic.consume from the reply-to pseudo-queue.
func (ch *channel) consumeReplyTo(m *wire.BasicConsume) *wire.Error {
	if !m.NoAck {
		return wire.Errorf(wire.PreconditionFailed, "reply consumer cannot acknowledge")
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = generatedName("amq.ctag-")
	}
	ch.mu.Lock()
	switch {
	case ch.replyTo != nil:
		ch.mu.Unlock()
		return wire.Errorf(wire.PreconditionFailed, "reply consumer already set")
	case ch.consumers[tag] != nil:
		ch.mu.Unlock()
		return wire.Errorf(wire.NotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	rc := &replyConsumer{tag: tag, addr: generatedName(replyToPrefix)}
	ch.replyTo = rc
	ch.mu.Unlock()
	ch.conn.srv.registerReply(rc.addr, ch)
	if !m.NoWait {
		ch.conn.w.method(ch.id, &wire.BasicConsumeOk{ConsumerTag: tag})
	}
	return nil
}

// cancelReplyTo ends the channel's direct reply-to consumer if it has tag (or,
// for an empty tag, whatever its tag), and reports whether it did.
func (ch *channel) cancelReplyTo(tag string) bool {
	ch.mu.Lock()
	rc := ch.replyTo
	if rc == nil || (tag != "" && rc.tag != tag) {
		ch.mu.Unlock()
		return false
	}
	ch.replyTo = nil
	ch.mu.Unlock()
	ch.conn.srv.unregisterReply(rc.addr)
	return true
}

// replyAddress is the channel's direct reply-to address, or "" if it has no
// reply consumer.
func (ch *channel) replyAddress() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.replyTo == nil {
		return ""
	}
	return ch.replyTo.addr
}

// deliverReply delivers msg to the channel's reply consumer if its address is
// msg's routing key.
func (ch *channel) deliverReply(msg *message.Message) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	rc := ch.replyTo
	if ch.closed || rc == nil || rc.addr != msg.RoutingKey {
		return false
	}
	ch.nextTag++
	tag, frameMax := ch.nextTag, ch.conn.frameMax
	return ch.conn.w.append(func(b []byte) []byte {
		b = wire.AppendMethodFrame(b, ch.id, &wire.BasicDeliver{
			ConsumerTag: rc.tag,
			DeliveryTag: tag,
			Exchange:    msg.Exchange,
			RoutingKey:  msg.RoutingKey,
		})
		return appendContent(b, ch.id, msg, frameMax)
	})
}

func (s *Server) registerReply(addr string, ch *channel) {
	s.replyMu.Lock()
	s.replies[addr] = ch
	s.replyMu.Unlock()
}

func (s *Server) unregisterReply(addr string) {
	s.replyMu.Lock()
	delete(s.replies, addr)
	s.replyMu.Unlock()
}

// replyAddressLive reports whether a channel has the direct reply-to address.
func (s *Server) replyAddressLive(addr string) bool {
	s.replyMu.RLock()
	defer s.replyMu.RUnlock()
	return s.replies[addr] != nil
}

// deliverReply delivers a reply published to a direct reply-to address; it
// reports false when no channel has that address (any more).
func (s *Server) deliverReply(msg *message.Message) bool {
	s.replyMu.RLock()
	ch := s.replies[msg.RoutingKey]
	s.replyMu.RUnlock()
	return ch != nil && ch.deliverReply(msg)
}
