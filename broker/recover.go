package broker

import (
	"fmt"
	"slices"
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
		x, err := v.newExchange(name, typ, true, autoDelete, internal, args)
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
		q := v.newQueue(name, true, false, autoDelete, args, nil)
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
// now, once, and shared. Besides the queues' entries, recovery holds one sorted
// array of the message ids they refer to (8 octets a message), which finds both
// the shared messages and those no queue refers to.
func (b *Broker) recoverMessages(queues []*queue.Queue) error {
	var held []uint64
	for _, q := range queues {
		mark, err := b.store.ForEachIndex(q.ID, func(seq uint64, e storage.IndexEntry) error {
			q.RecoverEntry(seq, e)
			held = append(held, e.MsgID)
			return nil
		})
		if err != nil {
			return fmt.Errorf("queue %q: %w", q.Name, err)
		}
		q.RecoverDelivered(mark)
	}
	slices.Sort(held)
	var need []uint64 // held by more than one queue
	for i := 1; i < len(held); i++ {
		if held[i] == held[i-1] && (len(need) == 0 || need[len(need)-1] != held[i]) {
			need = append(need, held[i])
		}
	}
	if len(need) > 0 {
		shared := make(map[uint64]*message.Message, len(need))
		for rest := need; len(rest) > 0; {
			chunk := rest[:min(len(rest), recoverReadBatch)]
			rest = rest[len(chunk):]
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
		for _, q := range queues {
			q.ShareRecovered(shared)
		}
	}
	var orphans storage.Batch
	var maxID uint64
	i := 0
	err := b.store.ForEachMessageID(func(id uint64) error {
		maxID = max(maxID, id)
		for i < len(held) && held[i] < id {
			i++
		}
		if i == len(held) || held[i] != id {
			orphans.DeleteMessage(id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	held = nil
	b.msgIDs.Store(maxID)
	if orphans.Len() > 0 {
		done := make(chan error, 1)
		b.store.Submit(&orphans, func(err error) { done <- err })
		if err := <-done; err != nil {
			return fmt.Errorf("deleting messages no queue holds: %w", err)
		}
	}
	for _, q := range queues {
		q.Recovered()
	}
	return nil
}
