package queue

import "github.com/warren-mq/warren/message"

// entry is one message in a queue's ready list. A paged entry has no msg in
// memory, only the id of its stored copy, which the queue reads back before it
// delivers it.
type entry struct {
	msg         *message.Message // nil when paged out
	id          uint64           // the stored copy's id, for a paged entry
	seq         uint64           // the message's place in the queue, assigned at enqueue
	expires     int64            // Unix ms at which it expires here; 0: never
	size        uint32           // body octets
	redelivered bool
}

// chunkSize is how many entries one chunk of a ready list holds: small enough
// that an insert in the middle moves little, large enough that a long queue is
// a few thousand chunks.
const chunkSize = 1024

// chunk is a run of entries in seq order; its live entries are e[head:].
type chunk struct {
	e    []entry
	head int
}

func (c *chunk) len() int      { return len(c.e) - c.head }
func (c *chunk) first() *entry { return &c.e[c.head] }
func (c *chunk) last() *entry  { return &c.e[len(c.e)-1] }

// readyList holds ready messages in seq order as a deque of chunks, so that a
// queue of millions never reallocates (or copies) one large array. Enqueue
// appends at the tail; a requeued message goes back to its original place,
// which for the usual case (it was taken from the head) is the head, in O(1).
type readyList struct {
	chunks []*chunk // live chunks are chunks[ch:], none of them empty
	ch     int
	n      int
	// pageSeq: entries up to this seq have been considered for paging.
	pageSeq uint64
}

func (r *readyList) len() int { return r.n }

func (r *readyList) live() []*chunk { return r.chunks[r.ch:] }

func newChunk() *chunk { return &chunk{e: make([]entry, 0, chunkSize)} }

func (r *readyList) pushBack(e entry) {
	cs := r.live()
	if len(cs) == 0 || len(cs[len(cs)-1].e) == chunkSize {
		r.appendChunk(newChunk())
		cs = r.live()
	}
	c := cs[len(cs)-1]
	c.e = append(c.e, e)
	r.n++
}

// appendChunk adds c at the tail, reclaiming the chunk slots the head left.
func (r *readyList) appendChunk(c *chunk) {
	if r.ch > 0 && r.ch*2 >= len(r.chunks) {
		n := copy(r.chunks, r.chunks[r.ch:])
		clear(r.chunks[n:])
		r.chunks = r.chunks[:n]
		r.ch = 0
	}
	r.chunks = append(r.chunks, c)
}

// front returns the entry at the head; the list must not be empty.
func (r *readyList) front() *entry { return r.chunks[r.ch].first() }

// popFront removes and returns the head entry.
func (r *readyList) popFront() entry {
	c := r.chunks[r.ch]
	e := c.e[c.head]
	c.e[c.head] = entry{}
	c.head++
	r.n--
	if c.head == len(c.e) {
		r.chunks[r.ch] = nil
		r.ch++
		if r.ch == len(r.chunks) {
			r.chunks = r.chunks[:0]
			r.ch = 0
		}
	}
	return e
}

// insert puts e back at its seq position.
func (r *readyList) insert(e entry) {
	r.n++
	cs := r.live()
	if len(cs) == 0 {
		r.n--
		r.pushBack(e)
		return
	}
	if e.seq < cs[0].first().seq {
		c := cs[0]
		if c.head > 0 {
			c.head--
			c.e[c.head] = e
			return
		}
		nc := newChunk()
		nc.e = append(nc.e, e)
		if r.ch > 0 {
			r.ch--
			r.chunks[r.ch] = nc
		} else {
			r.chunks = append(r.chunks, nil)
			copy(r.chunks[1:], r.chunks)
			r.chunks[0] = nc
		}
		return
	}
	// The chunk it goes into: the first whose last seq is above e's (or the last).
	lo, hi := 0, len(cs)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cs[m].last().seq < e.seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	c := cs[lo]
	if len(c.e) == chunkSize {
		c = r.split(r.ch+lo, e.seq)
	}
	i := c.search(e.seq)
	c.e = append(c.e, entry{})
	copy(c.e[i+1:], c.e[i:])
	c.e[i] = e
}

// split halves the full chunk at index at and returns the half seq belongs in.
func (r *readyList) split(at int, seq uint64) *chunk {
	c := r.chunks[at]
	live := c.e[c.head:]
	half := len(live) / 2
	left := newChunk()
	left.e = append(left.e, live[:half]...)
	right := newChunk()
	right.e = append(right.e, live[half:]...)
	r.chunks[at] = left
	r.chunks = append(r.chunks, nil)
	copy(r.chunks[at+2:], r.chunks[at+1:])
	r.chunks[at+1] = right
	if seq < right.first().seq {
		return left
	}
	return right
}

// search returns the index in c.e of the first live entry whose seq is above seq.
func (c *chunk) search(seq uint64) int {
	lo, hi := c.head, len(c.e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.e[m].seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// each calls fn for every entry from the head, in order, until fn returns false.
func (r *readyList) each(fn func(e *entry) bool) {
	for _, c := range r.live() {
		for i := c.head; i < len(c.e); i++ {
			if !fn(&c.e[i]) {
				return
			}
		}
	}
}

// eachAfter is each for the entries past the first skip whose seq is above
// seq. It finds where to start without walking the list: past the head chunks
// that skip covers, then by binary search over the chunks' seqs.
func (r *readyList) eachAfter(skip int, seq uint64, fn func(e *entry) bool) {
	cs := r.live()
	first, from := 0, -1 // the chunk to start in, and the index in it skip leaves
	for first < len(cs) && skip >= cs[first].len() {
		skip -= cs[first].len()
		first++
	}
	if first < len(cs) {
		from = cs[first].head + skip
	}
	// The first chunk at or after first whose last seq is above seq.
	lo, hi := first, len(cs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cs[m].last().seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for ci := lo; ci < len(cs); ci++ {
		c := cs[ci]
		i := c.search(seq)
		if ci == first {
			i = max(i, from)
		}
		for ; i < len(c.e); i++ {
			if !fn(&c.e[i]) {
				return
			}
		}
	}
}

// removeIf drops every entry for which drop is true (a rare path: O(n)).
func (r *readyList) removeIf(drop func(e *entry) bool) {
	var kept readyList
	kept.pageSeq = r.pageSeq
	r.each(func(e *entry) bool {
		if !drop(e) {
			kept.pushBack(*e)
		}
		return true
	})
	*r = kept
}

// clear drops every entry and returns how many there were.
func (r *readyList) clear() int {
	n := r.n
	*r = readyList{}
	return n
}
