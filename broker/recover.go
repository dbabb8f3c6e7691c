package broker

import (
	"fmt"
	"strings"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/exchange"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
	"github.com/warren-mq/warren/storage"
)

// recoverReadBatch is how many messages recovery reads from the store at a time.
const recoverReadBatch = 1024

// recover rebuilds definitions and queue contents from the store.
func (b *Broker) recover() error {
	if b.store == nil {
		return nil
	}
	if err := b.recoverExchanges(); err != nil {
		return err
	}
	queues, err := b.recoverQueues()
	if err != nil {
		return err
	}
	if err := b.recoverBindings(); err != nil {
		return err
	}
	return b.recoverMessages(queues)
}

// splitKey returns the vhost a definition key belongs to and the rest of it.
func (b *Broker) splitKey(key string) (*Vhost, string, error) {
	vhost, name, ok := strings.Cut(key, "\x00")
	if !ok {
		return nil, "", fmt.Errorf("malformed definition key %q", key)
	}
	v := b.vhosts[vhost]
	if v == nil {
		return nil, "", fmt.Errorf("definition %q names an unknown vhost", key)
	}
	return v, name, nil
}

func (b *Broker) recoverExchanges() error {
	return b.store.ForEachDefinition(storage.KindExchange, func(key string, value []byte) error {
		v, name, err := b.splitKey(key)
		if err != nil {
			return err
		}
		d, err := decodeDef(value)
		if err != nil {
			return fmt.Errorf("exchange %q: %w", name, err)
		}
		typ, _ := d["type"].(string)
		autoDelete, _ := d["auto_delete"].(bool)
		internal, _ := d["internal"].(bool)
		args, _ := d["arguments"].(wire.Table)
		x, err := exchange.New(name, typ, true, autoDelete, internal, args)
		if err != nil {
			return fmt.Errorf("exchange %q: %w", name, err)
		}
		v.exchanges[name] = x
		return nil
	})
}

func (b *Broker) recoverQueues() ([]*queue.Queue, error) {
	var queues []*queue.Queue
	err := b.store.ForEachDefinition(storage.KindQueue, func(key string, value []byte) error {
		v, name, err := b.splitKey(key)
		if err != nil {
			return err
		}
		d, err := decodeDef(value)
		if err != nil {
			return fmt.Errorf("queue %q: %w", name, err)
		}
		id, _ := d["id"].(int64)
		autoDelete, _ := d["auto_delete"].(bool)
		args, _ := d["arguments"].(wire.Table)
		q := queue.New(name, v.Name, true, false, autoDelete, args, nil)
		q.SetStore(b.store, uint64(id))
		if uint64(id) > b.queueIDs.Load() {
			b.queueIDs.Store(uint64(id))
		}
		v.queues[name] = q
		queues = append(queues, q)
		return nil
	})
	return queues, err
}

func (b *Broker) recoverBindings() error {
	return b.store.ForEachDefinition(storage.KindBinding, func(key string, value []byte) error {
		d, err := decodeDef(value)
		if err != nil {
			return fmt.Errorf("binding %q: %w", key, err)
		}
		vhost, _ := d["vhost"].(string)
		source, _ := d["source"].(string)
		dest, _ := d["destination"].(string)
		toExchange, _ := d["to_exchange"].(bool)
		routingKey, _ := d["routing_key"].(string)
		args, _ := d["arguments"].(wire.Table)
		v := b.vhosts[vhost]
		if v == nil || v.exchanges[source] == nil {
			return nil // its source is gone; nothing routes through it
		}
		if (toExchange && v.exchanges[dest] == nil) || (!toExchange && v.queues[dest] == nil) {
			return nil
		}
		v.exchanges[source].Bind(exchange.Binding{Destination: dest, ToExchange: toExchange, Key: routingKey, Args: args})
		return nil
	})
}

// recoverMessages puts every stored message back in its queues, in seq order,
// flagged redelivered when the queue had delivered it, then deletes messages no
// queue holds any more and sets the message id counter past every stored id.
func (b *Broker) recoverMessages(queues []*queue.Queue) error {
	msgs := map[uint64]*message.Message{}
	type slot struct{ seq, id uint64 }
	for _, q := range queues {
		var slots []slot
		delivered, err := b.store.ForEachIndex(q.ID, func(seq, msgID uint64) error {
			slots = append(slots, slot{seq, msgID})
			return nil
		})
		if err != nil {
			return fmt.Errorf("queue %q: %w", q.Name, err)
		}
		for len(slots) > 0 {
			n := min(len(slots), recoverReadBatch)
			chunk := slots[:n]
			slots = slots[n:]
			var need []uint64
			for _, s := range chunk {
				if msgs[s.id] == nil {
					need = append(need, s.id)
				}
			}
			if len(need) > 0 {
				err := b.store.ReadMessages(need, func(id uint64, data []byte) error {
					m, err := message.Decode(data)
					if err != nil {
						return fmt.Errorf("message %d: %w", id, err)
					}
					m.ID = id
					msgs[id] = m
					return nil
				})
				if err != nil {
					return fmt.Errorf("queue %q: %w", q.Name, err)
				}
			}
			for _, s := range chunk {
				m := msgs[s.id]
				m.Ref()
				q.Recover(m, s.seq, s.seq <= delivered)
			}
		}
	}
	var orphans storage.Batch
	var maxID uint64
	err := b.store.ForEachMessageID(func(id uint64) error {
		maxID = max(maxID, id)
		if msgs[id] == nil {
			orphans.DeleteMessage(id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.msgIDs.Store(maxID)
	if orphans.Len() > 0 {
		done := make(chan error, 1)
		b.store.Submit(&orphans, func(err error) { done <- err })
		if err := <-done; err != nil {
			return fmt.Errorf("deleting messages no queue holds: %w", err)
		}
	}
	return nil
}
