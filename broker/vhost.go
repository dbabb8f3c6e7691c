// Package broker ties exchanges and queues together into virtual hosts: it owns
// the definitions (declare, delete, bind) with RabbitMQ's rules and reply texts, and
// routes a published message to its queues. It knows nothing of connections: an
// exclusive queue's owner is an opaque value the caller supplies.
package broker

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/exchange"
	"github.com/warren-mq/warren/queue"
)

// Vhost is one virtual host. Definitions change under its write lock; publishing
// routes under its read lock.
type Vhost struct {
	Name string
	b    *Broker

	policies []Policy // fixed at start
	// deadLetterDepth counts dead-lettering calls in progress (see deadLetter).
	deadLetterDepth atomic.Int32
	// gen counts changes to the definitions: a route remembered at one
	// generation holds while it is current (see RouteCache).
	gen atomic.Uint64

	mu        sync.RWMutex
	exchanges map[string]*exchange.Exchange
	queues    map[string]*queue.Queue
}

// lock takes the write lock, for a change to the definitions.
func (v *Vhost) lock() {
	v.mu.Lock()
	v.gen.Add(1)
}

// predeclared are the exchanges every vhost has, as in RabbitMQ.
var predeclared = []struct {
	name, typ string
	internal  bool
}{
	{"", exchange.Direct, false},
	{"amq.direct", exchange.Direct, false},
	{"amq.fanout", exchange.Fanout, false},
	{"amq.topic", exchange.Topic, false},
	{"amq.headers", exchange.Headers, false},
	{"amq.match", exchange.Headers, false},
	{"amq.rabbitmq.trace", exchange.Topic, true},
}

// newVhost returns a vhost with the predeclared exchanges.
func newVhost(name string, b *Broker) *Vhost {
	v := &Vhost{Name: name, b: b, exchanges: map[string]*exchange.Exchange{}, queues: map[string]*queue.Queue{}}
	for _, p := range predeclared {
		x, err := exchange.New(p.name, p.typ, true, false, p.internal, nil)
		if err != nil {
			panic(err) // the predeclared types are always known
		}
		v.exchanges[p.name] = x
	}
	return v
}

func (v *Vhost) noExchange(name string) *wire.Error {
	return wire.Errorf(wire.NotFound, "no exchange '%s' in vhost '%s'", name, v.Name)
}

func (v *Vhost) noQueue(name string) *wire.Error {
	return wire.Errorf(wire.NotFound, "no queue '%s' in vhost '%s'", name, v.Name)
}

func defaultExchangeRefused() *wire.Error {
	return wire.Errorf(wire.AccessRefused, "operation not permitted on the default exchange")
}

// DeclareExchange declares (or, passive, checks) an exchange.
func (v *Vhost) DeclareExchange(name, typ string, passive, durable, autoDelete, internal bool, args wire.Table) *wire.Error {
	v.lock()
	defer v.mu.Unlock()
	if name == "" {
		return defaultExchangeRefused()
	}
	x := v.exchanges[name]
	if passive {
		if x == nil {
			return v.noExchange(name)
		}
		return nil
	}
	if x == nil && strings.HasPrefix(name, "amq.") {
		return wire.Errorf(wire.AccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", name)
	}
	if x != nil {
		return v.equivalentExchange(x, typ, durable, autoDelete, internal, args)
	}
	x, err := v.newExchange(name, typ, durable, autoDelete, internal, args)
	if err != nil {
		return wire.Errorf(wire.CommandInvalid, "unknown exchange type '%s'", typ)
	}
	if ae, ok := args[exchange.AlternateExchangeArg]; ok {
		if _, isString := ae.(string); !isString {
			return wire.Errorf(wire.PreconditionFailed, "invalid type '%s' for arg '%s' in exchange '%s' in vhost '%s'",
				exchange.FieldTypeName(ae), exchange.AlternateExchangeArg, name, v.Name)
		}
	}
	if err := v.persistExchange(x); err != nil {
		return err
	}
	v.exchanges[name] = x
	return nil
}

// newExchange makes an exchange; a policy may give it an alternate exchange,
// which its own argument overrides, as in RabbitMQ.
func (v *Vhost) newExchange(name, typ string, durable, autoDelete, internal bool, args wire.Table) (*exchange.Exchange, error) {
	x, err := exchange.New(name, typ, durable, autoDelete, internal, args)
	if err != nil {
		return nil, err
	}
	if _, own := args[exchange.AlternateExchangeArg].(string); !own {
		if p := v.policyFor(name, false); p != nil {
			if ae, ok := p.Definition["alternate-exchange"].(string); ok {
				x.SetAlternateExchange(ae)
			}
		}
	}
	return x, nil
}

func (v *Vhost) equivalentExchange(x *exchange.Exchange, typ string, durable, autoDelete, internal bool, args wire.Table) *wire.Error {
	what := "exchange '" + x.Name + "' in vhost '" + v.Name + "'"
	switch {
	case x.Type != typ:
		return inequivalent("type", what, typ, x.Type)
	case x.Durable != durable:
		return inequivalent("durable", what, durable, x.Durable)
	case x.AutoDelete != autoDelete:
		return inequivalent("auto_delete", what, autoDelete, x.AutoDelete)
	case x.Internal != internal:
		return inequivalent("internal", what, internal, x.Internal)
	}
	return argsEquivalent(exchangeEquivalenceArgs, what, args, x.Args)
}

func inequivalent(arg, what string, received, current any) *wire.Error {
	return wire.Errorf(wire.PreconditionFailed, "inequivalent arg '%s' for %s: received '%v' but current is '%v'",
		arg, what, received, current)
}

// DeleteExchange deletes an exchange and every binding to and from it. Deleting an
// exchange that does not exist succeeds, as in RabbitMQ 3.x.
func (v *Vhost) DeleteExchange(name string, ifUnused bool) *wire.Error {
	v.lock()
	defer v.mu.Unlock()
	if name == "" {
		return defaultExchangeRefused()
	}
	if isPredeclared(name) {
		return wire.Errorf(wire.AccessRefused, "deletion of system exchange '%s' in vhost '%s' not allowed", name, v.Name)
	}
	x := v.exchanges[name]
	if x == nil {
		return nil
	}
	if ifUnused && x.BindingCount() > 0 {
		return wire.Errorf(wire.PreconditionFailed, "exchange '%s' in vhost '%s' in use", name, v.Name)
	}
	v.deleteExchangeLocked(x)
	return nil
}

func isPredeclared(name string) bool {
	for _, p := range predeclared {
		if p.name == name {
			return true
		}
	}
	return false
}

// deleteExchangeLocked removes x and the bindings that name it as destination,
// which may in turn auto-delete their sources.
func (v *Vhost) deleteExchangeLocked(x *exchange.Exchange) {
	for _, b := range x.Bindings() {
		v.unpersistBinding(x, b)
	}
	v.removeDestinationLocked(x.Name, true)
	v.unpersistExchange(x)
	delete(v.exchanges, x.Name)
}

// removeDestinationLocked drops every binding to a deleted queue or exchange and
// auto-deletes the exchanges that lost their last binding by it.
func (v *Vhost) removeDestinationLocked(name string, toExchange bool) {
	var emptied []*exchange.Exchange
	for _, src := range v.exchanges {
		if v.b.store != nil {
			for _, b := range src.Bindings() {
				if b.Destination == name && b.ToExchange == toExchange {
					v.unpersistBinding(src, b)
				}
			}
		}
		if src.RemoveDestination(name, toExchange) > 0 && src.AutoDelete && src.BindingCount() == 0 {
			emptied = append(emptied, src)
		}
	}
	for _, src := range emptied {
		if v.exchanges[src.Name] == src {
			v.deleteExchangeLocked(src)
		}
	}
}

// Exchange returns the named exchange or nil.
func (v *Vhost) Exchange(name string) *exchange.Exchange {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.exchanges[name]
}

// BindExchange binds destination to source (exchange.bind), or unbinds it.
func (v *Vhost) BindExchange(destination, source, key string, args wire.Table, unbind bool) *wire.Error {
	v.lock()
	defer v.mu.Unlock()
	if source == "" || destination == "" {
		return defaultExchangeRefused()
	}
	var missing *wire.Error
	if v.exchanges[destination] == nil {
		missing = v.noExchange(destination)
	}
	b := exchange.Binding{Destination: destination, ToExchange: true, Key: key, Args: args}
	return v.bindLocked(source, b, missing, unbind)
}

// bindLocked binds or unbinds b on the exchange source with RabbitMQ's rules:
// unbinding what does not exist succeeds; binding needs the source, then the
// destination (missing is the error for a missing one, nil if it exists), then
// valid arguments. A binding between durable ends is stored first.
func (v *Vhost) bindLocked(source string, b exchange.Binding, missing *wire.Error, unbind bool) *wire.Error {
	src := v.exchanges[source]
	if unbind {
		if src != nil {
			v.unbindLocked(src, b)
		}
		return nil
	}
	if src == nil {
		return v.noExchange(source)
	}
	if missing != nil {
		return missing
	}
	if err := exchange.ValidateBindingArgs(src.Type, b.Args); err != nil {
		return wire.Errorf(wire.PreconditionFailed, "%s", err.Error())
	}
	if err := v.persistBinding(src, b); err != nil {
		return err
	}
	src.Bind(b)
	return nil
}

func (v *Vhost) unbindLocked(src *exchange.Exchange, b exchange.Binding) {
	v.unpersistBinding(src, b)
	if src.Unbind(b) && src.AutoDelete && src.BindingCount() == 0 {
		v.deleteExchangeLocked(src)
	}
}

// QueueDeclaration is what queue.declare asks for.
type QueueDeclaration struct {
	Name                                    string
	Passive, Durable, Exclusive, AutoDelete bool
	Args                                    wire.Table
	// ServerNamed marks a name the server generated ("amq.gen-..."), exempt
	// from the reserved-prefix rule on its first declaration.
	ServerNamed bool
}

// DeclareQueue declares (or, passive, checks) a queue for owner. An empty name must
// have been replaced by a server-generated one by the caller.
func (v *Vhost) DeclareQueue(d QueueDeclaration, owner any) (*queue.Queue, *wire.Error) {
	v.lock()
	defer v.mu.Unlock()
	q := v.queues[d.Name]
	if d.Passive {
		if q == nil {
			return nil, v.noQueue(d.Name)
		}
		if err := v.checkOwner(q, owner); err != nil {
			return nil, err
		}
		q.Touch()
		return q, nil
	}
	if !d.ServerNamed && strings.HasPrefix(d.Name, "amq.") {
		return nil, wire.Errorf(wire.AccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", d.Name)
	}
	if q != nil {
		if err := v.checkOwner(q, owner); err != nil {
			return nil, err
		}
		what := "queue '" + q.Name + "' in vhost '" + v.Name + "'"
		switch {
		case q.Durable != d.Durable:
			return nil, inequivalent("durable", what, d.Durable, q.Durable)
		case q.AutoDelete != d.AutoDelete:
			return nil, inequivalent("auto_delete", what, d.AutoDelete, q.AutoDelete)
		case q.Exclusive != d.Exclusive:
			return nil, v.locked(q)
		}
		if err := argsEquivalent(queueEquivalenceArgs, what, d.Args, q.Args); err != nil {
			return nil, err
		}
		q.Touch()
		return q, nil
	}
	if err := v.checkQueueArgs(d.Name, d.Args); err != nil {
		return nil, err
	}
	var qOwner any
	if d.Exclusive {
		qOwner = owner
	}
	q = v.newQueue(d.Name, d.Durable, d.Exclusive, d.AutoDelete, d.Args, qOwner)
	if d.Durable && !d.Exclusive && v.b.store != nil {
		q.SetStore(v.b.store, v.b.nextQueueID())
		// An id can come round again after a restart (ids restart from the highest
		// stored queue's), and a drop cut short by a crash can leave index entries
		// behind: a new queue starts from an empty index.
		if err := v.b.store.DropQueue(q.ID); err != nil {
			q.Delete() // it leaves the memory share
			return nil, storeFailed(err)
		}
		if err := v.persistQueue(q); err != nil {
			q.Delete()
			return nil, err
		}
	}
	v.queues[d.Name] = q
	return q, nil
}

// newQueue makes a queue with the settings its arguments and policy give it.
func (v *Vhost) newQueue(name string, durable, exclusive, autoDelete bool, args wire.Table, owner any) *queue.Queue {
	q := queue.New(name, v.Name, durable, exclusive, autoDelete, args, owner)
	q.Configure(v.queueSettings(name, args), queue.Env{DeadLetter: v.deadLetter, Expire: v.expireQueue, Memory: v.b.memory})
	return q
}

// checkOwner refuses access to another connection's exclusive queue.
func (v *Vhost) checkOwner(q *queue.Queue, owner any) *wire.Error {
	if q.Exclusive && q.Owner != owner {
		return v.locked(q)
	}
	return nil
}

// locked is the 405 for a queue another connection holds exclusively.
func (v *Vhost) locked(q *queue.Queue) *wire.Error {
	return wire.Errorf(wire.ResourceLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
		"It could be originally declared on another connection or the exclusive property value does not match "+
		"that of the original declaration.", q.Name, v.Name)
}

// Queue returns the named queue for owner's use (consume, get, purge).
func (v *Vhost) Queue(name string, owner any) (*queue.Queue, *wire.Error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	q := v.queues[name]
	if q == nil {
		return nil, v.noQueue(name)
	}
	if err := v.checkOwner(q, owner); err != nil {
		return nil, err
	}
	return q, nil
}

// BindQueue binds a queue to an exchange, or unbinds it.
func (v *Vhost) BindQueue(queueName, source, key string, args wire.Table, owner any, unbind bool) *wire.Error {
	v.lock()
	defer v.mu.Unlock()
	if source == "" {
		return defaultExchangeRefused()
	}
	var missing *wire.Error
	if q := v.queues[queueName]; q == nil {
		missing = v.noQueue(queueName)
	} else if err := v.checkOwner(q, owner); err != nil {
		return err
	}
	b := exchange.Binding{Destination: queueName, Key: key, Args: args}
	return v.bindLocked(source, b, missing, unbind)
}

// PurgeQueue drops a queue's ready messages.
func (v *Vhost) PurgeQueue(name string, owner any) (int, *wire.Error) {
	q, err := v.Queue(name, owner)
	if err != nil {
		return 0, err
	}
	return q.Purge(), nil
}

// DeleteQueue deletes a queue, cancelling its consumers, and returns the number of
// ready messages it had. Deleting a queue that does not exist succeeds with 0.
func (v *Vhost) DeleteQueue(name string, ifUnused, ifEmpty bool, owner any) (int, *wire.Error) {
	v.lock()
	defer v.mu.Unlock()
	q := v.queues[name]
	if q == nil {
		return 0, nil
	}
	if err := v.checkOwner(q, owner); err != nil {
		return 0, err
	}
	msgs, consumers := q.Counts()
	if ifUnused && consumers > 0 {
		return 0, wire.Errorf(wire.PreconditionFailed, "queue '%s' in vhost '%s' in use", name, v.Name)
	}
	if ifEmpty && msgs > 0 {
		return 0, wire.Errorf(wire.PreconditionFailed, "queue '%s' in vhost '%s' not empty", name, v.Name)
	}
	return v.deleteQueueLocked(q), nil
}

// DeleteQueueIf deletes q if it is still the vhost's queue of that name; used for
// auto-delete and exclusive queues, whose deletion is the broker's own decision.
func (v *Vhost) DeleteQueueIf(q *queue.Queue) {
	v.lock()
	defer v.mu.Unlock()
	if v.queues[q.Name] == q {
		v.deleteQueueLocked(q)
	}
}

func (v *Vhost) deleteQueueLocked(q *queue.Queue) int {
	v.removeDestinationLocked(q.Name, false) // while q is in the map: its stored bindings go too
	v.unpersistQueue(q)
	delete(v.queues, q.Name)
	return q.Delete()
}

// Route returns the queues a message published to exchangeName with routing
// keys (its routing key, then those of CC and BCC headers) and headers reaches,
// appended to dst. names is scratch space the caller may reuse.
func (v *Vhost) Route(exchangeName string, keys []string, headers wire.Table, dst []*queue.Queue, names []string) ([]*queue.Queue, []string, *wire.Error) {
	return v.routeKeys(exchangeName, keys, headers, dst, names, true)
}

// RouteCache remembers a channel's last route of a message with one routing
// key and no headers (the usual publish), which depends on nothing but the
// exchange, the key and the definitions; it holds while the definitions have
// not changed. The zero value is empty. Not safe for concurrent use.
type RouteCache struct {
	gen           uint64
	exchange, key string
	queues        []*queue.Queue
	valid         bool
}

// RouteOne is Route for one routing key and no headers, through c: it returns
// the queues, which the caller must not modify or keep past its next call.
func (v *Vhost) RouteOne(exchangeName, key string, c *RouteCache) ([]*queue.Queue, *wire.Error) {
	if c.valid && c.gen == v.gen.Load() && c.exchange == exchangeName && c.key == key {
		return c.queues, nil
	}
	c.valid = false
	keys := [1]string{key}
	v.mu.RLock()
	gen := v.gen.Load()
	qs, _, err := v.routeKeysLocked(exchangeName, keys[:], nil, c.queues[:0], nil, true)
	v.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	*c = RouteCache{gen: gen, exchange: exchangeName, key: key, queues: qs, valid: true}
	return qs, nil
}

// routeKeys is Route; checkInternal refuses an internal exchange (a publish),
// which dead-lettering may use.
func (v *Vhost) routeKeys(exchangeName string, keys []string, headers wire.Table, dst []*queue.Queue, names []string, checkInternal bool) ([]*queue.Queue, []string, *wire.Error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.routeKeysLocked(exchangeName, keys, headers, dst, names, checkInternal)
}

func (v *Vhost) routeKeysLocked(exchangeName string, keys []string, headers wire.Table, dst []*queue.Queue, names []string, checkInternal bool) ([]*queue.Queue, []string, *wire.Error) {
	x := v.exchanges[exchangeName]
	if x == nil {
		return dst, names, v.noExchange(exchangeName)
	}
	if checkInternal && x.Internal {
		return dst, names, wire.Errorf(wire.AccessRefused, "cannot publish to internal exchange '%s' in vhost '%s'", exchangeName, v.Name)
	}
	if exchangeName == "" {
		// The default exchange binds every queue by its name, implicitly.
		start := len(dst)
		for _, k := range keys {
			if q := v.queues[k]; q != nil && !containsQueue(dst[start:], q) {
				dst = append(dst, q)
			}
		}
		return dst, names, nil
	}
	names = exchange.RouteKeys(v.lookupExchangeLocked, x, keys, headers, names[:0])
	for _, n := range names {
		if q := v.queues[n]; q != nil {
			dst = append(dst, q)
		}
	}
	return dst, names, nil
}

func containsQueue(qs []*queue.Queue, q *queue.Queue) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}

func (v *Vhost) lookupExchangeLocked(name string) *exchange.Exchange { return v.exchanges[name] }

// Broker is the broker the vhost belongs to.
func (v *Vhost) Broker() *Broker { return v.b }

// String names the vhost for logs.
func (v *Vhost) String() string { return fmt.Sprintf("vhost %q", v.Name) }
