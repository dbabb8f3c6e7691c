package exchange

import "sync"

// scratch is the per-call working memory of a match or a route, pooled so that
// matching allocates nothing once warm. One goroutine owns a scratch between
// getScratch and putScratch.
type scratch struct {
	// De-duplication of destinations within one match: dest d has been emitted in
	// this match iff destStamp[d.id] == destGen.
	destGen   uint32
	destStamp []uint32
	out       []*dest // the match's destinations, each once

	// The topic matcher's sets of live trie nodes, de-duplicated the same way.
	nodeGen   uint32
	nodeStamp []uint32
	cur, next []*topicNode

	// Route's worklist of exchanges, the exchanges it has seen and, once a second
	// exchange yields queues, the queues it has appended.
	work    []*Exchange
	seen    []string
	seenSet map[string]struct{}
	queues  map[string]struct{}
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch drops the scratch's references to exchange state and pools it.
func putScratch(sc *scratch) {
	clear(sc.out)
	sc.out = sc.out[:0]
	clear(sc.cur[:cap(sc.cur)])
	clear(sc.next[:cap(sc.next)])
	clear(sc.work[:cap(sc.work)])
	sc.work = sc.work[:0]
	clear(sc.seen)
	sc.seen = sc.seen[:0]
	clear(sc.seenSet)
	clear(sc.queues)
	scratchPool.Put(sc)
}

// beginMatch starts a match over destinations with ids below maxDestID.
func (sc *scratch) beginMatch(maxDestID int32) {
	clear(sc.out)
	sc.out = sc.out[:0]
	if int(maxDestID) > len(sc.destStamp) {
		sc.destStamp = make([]uint32, max(int(maxDestID), 2*len(sc.destStamp)))
	}
	if sc.destGen++; sc.destGen == 0 {
		clear(sc.destStamp)
		sc.destGen = 1
	}
}

// emitted reports whether d is already among this match's destinations.
func (sc *scratch) emitted(d *dest) bool { return sc.destStamp[d.id] == sc.destGen }

// emit adds d to this match's destinations unless it is there already.
func (sc *scratch) emit(d *dest) {
	if sc.destStamp[d.id] != sc.destGen {
		sc.destStamp[d.id] = sc.destGen
		sc.out = append(sc.out, d)
	}
}

// growNodes makes room for trie nodes with ids below maxNodeID.
func (sc *scratch) growNodes(maxNodeID int32) {
	if int(maxNodeID) > len(sc.nodeStamp) {
		sc.nodeStamp = make([]uint32, max(int(maxNodeID), 2*len(sc.nodeStamp)))
	}
}

// nextNodeGen starts a new, empty set of trie nodes.
func (sc *scratch) nextNodeGen() {
	if sc.nodeGen++; sc.nodeGen == 0 {
		clear(sc.nodeStamp)
		sc.nodeGen = 1
	}
}

// idAllocator hands out small dense ids, reusing freed ones.
type idAllocator struct {
	next int32 // every id in use is below next
	free []int32
}

func (a *idAllocator) alloc() int32 {
	if n := len(a.free); n > 0 {
		id := a.free[n-1]
		a.free = a.free[:n-1]
		return id
	}
	a.next++
	return a.next - 1
}

func (a *idAllocator) release(id int32) { a.free = append(a.free, id) }
