package queue

import (
	"math/rand"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
)

// fakeClock is a Clock whose time moves only when told; timers fire (in the
// caller's goroutine) when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    int64
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      int64
	f       func()
	stopped bool
}

func (c *fakeClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now + d.Milliseconds(), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the time on by ms and runs the timers that came due.
func (c *fakeClock) Advance(ms int64) {
	c.mu.Lock()
	c.now += ms
	var due []*fakeTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case t.at <= c.now:
			t.stopped = true
			due = append(due, t)
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// extQueue is a queue with settings s on a fake clock, recording what it
// dead-letters and whether it asked to be deleted.
type extQueue struct {
	*Queue
	clock   *fakeClock
	mu      sync.Mutex
	dead    []string // body/reason
	expired bool
}

func newExtQueue(s Settings) *extQueue {
	x := &extQueue{Queue: New("q", "/", false, false, false, nil, nil), clock: &fakeClock{now: 1_000_000}}
	x.Configure(s, Env{
		Clock: x.clock,
		DeadLetter: func(_ *Queue, dls []DeadLetter) {
			x.mu.Lock()
			defer x.mu.Unlock()
			for _, d := range dls {
				x.dead = append(x.dead, string(d.Msg.Body)+"/"+d.Reason)
			}
		},
		Expire: func(*Queue) { x.mu.Lock(); x.expired = true; x.mu.Unlock() },
	})
	return x
}

func (x *extQueue) deadLetters() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.dead)
}

func (x *extQueue) drain() (out []string) {
	for {
		d, _, ok := x.Get(true)
		if !ok {
			return out
		}
		out = append(out, string(d.Msg.Body))
	}
}

func withProps(body string, p wire.Properties) *message.Message {
	return &message.Message{Body: []byte(body), Props: p}
}

func expiring(body, ms string) *message.Message {
	return withProps(body, wire.Properties{Flags: wire.FlagExpiration, Expiration: ms})
}

func prioritized(body string, prio uint8) *message.Message {
	return withProps(body, wire.Properties{Flags: wire.FlagPriority, Priority: prio})
}

// The chunked ready list behaves like a sorted slice under pushes, pops and
// inserts at any place, across chunk boundaries and splits.
func TestReadyListAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var r readyList
	var model []uint64
	next := uint64(0)
	var taken []uint64
	for step := 0; step < 50_000; step++ {
		switch op := rng.Intn(10); {
		case op < 5:
			next++
			r.pushBack(entry{seq: next})
			model = append(model, next)
		case op < 8 && len(model) > 0:
			e := r.popFront()
			if e.seq != model[0] {
				t.Fatalf("step %d: popped %d, want %d", step, e.seq, model[0])
			}
			model = model[1:]
			taken = append(taken, e.seq)
		case len(taken) > 0:
			i := rng.Intn(len(taken))
			seq := taken[i]
			taken = append(taken[:i], taken[i+1:]...)
			r.insert(entry{seq: seq})
			j, _ := slices.BinarySearch(model, seq)
			model = slices.Insert(model, j, seq)
		}
		if r.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, r.len(), len(model))
		}
	}
	var got []uint64
	r.each(func(e *entry) bool { got = append(got, e.seq); return true })
	if !slices.Equal(got, model) {
		t.Fatal("list order differs from the model")
	}
	for _, skip := range []int{0, 1, 100, chunkSize, 3*chunkSize + 7, len(model), len(model) + 5} {
		for _, at := range []int{-1, 0, len(model) / 3, len(model) / 2, len(model) - 1} {
			seq := uint64(0)
			if at >= 0 {
				seq = model[at]
			}
			var after []uint64
			r.eachAfter(skip, seq, func(e *entry) bool { after = append(after, e.seq); return true })
			var want []uint64
			for i, s := range model {
				if i >= skip && s > seq {
					want = append(want, s)
				}
			}
			if !slices.Equal(after, want) {
				t.Fatalf("eachAfter(%d, %d) gave %d entries, want %d", skip, seq, len(after), len(want))
			}
		}
	}
}

func TestPriorityQueue(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: -1, MaxLength: -1, MaxLengthBytes: -1, MaxPriority: 5})
	for i, p := range []uint8{0, 3, 9, 3, 1, 5} { // 9 counts as the maximum, 5
		x.Publish(prioritized(strconv.Itoa(i), p), nil)
	}
	x.Publish(msg(6), nil) // no priority: 0
	if got := x.drain(); !slices.Equal(got, []string{"2", "5", "1", "3", "4", "0", "6"}) {
		t.Fatalf("order %v", got)
	}
	// A requeued message goes back to its place in its own level.
	x.Publish(prioritized("a", 2), nil)
	x.Publish(prioritized("b", 2), nil)
	x.Publish(prioritized("lo", 0), nil)
	d, _, _ := x.Get(false)
	x.Requeue(d)
	if got := x.drain(); !slices.Equal(got, []string{"a", "b", "lo"}) {
		t.Fatalf("after requeue %v", got)
	}
}

func TestMessageTTL(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: 100, MaxLength: -1, MaxLengthBytes: -1, DeadLetter: true})
	x.Publish(msg(1), nil)
	x.clock.Advance(50)
	x.Publish(msg(2), nil)
	x.Publish(expiring("3", "10"), nil) // its own, shorter TTL; it waits behind 2
	x.clock.Advance(50)                 // 1 expires
	if got := x.deadLetters(); !slices.Equal(got, []string{"1/expired"}) {
		t.Fatalf("dead letters %v", got)
	}
	x.clock.Advance(50) // 2 expires, then 3 (expired long since) at the head
	if got := x.deadLetters(); !slices.Equal(got, []string{"1/expired", "2/expired", "3/expired"}) {
		t.Fatalf("dead letters %v", got)
	}
	if n, _ := x.Counts(); n != 0 {
		t.Fatalf("%d left", n)
	}
	// A message taken and requeued keeps its expiry.
	x.Publish(msg(4), nil)
	d, _, _ := x.Get(false)
	x.clock.Advance(200)
	x.Requeue(d)
	if got := x.drain(); len(got) != 0 {
		t.Fatalf("an expired requeued message came back: %v", got)
	}
}

func TestTTLZero(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: 0, MaxLength: -1, MaxLengthBytes: -1, DeadLetter: true})
	x.Publish(msg(1), nil) // nobody waits: expires at once
	if got := x.deadLetters(); !slices.Equal(got, []string{"1/expired"}) {
		t.Fatalf("dead letters %v", got)
	}
	k := &fakeConsumer{credit: 1}
	x.AddConsumer(k, false, false, 0)
	x.Publish(msg(2), nil) // taken at once
	x.Publish(msg(3), nil) // no credit left: expires
	if bodies(k.got) != "2" || len(x.deadLetters()) != 2 {
		t.Fatalf("consumer got %q, dead letters %v", bodies(k.got), x.deadLetters())
	}
}

func TestLengthLimits(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: -1, MaxLength: 2, MaxLengthBytes: -1, DeadLetter: true})
	for i := 1; i <= 4; i++ {
		if r := x.Publish(msg(i), nil); r != Enqueued {
			t.Fatalf("publish %d: %v", i, r)
		}
	}
	if got := x.deadLetters(); !slices.Equal(got, []string{"1/maxlen", "2/maxlen"}) {
		t.Fatalf("drop-head dead letters %v", got)
	}
	if got := x.drain(); !slices.Equal(got, []string{"3", "4"}) {
		t.Fatalf("kept %v", got)
	}

	for _, o := range []Overflow{RejectPublish, RejectPublishDLX} {
		x := newExtQueue(Settings{MessageTTL: -1, MaxLength: -1, MaxLengthBytes: 3, Overflow: o, DeadLetter: true})
		results := []Result{x.Publish(msg(11), nil), x.Publish(msg(2), nil), x.Publish(msg(3), nil)} // 2 + 1 octets fit, then full
		if !slices.Equal(results, []Result{Enqueued, Enqueued, Rejected}) {
			t.Fatalf("overflow %d: results %v", o, results)
		}
		want := []string(nil)
		if o == RejectPublishDLX {
			want = []string{"3/maxlen"}
		}
		if got := x.deadLetters(); !slices.Equal(got, want) {
			t.Fatalf("overflow %d: dead letters %v, want %v", o, got, want)
		}
		// Reserved places count: a reservation holds its place.
		m := msg(4)
		if _, r := x.Reserve(m); r != Rejected {
			t.Fatalf("overflow %d: Reserve on a full queue: %v", o, r)
		}
	}
}

func TestRejectDeadLetters(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: -1, MaxLength: -1, MaxLengthBytes: -1, DeadLetter: true})
	x.Publish(msg(1), nil)
	d, _, _ := x.Get(false)
	x.Reject(d)
	if got := x.deadLetters(); !slices.Equal(got, []string{"1/rejected"}) {
		t.Fatalf("dead letters %v", got)
	}
	// Purge and delete do not dead-letter.
	x.Publish(msg(2), nil)
	x.Purge()
	x.Publish(msg(3), nil)
	x.Delete()
	if got := x.deadLetters(); len(got) != 1 {
		t.Fatalf("purge or delete dead-lettered: %v", got)
	}
}

func TestConsumerPriorities(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	lo1, lo2, hi := &fakeConsumer{credit: -1}, &fakeConsumer{credit: -1}, &fakeConsumer{credit: 2}
	q.AddConsumer(lo1, false, false, 0)
	q.AddConsumer(hi, false, false, 10)
	q.AddConsumer(lo2, false, false, 0)
	for i := 0; i < 6; i++ {
		q.Publish(msg(i), nil)
	}
	// hi takes what its credit allows; the rest go round robin among the low ones.
	if bodies(hi.got) != "01" || bodies(lo1.got) != "24" || bodies(lo2.got) != "35" {
		t.Fatalf("hi=%s lo1=%s lo2=%s", bodies(hi.got), bodies(lo1.got), bodies(lo2.got))
	}
}

func TestSingleActiveConsumer(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: -1, MaxLength: -1, MaxLengthBytes: -1, SingleActiveConsumer: true})
	if err := x.AddConsumer(&fakeConsumer{}, true, false, 0); err == nil {
		t.Fatal("an exclusive consumer was accepted on a single-active-consumer queue")
	}
	a, b, c := &fakeConsumer{credit: 1}, &fakeConsumer{credit: -1}, &fakeConsumer{credit: -1}
	x.AddConsumer(a, false, false, 0)
	x.AddConsumer(b, false, false, 5) // priority does not make it active
	x.AddConsumer(c, false, false, 0)
	for i := 1; i <= 3; i++ {
		x.Publish(msg(i), nil)
	}
	if bodies(a.got) != "1" || len(b.got) != 0 {
		t.Fatalf("a=%s b=%s", bodies(a.got), bodies(b.got))
	}
	// A waiting consumer leaving hands nothing over: a goes on.
	x.RemoveConsumer(c)
	a.credit = 1
	x.Dispatch()
	if bodies(a.got) != "12" {
		t.Fatalf("after a waiting consumer left, a=%s", bodies(a.got))
	}
	x.Ack(a.got[1])
	// a leaves with 1 unsettled: b waits for it, then gets it first.
	x.RemoveConsumer(a)
	x.Publish(msg(4), nil)
	if len(b.got) != 0 {
		t.Fatalf("b got %s before a's delivery was settled", bodies(b.got))
	}
	x.Requeue(a.got[0])
	if bodies(b.got) != "134" || !b.got[0].Redelivered {
		t.Fatalf("b got %s", bodies(b.got))
	}
}

func TestQueueExpires(t *testing.T) {
	x := newExtQueue(Settings{MessageTTL: -1, MaxLength: -1, MaxLengthBytes: -1, Expires: 1000})
	x.clock.Advance(600)
	x.Get(true) // a use: the expiry starts again
	x.clock.Advance(600)
	k := &fakeConsumer{credit: -1}
	x.AddConsumer(k, false, false, 0)
	x.clock.Advance(5000) // no expiry while it has a consumer
	x.mu.Lock()
	expired := x.expired
	x.mu.Unlock()
	if expired {
		t.Fatal("expired while in use")
	}
	x.RemoveConsumer(k)
	x.clock.Advance(999)
	x.mu.Lock()
	expired = x.expired
	x.mu.Unlock()
	if expired {
		t.Fatal("expired early")
	}
	x.clock.Advance(1)
	x.mu.Lock()
	expired = x.expired
	x.mu.Unlock()
	if !expired {
		t.Fatal("not expired after being unused for its expiry")
	}
}
