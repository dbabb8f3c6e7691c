package exchange

// directRouter routes a message to the destinations bound with exactly its routing key.
type directRouter struct {
	keys map[string]*destSet
}

func (r *directRouter) bind(en *entry) {
	s := r.keys[en.Key]
	if s == nil {
		s = new(destSet)
		r.keys[en.Key] = s
	}
	s.add(en.dest)
}

func (r *directRouter) unbind(en *entry) {
	if s := r.keys[en.Key]; s != nil {
		s.remove(en.dest)
		if s.empty() {
			delete(r.keys, en.Key)
		}
	}
}

func (r *directRouter) collect(sc *scratch, routingKey string) {
	if s := r.keys[routingKey]; s != nil {
		s.collect(sc)
	}
}
