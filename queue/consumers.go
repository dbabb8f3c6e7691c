package queue

// consumerEntry is one consumer attached to a queue.
type consumerEntry struct {
	c         Consumer
	exclusive bool
	noAck     bool // deliveries to it are settled as they go out
	priority  int  // x-priority of its basic.consume
}

// consumerGroup is the consumers of one priority, served round robin.
type consumerGroup struct {
	priority int
	members  []consumerEntry
	rr       int // index of the member to offer the next message to first
}

// consumerSet holds a queue's consumers. As in RabbitMQ, a message goes to a
// consumer of the highest priority that can take it, round robin among those of
// equal priority; consumers of lower priority get messages only while all of
// higher priority are blocked (no credit). With single active consumer, only
// the earliest consumer still attached gets messages, whatever its priority.
type consumerSet struct {
	groups []*consumerGroup // by priority, highest first
	n      int
	single bool // x-single-active-consumer
	// order is every consumer in the order it was attached, for single active
	// consumer.
	order []Consumer
}

func (s *consumerSet) len() int { return s.n }

func (s *consumerSet) add(e consumerEntry) {
	s.n++
	s.order = append(s.order, e.c)
	i := 0
	for i < len(s.groups) && s.groups[i].priority > e.priority {
		i++
	}
	if i == len(s.groups) || s.groups[i].priority != e.priority {
		s.groups = append(s.groups, nil)
		copy(s.groups[i+1:], s.groups[i:])
		s.groups[i] = &consumerGroup{priority: e.priority}
	}
	g := s.groups[i]
	g.members = append(g.members, e)
}

// remove detaches c and reports whether it was attached.
func (s *consumerSet) remove(c Consumer) bool {
	for gi, g := range s.groups {
		for i, e := range g.members {
			if e.c != c {
				continue
			}
			g.members = append(g.members[:i], g.members[i+1:]...)
			if g.rr > i {
				g.rr--
			}
			if len(g.members) > 0 {
				g.rr %= len(g.members)
			} else {
				s.groups = append(s.groups[:gi], s.groups[gi+1:]...)
			}
			s.n--
			for j, o := range s.order {
				if o == c {
					s.order = append(s.order[:j], s.order[j+1:]...)
					break
				}
			}
			return true
		}
	}
	return false
}

// first returns the earliest attached consumer's entry.
func (s *consumerSet) first() *consumerEntry {
	for _, g := range s.groups {
		for i := range g.members {
			if g.members[i].c == s.order[0] {
				return &g.members[i]
			}
		}
	}
	return nil
}

// anyExclusive reports whether a consumer holds the queue exclusively.
func (s *consumerSet) anyExclusive() bool {
	for _, g := range s.groups {
		for _, e := range g.members {
			if e.exclusive {
				return true
			}
		}
	}
	return false
}

// offer hands d to the consumer whose turn it is and that takes it, and
// returns that consumer's entry, or nil when none took it.
func (s *consumerSet) offer(d Delivery) *consumerEntry {
	if s.single {
		if e := s.first(); e != nil && e.c.Deliver(d) {
			return e
		}
		return nil
	}
	for _, g := range s.groups {
		n := len(g.members)
		for i := 0; i < n; i++ {
			k := g.rr + i
			if k >= n {
				k -= n
			}
			if g.members[k].c.Deliver(d) {
				g.rr = k + 1
				if g.rr == n {
					g.rr = 0
				}
				return &g.members[k]
			}
		}
	}
	return nil
}

// each calls fn for every consumer.
func (s *consumerSet) each(fn func(c Consumer)) {
	for _, g := range s.groups {
		for _, e := range g.members {
			fn(e.c)
		}
	}
}

func (s *consumerSet) clear() { *s = consumerSet{single: s.single} }
