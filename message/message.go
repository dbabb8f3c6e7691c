// Package message holds the one type every part of Warren shares: a published
// message as the broker keeps it between publish and the last ack.
package message

import "github.com/warren-mq/warren/amqp/wire"

// Message is a published message. It is immutable once published: a message routed
// to several queues is shared by all of them, so no part may change it in place.
type Message struct {
	Exchange   string
	RoutingKey string
	Props      wire.Properties
	Body       []byte
}

// Persistent reports whether the publisher asked for delivery-mode 2.
func (m *Message) Persistent() bool {
	return m.Props.Flags&wire.FlagDeliveryMode != 0 && m.Props.DeliveryMode == 2
}

// Size is the number of body octets, the figure length limits and memory budgets count.
func (m *Message) Size() int { return len(m.Body) }
