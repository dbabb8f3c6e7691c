package queue

import (
	"errors"
	"sync/atomic"

	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/storage"
)

// Paging keeps a long queue's memory bounded: past the queue's memory budget,
// bodies of stored messages live only on disk and are read back in batches ahead
// of the consumers. Only messages that this queue alone holds and that are
// already durable are paged; a paged entry keeps just its seq, id, expiry, size
// and redelivered flag (40 octets), and a chunk of paged entries is packed to
// about two octets an entry (see chunk). In a priority queue the lowest levels are
// paged first, as they are delivered last.
const (
	// DefaultMemoryBudget is the most body octets a queue keeps in memory before
	// it pages (see SetMemoryBudget and MemoryShare).
	DefaultMemoryBudget = 8 << 20
	// MinMemoryBudget is the least a MemoryShare gives a queue.
	MinMemoryBudget = 256 << 10
	// pageKeep is how many entries at the head of a level stay in memory, at
	// most (see keepLocked).
	pageKeep = 1024
	// pageReadBatch is how many paged messages are read back at a time.
	pageReadBatch = 256
)

// MemoryShare divides a broker-wide budget of body octets in memory among the
// queues that page (those with a store): each gets an equal share, within
// [MinMemoryBudget, DefaultMemoryBudget], so that many queues with backlogs do
// not each hold the most a single one may.
type MemoryShare struct {
	total  int64
	queues atomic.Int64
}

// NewMemoryShare returns a share of total octets.
func NewMemoryShare(total int64) *MemoryShare { return &MemoryShare{total: total} }

// budget is one queue's share.
func (s *MemoryShare) budget() int {
	n := max(1, s.queues.Load())
	return int(min(DefaultMemoryBudget, max(MinMemoryBudget, s.total/n)))
}

// SetMemoryBudget sets the body octets the queue keeps in memory before it pages
// stored messages out; 0 means its share of Env.Memory, or DefaultMemoryBudget
// without one.
func (q *Queue) SetMemoryBudget(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.budget = max(0, n)
}

// budgetLocked is the queue's memory budget now.
func (q *Queue) budgetLocked() int {
	switch {
	case q.budget > 0:
		return q.budget
	case q.env.Memory != nil:
		return q.env.Memory.budget()
	}
	return DefaultMemoryBudget
}

// keepLocked is how many entries at the head of a level stay in memory: up to
// pageKeep, and about a quarter of the budget in octets.
func (q *Queue) keepLocked(budget int) int {
	avg := max(1, int(q.bytes)/max(1, q.count))
	return min(pageKeep, max(16, budget/4/avg))
}

// pageOutLocked drops bodies from memory, oldest first after the head of each
// level, lowest level first, until the queue is within its budget or it meets
// a message not yet on disk.
func (q *Queue) pageOutLocked() {
	if q.store == nil {
		return
	}
	budget := q.budgetLocked()
	if q.mem <= budget {
		return
	}
	keep := q.keepLocked(budget)
	for l := range q.levels {
		r := &q.levels[l]
		r.eachAfter(keep, r.pageSeq, func(e *entry) bool {
			if q.mem <= budget {
				return false
			}
			if e.msg == nil {
				return true
			}
			if !e.msg.OnDisk() {
				return false // newer ones are not on disk either
			}
			r.pageSeq = e.seq
			if e.msg.Refs() != 1 || !q.Stores(e.msg) {
				return true
			}
			q.mem -= int(e.size)
			e.id, e.msg = e.msg.ID, nil
			return true
		})
		r.packPaged()
		if q.mem <= budget {
			return
		}
	}
}

// pageInLocked reads the paged messages at the head of level l back from the
// store, a batch at a time. Entries whose stored copy is missing or corrupt
// (they cannot be delivered) are dropped with their index entries; on any other
// read error the head stays paged and the queue stalls until a later dispatch.
func (q *Queue) pageInLocked(l int) bool {
	r := &q.levels[l]
	if r.len() == 0 || r.front().msg != nil {
		return true
	}
	var ids []uint64
	var at []*entry
	r.each(func(e *entry) bool {
		if e.msg == nil {
			ids = append(ids, e.id)
			at = append(at, e)
		}
		return len(ids) < pageReadBatch
	})
	i := 0
	err := q.store.ReadMessages(ids, func(id uint64, data []byte) error {
		if err := q.pageIn(at[i], id, data); err != nil {
			return err
		}
		i++
		return nil
	})
	if err == nil {
		return true
	}
	if !copyLost(err) {
		return false
	}
	// Some stored copy is gone or unreadable: read one at a time and drop those.
	lost := map[*entry]bool{}
	for _, e := range at {
		if e.msg != nil {
			continue
		}
		err := q.store.ReadMessages([]uint64{e.id}, func(id uint64, data []byte) error { return q.pageIn(e, id, data) })
		switch {
		case copyLost(err):
			lost[e] = true
		case err != nil:
			return false
		}
	}
	for e := range lost {
		q.pending.DeleteIndex(q.ID, e.seq)
		q.removed(e)
	}
	r.removeIf(func(e *entry) bool { return e.msg == nil && lost[e] })
	return true
}

// copyLost reports whether a read failed because a stored copy is gone or
// unreadable (the entry is dropped), rather than the store failing.
func copyLost(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrCorrupt) || errors.Is(err, message.ErrCorrupt)
}

// pageIn fills a paged entry with its message read from the store.
func (q *Queue) pageIn(e *entry, id uint64, data []byte) error {
	m, err := message.Decode(data)
	if err != nil {
		return err
	}
	m.ID = id
	m.Ref()
	m.SetOnDisk()
	e.msg = m
	if e.size == 0 && m.Size() > 0 { // an index entry that did not record it
		e.size = uint32(m.Size())
		q.bytes += int64(e.size)
	}
	q.mem += int(e.size)
	return nil
}
