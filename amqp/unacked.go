package amqp

import (
	"slices"

	"github.com/warren-mq/warren/queue"
)

// unacked is one delivery awaiting ack, nack or reject.
type unacked struct {
	tag uint64
	d   queue.Delivery
	k   *consumer // nil for basic.get
}

// unackedSet is a channel's deliveries awaiting settlement, by delivery tag. Tags
// only grow, so order (ascending, with tags already settled skipped lazily) gives
// multiple=true its range without sorting.
type unackedSet struct {
	m     map[uint64]unacked
	order []uint64
}

func (s *unackedSet) add(u unacked) {
	if s.m == nil {
		s.m = map[uint64]unacked{}
	}
	s.m[u.tag] = u
	if n := len(s.order); n > 0 && s.order[n-1] > u.tag {
		// Only a rolled-back transaction puts old tags back.
		i, _ := slices.BinarySearch(s.order, u.tag)
		s.order = slices.Insert(s.order, i, u.tag)
		return
	}
	s.order = append(s.order, u.tag)
}

func (s *unackedSet) len() int { return len(s.m) }

// take removes and returns the delivery with tag, or with multiple every delivery
// up to and including tag (all of them for tag 0). ok is false when tag is not
// outstanding (tag 0 with multiple is always fine).
func (s *unackedSet) take(tag uint64, multiple bool, dst []unacked) ([]unacked, bool) {
	if multiple && tag == 0 {
		return s.takeUpTo(^uint64(0), dst), true
	}
	if _, ok := s.m[tag]; !ok {
		return dst, false
	}
	if multiple {
		return s.takeUpTo(tag, dst), true
	}
	dst = append(dst, s.m[tag])
	delete(s.m, tag)
	s.compact()
	return dst, true
}

func (s *unackedSet) takeUpTo(tag uint64, dst []unacked) []unacked {
	i := 0
	for ; i < len(s.order) && s.order[i] <= tag; i++ {
		if u, ok := s.m[s.order[i]]; ok {
			dst = append(dst, u)
			delete(s.m, s.order[i])
		}
	}
	s.order = s.order[:copy(s.order, s.order[i:])]
	return dst
}

// compact drops settled tags from the front, and rebuilds order when settled tags
// make up most of it.
func (s *unackedSet) compact() {
	i := 0
	for i < len(s.order) {
		if _, ok := s.m[s.order[i]]; ok {
			break
		}
		i++
	}
	if i > 0 {
		s.order = s.order[:copy(s.order, s.order[i:])]
	}
	if len(s.order) > 64 && len(s.order) > 2*len(s.m) {
		kept := s.order[:0]
		for _, t := range s.order {
			if _, ok := s.m[t]; ok {
				kept = append(kept, t)
			}
		}
		s.order = kept
	}
}
