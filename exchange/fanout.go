package exchange

// fanoutRouter routes every message to every destination; binding keys are ignored.
type fanoutRouter struct {
	all destSet
}

func (r *fanoutRouter) bind(en *entry)      { r.all.add(en.dest) }
func (r *fanoutRouter) unbind(en *entry)    { r.all.remove(en.dest) }
func (r *fanoutRouter) collect(sc *scratch) { r.all.collect(sc) }
