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
// A message only one queue holds comes back paged out (read when it nears the
// head), so recovery reads only the indexes; one several queues share is read
// now, once, and shared.
func (b *Broker) recoverMessages(queues []*queue.Queue) error {
	type slot struct{ seq, id uint64 }
	slots := make([][]slot, len(queues))
	delivered := make([]uint64, len(queues))
	holders := map[uint64]int32{}
	for i, q := range queues {
		d, err := b.store.ForEachIndex(q.ID, func(seq, msgID uint64) error {
			slots[i] = append(slots[i], slot{seq, msgID})
			holders[msgID]++
			return nil
		})
		if err != nil {
			return fmt.Errorf("queue %q: %w", q.Name, err)
		}
		delivered[i] = d
	}
	shared := map[uint64]*message.Message{}
	var need []uint64
	for id, n := range holders {
		if n > 1 {
			need = append(need, id)
		}
	}
	for len(need) > 0 {
		chunk := need[:min(len(need), recoverReadBatch)]
		need = need[len(chunk):]
		err := b.store.ReadMessages(chunk, func(id uint64, data []byte) error {
			m, err := message.Decode(data)
			if err != nil {
				return fmt.Errorf("message %d: %w", id, err)
			}
			m.ID = id
			m.SetOnDisk()
			shared[id] = m
			return nil
		})
		if err != nil {
			return err
		}
	}
	for i, q := range queues {
		for _, s := range slots[i] {
			redelivered := s.seq <= delivered[i]
			if m := shared[s.id]; m != nil {
				m.Ref()
				q.Recover(m, s.seq, redelivered)
			} else {
				q.RecoverPaged(s.id, s.seq, redelivered)
			}
		}
		slots[i] = nil
	}
	var orphans storage.Batch
	var maxID uint64
	err := b.store.ForEachMessageID(func(id uint64) error {
		maxID = max(maxID, id)
		if holders[id] == 0 {
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
