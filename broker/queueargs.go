package broker

import (
	"fmt"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/exchange"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
)

// queueArgChecks are the queue arguments RabbitMQ 3.10 validates when a queue is
// declared, in the order it checks them: the first that fails is reported.
var queueArgChecks = []struct {
	key   string
	check func(v any, args wire.Table) string // "" when v is valid, else RabbitMQ's error term
}{
	{"x-expires", func(v any, _ wire.Table) string {
		n, err := intArg(v)
		switch {
		case err != "":
			return err
		case n == 0:
			return fmt.Sprintf("{value_zero,%d}", n)
		case n < 0:
			return fmt.Sprintf("{value_negative,%d}", n)
		case n > message.MaxExpiry:
			return fmt.Sprintf("{value_too_large,%d}", n)
		}
		return ""
	}},
	{"x-message-ttl", func(v any, args wire.Table) string {
		if err := nonNegIntArg(v, args); err != "" {
			return err
		}
		if n, _ := intArg(v); n > message.MaxExpiry {
			return fmt.Sprintf("{value_too_large,%d}", n)
		}
		return ""
	}},
	{"x-dead-letter-exchange", func(v any, _ wire.Table) string { return stringArg(v) }},
	{"x-dead-letter-routing-key", func(v any, args wire.Table) string {
		if err := stringArg(v); err != "" {
			return err
		}
		if _, ok := args["x-dead-letter-exchange"]; !ok {
			return "routing_key_but_no_dlx_defined"
		}
		return ""
	}},
	{"x-max-length", nonNegIntArg},
	{"x-max-length-bytes", nonNegIntArg},
	{"x-max-in-memory-length", nonNegIntArg},
	{"x-max-in-memory-bytes", nonNegIntArg},
	{"x-max-priority", func(v any, args wire.Table) string {
		if err := nonNegIntArg(v, args); err != "" {
			return err
		}
		if n, _ := intArg(v); n > 255 {
			return fmt.Sprintf("{max_value_exceeded,%d}", n)
		}
		return ""
	}},
	{"x-overflow", func(v any, _ wire.Table) string {
		if err := stringArg(v); err != "" {
			return err
		}
		if _, ok := overflows[argString(v)]; !ok {
			return "invalid_overflow"
		}
		return ""
	}},
	{"x-queue-mode", func(v any, _ wire.Table) string {
		if err := stringArg(v); err != "" {
			return err
		}
		if s := argString(v); s != "default" && s != "lazy" {
			return fmt.Sprintf(`"unsupported queue mode '%s'"`, s)
		}
		return ""
	}},
	{"x-single-active-consumer", func(v any, _ wire.Table) string {
		if _, ok := v.(bool); !ok {
			return "{unacceptable_type," + exchange.FieldTypeName(v) + "}"
		}
		return ""
	}},
	{"x-queue-type", func(v any, _ wire.Table) string {
		if err := stringArg(v); err != "" {
			return err
		}
		if s := argString(v); s != "classic" && s != "quorum" && s != "stream" {
			return fmt.Sprintf(`"unsupported queue type '%s'"`, s)
		}
		return ""
	}},
}

var overflows = map[string]queue.Overflow{
	"drop-head": queue.DropHead, "reject-publish": queue.RejectPublish, "reject-publish-dlx": queue.RejectPublishDLX,
}

// IntArg returns the value of an argument of any of the integer types
// RabbitMQ takes where it wants an integer, and false for any other type.
func IntArg(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

// intArg returns an integer argument's value, or RabbitMQ's error term for a
// value of another type.
func intArg(v any) (int64, string) {
	if n, ok := IntArg(v); ok {
		return n, ""
	}
	return 0, IntArgError(v)
}

// IntArgError is RabbitMQ's error term for an argument that should have been
// an integer.
func IntArgError(v any) string {
	return fmt.Sprintf(`"expected integer, got %s"`, exchange.FieldTypeName(v))
}

func nonNegIntArg(v any, _ wire.Table) string {
	n, err := intArg(v)
	if err == "" && n < 0 {
		return fmt.Sprintf("{value_negative,%d}", n)
	}
	return err
}

// stringArg checks for a longstr (RabbitMQ takes no byte array there).
func stringArg(v any) string {
	if _, ok := v.(string); !ok {
		return "{unacceptable_type," + exchange.FieldTypeName(v) + "}"
	}
	return ""
}

func argString(v any) string { s, _ := v.(string); return s }

// checkQueueArgs validates a new queue's arguments as RabbitMQ does, with its
// reply texts.
func (v *Vhost) checkQueueArgs(name string, args wire.Table) *wire.Error {
	what := "queue '" + name + "' in vhost '" + v.Name + "'"
	if x, ok := args["x-dead-letter-exchange"]; ok {
		if _, isString := x.(string); !isString {
			// The channel checks this one before the rest, in other words.
			return wire.Errorf(wire.PreconditionFailed, "invalid type '%s' for arg 'x-dead-letter-exchange' in %s",
				exchange.FieldTypeName(x), what)
		}
	}
	for _, c := range queueArgChecks {
		x, ok := args[c.key]
		if !ok {
			continue
		}
		if err := c.check(x, args); err != "" {
			return wire.Errorf(wire.PreconditionFailed, "invalid arg '%s' for %s: %s", c.key, what, err)
		}
	}
	return nil
}

// queueSettings resolves a queue's settings from its (valid) arguments and the
// policy that applies to it, as RabbitMQ 3.10's classic queues do: for TTLs,
// expiry and length limits the lower of the two values wins; for the
// dead-letter exchange and routing key and the overflow, the argument wins.
func (v *Vhost) queueSettings(name string, args wire.Table) queue.Settings {
	s := queue.DefaultSettings()
	var pol map[string]any
	if p := v.policyFor(name, true); p != nil {
		pol = p.Definition
	}
	lower := func(argKey, polKey string, dst *int64) {
		a, bad := intArg(args[argKey])
		aok := bad == "" && args[argKey] != nil
		p, pok := pol[polKey].(int64)
		switch {
		case aok && pok:
			*dst = min(a, p)
		case aok:
			*dst = a
		case pok:
			*dst = p
		}
	}
	lower("x-message-ttl", "message-ttl", &s.MessageTTL)
	lower("x-expires", "expires", &s.Expires)
	lower("x-max-length", "max-length", &s.MaxLength)
	lower("x-max-length-bytes", "max-length-bytes", &s.MaxLengthBytes)
	argOr := func(argKey, polKey string) (string, bool) {
		if a, ok := args[argKey].(string); ok {
			return a, true
		}
		p, ok := pol[polKey].(string)
		return p, ok
	}
	s.DeadLetterExchange, s.DeadLetter = argOr("x-dead-letter-exchange", "dead-letter-exchange")
	s.DeadLetterRoutingKey, s.HasDeadLetterRoutingKey = argOr("x-dead-letter-routing-key", "dead-letter-routing-key")
	if o, ok := argOr("x-overflow", "overflow"); ok {
		s.Overflow = overflows[o]
	}
	if n, err := intArg(args["x-max-priority"]); err == "" && args["x-max-priority"] != nil {
		s.MaxPriority = uint8(n)
	}
	s.SingleActiveConsumer, _ = args["x-single-active-consumer"].(bool)
	return s
}
