package amqp

import (
	"strings"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/broker"
	"github.com/warren-mq/warren/exchange"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
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
	reply     bool // to a direct reply-to address
}

func (ch *channel) basicPublish(m *wire.BasicPublish) *wire.Error {
	if m.Immediate {
		return wire.Errorf(wire.NotImplemented, "immediate=true")
	}
	ch.conn.awaitPublishAllowed()
	// One pending per channel, reused: what it holds goes into the message.
	ch.pubScratch = pending{method: m, exchange: m.Exchange, routingKey: m.RoutingKey, mandatory: m.Mandatory}
	ch.pub = &ch.pubScratch
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
		// The body and the property octets share one allocation (for bodies
		// up to 1 MiB; larger ones grow as their frames come).
		raw := f.Payload[wire.ContentHeaderPropertiesOffset:]
		buf := make([]byte, min(size, 1<<20)+uint64(len(raw)))
		p.rawProps = buf[len(buf)-len(raw):]
		copy(p.rawProps, raw)
		p.body = buf[: 0 : len(buf)-len(raw)]
		if size == 0 {
			p.body = nil
			return ch.contentComplete()
		}
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
// transaction), then counts it for confirms. The checks come in RabbitMQ's
// order: the exchange, the direct reply-to consumer, user-id, expiration, the
// CC and BCC headers.
func (ch *channel) published() *wire.Error {
	p := ch.pub
	ch.pub = nil
	msg := &message.Message{Exchange: p.exchange, RoutingKey: p.routingKey, Props: p.props, RawProps: p.rawProps, Body: p.body}
	// A reply to a direct reply-to address goes to its channel, not a queue.
	reply := p.exchange == "" && strings.HasPrefix(p.routingKey, replyToPrefix)
	var qs []*queue.Queue
	cc, bcc := msg.Props.Headers["CC"], msg.Props.Headers["BCC"]
	cached := !reply && len(msg.Props.Headers) == 0 // one key, no headers: the channel's route cache serves
	if cached {
		var err *wire.Error
		if qs, err = ch.vhost().RouteOne(p.exchange, p.routingKey, &ch.routeCache); err != nil {
			return err.For(p.method)
		}
	} else if !reply {
		// Sender-selected distribution: CC and BCC add routing keys.
		keys := append(ch.routeKeys[:0], p.routingKey)
		if cc != nil || bcc != nil {
			keys = append(append(keys, stringArray(cc)...), stringArray(bcc)...)
		}
		ch.routeKeys = keys
		var names []string
		var err *wire.Error
		qs, names, err = ch.vhost().Route(p.exchange, keys, msg.Props.Headers, ch.routeQueues[:0], ch.routeNames)
		ch.routeNames = names
		if err != nil {
			return err.For(p.method)
		}
	}
	if err := ch.checkPublished(msg); err != nil {
		if !cached {
			clear(qs)
		}
		return err.For(p.method)
	}
	if bcc != nil && !reply {
		// Consumers never see BCC.
		msg.Props.Headers = withoutKey(msg.Props.Headers, "BCC")
		msg.RawProps = nil
	}
	switch {
	case ch.tx:
		ch.txPublishes = append(ch.txPublishes, txPublish{msg: msg, queues: append([]*queue.Queue(nil), qs...), mandatory: p.mandatory, reply: reply})
	case ch.confirm != nil:
		c := ch.confirm
		tag := c.add(confirmPending)
		o := ch.deliver(msg, qs, p.mandatory, reply, func(o broker.Outcome, err error) {
			if err != nil {
				ch.conn.log.Error("store write failed: publish nacked", zap.Error(err))
			}
			c.complete(tag, err == nil && !o.Rejected)
			c.flush(ch.conn.w, ch.id)
		})
		if !o.Stored {
			c.complete(tag, !o.Rejected)
			if !ch.dirty {
				ch.dirty = true
				ch.conn.dirty = append(ch.conn.dirty, ch)
			}
		}
	default:
		ch.deliver(msg, qs, p.mandatory, reply, nil)
	}
	if !cached {
		clear(qs)
		ch.routeQueues = qs[:0]
	}
	return nil
}

// checkPublished refuses a message RabbitMQ would refuse, and rewrites a
// direct reply-to reply_to to this channel's address.
func (ch *channel) checkPublished(msg *message.Message) *wire.Error {
	props := &msg.Props
	if props.Flags&wire.FlagReplyTo != 0 && props.ReplyTo == replyToQueue {
		addr := ch.replyAddress()
		if addr == "" {
			return wire.Errorf(wire.PreconditionFailed, "fast reply consumer does not exist")
		}
		props.ReplyTo = addr
		msg.RawProps = nil
	}
	if props.Flags&wire.FlagUserID != 0 && props.UserID != ch.conn.user {
		return wire.Errorf(wire.PreconditionFailed, "user_id property set to '%s' but authenticated user was '%s'",
			props.UserID, ch.conn.user)
	}
	if props.Flags&wire.FlagExpiration != 0 {
		if _, err := message.ParseExpiration(props.Expiration); err != nil {
			return wire.Errorf(wire.PreconditionFailed, "invalid expiration '%s': %s", props.Expiration, expirationError(props.Expiration))
		}
	}
	for _, h := range [...]string{"CC", "BCC"} {
		if v, ok := props.Headers[h]; ok {
			if _, isArray := v.([]any); !isArray {
				return wire.Errorf(wire.PreconditionFailed, "invalid message: {unacceptable_type_in_header,\"%s\",%s}",
					h, exchange.FieldTypeName(v))
			}
		}
	}
	return nil
}

// expirationError is the Erlang term RabbitMQ gives for an expiration that is
// not an integer from 0 to message.MaxExpiry (string:to_integer, then
// check_expiry), printed as ~p prints it after "invalid expiration '...': ",
// which breaks a term that would pass column 80.
func expirationError(s string) string {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return "no_integer"
	}
	if j < len(s) {
		return `{leftover_string,"` + s[j:] + `"}`
	}
	n := strings.TrimLeft(s[i:j], "0")
	if n == "" {
		n = "0"
	}
	tag := "value_too_large"
	if s[0] == '-' {
		tag, n = "value_negative", "-"+n
	}
	col := len("invalid expiration '") + len(s) + len("': ")
	if col+len(tag)+len(n)+3 > 80 {
		return "{" + tag + ",\n" + strings.Repeat(" ", col+1) + n + "}"
	}
	return "{" + tag + "," + n + "}"
}

// stringArray returns the strings of a CC or BCC header (an array; RabbitMQ
// takes its longstr elements and ignores the rest).
func stringArray(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// withoutKey returns a copy of t without key.
func withoutKey(t wire.Table, key string) wire.Table {
	out := make(wire.Table, len(t))
	for k, v := range t {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// deliver hands msg to its queues (or, for a reply, to its direct reply-to
// consumer), or returns it to a mandatory publisher when none took it. done, if
// not nil, is called as broker.Publisher.Publish says.
func (ch *channel) deliver(msg *message.Message, qs []*queue.Queue, mandatory, reply bool, done func(broker.Outcome, error)) broker.Outcome {
	var o broker.Outcome
	if reply {
		// RabbitMQ 3.10 returns a mandatory reply even when it delivers it:
		// the pseudo-queue is no routing target. Taken stays 0.
		ch.conn.srv.deliverReply(msg)
	} else {
		o = ch.publisher.Publish(msg, qs, done)
	}
	if o.Taken == 0 && !o.Rejected && mandatory {
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
	return o
}

// flushConfirms sends the confirms completed so far.
func (ch *channel) flushConfirms() {
	ch.dirty = false
	if ch.confirm != nil && !ch.closing {
		ch.confirm.flush(ch.conn.w, ch.id)
	}
}
