package broker

import (
	"fmt"
	"sync/atomic"

	"github.com/warren-mq/warren/storage"
)

// Broker is one node's virtual hosts over one store. Open recovers what the store
// holds; every durable change afterwards goes through the store before it is
// answered.
type Broker struct {
	store  storage.Store
	vhosts map[string]*Vhost

	queueIDs atomic.Uint64 // last queue id handed out
	msgIDs   atomic.Uint64 // last message id handed out
}

// Open returns a broker with the vhost "/" and everything store holds: durable
// exchanges, queues and bindings, and the persistent messages of those queues.
func Open(store storage.Store) (*Broker, error) {
	b := &Broker{store: store, vhosts: map[string]*Vhost{}}
	b.vhosts["/"] = newVhost("/", b)
	if err := b.recover(); err != nil {
		return nil, fmt.Errorf("recovering from the store: %w", err)
	}
	return b, nil
}

// Vhost returns the named virtual host, or nil.
func (b *Broker) Vhost(name string) *Vhost { return b.vhosts[name] }

// Store is the broker's store.
func (b *Broker) Store() storage.Store { return b.store }

// NextMessageID returns a new message id for the store.
func (b *Broker) NextMessageID() uint64 { return b.msgIDs.Add(1) }

func (b *Broker) nextQueueID() uint64 { return b.queueIDs.Add(1) }
