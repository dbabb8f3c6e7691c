package exchange

// Route computes the set of queues a message published to `from` reaches, following
// exchange-to-exchange bindings (each exchange visited at most once, so cycles end),
// deduplicated, appended to dst in unspecified order. lookup returns nil for an
// exchange that no longer exists (skip it).
//
// As in RabbitMQ, an exchange that routes the message to no destination at all
// passes it to its alternate exchange (AlternateExchange), and this holds for every
// exchange the message reaches, not only for `from`.
//
// Route does not know the default exchange (""), which RabbitMQ routes to the queue
// named by the routing key without bindings. lookup is called with no lock held.
func Route(lookup func(name string) *Exchange, from *Exchange, routingKey string, headers map[string]any, dst []string) []string {
	keys := [1]string{routingKey}
	return RouteKeys(lookup, from, keys[:], headers, dst)
}

// seenSetMin is the number of exchanges a route visits before it looks them up in a
// map rather than a list.
const seenSetMin = 16

// RouteKeys is Route for a message with several routing keys (its routing key and the
// CC and BCC headers of sender-selected distribution): every exchange is matched with
// all the keys at once, so an alternate exchange takes the message only when no key
// routes it anywhere.
func RouteKeys(lookup func(name string) *Exchange, from *Exchange, routingKeys []string, headers map[string]any, dst []string) []string {
	if from == nil {
		return dst
	}
	sc := getScratch()
	defer putScratch(sc)
	sc.work = append(sc.work, from)
	sc.seen = append(sc.seen, from.Name)
	start := len(dst)
	// The queues of one exchange's match are distinct; only once a second exchange
	// yields queues do they need checking against those already in dst.
	dedup := false
	for len(sc.work) > 0 {
		x := sc.work[len(sc.work)-1]
		sc.work[len(sc.work)-1] = nil
		sc.work = sc.work[:len(sc.work)-1]

		x.collect(sc, routingKeys, headers)
		if len(sc.out) == 0 {
			if x.alternate != "" {
				sc.visit(lookup, x.alternate)
			}
			continue
		}
		first := len(dst)
		for _, d := range sc.out {
			switch {
			case d.toExchange:
				sc.visit(lookup, d.name)
			case !dedup:
				dst = append(dst, d.name)
			default:
				if sc.queues == nil {
					sc.queues = make(map[string]struct{})
				}
				if len(sc.queues) == 0 {
					for _, q := range dst[start:first] {
						sc.queues[q] = struct{}{}
					}
				}
				if _, dup := sc.queues[d.name]; !dup {
					sc.queues[d.name] = struct{}{}
					dst = append(dst, d.name)
				}
			}
		}
		if len(dst) > start {
			dedup = true
		}
	}
	return dst
}

// visit queues the named exchange for matching unless the route has seen it.
func (sc *scratch) visit(lookup func(string) *Exchange, name string) {
	if sc.seenSet != nil && len(sc.seenSet) > 0 {
		if _, ok := sc.seenSet[name]; ok {
			return
		}
		sc.seenSet[name] = struct{}{}
	} else {
		for _, s := range sc.seen {
			if s == name {
				return
			}
		}
		sc.seen = append(sc.seen, name)
		if len(sc.seen) >= seenSetMin {
			if sc.seenSet == nil {
				sc.seenSet = make(map[string]struct{}, 2*seenSetMin)
			}
			for _, s := range sc.seen {
				sc.seenSet[s] = struct{}{}
			}
		}
	}
	if x := lookup(name); x != nil {
		sc.work = append(sc.work, x)
	}
}
