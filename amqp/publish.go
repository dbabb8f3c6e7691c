package amqp

import (
	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
	"github.com/warren-mq/warren/storage"
)

// pending is a method with content (basic.publish, or a server-only one a
// client sent) whose content is being assembled.
type pending struct {
	method               wire.Method
	exchange, routingKey string
	mandatory            bool
	haveHeader           bool
	rawProps             []byte // the header's property octets, passed through to consumers
	overflow             bool   // more body than the header declared: never completes
	props                wire.Properties
	size                 uint64
	body                 []byte
}

// txPublish is a publish held by a transaction until commit.
type txPublish struct {
	msg       *message.Message
	queues    []*queue.Queue
	mandatory bool
}

func (ch *channel) basicPublish(m *wire.BasicPublish) *wire.Error {
	if m.Immediate {
		return wire.Errorf(wire.NotImplemented, "immediate=true")
	}
	ch.conn.awaitPublishAllowed()
	ch.pub = &pending{method: m, exchange: m.Exchange, routingKey: m.RoutingKey, mandatory: m.Mandatory}
	return nil
}

// unexpected is the 505 for a frame the content in progress did not expect; like
// RabbitMQ it names the method the content belongs to.
func (p *pending) unexpected(format string, args ...any) *wire.Error {
	return wire.Errorf(wire.UnexpectedFrame, format, args...).For(p.method)
}

// awaiting is the 505 for a method frame that arrives where content is due.
func (p *pending) awaiting() *wire.Error {
	if !p.haveHeader {
		return p.unexpected("expected content header for class 60, got non content header frame instead")
	}
	return p.unexpected("expected content body, got non content body frame instead")
}

// content takes a content header or body frame of the method in progress.
func (ch *channel) content(f wire.Frame) *wire.Error {
	p := ch.pub
	if p == nil {
		return wire.Errorf(wire.UnexpectedFrame, "expected method frame, got non method frame instead")
	}
	if f.Type == wire.FrameHeader {
		if p.haveHeader {
			return p.unexpected("expected content body, got non content body frame instead")
		}
		classID, size, props, err := wire.DecodeContentHeader(f.Payload)
		if err != nil {
			if len(f.Payload) >= 2 && uint16(f.Payload[0])<<8|uint16(f.Payload[1]) != classBasic {
				classID = uint16(f.Payload[0])<<8 | uint16(f.Payload[1])
			} else {
				return wire.Errorf(wire.FrameErrorCode, "cannot decode %s", erlBytes(f.Payload)).For(p.method)
			}
		}
		if classID != classBasic {
			return p.unexpected("expected content header for class 60, got one for class %d instead", classID)
		}
		if max := ch.conn.srv.cfg.MaxMessageSize; size > max {
			ch.pub = nil
			return wire.Errorf(wire.PreconditionFailed, "message size %d is larger than configured max size %d", size, max).For(p.method)
		}
		p.haveHeader, p.size, p.props = true, size, props
		p.rawProps = append([]byte(nil), f.Payload[wire.ContentHeaderPropertiesOffset:]...)
		if size == 0 {
			return ch.contentComplete()
		}
		p.body = make([]byte, 0, min(size, 1<<20))
		return nil
	}
	if !p.haveHeader {
		return p.unexpected("expected content header for class 60, got non content header frame instead")
	}
	if p.overflow || uint64(len(p.body))+uint64(len(f.Payload)) > p.size {
		// RabbitMQ raises nothing here: the message just never completes, and the
		// next method gets the 505 for a body that is still due.
		p.overflow, p.body = true, nil
		return nil
	}
	p.body = append(p.body, f.Payload...)
	if uint64(len(p.body)) == p.size {
		return ch.contentComplete()
	}
	return nil
}

// contentComplete runs the method whose content is now complete.
func (ch *channel) contentComplete() *wire.Error {
	if _, ok := ch.pub.method.(*wire.BasicPublish); !ok {
		m := ch.pub.method
		ch.pub = nil
		return wire.Errorf(wire.CommandInvalid, "unimplemented method").For(m)
	}
	return ch.published()
}

// published routes a complete message and delivers it (or holds it, in a
// transaction), then counts it for confirms.
func (ch *channel) published() *wire.Error {
	p := ch.pub
	ch.pub = nil
	if p.props.Flags&wire.FlagUserID != 0 && p.props.UserID != ch.conn.user {
		return wire.Errorf(wire.PreconditionFailed, "user_id property set to '%s' but authenticated user was '%s'",
			p.props.UserID, ch.conn.user).For(p.method)
	}
	msg := &message.Message{Exchange: p.exchange, RoutingKey: p.routingKey, Props: p.props, RawProps: p.rawProps, Body: p.body}
	qs, names, err := ch.vhost().Route(p.exchange, p.routingKey, p.props.Headers, ch.routeQueues[:0], ch.routeNames)
	ch.routeNames = names
	if err != nil {
		err.ClassID, err.MethodID = classBasic, 40
		return err
	}
	if ch.tx {
		ch.txPublishes = append(ch.txPublishes, txPublish{msg: msg, queues: append([]*queue.Queue(nil), qs...), mandatory: p.mandatory})
	} else if ch.confirm != nil {
		c := ch.confirm
		tag := c.add(confirmPending)
		stored := ch.deliver(msg, qs, p.mandatory, func(err error) {
			if err != nil {
				ch.conn.log.Error("store write failed: publish nacked", zap.Error(err))
			}
			c.complete(tag, err == nil)
			c.flush(ch.conn.w, ch.id)
		})
		if !stored {
			c.complete(tag, true)
			if !ch.dirty {
				ch.dirty = true
				ch.conn.dirty = append(ch.conn.dirty, ch)
			}
		}
	} else {
		ch.deliver(msg, qs, p.mandatory, nil)
	}
	clear(qs)
	ch.routeQueues = qs[:0]
	return nil
}

// deliver hands msg to its queues, or returns it to a mandatory publisher when
// none took it. A persistent message bound for durable queues is stored first:
// once, with an index entry for each such queue, submitted before any queue
// shows it to a consumer so that every ack's store write comes after it. deliver
// reports whether it stored the message; done, if not nil, is then called once
// the store has it (or failed to write it).
func (ch *channel) deliver(msg *message.Message, qs []*queue.Queue, mandatory bool, done func(error)) bool {
	seqs := ch.routeSeqs[:0]
	var batch *storage.Batch
	for _, q := range qs {
		var seq uint64
		if q.Stores(msg) {
			if batch == nil {
				b := ch.vhost().Broker()
				msg.ID = b.NextMessageID()
				batch = &storage.Batch{}
				batch.PutMessage(msg.ID, msg.Encode(nil))
			}
			seq = q.Reserve()
			batch.PutIndex(q.ID, seq, msg.ID)
			msg.Ref()
		}
		seqs = append(seqs, seq)
	}
	if batch != nil {
		log := ch.conn.log
		ch.vhost().Broker().Store().Submit(batch, func(err error) {
			if err == nil {
				msg.SetOnDisk() // queues may page its body out from now on
			} else if done == nil {
				log.Error("store write failed", zap.Error(err))
			}
			if done != nil {
				done(err)
			}
		})
	}
	taken := 0
	for i, q := range qs {
		var ok bool
		if seqs[i] != 0 {
			ok = q.PublishAt(msg, seqs[i])
		} else {
			ok = q.Publish(msg)
		}
		if ok {
			taken++
		}
	}
	ch.routeSeqs = seqs
	if taken == 0 && mandatory {
		frameMax := ch.conn.frameMax
		ch.conn.w.append(func(b []byte) []byte {
			b = wire.AppendMethodFrame(b, ch.id, &wire.BasicReturn{
				ReplyCode:  wire.NoRoute,
				ReplyText:  "NO_ROUTE",
				Exchange:   msg.Exchange,
				RoutingKey: msg.RoutingKey,
			})
			return appendContent(b, ch.id, msg, frameMax)
		})
	}
	return batch != nil
}

// flushConfirms sends the confirms completed so far.
func (ch *channel) flushConfirms() {
	ch.dirty = false
	if ch.confirm != nil && !ch.closing {
		ch.confirm.flush(ch.conn.w, ch.id)
	}
}
