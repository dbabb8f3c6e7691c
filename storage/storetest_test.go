package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The contract suite: every Store implementation must pass it.

func TestContractMemory(t *testing.T) {
	runContract(t, func(t *testing.T) Store { return NewMemory() })
}

func TestContractBadger(t *testing.T) {
	runContract(t, func(t *testing.T) Store { return openTest(t, t.TempDir()) })
}

// openTest opens a Badger store in dir with TestOptions.
func openTest(t testing.TB, dir string) *Badger {
	t.Helper()
	s, err := Open(dir, TestOptions())
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func runContract(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Definitions", testDefinitions},
		{"BatchesInOrder", testBatchesInOrder},
		{"IndexOrder", testIndexOrder},
		{"IndexEntries", testIndexEntries},
		{"DeliveredMark", testDeliveredMark},
		{"ReadMessages", testReadMessages},
		{"DropQueue", testDropQueue},
		{"ForEachMessageID", testForEachMessageID},
		{"LargeBatch", testLargeBatch},
		{"DoneInOrder", testDoneInOrder},
		{"DoneConcurrent", testDoneConcurrent},
		{"CloseWaits", testCloseWaits},
		{"AfterClose", testAfterClose},
		{"Usage", testUsage},
		{"BadOperation", testBadOperation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

// submitWait submits b and waits for its done.
func submitWait(t testing.TB, s Store, b *Batch) {
	t.Helper()
	if err := trySubmit(s, b); err != nil {
		t.Fatalf("Submit: %v", err)
	}
}

func trySubmit(s Store, b *Batch) error {
	done := make(chan error, 1)
	s.Submit(b, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("done not called within 30s")
	}
}

type def struct{ key, value string }

func definitions(t testing.TB, s Store, kind Kind) []def {
	t.Helper()
	var out []def
	err := s.ForEachDefinition(kind, func(key string, value []byte) error {
		out = append(out, def{key, string(value)})
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachDefinition(%d): %v", kind, err)
	}
	return out
}

type entry struct{ seq, id uint64 }

func index(t testing.TB, s Store, queueID uint64) ([]entry, uint64) {
	t.Helper()
	var out []entry
	delivered, err := s.ForEachIndex(queueID, func(seq uint64, e IndexEntry) error {
		out = append(out, entry{seq, e.MsgID})
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachIndex(%d): %v", queueID, err)
	}
	return out, delivered
}

func messageIDs(t testing.TB, s Store) []uint64 {
	t.Helper()
	var out []uint64
	if err := s.ForEachMessageID(func(id uint64) error { out = append(out, id); return nil }); err != nil {
		t.Fatalf("ForEachMessageID: %v", err)
	}
	return out
}

func readAll(t testing.TB, s Store, ids ...uint64) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	err := s.ReadMessages(ids, func(id uint64, data []byte) error {
		out[id] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadMessages(%v): %v", ids, err)
	}
	return out
}

func testDefinitions(t *testing.T, s Store) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutDefinition(KindQueue, "/\x00q2", []byte("two")))
	must(s.PutDefinition(KindQueue, "/\x00q1", []byte("one")))
	must(s.PutDefinition(KindQueue, "/\x00q3", nil))
	must(s.PutDefinition(KindExchange, "/\x00x", []byte("exchange")))
	must(s.PutDefinition(KindBinding, "b\xff", []byte("binding")))

	want := []def{{"/\x00q1", "one"}, {"/\x00q2", "two"}, {"/\x00q3", ""}}
	if got := definitions(t, s, KindQueue); !slices.Equal(got, want) {
		t.Fatalf("queues = %q, want %q", got, want)
	}
	if got := definitions(t, s, KindExchange); !slices.Equal(got, []def{{"/\x00x", "exchange"}}) {
		t.Fatalf("exchanges = %q", got)
	}

	must(s.PutDefinition(KindQueue, "/\x00q2", []byte("TWO")))
	must(s.DeleteDefinition(KindQueue, "/\x00q1"))
	must(s.DeleteDefinition(KindQueue, "never-stored"))
	want = []def{{"/\x00q2", "TWO"}, {"/\x00q3", ""}}
	if got := definitions(t, s, KindQueue); !slices.Equal(got, want) {
		t.Fatalf("after update and delete: queues = %q, want %q", got, want)
	}
	if got := definitions(t, s, KindBinding); !slices.Equal(got, []def{{"b\xff", "binding"}}) {
		t.Fatalf("bindings = %q", got)
	}

	stop := errors.New("stop")
	n := 0
	err := s.ForEachDefinition(KindQueue, func(string, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ForEachDefinition with failing fn: err %v after %d calls, want stop after 1", err, n)
	}
}

func testBatchesInOrder(t *testing.T, s Store) {
	const q = 7
	// Submitted back to back, so they are likely to share a group.
	var b1, b2, b3, b4 Batch
	b1.PutMessage(1, []byte("first"))
	b1.PutIndex(q, 1, 1)
	b1.PutMessage(2, []byte("two"))
	b1.PutIndex(q, 2, 2)
	b2.DeleteIndex(q, 1)
	b2.PutMessage(1, []byte("second"))
	b3.DeleteMessage(2)
	b3.PutMessage(2, []byte("two again"))
	b3.DeleteIndex(q, 2)
	b3.PutIndex(q, 2, 2)
	b4.PutMessage(3, []byte("gone"))
	b4.PutIndex(q, 3, 3)
	b4.DeleteIndex(q, 3)
	b4.DeleteMessage(3)

	errs := make(chan error, 4)
	var order []int
	var mu sync.Mutex
	for i, b := range []*Batch{&b1, &b2, &b3, &b4} {
		s.Submit(b, func(err error) {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			errs <- err
		})
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(order, []int{0, 1, 2, 3}) {
		t.Fatalf("done order %v", order)
	}
	got, _ := index(t, s, q)
	if want := []entry{{2, 2}}; !slices.Equal(got, want) {
		t.Fatalf("index = %v, want %v", got, want)
	}
	if ids := messageIDs(t, s); !slices.Equal(ids, []uint64{1, 2}) {
		t.Fatalf("message ids %v, want [1 2]", ids)
	}
	if m := readAll(t, s, 1, 2); m[1] != "second" || m[2] != "two again" {
		t.Fatalf("messages %v", m)
	}
}

// testIndexEntries checks that every field of an index entry round-trips, and
// that a later entry for the same seq replaces an earlier one.
func testIndexEntries(t *testing.T, s Store) {
	want := map[uint64]IndexEntry{
		1: {MsgID: 10},
		2: {MsgID: 11, Expires: 1_700_000_000_123},
		3: {MsgID: 12, Priority: 255},
		4: {MsgID: 13, Size: math.MaxUint32},
		5: {MsgID: math.MaxUint64, Expires: math.MaxInt64, Priority: 9, Size: 1024},
	}
	var b Batch
	b.PutIndexEntry(7, 1, IndexEntry{MsgID: 99, Expires: 5, Priority: 5, Size: 5})
	for seq := uint64(1); seq <= 5; seq++ {
		b.PutIndexEntry(7, seq, want[seq])
	}
	submitWait(t, s, &b)
	n := 0
	_, err := s.ForEachIndex(7, func(seq uint64, e IndexEntry) error {
		n++
		if e != want[seq] {
			t.Errorf("entry %d = %+v, want %+v", seq, e, want[seq])
		}
		return nil
	})
	if err != nil || n != len(want) {
		t.Fatalf("ForEachIndex: %d entries, %v", n, err)
	}
}

func testIndexOrder(t *testing.T, s Store) {
	const q = 1 << 40
	seqs := []uint64{1, 2, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<32 + 1,
		1<<56 - 1, 1 << 56, 1<<56 + 1, 1 << 63, math.MaxUint64 - 1, math.MaxUint64}
	shuffled := slices.Clone(seqs)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var b Batch
	for _, seq := range shuffled {
		b.PutIndex(q, seq, seq^0xabcdef)
	}
	// Neighbouring queues must not leak into q's index.
	for _, other := range []uint64{q - 1, q + 1, 0, 1 << 56, math.MaxUint64} {
		b.PutIndex(other, 5, 5)
		b.PutIndex(other, math.MaxUint64, 6)
	}
	submitWait(t, s, &b)

	got, _ := index(t, s, q)
	want := make([]entry, len(seqs))
	for i, seq := range seqs {
		want[i] = entry{seq, seq ^ 0xabcdef}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("index of %d =\n%v\nwant\n%v", uint64(q), got, want)
	}
	got, _ = index(t, s, math.MaxUint64)
	if want := []entry{{5, 5}, {math.MaxUint64, 6}}; !slices.Equal(got, want) {
		t.Fatalf("index of MaxUint64 = %v, want %v", got, want)
	}
	if got, _ := index(t, s, 12345); len(got) != 0 {
		t.Fatalf("index of an unknown queue = %v", got)
	}
}

func testDeliveredMark(t *testing.T, s Store) {
	if _, d := index(t, s, 3); d != 0 {
		t.Fatalf("delivered of a new queue = %d", d)
	}
	var b Batch
	b.PutIndex(3, 1, 10)
	b.SetDelivered(3, 5)
	b.SetDelivered(3, 7)
	b.SetDelivered(4, 1<<60)
	submitWait(t, s, &b)
	if entries, d := index(t, s, 3); d != 7 || len(entries) != 1 {
		t.Fatalf("queue 3: delivered %d, entries %v; want 7 and one entry", d, entries)
	}
	if entries, d := index(t, s, 4); d != 1<<60 || len(entries) != 0 {
		t.Fatalf("queue 4: delivered %d, entries %v", d, entries)
	}
	b = Batch{}
	b.SetDelivered(3, 2) // the store keeps what it is given
	submitWait(t, s, &b)
	if _, d := index(t, s, 3); d != 2 {
		t.Fatalf("delivered after setting 2 = %d", d)
	}
}

func testReadMessages(t *testing.T, s Store) {
	var b Batch
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB: past Badger's value threshold
	b.PutMessage(10, []byte("ten"))
	b.PutMessage(20, []byte{})
	b.PutMessage(30, big)
	b.PutMessage(1<<60, []byte("huge id"))
	submitWait(t, s, &b)

	var ids []uint64
	var datas []string
	err := s.ReadMessages([]uint64{30, 1 << 60, 10, 20, 10}, func(id uint64, data []byte) error {
		ids = append(ids, id)
		datas = append(datas, string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []uint64{30, 1 << 60, 10, 20, 10}) {
		t.Fatalf("ids in order %v", ids)
	}
	if datas[0] != string(big) || datas[1] != "huge id" || datas[2] != "ten" || datas[3] != "" || datas[4] != "ten" {
		t.Fatalf("data %q", datas[1:])
	}

	var seen []uint64
	err = s.ReadMessages([]uint64{10, 11, 20}, func(id uint64, _ []byte) error { seen = append(seen, id); return nil })
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "11") {
		t.Fatalf("missing id: err = %v, want ErrNotFound naming 11", err)
	}
	if !slices.Equal(seen, []uint64{10}) {
		t.Fatalf("before the missing id, fn saw %v, want [10]", seen)
	}
	stop := errors.New("stop")
	if err := s.ReadMessages([]uint64{10, 20}, func(uint64, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn error: got %v", err)
	}
	if err := s.ReadMessages(nil, func(uint64, []byte) error { return stop }); err != nil {
		t.Fatalf("no ids: %v", err)
	}
}

func testDropQueue(t *testing.T, s Store) {
	var b Batch
	for seq := uint64(1); seq <= 100; seq++ {
		b.PutMessage(seq, []byte("m"))
		b.PutIndex(1, seq, seq)
		b.PutIndex(2, seq, seq)
	}
	b.SetDelivered(1, 50)
	b.SetDelivered(2, 60)
	submitWait(t, s, &b)

	// A batch submitted without waiting before DropQueue is dropped with it.
	var late Batch
	late.PutIndex(1, 101, 1)
	lateDone := make(chan error, 1)
	s.Submit(&late, func(err error) { lateDone <- err })
	if err := s.DropQueue(1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lateDone:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("DropQueue returned before a batch submitted earlier was done")
	}
	if entries, d := index(t, s, 1); len(entries) != 0 || d != 0 {
		t.Fatalf("dropped queue: %d entries, delivered %d", len(entries), d)
	}
	if entries, d := index(t, s, 2); len(entries) != 100 || d != 60 {
		t.Fatalf("other queue: %d entries, delivered %d; want 100, 60", len(entries), d)
	}
	if ids := messageIDs(t, s); len(ids) != 100 {
		t.Fatalf("DropQueue deleted messages: %d left", len(ids))
	}
	if err := s.DropQueue(99); err != nil {
		t.Fatalf("DropQueue of an empty queue: %v", err)
	}
	// The queue id can be used again.
	b = Batch{}
	b.PutIndex(1, 7, 7)
	submitWait(t, s, &b)
	if entries, _ := index(t, s, 1); !slices.Equal(entries, []entry{{7, 7}}) {
		t.Fatalf("reused queue: %v", entries)
	}
}

func testForEachMessageID(t *testing.T, s Store) {
	if ids := messageIDs(t, s); len(ids) != 0 {
		t.Fatalf("empty store has ids %v", ids)
	}
	var b Batch
	want := []uint64{0, 1, 2, 1 << 32, 1 << 56, math.MaxUint64}
	for _, id := range []uint64{1 << 56, 2, math.MaxUint64, 0, 1 << 32, 1, 77} {
		b.PutMessage(id, []byte{byte(id)})
	}
	b.DeleteMessage(77)
	b.PutIndex(1, 1, 1) // not a message
	submitWait(t, s, &b)
	if ids := messageIDs(t, s); !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	stop := errors.New("stop")
	if err := s.ForEachMessageID(func(uint64) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn error: got %v", err)
	}
}

// testLargeBatch submits one batch far larger than a commit group and than
// Badger's largest transaction.
func testLargeBatch(t *testing.T, s Store) {
	const n = 30000
	var b Batch
	body := bytes.Repeat([]byte("x"), 100)
	for id := uint64(1); id <= n; id++ {
		b.PutMessage(id, body)
		b.PutIndex(5, id, id)
	}
	submitWait(t, s, &b)
	entries, _ := index(t, s, 5)
	if len(entries) != n || entries[n-1] != (entry{n, n}) {
		t.Fatalf("%d entries, want %d", len(entries), n)
	}
	if ids := messageIDs(t, s); len(ids) != n {
		t.Fatalf("%d messages, want %d", len(ids), n)
	}
}

// goroutineID returns the id of the calling goroutine, from its stack header.
func goroutineID() string {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := strings.Fields(string(buf[:n]))
	return f[1] // "goroutine N [running]:"
}

func testDoneInOrder(t *testing.T, s Store) {
	const n = 500
	me := goroutineID()
	var mu sync.Mutex
	var got []int
	var inSubmit, onCaller atomic.Int32
	all := make(chan struct{})
	var submitting atomic.Bool
	for i := range n {
		var b Batch
		b.PutMessage(uint64(i), []byte(strconv.Itoa(i)))
		submitting.Store(true)
		s.Submit(&b, func(err error) {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
			if goroutineID() == me {
				onCaller.Add(1)
				if submitting.Load() {
					inSubmit.Add(1)
				}
			}
			mu.Lock()
			got = append(got, i)
			if len(got) == n {
				close(all)
			}
			mu.Unlock()
		})
		submitting.Store(false)
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatal("not every done was called")
	}
	if onCaller.Load() != 0 || inSubmit.Load() != 0 {
		t.Fatalf("done ran on the submitting goroutine %d times (%d inside Submit)", onCaller.Load(), inSubmit.Load())
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("done order broken at %d: %v", i, got[max(0, i-3):min(len(got), i+3)])
		}
	}
}

func testDoneConcurrent(t *testing.T, s Store) {
	const submitters, each = 16, 150
	var wg sync.WaitGroup
	calls := make([][]atomic.Int32, submitters)
	for g := range submitters {
		calls[g] = make([]atomic.Int32, each)
	}
	for g := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := goroutineID()
			var mu sync.Mutex
			last := -1
			doneAll := make(chan struct{})
			var count atomic.Int32
			for i := range each {
				id := uint64(g*each + i)
				var b Batch
				b.PutMessage(id, []byte(fmt.Sprint(id)))
				b.PutIndex(uint64(g), uint64(i+1), id)
				s.Submit(&b, func(err error) {
					if err != nil {
						t.Errorf("submitter %d batch %d: %v", g, i, err)
					}
					if goroutineID() == me {
						t.Errorf("done ran on its submitter's goroutine")
					}
					calls[g][i].Add(1)
					mu.Lock()
					if i != last+1 {
						t.Errorf("submitter %d: done %d after %d", g, i, last)
					}
					last = i
					mu.Unlock()
					if count.Add(1) == each {
						close(doneAll)
					}
				})
			}
			select {
			case <-doneAll:
			case <-time.After(30 * time.Second):
				t.Errorf("submitter %d: dones missing", g)
			}
		}()
	}
	wg.Wait()
	for g := range submitters {
		for i := range each {
			if c := calls[g][i].Load(); c != 1 {
				t.Fatalf("submitter %d batch %d: done called %d times", g, i, c)
			}
		}
		entries, _ := index(t, s, uint64(g))
		if len(entries) != each {
			t.Fatalf("queue %d: %d entries, want %d", g, len(entries), each)
		}
	}
	if ids := messageIDs(t, s); len(ids) != submitters*each {
		t.Fatalf("%d messages, want %d", len(ids), submitters*each)
	}
}

func testCloseWaits(t *testing.T, s Store) {
	const n = 300
	var called atomic.Int32
	for i := range n {
		var b Batch
		b.PutMessage(uint64(i), bytes.Repeat([]byte{1}, 512))
		s.Submit(&b, func(err error) {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
			called.Add(1)
		})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c := called.Load(); c != n {
		t.Fatalf("Close returned with %d of %d dones called", c, n)
	}
}

func testAfterClose(t *testing.T, s Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	check("PutDefinition", s.PutDefinition(KindQueue, "q", nil))
	check("DeleteDefinition", s.DeleteDefinition(KindQueue, "q"))
	check("ForEachDefinition", s.ForEachDefinition(KindQueue, func(string, []byte) error { return nil }))
	_, err := s.ForEachIndex(1, func(uint64, IndexEntry) error { return nil })
	check("ForEachIndex", err)
	check("ReadMessages", s.ReadMessages([]uint64{1}, func(uint64, []byte) error { return nil }))
	check("ForEachMessageID", s.ForEachMessageID(func(uint64) error { return nil }))
	check("DropQueue", s.DropQueue(1))
	_, err = s.Usage()
	check("Usage", err)
	check("Close", s.Close())
	if c, ok := s.(interface{ Compact() error }); ok {
		check("Compact", c.Compact())
	}
	var b Batch
	b.PutMessage(1, nil)
	check("Submit", trySubmit(s, &b))
	s.Submit(&b, nil) // a nil done is allowed, closed or not
}

func testUsage(t *testing.T, s Store) {
	before, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for id := range uint64(2000) {
		b.PutMessage(id, bytes.Repeat([]byte{byte(id)}, 1024))
	}
	submitWait(t, s, &b)
	after, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if after < before+1<<20 {
		t.Fatalf("usage %d -> %d after storing 2 MB", before, after)
	}
	// nil done, nil and empty batches are accepted.
	s.Submit(nil, nil)
	submitWait(t, s, nil)
	submitWait(t, s, &Batch{})
}

// testBadOperation: a batch with an unknown operation fails alone.
func testBadOperation(t *testing.T, s Store) {
	bad := &Batch{Ops: []Op{{Kind: OpPutMessage, MsgID: 1}, {Kind: 99}}}
	if err := trySubmit(s, bad); err == nil || !strings.Contains(err.Error(), "unknown kind 99") {
		t.Fatalf("bad batch: %v", err)
	}
	var good Batch
	good.PutMessage(2, []byte("fine"))
	submitWait(t, s, &good)
	if ids := messageIDs(t, s); !slices.Equal(ids, []uint64{2}) {
		t.Fatalf("ids %v, want [2]", ids)
	}
}
