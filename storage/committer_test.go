package storage

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeWriter records the groups it is given; it blocks in writeGroup until
// released, so that tests can let requests pile up.
type fakeWriter struct {
	mu      sync.Mutex
	groups  [][]int // the first MsgID of each request's batch, per group
	gate    chan struct{}
	entered chan struct{}
	fail    error
}

func (f *fakeWriter) writeGroup(group []*request) error {
	f.entered <- struct{}{}
	<-f.gate
	var ids []int
	for _, r := range group {
		ids = append(ids, int(r.batch.Ops[0].MsgID))
	}
	f.mu.Lock()
	f.groups = append(f.groups, ids)
	f.mu.Unlock()
	return f.fail
}

func oneOp(id uint64, size int) *Batch {
	return &Batch{Ops: []Op{{Kind: OpPutMessage, MsgID: id, Data: make([]byte, size)}}}
}

// TestCommitterGroups checks that requests queued while a group is written form
// the next group, within its bounds, and that a barrier ends a group.
func TestCommitterGroups(t *testing.T) {
	f := &fakeWriter{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	c := newCommitter(f, committerLimits{depth: 100, groupOps: 3, groupBytes: 1000, pendingBytes: 1 << 30, pendingOps: 1 << 30}, false)
	var mu sync.Mutex
	var dones []int
	done := func(i int) func(error) {
		return func(err error) {
			mu.Lock()
			dones = append(dones, i)
			mu.Unlock()
		}
	}
	c.submit(&request{batch: oneOp(1, 1), done: done(1)})
	<-f.entered // group [1] is being written; the rest queue up
	for i := 2; i <= 6; i++ {
		c.submit(&request{batch: oneOp(uint64(i), 1), done: done(i)})
	}
	c.submit(&request{batch: oneOp(7, 900), done: done(7)})
	c.submit(&request{batch: oneOp(8, 200), done: done(8)}) // over MaxGroupBytes with 7
	barrierRan := make(chan []int, 1)
	c.submit(&request{barrier: func() error {
		mu.Lock()
		barrierRan <- slices.Clone(dones)
		mu.Unlock()
		return nil
	}, done: done(100)})
	c.submit(&request{batch: oneOp(9, 1), done: done(9)})
	go func() {
		for range f.entered {
			f.gate <- struct{}{}
		}
	}()
	f.gate <- struct{}{}
	c.close()
	close(f.entered)

	want := [][]int{{1}, {2, 3, 4}, {5, 6, 7}, {8}, {9}}
	if !slices.EqualFunc(f.groups, want, slices.Equal) {
		t.Fatalf("groups %v, want %v", f.groups, want)
	}
	if got := <-barrierRan; !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("barrier ran after %v", got)
	}
	if !slices.Equal(dones, []int{1, 2, 3, 4, 5, 6, 7, 8, 100, 9}) {
		t.Fatalf("dones %v", dones)
	}
}

// TestCommitterStickyError checks that a write error goes to every done of its
// group and, when sticky, to every later request without writing it.
func TestCommitterStickyError(t *testing.T) {
	boom := errors.New("disk on fire")
	f := &fakeWriter{gate: make(chan struct{}), entered: make(chan struct{}, 100), fail: boom}
	close(f.gate)
	c := newCommitter(f, committerLimits{depth: 100, groupOps: 100, groupBytes: 1 << 20, pendingBytes: 1 << 30, pendingOps: 1 << 30}, true)
	if err := c.do(&request{batch: oneOp(1, 1)}); !errors.Is(err, boom) {
		t.Fatalf("first write: %v", err)
	}
	f.fail = nil // too late: the store must not pretend
	if err := c.do(&request{batch: oneOp(2, 1)}); !errors.Is(err, boom) {
		t.Fatalf("write after a failure: %v, want the failure", err)
	}
	if err := c.do(&request{barrier: func() error { t.Error("barrier ran after a failure"); return nil }}); !errors.Is(err, boom) {
		t.Fatalf("barrier after a failure: %v", err)
	}
	c.close()
	if len(f.groups) != 1 {
		t.Fatalf("%d groups written, want 1", len(f.groups))
	}
}

func TestMemoryFailWrites(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	boom := errors.New("injected")
	m.FailWrites(boom)
	var b Batch
	b.PutMessage(1, []byte("x"))
	b.PutIndex(1, 1, 1)
	if err := trySubmit(m, &b); !errors.Is(err, boom) {
		t.Fatalf("Submit while failing: %v", err)
	}
	if err := m.PutDefinition(KindQueue, "q", nil); !errors.Is(err, boom) {
		t.Fatalf("PutDefinition while failing: %v", err)
	}
	if err := m.DeleteDefinition(KindQueue, "q"); !errors.Is(err, boom) {
		t.Fatalf("DeleteDefinition while failing: %v", err)
	}
	if err := m.DropQueue(1); !errors.Is(err, boom) {
		t.Fatalf("DropQueue while failing: %v", err)
	}
	if ids := messageIDs(t, m); len(ids) != 0 {
		t.Fatalf("a failed batch was applied: %v", ids)
	}
	// A batch submitted before FailWrites(nil) fails even if written after.
	res := make(chan error, 2)
	m.Submit(&b, func(err error) { res <- err })
	m.FailWrites(nil)
	m.Submit(&b, func(err error) { res <- err })
	for i, want := range []error{boom, nil} {
		select {
		case err := <-res:
			if !errors.Is(err, want) {
				t.Fatalf("batch %d: %v, want %v", i, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("done not called")
		}
	}
	if ids := messageIDs(t, m); !slices.Equal(ids, []uint64{1}) {
		t.Fatalf("after FailWrites(nil): ids %v", ids)
	}
	if err := m.PutDefinition(KindQueue, "q", nil); err != nil {
		t.Fatal(err)
	}
}

// opsWriter records the operations of each group; it blocks in writeGroup
// until released.
type opsWriter struct {
	mu      sync.Mutex
	ops     [][]Op
	gate    chan struct{}
	entered chan struct{}
}

func (w *opsWriter) writeGroup(group []*request) error {
	w.entered <- struct{}{}
	<-w.gate
	var ops []Op
	for _, r := range group {
		ops = append(ops, r.batch.Ops...)
	}
	w.mu.Lock()
	w.ops = append(w.ops, ops)
	w.mu.Unlock()
	return nil
}

// TestCommitterElides checks that a group leaves out a message and index
// entry that a later batch of the same group deletes, keeps what a delete of
// another group or another key needs, and still calls every done.
func TestCommitterElides(t *testing.T) {
	w := &opsWriter{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	c := newCommitter(w, committerLimits{depth: 64, groupOps: 1 << 20, groupBytes: 1 << 30, pendingBytes: 1 << 30, pendingOps: 1 << 30}, false)
	defer c.close()
	var done sync.WaitGroup
	submit := func(b *Batch) {
		done.Add(1)
		c.submit(&request{batch: b, done: func(error) { done.Done() }})
	}
	var first Batch
	first.PutMessage(1, []byte("old"))
	first.PutIndex(7, 1, 1)
	submit(&first)
	<-w.entered // group 1 is being written; the rest queue up as group 2
	var pub, ack, other Batch
	pub.PutMessage(2, []byte("acked at once"))
	pub.PutIndex(7, 2, 2)
	pub.PutIndex(8, 1, 2) // a second queue holds it and does not ack
	pub.PutMessage(4, []byte("acked by its one queue"))
	pub.PutIndex(7, 3, 4)
	ack.DeleteIndex(7, 2)
	ack.DeleteIndex(7, 1) // put in group 1: must be written
	ack.DeleteMessage(1)
	ack.DeleteIndex(7, 3)
	ack.DeleteMessage(4)
	other.PutMessage(3, []byte("kept"))
	submit(&pub)
	submit(&ack)
	submit(&other)
	w.gate <- struct{}{}
	<-w.entered
	w.gate <- struct{}{}
	done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ops) != 2 {
		t.Fatalf("%d groups", len(w.ops))
	}
	var got []string
	for _, op := range w.ops[1] {
		got = append(got, fmt.Sprintf("%d:%d/%d/%d", op.Kind, op.QueueID, op.Seq, op.MsgID))
	}
	want := []string{
		fmt.Sprintf("%d:0/0/2", OpPutMessage), fmt.Sprintf("%d:8/1/2", OpPutIndex),
		fmt.Sprintf("%d:7/1/0", OpDeleteIndex), fmt.Sprintf("%d:0/0/1", OpDeleteMessage),
		fmt.Sprintf("%d:0/0/3", OpPutMessage),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("group 2 wrote\n%v\nwant\n%v", got, want)
	}
	if st := c.stats(); st.Elided != 6 {
		t.Fatalf("elided %d ops, want 6", st.Elided)
	}
}

// TestCommitterBackPressure checks that a batch carrying message bytes waits
// while the committer holds MaxPendingBytes of them, and that one without
// (an ack) does not wait behind it.
func TestCommitterBackPressure(t *testing.T) {
	w := &opsWriter{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	c := newCommitter(w, committerLimits{depth: 64, groupOps: 1 << 20, groupBytes: 1 << 30, pendingBytes: 100, pendingOps: 1 << 30}, false)
	defer c.close()
	var done sync.WaitGroup
	submit := func(b *Batch) {
		done.Add(1)
		c.submit(&request{batch: b, done: func(error) { done.Done() }})
	}
	submit(oneOp(1, 80)) // being written: holds 80 of 100
	<-w.entered
	blocked := make(chan struct{})
	go func() {
		submit(oneOp(2, 80)) // 160 > 100: waits for the first to be written
		close(blocked)
	}()
	var ack Batch
	ack.DeleteMessage(1)
	submit(&ack) // no message bytes: does not wait
	// The ack is queued before the publish that waits: once the first group is
	// written, it goes first.
	eventually(t, func() bool { return len(c.reqs) == 1 })
	close(w.gate) // every group is written from now on
	<-blocked
	done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	var kinds []OpKind
	for _, g := range w.ops[1:] {
		for _, op := range g {
			kinds = append(kinds, op.Kind)
		}
	}
	if !slices.Equal(kinds, []OpKind{OpDeleteMessage, OpPutMessage}) {
		t.Fatalf("after the first group: %v, want the ack ahead of the publish that waited", kinds)
	}
}

// eventually polls cond until it holds, or fails the test after a few seconds.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCommitterAckBackPressure checks that a batch without message bytes
// waits while MaxPendingOps operations of such batches are queued, and that a
// publish does not wait behind it.
func TestCommitterAckBackPressure(t *testing.T) {
	w := &opsWriter{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	c := newCommitter(w, committerLimits{depth: 64, groupOps: 1 << 20, groupBytes: 1 << 30, pendingBytes: 1 << 30, pendingOps: 3}, false)
	defer c.close()
	var done sync.WaitGroup
	submit := func(b *Batch) {
		done.Add(1)
		c.submit(&request{batch: b, done: func(error) { done.Done() }})
	}
	acks := func(ids ...uint64) *Batch {
		var b Batch
		for _, id := range ids {
			b.DeleteMessage(id)
		}
		return &b
	}
	submit(acks(1, 2)) // being written: holds 2 of 3
	<-w.entered
	blocked := make(chan struct{})
	go func() {
		submit(acks(3, 4)) // 4 > 3: waits for the first to be written
		close(blocked)
	}()
	submit(oneOp(5, 80)) // a publish: does not wait for acks
	eventually(t, func() bool { return len(c.reqs) == 1 })
	select {
	case <-blocked:
		t.Fatal("the second acks did not wait")
	default:
	}
	close(w.gate)
	<-blocked
	done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []uint64
	for _, g := range w.ops[1:] {
		for _, op := range g {
			ids = append(ids, op.MsgID)
		}
	}
	if !slices.Equal(ids, []uint64{5, 3, 4}) {
		t.Fatalf("after the first group: %v, want the publish ahead of the acks that waited", ids)
	}
}
