package broker

import (
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/queue"
	"github.com/warren-mq/warren/storage"
)

// Config is what a broker is made of.
type Config struct {
	// Store keeps durable definitions and persistent messages; nil keeps
	// everything in memory.
	Store storage.Store
	// Logger receives the broker's logs; nil discards them.
	Logger *zap.Logger
	// Definitions, when not nil, are taken at start: their policies apply to
	// the queues and exchanges of their vhosts (see Policy), and their
	// exchanges, queues and bindings are declared after recovery.
	Definitions *Definitions
}

// Broker is one node's virtual hosts over one store. Open recovers what the store
// holds; every durable change afterwards goes through the store before it is
// answered.
type Broker struct {
	store  storage.Store
	log    *zap.Logger
	vhosts map[string]*Vhost

	queueIDs atomic.Uint64 // last queue id handed out
	msgIDs   atomic.Uint64 // last message id handed out

	memory *queue.MemoryShare // the durable queues' budget for bodies in memory
}

// QueueMemory is the body octets the durable queues keep in memory in all,
// shared among them (see queue.MemoryShare): past their share, the bodies of
// persistent messages are read back from the store ahead of the consumers.
const QueueMemory = 32 << 20

// Open returns a broker with the vhost "/" and everything store holds: durable
// exchanges, queues and bindings, and the persistent messages of those queues.
func Open(cfg Config) (*Broker, error) {
	b := &Broker{store: cfg.Store, log: cfg.Logger, vhosts: map[string]*Vhost{},
		memory: queue.NewMemoryShare(QueueMemory)}
	if b.log == nil {
		b.log = zap.NewNop()
	}
	b.vhosts["/"] = newVhost("/", b)
	var policies []Policy
	if cfg.Definitions != nil {
		policies = cfg.Definitions.Policies
	}
	for _, p := range policies {
		v := b.vhosts[p.Vhost]
		if v == nil {
			return nil, fmt.Errorf("policy %q: no vhost %q", p.Name, p.Vhost)
		}
		if p.re == nil {
			return nil, fmt.Errorf("policy %q: not made by ParsePolicy", p.Name)
		}
		v.policies = append(v.policies, p)
	}
	if err := b.recover(); err != nil {
		return nil, fmt.Errorf("recovering from the store: %w", err)
	}
	if cfg.Definitions != nil {
		b.declare(cfg.Definitions)
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
