package broker

import (
	"strings"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/exchange"
	"github.com/warren-mq/warren/queue"
	"github.com/warren-mq/warren/storage"
)

// Definitions are stored as AMQP field tables under keys that start with the
// vhost's name and a NUL, so that one vhost's records sort together.

func defKey(parts ...string) string { return strings.Join(parts, "\x00") }

func encodeDef(t wire.Table) []byte { return wire.AppendTable(nil, t) }

func decodeDef(b []byte) (wire.Table, error) {
	t, _, err := wire.DecodeTable(b)
	return t, err
}

func storeFailed(err error) *wire.Error {
	return wire.Errorf(wire.InternalError, "store failed: %v", err)
}

// persistExchange writes a durable exchange's definition.
func (v *Vhost) persistExchange(x *exchange.Exchange) *wire.Error {
	if !x.Durable || v.b.store == nil {
		return nil
	}
	err := v.b.store.PutDefinition(storage.KindExchange, defKey(v.Name, x.Name), encodeDef(wire.Table{
		"type": x.Type, "auto_delete": x.AutoDelete, "internal": x.Internal, "arguments": wire.Table(x.Args),
	}))
	if err != nil {
		return storeFailed(err)
	}
	return nil
}

func (v *Vhost) unpersistExchange(x *exchange.Exchange) {
	if x.Durable && v.b.store != nil {
		v.b.store.DeleteDefinition(storage.KindExchange, defKey(v.Name, x.Name))
	}
}

// persistQueue writes a durable queue's definition; exclusive queues are never
// stored, as they end with their connection.
func (v *Vhost) persistQueue(q *queue.Queue) *wire.Error {
	if !q.Durable || q.Exclusive || v.b.store == nil {
		return nil
	}
	err := v.b.store.PutDefinition(storage.KindQueue, defKey(v.Name, q.Name), encodeDef(wire.Table{
		"id": int64(q.ID), "auto_delete": q.AutoDelete, "arguments": q.Args,
	}))
	if err != nil {
		return storeFailed(err)
	}
	return nil
}

func (v *Vhost) unpersistQueue(q *queue.Queue) {
	if q.Durable && !q.Exclusive && v.b.store != nil {
		v.b.store.DeleteDefinition(storage.KindQueue, defKey(v.Name, q.Name))
	}
}

// bindingDurable reports whether a binding is stored: both its ends are durable.
func (v *Vhost) bindingDurable(src *exchange.Exchange, b exchange.Binding) bool {
	if v.b.store == nil || !src.Durable {
		return false
	}
	if b.ToExchange {
		dst := v.exchanges[b.Destination]
		return dst != nil && dst.Durable
	}
	q := v.queues[b.Destination]
	return q != nil && q.Durable && !q.Exclusive
}

func bindingKey(vhost, source string, b exchange.Binding) string {
	kind := "q"
	if b.ToExchange {
		kind = "e"
	}
	return defKey(vhost, source, kind, b.Destination, b.Key, string(wire.AppendTable(nil, wire.Table(b.Args))))
}

func (v *Vhost) persistBinding(src *exchange.Exchange, b exchange.Binding) *wire.Error {
	if !v.bindingDurable(src, b) {
		return nil
	}
	err := v.b.store.PutDefinition(storage.KindBinding, bindingKey(v.Name, src.Name, b), encodeDef(wire.Table{
		"vhost": v.Name, "source": src.Name, "destination": b.Destination, "to_exchange": b.ToExchange,
		"routing_key": b.Key, "arguments": wire.Table(b.Args),
	}))
	if err != nil {
		return storeFailed(err)
	}
	return nil
}

func (v *Vhost) unpersistBinding(src *exchange.Exchange, b exchange.Binding) {
	if v.bindingDurable(src, b) {
		v.b.store.DeleteDefinition(storage.KindBinding, bindingKey(v.Name, src.Name, b))
	}
}
