package queue

import (
	"errors"

	"github.com/warren-mq/warren/message"
	"github.com/warren-mq/warren/storage"
)

// Paging keeps a long queue's memory bounded: past the queue's memory budget,
// bodies of stored messages live only on disk and are read back in batches ahead
// of the consumers. Only messages that this queue alone holds and that are
// already durable are paged; a paged entry keeps just its seq, id and redelivered
// flag (32 octets).
const (
	// DefaultMemoryBudget is the body octets a queue keeps in memory before it
	// pages (see SetMemoryBudget).
	DefaultMemoryBudget = 8 << 20
	// pageKeep is how many entries at the head always stay in memory.
	pageKeep = 1024
	// pageReadBatch is how many paged messages are read back at a time.
	pageReadBatch = 256
)

// SetMemoryBudget sets the body octets the queue keeps in memory before it pages
// stored messages out; 0 means DefaultMemoryBudget.
func (q *Queue) SetMemoryBudget(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n <= 0 {
		n = DefaultMemoryBudget
	}
	q.budget = n
}

// pageOutLocked drops bodies from memory, oldest first after the head, until the
// queue is within its budget or it meets a message not yet on disk.
func (q *Queue) pageOutLocked() {
	if q.store == nil || q.ready.bytes <= q.budget {
		return
	}
	r := &q.ready
	i := max(r.search(q.pageSeq), r.head+pageKeep)
	for ; i < len(r.items) && r.bytes > q.budget; i++ {
		e := &r.items[i]
		if e.msg == nil {
			continue
		}
		if !e.msg.OnDisk() {
			break // newer ones are not on disk either
		}
		q.pageSeq = e.seq
		if e.msg.Refs() != 1 || !q.Stores(e.msg) {
			continue
		}
		r.bytes -= e.msg.Size()
		e.id, e.msg = e.msg.ID, nil
	}
}

// pageInLocked reads the head's paged messages back from the store, a batch at a
// time. Entries whose stored copy is missing (it cannot be delivered) are dropped
// with their index entries; on any other read error the head stays paged and the
// queue stalls until a later dispatch.
func (q *Queue) pageInLocked() bool {
	r := &q.ready
	if r.len() == 0 || r.items[r.head].msg != nil {
		return true
	}
	var ids []uint64
	at := map[uint64]int{}
	for i := r.head; i < len(r.items) && len(ids) < pageReadBatch; i++ {
		if r.items[i].msg != nil {
			continue
		}
		ids = append(ids, r.items[i].id)
		at[r.items[i].id] = i
	}
	err := q.store.ReadMessages(ids, func(id uint64, data []byte) error {
		m, err := message.Decode(data)
		if err != nil {
			return err
		}
		m.ID = id
		m.Ref()
		m.SetOnDisk()
		e := &r.items[at[id]]
		e.msg = m
		r.bytes += m.Size()
		return nil
	})
	if err == nil {
		return true
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return false
	}
	// Some stored copy is gone: read one at a time and drop what is missing.
	drop := map[int]bool{}
	for _, id := range ids {
		i := at[id]
		if r.items[i].msg != nil {
			continue
		}
		err := q.store.ReadMessages([]uint64{id}, func(id uint64, data []byte) error {
			m, err := message.Decode(data)
			if err != nil {
				return err
			}
			m.ID = id
			m.Ref()
			m.SetOnDisk()
			r.items[i].msg = m
			r.bytes += m.Size()
			return nil
		})
		switch {
		case errors.Is(err, storage.ErrNotFound) || errors.Is(err, message.ErrCorrupt):
			q.pending.DeleteIndex(q.ID, r.items[i].seq)
			drop[i] = true
		case err != nil:
			return false
		}
	}
	kept := r.items[:r.head]
	for i := r.head; i < len(r.items); i++ {
		if !drop[i] {
			kept = append(kept, r.items[i])
		}
	}
	clear(r.items[len(kept):])
	r.items = kept
	return true
}

// RecoverPaged puts back, at recovery, a stored message that only this queue
// holds, without reading it: it is read when it nears the head.
func (q *Queue) RecoverPaged(id, seq uint64, redelivered bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ready.pushBack(entry{id: id, seq: seq, redelivered: redelivered})
	if seq > q.nextSeq {
		q.nextSeq = seq
	}
	if redelivered && seq > q.delivered {
		q.delivered, q.markedUpTo = seq, seq
	}
}
