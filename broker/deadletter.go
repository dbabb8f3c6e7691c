package broker

import (
	"time"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
)

// deadLetter republishes messages a queue dropped to its dead-letter exchange,
// as RabbitMQ 3.10 does: each gets an x-death entry (and the x-first-death-*
// headers on its first death), loses its expiration, and is routed with the
// queue's dead-letter routing key or else its own routing keys. Queues the
// message would reach by a cycle with no rejection in it are skipped. A
// dead-letter exchange that does not exist drops the message.
//
// Dead letters are republished on the goroutine that dropped them, so a
// dead-letter queue that drops in turn republishes from inside this call; past
// maxDeadLetterDepth such calls in progress, the rest continue on a goroutine
// of their own, so that a cascade through full queues cannot run the stack deep.
func (v *Vhost) deadLetter(q *queue.Queue, dls []queue.DeadLetter) {
	if v.deadLetterDepth.Add(1) > maxDeadLetterDepth {
		go func() {
			defer v.deadLetterDepth.Add(-1)
			v.republish(q, dls)
		}()
		return
	}
	defer v.deadLetterDepth.Add(-1)
	v.republish(q, dls)
}

// maxDeadLetterDepth bounds the dead-lettering calls in progress on one
// goroutine's stack (counted over the vhost: a bound, not an exact depth).
const maxDeadLetterDepth = 32

func (v *Vhost) republish(q *queue.Queue, dls []queue.DeadLetter) {
	s := q.Settings()
	p := v.b.NewPublisher()
	var qs []*queue.Queue
	var names []string
	now := time.Now()
	for _, dl := range dls {
		m, keys := deadLettered(dl.Msg, dl.Reason, q.Name, s, now)
		var err *wire.Error
		qs, names, err = v.routeKeys(s.DeadLetterExchange, keys, m.Props.Headers, qs[:0], names, false)
		if err != nil {
			v.b.log.Debug("dead letter dropped", zap.String("queue", q.Name), zap.String("reason", err.Text))
			continue
		}
		if dl.Reason != queue.ReasonRejected {
			qs = withoutCycles(qs, m.Props.Headers)
		}
		if len(qs) > 0 {
			p.Publish(m, qs, nil)
		}
		clear(qs)
	}
}

// deadLettered returns the message m becomes when queue qname dead-letters it
// for reason, and the routing keys to route it with.
func deadLettered(m *message.Message, reason, qname string, s queue.Settings, now time.Time) (*message.Message, []string) {
	origKeys := append([]string{m.RoutingKey}, headerRoutes(m.Props.Headers, "CC")...)
	h := make(wire.Table, len(m.Props.Headers)+4)
	for k, x := range m.Props.Headers {
		h[k] = x
	}
	// A new entry's fields in RabbitMQ's order.
	death := wire.Fields{{Key: "count", Value: int64(1)}, {Key: "reason", Value: reason}, {Key: "queue", Value: qname},
		{Key: "time", Value: now.UTC().Truncate(time.Second)}, {Key: "exchange", Value: m.Exchange},
		{Key: "routing-keys", Value: stringsToArray(origKeys)}}
	if m.Props.Flags&wire.FlagExpiration != 0 {
		death = append(death, wire.Field{Key: "original-expiration", Value: m.Props.Expiration})
	}
	deaths, isArray := h["x-death"].([]any)
	if !isArray {
		h["x-first-death-reason"] = reason
		h["x-first-death-queue"] = qname
		h["x-first-death-exchange"] = m.Exchange
		deaths = nil
	}
	// One entry per queue and reason: a repeat counts up the earlier entry
	// (keeping its other fields, now sorted by name) and moves it to the front.
	out := make([]any, 1, len(deaths)+1)
	out[0] = death
	for _, d := range deaths {
		t, ok := deathTable(d)
		if ok && t["queue"] == qname && t["reason"] == reason {
			n, _ := t["count"].(int64)
			t["count"] = n + 1
			out[0] = t
			continue
		}
		out = append(out, d)
	}
	h["x-death"] = out

	keys := origKeys
	if s.HasDeadLetterRoutingKey {
		keys = []string{s.DeadLetterRoutingKey}
		delete(h, "CC")
	}
	props := m.Props
	props.Headers = h
	props.Flags |= wire.FlagHeaders
	props.Flags &^= wire.FlagExpiration
	props.Expiration = ""
	return &message.Message{Exchange: s.DeadLetterExchange, RoutingKey: keys[0], Props: props, Body: m.Body}, keys
}

// withoutCycles drops the queues a dead-lettered message has been through with
// no rejection since (RabbitMQ's is_cycle): for a target queue, the x-death
// entries up to and including the first that names it must hold a "rejected".
func withoutCycles(qs []*queue.Queue, headers wire.Table) []*queue.Queue {
	deaths, _ := headers["x-death"].([]any)
	kept := qs[:0]
	for _, q := range qs {
		cycle := false
		for i, d := range deaths {
			t, ok := deathTable(d)
			if !ok {
				break // something a client put there: not a cycle of ours
			}
			if t["queue"] == q.Name {
				cycle = true
				for _, e := range deaths[:i+1] {
					if et, _ := deathTable(e); et["reason"] == queue.ReasonRejected {
						cycle = false
					}
				}
				break
			}
		}
		if !cycle {
			kept = append(kept, q)
		}
	}
	clear(qs[len(kept):])
	return kept
}

// deathTable returns an x-death entry as a fresh Table: entries this broker
// made are Fields, those decoded from the wire Tables.
func deathTable(d any) (wire.Table, bool) {
	switch t := d.(type) {
	case wire.Fields:
		return t.Table(), true
	case wire.Table:
		out := make(wire.Table, len(t))
		for k, v := range t {
			out[k] = v
		}
		return out, true
	}
	return nil, false
}

// headerRoutes returns the routing keys a CC or BCC header adds: an array of
// strings (other elements ignored), as RabbitMQ reads it.
func headerRoutes(h wire.Table, name string) []string {
	a, _ := h[name].([]any)
	var out []string
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func stringsToArray(ss []string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}

// expireQueue deletes a queue whose x-expires passed unused.
func (v *Vhost) expireQueue(q *queue.Queue) { v.DeleteQueueIf(q) }
