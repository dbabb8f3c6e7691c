package queue

import (
	"strconv"
	"sync"
	"testing"

	"github.com/warren-mq/warren/message"
)

// fakeConsumer takes deliveries while it has credit.
type fakeConsumer struct {
	credit    int
	got       []Delivery
	cancelled bool
}

func (f *fakeConsumer) Deliver(d Delivery) bool {
	if f.credit == 0 {
		return false
	}
	f.credit--
	f.got = append(f.got, d)
	return true
}

func (f *fakeConsumer) Cancelled() { f.cancelled = true }

func msg(i int) *message.Message { return &message.Message{Body: []byte(strconv.Itoa(i))} }

func bodies(ds []Delivery) string {
	s := ""
	for _, d := range ds {
		s += string(d.Msg.Body)
	}
	return s
}

func TestRoundRobin(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	a, b, c := &fakeConsumer{credit: -1}, &fakeConsumer{credit: -1}, &fakeConsumer{credit: -1}
	for _, k := range []*fakeConsumer{a, b, c} {
		if err := q.AddConsumer(k, false, false, 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 9; i++ {
		q.Publish(msg(i), nil)
	}
	if bodies(a.got) != "036" || bodies(b.got) != "147" || bodies(c.got) != "258" {
		t.Fatalf("round robin: a=%s b=%s c=%s", bodies(a.got), bodies(b.got), bodies(c.got))
	}
}

func TestCreditAndDispatch(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	slow, fast := &fakeConsumer{credit: 1}, &fakeConsumer{credit: 3}
	q.AddConsumer(slow, false, false, 0)
	q.AddConsumer(fast, false, false, 0)
	for i := 0; i < 6; i++ {
		q.Publish(msg(i), nil)
	}
	if bodies(slow.got) != "0" || bodies(fast.got) != "123" {
		t.Fatalf("slow=%s fast=%s", bodies(slow.got), bodies(fast.got))
	}
	if n, _ := q.Counts(); n != 2 {
		t.Fatalf("ready = %d, want 2", n)
	}
	slow.credit = 5
	q.Dispatch()
	if bodies(slow.got) != "045" {
		t.Fatalf("after credit: slow=%s", bodies(slow.got))
	}
}

// A delivery carries the origin of the publish during which it was made, even
// when it delivers an older message; one made by Dispatch or Get carries none.
func TestDeliveryOrigin(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	k := &fakeConsumer{credit: 1}
	q.AddConsumer(k, false, false, 0)
	q.Publish(msg(0), "a") // taken at once
	q.Publish(msg(1), "b") // no credit: waits
	k.credit = 1
	q.Publish(msg(2), "c") // delivers 1, then 2 waits
	k.credit = 1
	q.Dispatch() // delivers 2
	q.Publish(msg(3), "d")
	d, _, _ := q.Get(false)
	got := []any{k.got[0].Origin, k.got[1].Origin, k.got[2].Origin, d.Origin}
	if bodies(k.got) != "012" || got[0] != "a" || got[1] != "c" || got[2] != nil || got[3] != nil {
		t.Fatalf("deliveries %s with origins %v, want 012 with [a c <nil> <nil>]", bodies(k.got), got)
	}
}

func TestRequeueKeepsOriginalPosition(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	for i := 1; i <= 5; i++ {
		q.Publish(msg(i), nil)
	}
	var ds []Delivery
	for i := 0; i < 4; i++ {
		d, _, ok := q.Get(false)
		if !ok {
			t.Fatal("get failed")
		}
		ds = append(ds, d)
	}
	// Requeue #3, then #1: the queue is 1 3 5, with 1 and 3 redelivered.
	q.Requeue(ds[2])
	q.Requeue(ds[0])
	var got []Delivery
	for {
		d, _, ok := q.Get(true)
		if !ok {
			break
		}
		got = append(got, d)
	}
	if bodies(got) != "135" {
		t.Fatalf("order after requeue = %s, want 135", bodies(got))
	}
	if !got[0].Redelivered || !got[1].Redelivered || got[2].Redelivered {
		t.Fatalf("redelivered flags wrong: %v %v %v", got[0].Redelivered, got[1].Redelivered, got[2].Redelivered)
	}
}

func TestExclusiveConsumer(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	if err := q.AddConsumer(&fakeConsumer{}, true, false, 0); err != nil {
		t.Fatal(err)
	}
	if err := q.AddConsumer(&fakeConsumer{}, false, false, 0); err == nil || err.Code != 403 {
		t.Fatalf("second consumer beside an exclusive one: %v, want 403", err)
	}
}

func TestAutoDeleteAndDelete(t *testing.T) {
	q := New("q", "/", false, false, true, nil, nil)
	a := &fakeConsumer{}
	q.AddConsumer(a, false, false, 0)
	q.Publish(msg(1), nil)
	if q.RemoveConsumer(a) != true {
		t.Fatal("auto-delete queue not due for deletion after its last consumer left")
	}
	b := &fakeConsumer{}
	q.AddConsumer(b, false, false, 0)
	if n := q.Delete(); n != 1 {
		t.Fatalf("Delete returned %d, want 1", n)
	}
	if !b.cancelled {
		t.Fatal("consumer not told of deletion")
	}
	if q.Publish(msg(2), nil) != Gone {
		t.Fatal("publish to deleted queue accepted")
	}
}

func TestConcurrentPublishAndGet(t *testing.T) {
	q := New("q", "/", false, false, false, nil, nil)
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				q.Publish(msg(i), nil)
			}
		}()
	}
	got := 0
	for got < 4000 {
		if _, _, ok := q.Get(true); ok {
			got++
		}
	}
	wg.Wait()
	if n, _ := q.Counts(); n != 0 {
		t.Fatalf("%d left", n)
	}
}

// nopConsumer takes everything.
type nopConsumer struct{}

func (nopConsumer) Deliver(Delivery) bool { return true }
func (nopConsumer) Cancelled()            {}

func BenchmarkPublishDispatch(b *testing.B) {
	q := New("q", "/", false, false, false, nil, nil)
	q.AddConsumer(nopConsumer{}, false, true, 0)
	m := msg(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		q.Publish(m, nil)
	}
}

func BenchmarkPublishGetRequeue(b *testing.B) {
	q := New("q", "/", false, false, false, nil, nil)
	for i := 0; i < 1000; i++ {
		q.Publish(msg(i), nil)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d, _, _ := q.Get(false)
		q.Requeue(d)
	}
}

// ackingConsumer takes everything and keeps the deliveries for the caller to ack.
type ackingConsumer struct{ got []Delivery }

func (a *ackingConsumer) Deliver(d Delivery) bool { a.got = append(a.got, d); return true }
func (a *ackingConsumer) Cancelled()              {}

func BenchmarkPublishDispatchAck(b *testing.B) {
	q := New("q", "/", false, false, false, nil, nil)
	k := &ackingConsumer{got: make([]Delivery, 0, 64)}
	q.AddConsumer(k, false, false, 0)
	m := msg(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		q.Publish(m, nil)
		if len(k.got) == 50 { // a consumer acking every 50, multiple
			q.Ack(k.got...)
			k.got = k.got[:0]
		}
	}
}
