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
// ones, type and value, and words a difference as RabbitMQ does.
func argsEquivalent(keys []string, what string, received, current wire.Table) *wire.Error {
	for _, k := range keys {
		r, rok := received[k]
		c, cok := current[k]
		if rok == cok && (!rok || sameArg(r, c)) {
			continue
		}
		return wire.Errorf(wire.PreconditionFailed, "inequivalent arg '%s' for %s: received %s but current is %s",
			k, what, argText(r, rok), argText(c, cok))
	}
	return nil
}

func sameArg(a, b any) bool {
	if exchange.FieldTypeName(a) != exchange.FieldTypeName(b) {
		return false
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func argText(v any, ok bool) string {
	if !ok {
		return "none"
	}
	s := fmt.Sprint(v)
	if b, isBytes := v.([]byte); isBytes {
		s = string(b)
	}
	return fmt.Sprintf("the value '%s' of type '%s'", s, exchange.FieldTypeName(v))
}
