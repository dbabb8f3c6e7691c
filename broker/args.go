package broker

import (
	"fmt"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/exchange"
)

// queueEquivalenceArgs are the queue arguments whose values must match when a queue
// is declared again, as RabbitMQ checks them; other arguments are not compared.
var queueEquivalenceArgs = []string{
	"x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes",
	"x-max-priority", "x-overflow", "x-queue-mode", "x-single-active-consumer", "x-queue-type",
	"x-quorum-initial-group-size", "x-delivery-limit", "x-queue-master-locator",
	"x-queue-leader-locator", "x-max-age", "x-stream-max-segment-size-bytes", "x-initial-cluster-size",
}

// exchangeEquivalenceArgs are the same for exchanges.
var exchangeEquivalenceArgs = []string{"alternate-exchange"}

// argsEquivalent compares the listed arguments of a redeclaration with the current
// ones as RabbitMQ 3.10 does (see exchange.ArgEquivalent) and words a difference
// as it does: with types when only one side has the argument, values alone when
// both do.
func argsEquivalent(keys []string, what string, received, current wire.Table) *wire.Error {
	for _, k := range keys {
		r, rok := received[k]
		c, cok := current[k]
		switch {
		case !rok && !cok:
			continue
		case rok && cok:
			if exchange.ArgEquivalent(r, c) {
				continue
			}
			return wire.Errorf(wire.PreconditionFailed, "inequivalent arg '%s' for %s: received '%s' but current is '%s'",
				k, what, argValue(r), argValue(c))
		}
		return wire.Errorf(wire.PreconditionFailed, "inequivalent arg '%s' for %s: received %s but current is %s",
			k, what, typedArg(r, rok), typedArg(c, cok))
	}
	return nil
}

// argValue shows an argument's value as RabbitMQ does: a string as it is,
// anything else as the Erlang term.
func argValue(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return exchange.ErlTerm(v)
}

func typedArg(v any, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("the value '%s' of type '%s'", argValue(v), exchange.FieldTypeName(v))
}
