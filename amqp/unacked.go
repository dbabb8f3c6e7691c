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

// unackedSet is a channel's deliveries awaiting settlement, in ascending tag
// order: tags only grow, so a delivery is appended, an ack with multiple takes a
// prefix, and a tag is found by binary search, with no map to hash into. A
// delivery settled on its own leaves a hole (kept for the search) until the holes
// before it are dropped or they make up most of the slice.
type unackedSet struct {
	s []unackedSlot // the slots from s[h] on are the set's
	h int
	n int // live slots
}

type unackedSlot struct {
	u    unacked
	live bool
}

func (s *unackedSet) add(u unacked) {
	if k := len(s.s); k == s.h || s.s[k-1].u.tag < u.tag {
		s.s = append(s.s, unackedSlot{u: u, live: true})
		s.n++
		return
	}
	// Only a rolled-back transaction puts old tags back.
	i, found := s.find(u.tag)
	if !found {
		s.s = slices.Insert(s.s, i, unackedSlot{})
	}
	if !s.s[i].live {
		s.n++
	}
	s.s[i] = unackedSlot{u: u, live: true}
}

func (s *unackedSet) len() int { return s.n }

// find returns the index in s.s of tag's slot, or where it would go.
func (s *unackedSet) find(tag uint64) (int, bool) {
	i, found := slices.BinarySearchFunc(s.s[s.h:], tag, func(x unackedSlot, t uint64) int {
		switch {
		case x.u.tag < t:
			return -1
		case x.u.tag > t:
			return 1
		}
		return 0
	})
	return s.h + i, found
}

// take removes and returns the delivery with tag, or with multiple every delivery
// up to and including tag (all of them for tag 0). ok is false when tag is not
// outstanding (tag 0 with multiple is always fine).
func (s *unackedSet) take(tag uint64, multiple bool, dst []unacked) ([]unacked, bool) {
	if multiple && tag == 0 {
		return s.takeBefore(len(s.s), dst), true
	}
	i, found := s.find(tag)
	if !found || !s.s[i].live {
		return dst, false
	}
	if multiple {
		return s.takeBefore(i+1, dst), true
	}
	dst = append(dst, s.s[i].u)
	s.s[i] = unackedSlot{u: unacked{tag: tag}} // a hole: drop the delivery, keep the tag
	s.n--
	s.compact()
	return dst, true
}

// takeBefore appends the live deliveries of the slots before index end and
// removes them.
func (s *unackedSet) takeBefore(end int, dst []unacked) []unacked {
	for _, x := range s.s[s.h:end] {
		if x.live {
			dst = append(dst, x.u)
			s.n--
		}
	}
	s.dropBefore(end)
	return dst
}

// dropBefore removes the slots before index end, clearing them so that the
// messages they held can be collected. The array is reused: from its start once
// the set is empty, or by moving the rest down once most of it lies before h.
func (s *unackedSet) dropBefore(end int) {
	clear(s.s[s.h:end])
	s.h = end
	switch {
	case s.h == len(s.s):
		s.s, s.h = s.s[:0], 0
	case s.h >= 64 && s.h > len(s.s)/2:
		k := copy(s.s, s.s[s.h:])
		clear(s.s[k:])
		s.s, s.h = s.s[:k], 0
	}
}

// compact drops the holes at the front, and squeezes them out when they make up
// most of the set.
func (s *unackedSet) compact() {
	i := s.h
	for i < len(s.s) && !s.s[i].live {
		i++
	}
	s.dropBefore(i)
	if len(s.s)-s.h > 64 && len(s.s)-s.h > 2*s.n {
		kept := s.s[:0]
		for _, x := range s.s[s.h:] {
			if x.live {
				kept = append(kept, x)
			}
		}
		clear(s.s[len(kept):])
		s.s, s.h = kept, 0
	}
}
