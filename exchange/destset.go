package exchange

// destSet is the set of destinations bound at one place of a router (one direct key,
// one topic pattern, a fanout exchange), each with the number of bindings that put it
// there. Bindings that differ only in their arguments share a place and count once.
// Adding and removing are O(1); the order of dests is unspecified.
type destSet struct {
	dests []*dest
	refs  []int32
	index map[*dest]int // position in dests; built once the set outgrows a linear scan
}

const destSetScanMax = 8

func (s *destSet) find(d *dest) int {
	if s.index != nil {
		if i, ok := s.index[d]; ok {
			return i
		}
		return -1
	}
	for i, x := range s.dests {
		if x == d {
			return i
		}
	}
	return -1
}

// add counts one more binding to d; it reports whether d is new to the set.
func (s *destSet) add(d *dest) bool {
	if i := s.find(d); i >= 0 {
		s.refs[i]++
		return false
	}
	s.dests = append(s.dests, d)
	s.refs = append(s.refs, 1)
	if s.index != nil {
		s.index[d] = len(s.dests) - 1
	} else if len(s.dests) > destSetScanMax {
		s.index = make(map[*dest]int, len(s.dests))
		for i, x := range s.dests {
			s.index[x] = i
		}
	}
	return true
}

// remove counts one binding to d less; it reports whether d has left the set.
func (s *destSet) remove(d *dest) bool {
	i := s.find(d)
	if i < 0 {
		return false
	}
	if s.refs[i]--; s.refs[i] > 0 {
		return false
	}
	last := len(s.dests) - 1
	if i != last {
		s.dests[i], s.refs[i] = s.dests[last], s.refs[last]
		if s.index != nil {
			s.index[s.dests[i]] = i
		}
	}
	s.dests[last] = nil
	s.dests, s.refs = s.dests[:last], s.refs[:last]
	if s.index != nil {
		delete(s.index, d)
		if len(s.dests) == 0 {
			s.index = nil
		}
	}
	return true
}

func (s *destSet) empty() bool { return len(s.dests) == 0 }

// collect appends the destinations not yet seen in this match to sc.out.
func (s *destSet) collect(sc *scratch) {
	for _, d := range s.dests {
		sc.emit(d)
	}
}
