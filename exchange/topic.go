package exchange

import "strings"

// A topic binding key and a routing key are lists of words separated by '.'. As in
// RabbitMQ, the empty key has no words and every '.' separates two words, either of
// which may be empty: "a." is ["a", ""] and "." is ["", ""]. In a binding key the
// word "*" matches exactly one word and "#" zero or more words.
//
// topicRouter keeps the binding keys in a trie with one edge per word and matches a
// routing key by walking the trie as a non-deterministic automaton: it keeps the set
// of nodes the words so far can have reached, each node at most once, so a match
// costs O(words × live nodes) whatever the patterns ("#.#.#" included).
type topicRouter struct {
	root *topicNode
	ids  idAllocator // node ids, for the matcher's per-call node sets
}

type topicNode struct {
	id       int32
	parent   *topicNode
	word     string                // the edge from parent: a literal word, "*" or "#"
	children map[string]*topicNode // literal words; nil when there are none
	star     *topicNode            // the "*" edge
	hash     *topicNode            // the "#" edge
	isHash   bool                  // reached by a "#" edge: consumes any number of words
	dests    destSet               // the bindings whose key ends here
}

func newTopicRouter() *topicRouter {
	r := &topicRouter{}
	r.root = &topicNode{id: r.ids.alloc()}
	return r
}

// nextWord returns the word of key that starts at i and the start of the next word,
// or -1 after the last word. Call it only for a non-empty key.
func nextWord(key string, i int) (word string, next int) {
	if j := strings.IndexByte(key[i:], '.'); j >= 0 {
		return key[i : i+j], i + j + 1
	}
	return key[i:], -1
}

func (r *topicRouter) bind(en *entry) {
	n := r.root
	if en.Key != "" {
		for i := 0; i >= 0; {
			var w string
			w, i = nextWord(en.Key, i)
			n = r.child(n, w)
		}
	}
	n.dests.add(en.dest)
}

// child returns n's child along word w, creating it.
func (r *topicRouter) child(n *topicNode, w string) *topicNode {
	switch w {
	case "*":
		if n.star == nil {
			n.star = &topicNode{id: r.ids.alloc(), parent: n, word: w}
		}
		return n.star
	case "#":
		if n.hash == nil {
			n.hash = &topicNode{id: r.ids.alloc(), parent: n, word: w, isHash: true}
		}
		return n.hash
	}
	c := n.children[w]
	if c == nil {
		if n.children == nil {
			n.children = make(map[string]*topicNode)
		}
		c = &topicNode{id: r.ids.alloc(), parent: n, word: w}
		n.children[w] = c
	}
	return c
}

func (r *topicRouter) unbind(en *entry) {
	n := r.root
	if en.Key != "" {
		for i := 0; i >= 0 && n != nil; {
			var w string
			w, i = nextWord(en.Key, i)
			switch w {
			case "*":
				n = n.star
			case "#":
				n = n.hash
			default:
				n = n.children[w]
			}
		}
	}
	if n == nil {
		return
	}
	n.dests.remove(en.dest)
	r.prune(n)
}

// prune removes n and then its ancestors while they hold no binding and no edge.
func (r *topicRouter) prune(n *topicNode) {
	for n != r.root && n.dests.empty() && len(n.children) == 0 && n.star == nil && n.hash == nil {
		p := n.parent
		switch n.word {
		case "*":
			p.star = nil
		case "#":
			p.hash = nil
		default:
			delete(p.children, n.word)
			if len(p.children) == 0 {
				p.children = nil
			}
		}
		r.ids.release(n.id)
		n.parent = nil
		n = p
	}
}

// collect emits the destinations of every binding key that matches routingKey.
func (r *topicRouter) collect(sc *scratch, routingKey string) {
	sc.growNodes(r.ids.next)
	sc.nextNodeGen()
	cur := sc.addNode(sc.cur[:0], r.root)
	next := sc.next[:0]
	if routingKey != "" {
		for i := 0; i >= 0 && len(cur) > 0; {
			var w string
			w, i = nextWord(routingKey, i)
			sc.nextNodeGen()
			next = next[:0]
			for _, n := range cur {
				if n.isHash {
					next = sc.addNode(next, n) // "#" takes this word too
				}
				if c := n.children[w]; c != nil {
					next = sc.addNode(next, c)
				}
				if n.star != nil {
					next = sc.addNode(next, n.star)
				}
			}
			cur, next = next, cur
		}
	}
	for _, n := range cur {
		n.dests.collect(sc)
	}
	sc.cur, sc.next = cur, next
}

// addNode adds n to the node set being built unless it is there already, together
// with the nodes its "#" edges reach without taking a word.
func (sc *scratch) addNode(set []*topicNode, n *topicNode) []*topicNode {
	for ; n != nil && sc.nodeStamp[n.id] != sc.nodeGen; n = n.hash {
		sc.nodeStamp[n.id] = sc.nodeGen
		set = append(set, n)
	}
	return set
}
