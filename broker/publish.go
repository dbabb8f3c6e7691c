package broker

import (
	"go.uber.org/zap"

	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/queue"
	"github.com/warren-mq/warren/storage"
)

// Outcome is what became of a message handed to its queues.
type Outcome struct {
	// Stored: the message was written to the store for at least one durable
	// queue, and done will be called once the write is on disk (or failed).
	Stored bool
	// Taken is how many queues took the message.
	Taken int
	// Rejected: some queue refused it (reject-publish); a publisher in confirm
	// mode gets a nack.
	Rejected bool
}

// Publisher hands routed messages to their queues, storing persistent messages
// bound for durable queues first. Each channel has one (it keeps scratch space
// between publishes); it is not safe for concurrent use.
type Publisher struct {
	// Origin is passed to the queues with each publish, for the deliveries they
	// make at once (queue.Delivery.Origin).
	Origin any

	b   *Broker
	res []queue.Reservation
	got []queue.Result
}

// NewPublisher returns a publisher for b's queues.
func (b *Broker) NewPublisher() *Publisher { return &Publisher{b: b} }

// Publish hands msg to the queues qs. A persistent message bound for durable
// queues is stored once, with an index entry for each such queue, submitted
// before any of them shows it to a consumer so that every ack's store write
// comes after it (queues that do not store it take it at once). If the outcome
// says Stored, done (when not nil) is called once the store has it, or failed to
// write it, with the outcome as it stood then (Rejected is final by then); it
// runs on the store's goroutine and must not block.
func (p *Publisher) Publish(msg *message.Message, qs []*queue.Queue, done func(Outcome, error)) Outcome {
	var o Outcome
	res, got := p.res[:0], p.got[:0]
	var batch *storage.Batch
	for _, q := range qs {
		var r queue.Reservation
		var result queue.Result
		if q.Stores(msg) {
			if r, result = q.Reserve(msg); result == queue.Enqueued {
				if batch == nil {
					msg.ID = p.b.NextMessageID()
					batch = &storage.Batch{}
					batch.PutMessage(msg.ID, msg.Encode(nil))
				}
				batch.PutIndexEntry(q.ID, r.Seq, r.IndexEntry(msg))
				msg.Ref()
			}
		} else {
			result = q.Publish(msg, p.Origin)
		}
		res, got = append(res, r), append(got, result)
		o.Rejected = o.Rejected || result == queue.Rejected
	}
	if batch != nil {
		o.Stored = true
		log, at := p.b.log, o
		p.b.store.Submit(batch, func(err error) {
			if err == nil {
				msg.SetOnDisk() // queues may page its body out from now on
			} else if done == nil {
				log.Error("store write failed", zap.Error(err))
			}
			if done != nil {
				done(at, err)
			}
		})
	}
	for i, q := range qs {
		if res[i].Seq != 0 {
			got[i] = q.PublishAt(msg, res[i], p.Origin)
		}
		if got[i] == queue.Enqueued {
			o.Taken++
		}
	}
	clear(res)
	p.res, p.got = res[:0], got[:0]
	return o
}
