package storage

import (
	"fmt"
	"sync/atomic"
)

// request is one entry of the committer's queue: a batch of message operations,
// a definition write, or a barrier.
type request struct {
	batch   *Batch        // message operations, or nil
	def     *definitionOp // a definition write, or nil
	barrier func() error  // runs alone, after every earlier request is done
	failed  error         // set at submit: done gets it and nothing is written
	done    func(error)
}

// definitionOp puts or deletes one definition record.
type definitionOp struct {
	kind   Kind
	key    string
	value  []byte
	delete bool
}

// cost is what r adds to a group: operations and message bytes.
func (r *request) cost() (ops, bytes int) {
	switch {
	case r.batch != nil:
		for i := range r.batch.Ops {
			bytes += len(r.batch.Ops[i].Data)
		}
		return len(r.batch.Ops), bytes
	case r.def != nil:
		return 1, len(r.def.value)
	}
	return 0, 0
}

// checkBatch reports an operation no store can apply, so that a bad batch
// fails alone instead of failing its group.
func checkBatch(b *Batch) error {
	for i := range b.Ops {
		if k := b.Ops[i].Kind; k < OpPutMessage || k > OpSetDelivered {
			return fmt.Errorf("storage: operation %d of the batch has unknown kind %d", i, k)
		}
	}
	return nil
}

// groupWriter applies a group of requests (batches and definition writes, none
// of them failed) in order and returns once all of it is durable, or the error
// that kept any of it from getting there.
type groupWriter interface {
	writeGroup(group []*request) error
}

// committer is the group committer: one goroutine takes every request queued
// (up to a group's bounds), has them written together with one sync, then calls
// each done in submit order.
type committer struct {
	w        groupWriter
	sticky   bool // after a write error, refuse every later request with it
	maxOps   int
	maxBytes int
	reqs     chan *request
	exited   chan struct{}

	groups, batches, ops atomic.Uint64 // see CommitStats

	// Owned by the committer goroutine.
	err   error // sticky write error
	group []*request
	carry *request // taken from reqs but left for the next group
}

func newCommitter(w groupWriter, depth, maxOps, maxBytes int, sticky bool) *committer {
	c := &committer{w: w, sticky: sticky, maxOps: maxOps, maxBytes: maxBytes,
		reqs: make(chan *request, depth), exited: make(chan struct{})}
	go c.run()
	return c
}

// submit queues r; the caller holds its store's lifecycle (see lifecycle.enter),
// so reqs is open.
func (c *committer) submit(r *request) {
	if r.done == nil {
		r.done = func(error) {}
	}
	c.reqs <- r
}

// do queues r and waits for its outcome.
func (c *committer) do(r *request) error {
	ch := make(chan error, 1)
	r.done = func(err error) { ch <- err }
	c.reqs <- r
	return <-ch
}

// close makes the committer finish every queued request and exit, and waits for
// that. No submit may be running or follow.
func (c *committer) close() {
	close(c.reqs)
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	for {
		r := c.carry
		c.carry = nil
		if r == nil {
			var ok bool
			if r, ok = <-c.reqs; !ok {
				return
			}
		}
		if r.barrier != nil {
			c.runBarrier(r)
			continue
		}
		c.commit(c.fill(r))
	}
}

// fill returns a group that starts with first and takes every queued request
// that fits, stopping at a barrier (kept as carry).
func (c *committer) fill(first *request) []*request {
	group := append(c.group[:0], first)
	ops, bytes := first.cost()
	for ops < c.maxOps && bytes < c.maxBytes {
		var r *request
		select {
		case r = <-c.reqs:
		default:
		}
		if r == nil { // queue empty, or closed: the next receive tells
			break
		}
		o, b := r.cost()
		if r.barrier != nil || ops+o > c.maxOps || bytes+b > c.maxBytes {
			c.carry = r
			break
		}
		group = append(group, r)
		ops, bytes = ops+o, bytes+b
	}
	c.group = group
	return group
}

// commit writes a group and calls its dones in order.
func (c *committer) commit(group []*request) {
	err := c.err
	if err == nil {
		live, ops := 0, 0
		for _, r := range group {
			if r.failed == nil {
				live++
				o, _ := r.cost()
				ops += o
			}
		}
		if ops > 0 {
			err = c.w.writeGroup(withoutFailed(group, live))
			c.fail(err)
			c.groups.Add(1)
			c.batches.Add(uint64(live))
			c.ops.Add(uint64(ops))
		}
	}
	for i, r := range group {
		if r.failed != nil {
			r.done(r.failed)
		} else {
			r.done(err)
		}
		group[i] = nil
	}
}

// withoutFailed returns the live requests of group (usually group itself).
func withoutFailed(group []*request, live int) []*request {
	if live == len(group) {
		return group
	}
	out := make([]*request, 0, live)
	for _, r := range group {
		if r.failed == nil {
			out = append(out, r)
		}
	}
	return out
}

// fail makes a write error sticky, if the committer is.
func (c *committer) fail(err error) {
	if err != nil && c.sticky {
		c.err = fmt.Errorf("storage: an earlier write failed, no more writes are accepted: %w", err)
	}
}

func (c *committer) runBarrier(r *request) {
	err := c.err
	if r.failed != nil {
		err = r.failed
	} else if err == nil {
		err = r.barrier()
		c.fail(err)
	}
	r.done(err)
}

// CommitStats count the committer's work since the store was opened.
type CommitStats struct {
	Groups  uint64 // groups written, each with one sync
	Batches uint64 // batches and definition writes in them
	Ops     uint64 // operations in them
}

func (c *committer) stats() CommitStats {
	return CommitStats{Groups: c.groups.Load(), Batches: c.batches.Load(), Ops: c.ops.Load()}
}
