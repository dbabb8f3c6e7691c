package main

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// producer publishes on one channel. Its goroutine (run) encodes batches of
// publishes into the connection's outbound buffer; with confirms, the
// connection's reader calls confirm.
type producer struct {
	ch       *channel
	prefix   []byte // basic.publish method frame and content header frame, the same for every message
	body     []byte // body template: the send time, the run's nonce, zeros
	frameMax uint32
	rate     float64 // msg/s, 0 = unlimited
	limit    int64   // messages, 0 = unlimited
	window   uint64  // confirms: most unconfirmed messages, 0 = no confirms

	published atomic.Int64
	confirmed atomic.Int64
	nacked    atomic.Int64
	_         [64]byte // keep the reader's fields off the publisher's cache line

	// Confirm tracking. sent[seq&mask] is the send time of seq; lowest is the
	// lowest unconfirmed sequence number, published by the reader.
	lowest  atomic.Uint64
	sent    []atomic.Int64
	mask    uint64
	credit  chan struct{} // the reader signals here when lowest moves
	acked   []bool        // reader only: seq&mask confirmed out of order
	lo      uint64        // reader only: lowest unconfirmed
	hist    Histogram     // reader only: confirm latency
	lastAck int64         // reader only: time of the last confirm

	stoppedAt int64 // when run stopped publishing (before waiting for confirms)
}

// newProducer prepares a producer on ch publishing to exchange with key; its
// bodies carry the send time in octets 0-7 and the run's nonce in 8-15.
func newProducer(ch *channel, o *Options, exchange, key string, nonce uint64) *producer {
	mode := uint8(1)
	if o.Persistent {
		mode = 2
	}
	pub := wire.BasicPublish{Exchange: exchange, RoutingKey: key}
	prefix := pub.AppendFrame(nil, ch.id)
	prefix = wire.AppendHeaderFrame(prefix, ch.id, wire.ClassBasic, uint64(o.Size),
		&wire.Properties{Flags: wire.FlagDeliveryMode, DeliveryMode: mode})
	p := &producer{
		ch: ch, prefix: prefix, body: make([]byte, o.Size), frameMax: ch.c.frameMax,
		rate: o.Rate, limit: o.PMessages, window: uint64(o.Confirm),
	}
	if len(p.body) >= 16 {
		binary.BigEndian.PutUint64(p.body[8:], nonce)
	}
	if p.window > 0 {
		n := uint64(1) << bits.Len64(p.window-1) // a power of two ≥ window
		p.sent = make([]atomic.Int64, n)
		p.acked = make([]bool, n)
		p.mask = n - 1
		p.credit = make(chan struct{}, 1)
		p.lo = 1
		p.lowest.Store(1)
	}
	ch.prod = p
	return p
}

// batchFor is how many messages of size octets one batch encodes: about 64 KiB.
func batchFor(size int) int64 {
	return max(1, min(1024, int64(64<<10/(size+64))))
}

// run publishes until stop is closed, the limit is reached or the connection
// fails, then waits up to grace for outstanding confirms.
//
// A rate-limited producer starts phase into its first interval, so that many
// producers at a low rate spread their messages over time instead of publishing
// all at the same instants.
func (p *producer) run(stop <-chan struct{}, stopped *atomic.Bool, grace, phase time.Duration) {
	c := p.ch.c
	batch := batchFor(len(p.body))
	seq := uint64(1) // next publish sequence number, as the broker counts them
	var sent int64
	start := sinceEpoch() + int64(phase)
	var timer *time.Timer
	sleep := func(d time.Duration) bool {
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
			return true
		case <-stop:
		case <-c.done:
		}
		timer.Stop()
		return false
	}
	for !stopped.Load() && (p.limit == 0 || sent < p.limit) {
		n := batch
		if p.limit > 0 {
			n = min(n, p.limit-sent)
		}
		if p.rate > 0 {
			elapsed := max(0, float64(sinceEpoch()-start)/1e9)
			due := int64(p.rate*elapsed) + 1 - sent
			if due <= 0 {
				next := start + int64(float64(sent)/p.rate*1e9)
				if !sleep(time.Duration(next - sinceEpoch())) {
					break
				}
				continue
			}
			n = min(n, due)
		}
		if p.window > 0 {
			free := int64(p.window) - int64(seq-p.lowest.Load())
			if free <= 0 {
				select {
				case <-p.credit:
				case <-stop:
				case <-c.done:
				}
				continue
			}
			n = min(n, free)
		}
		buf, ok := c.beginWrite()
		if !ok {
			break
		}
		buf, seq = p.encode(buf, n, seq)
		c.endWrite(buf)
		sent += n
		p.published.Store(sent)
	}
	p.stoppedAt = sinceEpoch()
	if p.window == 0 {
		return
	}
	deadline := time.Now().Add(grace)
	for p.lowest.Load() < seq {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		if timer == nil {
			timer = time.NewTimer(left)
		} else {
			timer.Reset(left)
		}
		select {
		case <-p.credit:
		case <-timer.C:
		case <-c.done:
			return
		}
		timer.Stop()
	}
}

// encode appends n publishes, the first with sequence number seq, each stamped
// with its send time, and returns the buffer and the next sequence number.
func (p *producer) encode(buf []byte, n int64, seq uint64) ([]byte, uint64) {
	for range n {
		t := sinceEpoch()
		if len(p.body) >= 8 {
			binary.BigEndian.PutUint64(p.body, uint64(t))
		}
		if p.window > 0 {
			p.sent[seq&p.mask].Store(t)
		}
		buf = append(buf, p.prefix...)
		buf = wire.AppendBodyFrames(buf, p.ch.id, p.body, p.frameMax)
		seq++
	}
	return buf, seq
}

// confirm handles basic.ack (nack false) or basic.nack from the broker: tag,
// or every tag up to it when multiple. Reader goroutine only.
func (p *producer) confirm(tag uint64, multiple, nack bool, now int64) {
	if p.window == 0 || tag < p.lo {
		return
	}
	var n int64
	if multiple {
		for s := p.lo; s <= tag; s++ {
			i := s & p.mask
			if !p.acked[i] {
				p.hist.Record(now - p.sent[i].Load())
				n++
			}
			p.acked[i] = false
		}
		p.lo = tag + 1
	} else if i := tag & p.mask; !p.acked[i] {
		p.acked[i] = true
		p.hist.Record(now - p.sent[i].Load())
		n++
	}
	for p.acked[p.lo&p.mask] {
		p.acked[p.lo&p.mask] = false
		p.lo++
	}
	if nack {
		p.nacked.Add(n)
	} else {
		p.confirmed.Add(n)
	}
	p.lastAck = now
	p.lowest.Store(p.lo)
	select {
	case p.credit <- struct{}{}:
	default:
	}
}
