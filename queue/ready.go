package queue

import "github.com/warren-mq/warren/message"

// entry is one message in a queue's ready list. A paged entry has no msg in
// memory, only the id of its stored copy, which the queue reads back before it
// delivers it.
type entry struct {
	msg         *message.Message // nil when paged out
	id          uint64           // the stored copy's id, for a paged entry
	seq         uint64           // the message's place in the queue, assigned at enqueue
	redelivered bool
}

// size is the body octets the entry holds in memory.
func (e *entry) size() int {
	if e.msg == nil {
		return 0
	}
	return e.msg.Size()
}

// readyList holds a queue's ready messages in seq order. Enqueue appends at the
// tail; a requeued message goes back to its original place, which for the usual
// case (it was taken from the head) is the head, in O(1).
type readyList struct {
	items []entry
	head  int
	bytes int // body octets of the ready messages
}

func (r *readyList) len() int { return len(r.items) - r.head }

func (r *readyList) pushBack(e entry) {
	if r.head > 0 && r.head == len(r.items) {
		r.items = r.items[:0]
		r.head = 0
	}
	r.items = append(r.items, e)
	r.bytes += e.size()
}

func (r *readyList) front() *entry { return &r.items[r.head] }

func (r *readyList) popFront() entry {
	e := r.items[r.head]
	r.items[r.head] = entry{}
	r.head++
	r.bytes -= e.size()
	if r.head == len(r.items) {
		r.items = r.items[:0]
		r.head = 0
	} else if r.head >= 1024 && r.head*2 >= len(r.items) {
		n := copy(r.items, r.items[r.head:])
		clear(r.items[n:])
		r.items = r.items[:n]
		r.head = 0
	}
	return e
}

// insert puts e back at its seq position.
func (r *readyList) insert(e entry) {
	r.bytes += e.size()
	if r.len() == 0 || e.seq < r.items[r.head].seq {
		if r.head > 0 {
			r.head--
			r.items[r.head] = e
			return
		}
		r.items = append(r.items, entry{})
		copy(r.items[1:], r.items)
		r.items[0] = e
		return
	}
	// Binary search for the first item with a larger seq.
	lo, hi := r.head, len(r.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.items[m].seq < e.seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	r.items = append(r.items, entry{})
	copy(r.items[lo+1:], r.items[lo:])
	r.items[lo] = e
}

// search returns the index of the first item whose seq is above seq.
func (r *readyList) search(seq uint64) int {
	lo, hi := r.head, len(r.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.items[m].seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// clear drops every ready message and returns how many there were.
func (r *readyList) clear() int {
	n := r.len()
	clear(r.items)
	r.items = r.items[:0]
	r.head = 0
	r.bytes = 0
	return n
}
