package queue

import (
	"strconv"
	"testing"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/storage"
)

// storedPublish stores m as the broker does and publishes it to q.
// refs is the number of queues holding it (the others are not modelled).
func storedPublish(t *testing.T, store storage.Store, q *Queue, id uint64, body string, refs int) *message.Message {
	t.Helper()
	m := &message.Message{ID: id, Body: []byte(body), Props: wire.Properties{Flags: wire.FlagDeliveryMode, DeliveryMode: 2}}
	r, res := q.Reserve(m)
	if res != Enqueued {
		t.Fatalf("Reserve: %v", res)
	}
	var b storage.Batch
	b.PutMessage(id, m.Encode(nil))
	b.PutIndexEntry(q.ID, r.Seq, r.IndexEntry(m))
	for range refs {
		m.Ref()
	}
	done := make(chan error, 1)
	store.Submit(&b, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m.SetOnDisk()
	q.PublishAt(m, r, nil)
	return m
}

// flush waits until every batch submitted so far is applied.
func flush(t *testing.T, store storage.Store) {
	done := make(chan error, 1)
	store.Submit(&storage.Batch{}, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func storedIDs(store storage.Store) (n int) {
	store.ForEachMessageID(func(uint64) error { n++; return nil })
	return n
}

func inMemory(q *Queue) (n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.levels {
		q.levels[i].scan(func(e *entry) bool {
			if e.msg != nil {
				n++
			}
			return true
		})
	}
	return n
}

// nth returns a copy of the entry i places from the head of r.
func nth(r *readyList, i int) (out entry) {
	r.scan(func(e *entry) bool {
		if i == 0 {
			out = *e
			return false
		}
		i--
		return true
	})
	return out
}

func TestPagingKeepsMemoryBoundedAndOrder(t *testing.T) {
	store := storage.NewMemory()
	defer store.Close()
	q := New("q", "/", true, false, false, nil, nil)
	q.SetStore(store, 1)
	q.SetMemoryBudget(100) // a few bodies
	const n = 5000
	for i := 1; i <= n; i++ {
		storedPublish(t, store, q, uint64(i), strconv.Itoa(i), 1)
	}
	if mem := inMemory(q); mem > pageKeep+10 {
		t.Fatalf("%d of %d bodies in memory, want at most about %d", mem, n, pageKeep)
	}
	for i := 1; i <= n; i++ {
		d, _, ok := q.Get(false)
		if !ok {
			t.Fatalf("get %d: empty", i)
		}
		if string(d.Msg.Body) != strconv.Itoa(i) {
			t.Fatalf("get %d: body %q", i, d.Msg.Body)
		}
		q.Ack(d)
	}
	if _, _, ok := q.Get(true); ok {
		t.Fatal("queue not empty")
	}
	flush(t, store)
	if n := storedIDs(store); n != 0 {
		t.Fatalf("%d stored messages left after every one was acked", n)
	}
}

func TestPagingSkipsSharedAndNotYetDurable(t *testing.T) {
	store := storage.NewMemory()
	defer store.Close()
	q := New("q", "/", true, false, false, nil, nil)
	q.SetStore(store, 1)
	q.SetMemoryBudget(1)
	for i := 1; i <= pageKeep+10; i++ {
		refs := 1
		if i == pageKeep+5 {
			refs = 2 // held by another queue too
		}
		storedPublish(t, store, q, uint64(i), "x", refs)
	}
	q.mu.Lock()
	shared := nth(&q.levels[0], pageKeep+4)
	q.mu.Unlock()
	if shared.msg == nil {
		t.Fatal("a message two queues hold was paged out")
	}
	// A message not yet on disk stays in memory.
	m := &message.Message{ID: 99999, Body: []byte("new"), Props: wire.Properties{Flags: wire.FlagDeliveryMode, DeliveryMode: 2}}
	m.Ref()
	r, _ := q.Reserve(m)
	q.PublishAt(m, r, nil)
	q.mu.Lock()
	last := nth(&q.levels[0], q.count-1)
	q.mu.Unlock()
	if last.msg == nil {
		t.Fatal("a message not yet on disk was paged out")
	}
}

func TestPurgeReleasesPagedMessages(t *testing.T) {
	store := storage.NewMemory()
	q := New("q", "/", true, false, false, nil, nil)
	q.SetStore(store, 1)
	q.SetMemoryBudget(1)
	defer store.Close()
	for i := 1; i <= pageKeep+100; i++ {
		storedPublish(t, store, q, uint64(i), "x", 1)
	}
	if inMemory(q) > pageKeep+1 {
		t.Fatalf("%d bodies in memory: nothing was paged", inMemory(q))
	}
	if n := q.Purge(); n != pageKeep+100 {
		t.Fatalf("purged %d", n)
	}
	flush(t, store)
	if n := storedIDs(store); n != 0 {
		t.Fatalf("%d stored messages left after purge", n)
	}
}

// A durable queue settles what it hands to a no-ack consumer and marks what it
// hands to an acking one as delivered, including across the compaction of its
// ready list (regression: both once used a cleared or moved slot).
func TestConsumeSettlesAndMarksDelivered(t *testing.T) {
	for _, noAck := range []bool{true, false} {
		store := storage.NewMemory()
		q := New("q", "/", true, false, false, nil, nil)
		q.SetStore(store, 1)
		const n = 3000 // past the ready list's compaction point
		for i := 1; i <= n; i++ {
			storedPublish(t, store, q, uint64(i), strconv.Itoa(i), 1)
		}
		k := &fakeConsumer{credit: -1}
		if err := q.AddConsumer(k, false, noAck, 0); err != nil {
			t.Fatal(err)
		}
		if len(k.got) != n {
			t.Fatalf("noAck=%v: got %d deliveries, want %d", noAck, len(k.got), n)
		}
		for i, d := range k.got {
			if d.Seq != uint64(i+1) || string(d.Msg.Body) != strconv.Itoa(i+1) {
				t.Fatalf("noAck=%v: delivery %d is seq %d body %q", noAck, i, d.Seq, d.Msg.Body)
			}
		}
		flush(t, store)
		delivered, err := store.ForEachIndex(q.ID, func(uint64, storage.IndexEntry) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if noAck {
			if left := storedIDs(store); left != 0 {
				t.Fatalf("no-ack deliveries left %d stored messages", left)
			}
		} else if delivered != n {
			t.Fatalf("delivered mark = %d, want %d", delivered, n)
		}
	}
}

// TestMemoryShare checks that durable queues share one budget: each queue's
// share shrinks as queues with a store are declared, within the bounds, and
// comes back as they are deleted; and that a queue pages to its share.
func TestMemoryShare(t *testing.T) {
	store := storage.NewMemory()
	defer store.Close()
	share := NewMemoryShare(1 << 20)
	var qs []*Queue
	budget := func() int {
		qs[0].mu.Lock()
		defer qs[0].mu.Unlock()
		return qs[0].budgetLocked()
	}
	for i := range 8 {
		q := New("q"+strconv.Itoa(i), "/", true, false, false, nil, nil)
		q.Configure(DefaultSettings(), Env{Memory: share})
		q.SetStore(store, uint64(i+1))
		qs = append(qs, q)
	}
	transient := New("t", "/", false, false, false, nil, nil)
	transient.Configure(DefaultSettings(), Env{Memory: share}) // no store: not counted
	if got := budget(); got != MinMemoryBudget {
		t.Fatalf("8 queues sharing 1 MiB: budget %d, want the least, %d", got, MinMemoryBudget)
	}
	const n, size = 3000, 1024
	body := string(make([]byte, size))
	for i := 1; i <= n; i++ {
		storedPublish(t, store, qs[0], uint64(i), body, 1)
	}
	if mem, most := inMemory(qs[0])*size, MinMemoryBudget+size; mem > most {
		t.Fatalf("%d body octets in memory, want at most %d", mem, most)
	}
	for _, q := range qs[2:] {
		q.Delete()
	}
	qs[4].Delete() // again: counted once
	if got := budget(); got != 1<<19 {
		t.Fatalf("2 queues sharing 1 MiB: budget %d, want %d", got, 1<<19)
	}
	qs[1].Delete()
	if got := budget(); got != 1<<20 {
		t.Fatalf("1 queue sharing 1 MiB: budget %d, want %d", got, 1<<20)
	}
	qs[0].SetMemoryBudget(100)
	if got := budget(); got != 100 {
		t.Fatalf("a budget set: %d, want 100", got)
	}
}
