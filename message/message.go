// Package message holds the one type every part of Warren shares: a published
// message as the broker keeps it between publish and the last ack.
package message

import (
	"errors"
	"sync/atomic"

	"github.com/warren-mq/warren/amqp/wire"
)

// Message is a published message. It is immutable once published: a message routed
// to several queues is shared by all of them, so no part may change it in place.
type Message struct {
	Exchange   string
	RoutingKey string
	Props      wire.Properties
	// RawProps are the property flags and list as the publisher encoded them,
	// delivered byte for byte (header table key order included); nil when the
	// properties were made by the broker, which then encodes Props.
	RawProps []byte
	Body     []byte

	// ID is the message's id in the store, or 0 when it is not stored (transient,
	// or routed to no durable queue). A stored message is stored once, however
	// many durable queues hold it.
	ID uint64
	// refs counts the durable queues that hold the stored copy.
	refs atomic.Int32
	// onDisk is set once the stored copy is durable: only then may a queue drop
	// the body from memory and read it back later.
	onDisk atomic.Bool
}

// SetOnDisk records that the stored copy is durable.
func (m *Message) SetOnDisk() { m.onDisk.Store(true) }

// OnDisk reports whether the stored copy is durable.
func (m *Message) OnDisk() bool { return m.onDisk.Load() }

// Refs is the number of durable queues holding the stored copy.
func (m *Message) Refs() int32 { return m.refs.Load() }

// Persistent reports whether the publisher asked for delivery-mode 2.
func (m *Message) Persistent() bool {
	return m.Props.Flags&wire.FlagDeliveryMode != 0 && m.Props.DeliveryMode == 2
}

// Size is the number of body octets, the figure length limits and memory budgets count.
func (m *Message) Size() int { return len(m.Body) }

// Ref records one more durable queue holding the stored copy.
func (m *Message) Ref() { m.refs.Add(1) }

// Unref records that a durable queue is done with the stored copy; it reports
// true when it was the last, and the stored copy is to be deleted.
func (m *Message) Unref() bool { return m.refs.Add(-1) == 0 }

// Expiration returns the message's own time to live in milliseconds (the
// expiration property) and true, or false when it has none or it is not a
// non-negative integer (publishes with such a value are refused, see
// ParseExpiration).
func (m *Message) Expiration() (int64, bool) {
	if m.Props.Flags&wire.FlagExpiration == 0 {
		return 0, false
	}
	ms, err := ParseExpiration(m.Props.Expiration)
	return ms, err == nil
}

// MaxExpiry is the longest TTL or expiry RabbitMQ takes, in milliseconds (ten
// years).
const MaxExpiry = 315_360_000_000

// ParseExpiration reads an expiration property as RabbitMQ does: an integer
// number of milliseconds in decimal, optionally signed, from 0 to MaxExpiry.
func ParseExpiration(s string) (int64, error) {
	neg := len(s) > 0 && s[0] == '-'
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return 0, errBadExpiration
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadExpiration
		}
		n = n*10 + int64(c-'0')
		if n > MaxExpiry {
			return 0, errBadExpiration
		}
	}
	if neg && n != 0 {
		return 0, errBadExpiration
	}
	return n, nil
}

var errBadExpiration = errors.New("message: expiration is not a non-negative integer")

// Priority returns the message's priority property, 0 when it has none.
func (m *Message) Priority() uint8 {
	if m.Props.Flags&wire.FlagPriority == 0 {
		return 0
	}
	return m.Props.Priority
}
