package exchange

// Binding is one binding from an exchange to a queue or to another exchange.
//
// Two bindings are the same binding when their destinations, ToExchange, keys and
// arguments are equal; arguments are equal when they hold the same keys with values
// of the same AMQP type and value (RabbitMQ: {a: 1 (signedint)} and {a: 1 (long)}
// are two bindings; nil and empty arguments are one).
type Binding struct {
	Destination string
	ToExchange  bool // the destination is an exchange (exchange.bind)
	Key         string
	Args        map[string]any // binding arguments; the headers exchange matches on them
}

// sameBinding reports whether a and b are the same binding.
func sameBinding(a, b *Binding) bool {
	return a.Destination == b.Destination && a.ToExchange == b.ToExchange &&
		a.Key == b.Key && tablesEqual(a.Args, b.Args)
}

// destKey names a destination: a queue or an exchange.
type destKey struct {
	name       string
	toExchange bool
}

// bindingKey groups the bindings that differ only in their arguments.
type bindingKey struct {
	destKey
	key string
}

// dest is one destination of an exchange's bindings. Its id indexes the per-call
// de-duplication stamps of a match; ids are reused once a destination has no
// bindings left. name and toExchange never change.
type dest struct {
	destKey
	id       int32
	bindings []*entry // this destination's bindings, in no particular order
}

// entry is one binding as the exchange holds it: in binding order on a doubly linked
// list, and in its destination's list.
type entry struct {
	Binding
	dest       *dest
	prev, next *entry
	hb         *headersBinding // the parsed arguments, on a headers exchange
}
