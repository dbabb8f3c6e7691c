package exchange

import (
	"errors"
	"fmt"
	"sync"
)

// The exchange types this package implements.
const (
	Direct  = "direct"
	Fanout  = "fanout"
	Topic   = "topic"
	Headers = "headers"
)

// ErrUnknownType is returned by New for a type this package does not implement. The
// error New returns reads like RabbitMQ's reply text: "unknown exchange type 'foo'".
var ErrUnknownType = errors.New("unknown exchange type")

// AlternateExchangeArg is the exchange argument that names an alternate exchange.
const AlternateExchangeArg = "alternate-exchange"

// Exchange is one exchange and its bindings. Its routing methods are safe for
// concurrent use with Bind/Unbind, and the routing path takes only a read lock.
//
// The exported fields are its declaration; they must not change after New.
type Exchange struct {
	Name       string
	Type       string
	Durable    bool
	AutoDelete bool
	Internal   bool
	Args       map[string]any

	alternate string // Args["alternate-exchange"] if a string

	mu      sync.RWMutex
	count   int
	head    *entry // bindings in binding order
	tail    *entry
	byKey   map[bindingKey][]*entry
	dests   map[destKey]*dest
	destIDs idAllocator

	// Exactly one router, chosen by Type.
	direct  *directRouter
	fanout  *fanoutRouter
	topic   *topicRouter
	headers *headersRouter
}

// New returns an exchange with no bindings. Its alternate exchange is
// args["alternate-exchange"] when that is a string (RabbitMQ refuses other types at
// exchange.declare: "invalid type 'binary' for arg 'alternate-exchange' ...").
func New(name, typ string, durable, autoDelete, internal bool, args map[string]any) (*Exchange, error) {
	e := &Exchange{
		Name: name, Type: typ, Durable: durable, AutoDelete: autoDelete, Internal: internal, Args: args,
		byKey: make(map[bindingKey][]*entry),
		dests: make(map[destKey]*dest),
	}
	switch typ {
	case Direct:
		e.direct = &directRouter{keys: make(map[string]*destSet)}
	case Fanout:
		e.fanout = &fanoutRouter{}
	case Topic:
		e.topic = newTopicRouter()
	case Headers:
		e.headers = &headersRouter{}
	default:
		return nil, fmt.Errorf("%w '%s'", ErrUnknownType, typ)
	}
	e.alternate, _ = args[AlternateExchangeArg].(string)
	return e, nil
}

// SetAlternateExchange gives the exchange an alternate exchange that is not in
// its arguments (one a policy names). Call it before the exchange is used.
func (e *Exchange) SetAlternateExchange(name string) { e.alternate = name }

// AlternateExchange returns the name of the exchange that takes the messages this
// exchange routes nowhere, or "".
func (e *Exchange) AlternateExchange() string { return e.alternate }

// Bind adds b; it reports false if an identical binding (destination, ToExchange, key,
// args deep-equal, see Binding) exists. The exchange keeps b.Args: the caller must not
// modify it afterwards. Bind does not validate b.Args: call ValidateBindingArgs first.
func (e *Exchange) Bind(b Binding) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	bk := bindingKey{destKey{b.Destination, b.ToExchange}, b.Key}
	for _, en := range e.byKey[bk] {
		if tablesEqual(en.Args, b.Args) {
			return false
		}
	}
	d := e.dests[bk.destKey]
	if d == nil {
		d = &dest{destKey: bk.destKey, id: e.destIDs.alloc()}
		e.dests[bk.destKey] = d
	}
	en := &entry{Binding: b, dest: d, prev: e.tail}
	if e.tail != nil {
		e.tail.next = en
	} else {
		e.head = en
	}
	e.tail = en
	e.byKey[bk] = append(e.byKey[bk], en)
	d.bindings = append(d.bindings, en)
	e.count++
	switch {
	case e.direct != nil:
		e.direct.bind(en)
	case e.fanout != nil:
		e.fanout.bind(en)
	case e.topic != nil:
		e.topic.bind(en)
	default:
		en.hb = newHeadersBinding(b.Args, d)
		e.headers.bind(en)
	}
	return true
}

// Unbind removes the identical binding; reports whether it existed.
func (e *Exchange) Unbind(b Binding) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	bk := bindingKey{destKey{b.Destination, b.ToExchange}, b.Key}
	for _, en := range e.byKey[bk] {
		if tablesEqual(en.Args, b.Args) {
			e.remove(en)
			return true
		}
	}
	return false
}

// RemoveDestination removes every binding to the named queue (toExchange false) or
// exchange; returns how many.
func (e *Exchange) RemoveDestination(name string, toExchange bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.dests[destKey{name, toExchange}]
	if d == nil {
		return 0
	}
	n := len(d.bindings)
	for len(d.bindings) > 0 {
		e.remove(d.bindings[len(d.bindings)-1])
	}
	return n
}

// remove unlinks en from the exchange. The caller holds the write lock.
func (e *Exchange) remove(en *entry) {
	switch {
	case e.direct != nil:
		e.direct.unbind(en)
	case e.fanout != nil:
		e.fanout.unbind(en)
	case e.topic != nil:
		e.topic.unbind(en)
	default:
		e.headers.unbind(en)
	}
	if en.prev != nil {
		en.prev.next = en.next
	} else {
		e.head = en.next
	}
	if en.next != nil {
		en.next.prev = en.prev
	} else {
		e.tail = en.prev
	}
	en.prev, en.next = nil, nil

	bk := bindingKey{en.dest.destKey, en.Key}
	if rest := deleteEntry(e.byKey[bk], en); len(rest) > 0 {
		e.byKey[bk] = rest
	} else {
		delete(e.byKey, bk)
	}
	d := en.dest
	if d.bindings = deleteEntry(d.bindings, en); len(d.bindings) == 0 {
		delete(e.dests, d.destKey)
		e.destIDs.release(d.id)
	}
	e.count--
}

// deleteEntry removes en from s, not keeping order.
func deleteEntry(s []*entry, en *entry) []*entry {
	for i, x := range s {
		if x == en {
			last := len(s) - 1
			s[i] = s[last]
			s[last] = nil
			return s[:last]
		}
	}
	return s
}

// Bindings returns a copy of the bindings, in binding order. The copies share their
// Args maps with the exchange: do not modify them.
func (e *Exchange) Bindings() []Binding {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]Binding, 0, e.count)
	for en := e.head; en != nil; en = en.next {
		out = append(out, en.Binding)
	}
	return out
}

// BindingCount returns the number of bindings.
func (e *Exchange) BindingCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.count
}

// Match calls fn for each binding destination that the message matches (each
// destination at most once per call), in unspecified order. fn is called with no lock
// held and may use the exchange.
func (e *Exchange) Match(routingKey string, headers map[string]any, fn func(dest string, toExchange bool)) {
	keys := [1]string{routingKey}
	e.MatchKeys(keys[:], headers, fn)
}

// MatchKeys is Match for a message with several routing keys (its routing key and
// the CC and BCC headers of sender-selected distribution): fn is called once for each
// destination that any of the keys matches.
func (e *Exchange) MatchKeys(routingKeys []string, headers map[string]any, fn func(dest string, toExchange bool)) {
	sc := getScratch()
	e.collect(sc, routingKeys, headers)
	for _, d := range sc.out {
		fn(d.name, d.toExchange)
	}
	putScratch(sc)
}

// collect leaves in sc.out the destinations a message matches, each once.
func (e *Exchange) collect(sc *scratch, routingKeys []string, headers map[string]any) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	sc.beginMatch(e.destIDs.next)
	switch {
	case e.direct != nil:
		for _, k := range routingKeys {
			e.direct.collect(sc, k)
		}
	case e.fanout != nil:
		e.fanout.collect(sc)
	case e.topic != nil:
		for _, k := range routingKeys {
			e.topic.collect(sc, k)
		}
	default:
		e.headers.collect(sc, headers)
	}
}
