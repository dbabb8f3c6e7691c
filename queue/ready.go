package queue

import (
	"encoding/binary"
	"sort"

	"github.com/warren-mq/warren/message"
)

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
//
// A chunk whose entries are all paged out can be packed: its entries are then
// encoded in packed (about two octets each instead of 40) and e is nil, so that
// a backlog of millions costs little memory beyond what the store holds. A
// packed chunk is unpacked when its entries are needed (it nears the head, or a
// message is requeued into it).
type chunk struct {
	e    []entry
	head int

	packed []byte // when packed: the entries, see pack
	n      int    // when packed: how many
	lo, hi uint64 // when packed: the first and last seq
}

func (c *chunk) len() int {
	if c.packed != nil {
		return c.n
	}
	return len(c.e) - c.head
}

func (c *chunk) first() *entry { return &c.e[c.head] }
func (c *chunk) last() *entry  { return &c.e[len(c.e)-1] }

func (c *chunk) firstSeq() uint64 {
	if c.packed != nil {
		return c.lo
	}
	return c.first().seq
}

func (c *chunk) lastSeq() uint64 {
	if c.packed != nil {
		return c.hi
	}
	return c.last().seq
}

// Packed entry flags; each entry is a flags octet, the id's difference from
// the previous entry's (zigzag varint), then what the flags say differs from
// the previous entry.
const (
	packRedelivered = 1 << iota
	packSeq         // uvarint seq difference; otherwise it is 1
	packSize        // uvarint size; otherwise the previous entry's
	packExpires     // zigzag varint expires difference; otherwise the same
)

// pack encodes the chunk's live entries, which must all be paged out.
func (c *chunk) pack() {
	live := c.e[c.head:]
	b := make([]byte, 0, 2*len(live)+16)
	var prev entry
	for i := range live {
		e := &live[i]
		var f byte
		if e.redelivered {
			f |= packRedelivered
		}
		if e.seq-prev.seq != 1 {
			f |= packSeq
		}
		if e.size != prev.size {
			f |= packSize
		}
		if e.expires != prev.expires {
			f |= packExpires
		}
		b = append(b, f)
		b = binary.AppendVarint(b, int64(e.id-prev.id))
		if f&packSeq != 0 {
			b = binary.AppendUvarint(b, e.seq-prev.seq)
		}
		if f&packSize != 0 {
			b = binary.AppendUvarint(b, uint64(e.size))
		}
		if f&packExpires != 0 {
			b = binary.AppendVarint(b, e.expires-prev.expires)
		}
		prev = *e
	}
	c.packed = append(make([]byte, 0, len(b)), b...) // exactly its size
	c.n, c.lo, c.hi = len(live), live[0].seq, live[len(live)-1].seq
	c.e, c.head = nil, 0
}

// decode calls fn with each packed entry in turn.
func (c *chunk) decode(fn func(e *entry) bool) {
	var e entry
	b := c.packed
	for range c.n {
		f := b[0]
		b = b[1:]
		d, k := binary.Varint(b)
		b = b[k:]
		e.id += uint64(d)
		e.seq++
		if f&packSeq != 0 {
			u, k := binary.Uvarint(b)
			b = b[k:]
			e.seq += u - 1
		}
		if f&packSize != 0 {
			u, k := binary.Uvarint(b)
			b = b[k:]
			e.size = uint32(u)
		}
		if f&packExpires != 0 {
			d, k := binary.Varint(b)
			b = b[k:]
			e.expires += d
		}
		e.redelivered = f&packRedelivered != 0
		if !fn(&e) {
			return
		}
	}
}

// unpack makes a packed chunk's entries plain again; a no-op otherwise.
func (c *chunk) unpack() {
	if c.packed == nil {
		return
	}
	e := make([]entry, 0, chunkSize)
	c.decode(func(x *entry) bool {
		e = append(e, *x)
		return true
	})
	c.e, c.head, c.packed, c.n = e, 0, nil, 0
}

// allPaged reports whether none of the chunk's entries holds its message.
func (c *chunk) allPaged() bool {
	for i := c.head; i < len(c.e); i++ {
		if c.e[i].msg != nil {
			return false
		}
	}
	return true
}

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
	// packSeq: the chunks up to this seq have been considered for packing.
	packSeq uint64
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
func (r *readyList) front() *entry {
	c := r.chunks[r.ch]
	c.unpack()
	return c.first()
}

// popFront removes and returns the head entry.
func (r *readyList) popFront() entry {
	c := r.chunks[r.ch]
	c.unpack()
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
	if e.seq < cs[0].firstSeq() {
		c := cs[0]
		c.unpack()
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
		if cs[m].lastSeq() < e.seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	c := cs[lo]
	c.unpack()
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

// each calls fn for every entry from the head, in order, until fn returns
// false. fn may change the entries, and keep pointers to them until the list
// changes: each unpacks the chunks it visits.
func (r *readyList) each(fn func(e *entry) bool) {
	for _, c := range r.live() {
		c.unpack()
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
		if cs[m].lastSeq() <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for ci := lo; ci < len(cs); ci++ {
		c := cs[ci]
		c.unpack()
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

// scan calls fn for every entry from the head, in order, until fn returns
// false; unlike each it leaves packed chunks packed, so fn must not change the
// entries or keep them.
func (r *readyList) scan(fn func(e *entry) bool) {
	for _, c := range r.live() {
		if c.packed != nil {
			ok := true
			c.decode(func(e *entry) bool {
				ok = fn(e)
				return ok
			})
			if !ok {
				return
			}
			continue
		}
		for i := c.head; i < len(c.e); i++ {
			if !fn(&c.e[i]) {
				return
			}
		}
	}
}

// packPaged packs the chunks, other than the head and the tail ones, whose
// entries have all been considered for paging (up to pageSeq) and are all paged
// out. It resumes where it stopped, so a call costs a binary search and the
// chunks it newly passes.
func (r *readyList) packPaged() {
	cs := r.live()
	i := sort.Search(len(cs), func(i int) bool { return cs[i].lastSeq() > r.packSeq })
	for i = max(i, 1); i < len(cs)-1; i++ {
		c := cs[i]
		if c.lastSeq() > r.pageSeq {
			return
		}
		if c.packed == nil && c.allPaged() {
			c.pack()
		}
		r.packSeq = c.lastSeq()
	}
}

// removeIf drops every entry for which drop is true (a rare path: O(n)).
func (r *readyList) removeIf(drop func(e *entry) bool) {
	var kept readyList
	kept.pageSeq = r.pageSeq
	r.scan(func(e *entry) bool {
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
