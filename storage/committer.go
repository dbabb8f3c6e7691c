package storage

import (
	"fmt"
	"sync"
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
	// pendingBytes and pendingOps are what the request holds of the
	// committer's room (see committer).
	pendingBytes int64
	pendingOps   int64
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

	// Back-pressure is in two parts. A request that carries message data
	// waits while limits.pendingBytes are queued and not yet written, so that
	// publishers cannot run ahead of the disk. One that carries none (acks,
	// deletes, marks) never waits for those, so that consumers settling what
	// they were given are not held up behind publishers; it waits while
	// limits.pendingOps operations of its kind are queued, so that consumers
	// acking faster than the disk deletes do not grow memory without bound.
	// reqs is only a (large) buffer.
	limits     committerLimits
	pendMu     sync.Mutex
	pendCond   *sync.Cond
	pending    int64 // message bytes queued
	pendingOps int64 // operations of requests without message bytes queued

	groups, batches, ops atomic.Uint64 // see CommitStats
	elided               atomic.Uint64

	// Owned by the committer goroutine.
	err   error // sticky write error
	group []*request
	carry *request // taken from reqs but left for the next group
	el    elider
}

// committerLimits bound the committer's queue and groups (see Options).
type committerLimits struct {
	depth                int   // requests queued
	groupOps, groupBytes int   // one group
	pendingBytes         int64 // message bytes queued
	pendingOps           int64 // operations queued in requests without message bytes
}

func newCommitter(w groupWriter, l committerLimits, sticky bool) *committer {
	c := &committer{w: w, sticky: sticky, maxOps: l.groupOps, maxBytes: l.groupBytes, limits: l,
		reqs: make(chan *request, l.depth), exited: make(chan struct{})}
	c.pendCond = sync.NewCond(&c.pendMu)
	go c.run()
	return c
}

// submit queues r, first waiting for room (see committer); the caller holds
// its store's lifecycle (see lifecycle.enter), so reqs is open.
func (c *committer) submit(r *request) {
	if r.done == nil {
		r.done = func(error) {}
	}
	switch ops, bytes := r.cost(); {
	case bytes > 0:
		r.pendingBytes = int64(bytes)
		c.reserve(&c.pending, c.limits.pendingBytes, r.pendingBytes)
	case ops > 0 && r.batch != nil:
		r.pendingOps = int64(ops)
		c.reserve(&c.pendingOps, c.limits.pendingOps, r.pendingOps)
	}
	c.reqs <- r
}

// reserve waits until n more fits under limit in *held (or *held is empty:
// one request larger than the limit goes alone), then adds it.
func (c *committer) reserve(held *int64, limit, n int64) {
	c.pendMu.Lock()
	for *held > 0 && *held+n > limit {
		c.pendCond.Wait()
	}
	*held += n
	c.pendMu.Unlock()
}

// written releases the room of requests done with.
func (c *committer) written(group []*request) {
	var n, ops int64
	for _, r := range group {
		n += r.pendingBytes
		ops += r.pendingOps
	}
	if n == 0 && ops == 0 {
		return
	}
	c.pendMu.Lock()
	c.pending -= n
	c.pendingOps -= ops
	c.pendMu.Unlock()
	c.pendCond.Broadcast()
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
		c.el.elide(group)
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
		c.elided.Add(uint64(c.el.n))
	}
	c.written(group)
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
	Elided  uint64 // operations left out, with the later ones that undid them
}

func (c *committer) stats() CommitStats {
	return CommitStats{Groups: c.groups.Load(), Batches: c.batches.Load(), Ops: c.ops.Load(), Elided: c.elided.Load()}
}

// elider drops from a group the writes that a later operation of the same
// group undoes: a message stored and deleted, an index entry put and deleted.
// Applying both or neither leaves the same state, and a group is applied
// whole, so nothing can see the difference; the usual case is a message a
// consumer acked before its publish reached the disk, which then never does.
type elider struct {
	msgs map[uint64]int    // message id -> index in ops of its put
	idx  map[[2]uint64]int // (queue, seq) -> index in ops of its put
	ops  []*Op             // puts and deletes seen, by position
	drop map[*Op]struct{}  // ops to leave out
	n    int               // ops left out of the last group
}

func (e *elider) elide(group []*request) {
	e.n = 0
	if e.msgs == nil {
		e.msgs, e.idx, e.drop = map[uint64]int{}, map[[2]uint64]int{}, map[*Op]struct{}{}
	}
	deletes := false
	for _, r := range group {
		if r.batch == nil || r.failed != nil {
			continue
		}
		for i := range r.batch.Ops {
			op := &r.batch.Ops[i]
			switch op.Kind {
			case OpPutMessage:
				e.msgs[op.MsgID] = len(e.ops)
				e.ops = append(e.ops, op)
			case OpPutIndex:
				e.idx[[2]uint64{op.QueueID, op.Seq}] = len(e.ops)
				e.ops = append(e.ops, op)
			case OpDeleteMessage:
				if j, ok := e.msgs[op.MsgID]; ok {
					e.drop[e.ops[j]], e.drop[op] = struct{}{}, struct{}{}
					delete(e.msgs, op.MsgID)
					deletes = true
				}
			case OpDeleteIndex:
				k := [2]uint64{op.QueueID, op.Seq}
				if j, ok := e.idx[k]; ok {
					e.drop[e.ops[j]], e.drop[op] = struct{}{}, struct{}{}
					delete(e.idx, k)
					deletes = true
				}
			}
		}
	}
	if deletes {
		for _, r := range group {
			if r.batch == nil || r.failed != nil {
				continue
			}
			kept := r.batch.Ops[:0]
			for i := range r.batch.Ops {
				if _, gone := e.drop[&r.batch.Ops[i]]; gone {
					e.n++
					continue
				}
				kept = append(kept, r.batch.Ops[i])
			}
			clear(r.batch.Ops[len(kept):])
			r.batch.Ops = kept
		}
	}
	clear(e.msgs)
	clear(e.idx)
	clear(e.drop)
	clear(e.ops)
	e.ops = e.ops[:0]
}
