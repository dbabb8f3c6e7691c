package exchange

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// topicKeys are the routing keys published to RabbitMQ 3.10.8 for topicGolden.
var topicKeys = []string{"", "a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b",
	"b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}

// topicGolden is what RabbitMQ 3.10.8 did: a queue bound to a topic exchange with the
// pattern received exactly the listed routing keys out of topicKeys. Worth noting:
// the empty key has no words ("*" does not match it, "#" and "" do), "." is two empty
// words, "a." is "a" and an empty word, and "##" or "a*" are literal words.
var topicGolden = []struct {
	pattern string
	matched []string
}{
	{"", []string{""}},
	{"#", []string{"", "a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"*", []string{"a", "b", "a*", "*", "#"}},
	{"#.#", []string{"", "a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"*.#.*", []string{"a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"a.#.#.b", []string{"a.b", "a.c.b", "a..b", "a.x.y.b", "a.b.b", "a.b.b.b", "a.b.x.b"}},
	{"#.a", []string{"a", ".a", "x.a", "b.a", "a.b.a"}},
	{"a.*.#", []string{"a.b", "a.c.b", "a.b.c", "a..b", "a.", "a.x.y.b", "a.b.b", "a.b.a", "a.#", "a.*", "a.b.b.b", "a..", "a.b.x.b"}},
	{"a.#", []string{"a", "a.b", "a.c.b", "a.b.c", "a..b", "a.", "a.x.y.b", "a.b.b", "a.b.a", "a.#", "a.*", "a.b.b.b", "a..", "a.b.x.b"}},
	{"a.*", []string{"a.b", "a.", "a.#", "a.*"}},
	{"*.a", []string{".a", "x.a", "b.a"}},
	{"a..b", []string{"a..b"}},
	{"a.*.b", []string{"a.c.b", "a..b", "a.b.b"}},
	{".a", []string{".a"}},
	{"a.", []string{"a."}},
	{".", []string{"."}},
	{"..", []string{".."}},
	{"*.*", []string{"a.b", ".a", "a.", ".", "x.a", "b.a", "a.#", "a.*", "b.b"}},
	{"#.*", []string{"a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"*.#", []string{"a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"a.#.b", []string{"a.b", "a.c.b", "a..b", "a.x.y.b", "a.b.b", "a.b.b.b", "a.b.x.b"}},
	{"#.#.#", []string{"", "a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"a", []string{"a"}},
	{"a.b", []string{"a.b"}},
	{"*.*.*", []string{"a.c.b", "a.b.c", "a..b", "..", "a.b.b", "a.b.a", "a..", "x..y"}},
	{"#.b", []string{"b", "a.b", "a.c.b", "a..b", "a.x.y.b", "a.b.b", "a.b.b.b", "a.b.x.b", "b.b"}},
	{"*..*", []string{"a..b", "..", "a..", "x..y"}},
	{"a.#.", []string{"a.", "a.."}},
	{"#..", []string{".", "..", "...", "a.."}},
	{"*.", []string{"a.", "."}},
	{".*", []string{".a", "."}},
	{"#.", []string{"a.", ".", "..", "...", "a.."}},
	{".#", []string{".a", ".", "..", "..."}},
	{"a.##", []string{}},
	{"a*", []string{"a*"}},
	{"a.b.#", []string{"a.b", "a.b.c", "a.b.b", "a.b.a", "a.b.b.b", "a.b.x.b"}},
	{"#.#.b", []string{"b", "a.b", "a.c.b", "a..b", "a.x.y.b", "a.b.b", "a.b.b.b", "a.b.x.b", "b.b"}},
	{"*.#.b", []string{"a.b", "a.c.b", "a..b", "a.x.y.b", "a.b.b", "a.b.b.b", "a.b.x.b", "b.b"}},
	{"#.*.#", []string{"a", "b", "a.b", "a.c.b", "a.b.c", "a..b", ".a", "a.", ".", "..", "a.x.y.b", "x.a", "a.b.b", "b.a", "a.b.a", "...", "a*", "*", "#", "a.#", "a.*", "a.b.b.b", "a..", "x..y", "a.b.x.b", "b.b"}},
	{"a.#.*", []string{"a.b", "a.c.b", "a.b.c", "a..b", "a.", "a.x.y.b", "a.b.b", "a.b.a", "a.#", "a.*", "a.b.b.b", "a..", "a.b.x.b"}},
	{"a.#.b.#", []string{"a.b", "a.c.b", "a.b.c", "a..b", "a.x.y.b", "a.b.b", "a.b.a", "a.b.b.b", "a.b.x.b"}},
}

func topicMatches(x *Exchange, key string) []string {
	var got []string
	x.Match(key, nil, func(dest string, toExchange bool) { got = append(got, dest) })
	slices.Sort(got)
	return got
}

// TestTopicGoldenAlone binds each pattern alone to an exchange and publishes every key.
func TestTopicGoldenAlone(t *testing.T) {
	for _, tc := range topicGolden {
		x, _ := New("t", Topic, false, false, false, nil)
		x.Bind(Binding{Destination: "q", Key: tc.pattern})
		for _, key := range topicKeys {
			want := slices.Contains(tc.matched, key)
			got := len(topicMatches(x, key)) == 1
			if got != want {
				t.Errorf("pattern %q, key %q: matched %v, RabbitMQ %v", tc.pattern, key, got, want)
			}
		}
	}
}

// TestTopicGoldenTogether binds all patterns to one exchange, as the probe against
// RabbitMQ did, so that patterns share trie nodes.
func TestTopicGoldenTogether(t *testing.T) {
	x, _ := New("t", Topic, false, false, false, nil)
	for i, tc := range topicGolden {
		x.Bind(Binding{Destination: fmt.Sprintf("q%02d", i), Key: tc.pattern})
	}
	for _, key := range topicKeys {
		var want []string
		for i, tc := range topicGolden {
			if slices.Contains(tc.matched, key) {
				want = append(want, fmt.Sprintf("q%02d", i))
			}
		}
		if got := topicMatches(x, key); !slices.Equal(got, want) {
			t.Errorf("key %q: got %v, want %v", key, got, want)
		}
	}
}

// topicWords splits a key as RabbitMQ does: "" has no words.
func topicWords(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// refTopicMatch is a direct transcription of the topic semantics, used to check the
// trie: "*" takes one word, "#" any number.
func refTopicMatch(pattern, key []string) bool {
	if len(pattern) == 0 {
		return len(key) == 0
	}
	switch pattern[0] {
	case "#":
		for i := 0; i <= len(key); i++ {
			if refTopicMatch(pattern[1:], key[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(key) > 0 && refTopicMatch(pattern[1:], key[1:])
	}
	return len(key) > 0 && key[0] == pattern[0] && refTopicMatch(pattern[1:], key[1:])
}

func TestTopicReferenceGoldenAgree(t *testing.T) {
	for _, tc := range topicGolden {
		for _, key := range topicKeys {
			if got, want := refTopicMatch(topicWords(tc.pattern), topicWords(key)), slices.Contains(tc.matched, key); got != want {
				t.Errorf("reference matcher disagrees with RabbitMQ: pattern %q key %q: %v", tc.pattern, key, got)
			}
		}
	}
}

func randomTopicKey(r *rand.Rand, words []string, maxWords int) string {
	n := r.IntN(maxWords + 1)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = words[r.IntN(len(words))]
	}
	return strings.Join(ws, ".")
}

// TestTopicRandomAgainstReference binds random patterns, unbinds some of them, and
// checks every match against the reference matcher.
func TestTopicRandomAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	patternWords := []string{"a", "b", "", "*", "#", "#", "*"}
	keyWords := []string{"a", "b", "", "c"}
	for round := 0; round < 20; round++ {
		x, _ := New("t", Topic, false, false, false, nil)
		bound := map[string]string{} // destination -> pattern
		for i := 0; i < 60; i++ {
			p := randomTopicKey(r, patternWords, 6)
			d := fmt.Sprintf("q%d", i%40) // some destinations get several patterns
			if x.Bind(Binding{Destination: d, Key: p}) {
				bound[d+"\x00"+p] = p
			}
		}
		for k, p := range bound { // unbind about a third
			if r.IntN(3) == 0 {
				d, _, _ := strings.Cut(k, "\x00")
				if !x.Unbind(Binding{Destination: d, Key: p}) {
					t.Fatalf("unbind %q %q failed", d, p)
				}
				delete(bound, k)
			}
		}
		for i := 0; i < 200; i++ {
			key := randomTopicKey(r, keyWords, 7)
			var want []string
			for k, p := range bound {
				d, _, _ := strings.Cut(k, "\x00")
				if refTopicMatch(topicWords(p), topicWords(key)) && !slices.Contains(want, d) {
					want = append(want, d)
				}
			}
			slices.Sort(want)
			if got := topicMatches(x, key); !slices.Equal(got, want) {
				t.Fatalf("round %d key %q: got %v, want %v (bindings %v)", round, key, got, want, x.Bindings())
			}
		}
	}
}

// TestTopicPruning checks that unbinding removes the trie nodes a pattern created, so
// node ids are reused and the trie does not grow with churn.
func TestTopicPruning(t *testing.T) {
	x, _ := New("t", Topic, false, false, false, nil)
	x.Bind(Binding{Destination: "keep", Key: "a.b"})
	base := x.topic.ids.next
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf("a.#.x%d.*.#", i)
		x.Bind(Binding{Destination: "q", Key: p})
		if !x.Unbind(Binding{Destination: "q", Key: p}) {
			t.Fatalf("unbind %q", p)
		}
	}
	if got := x.topic.ids.next - int32(len(x.topic.ids.free)); got != base {
		t.Errorf("live trie nodes after churn = %d, want %d", got, base)
	}
	if got := topicMatches(x, "a.b"); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("a.b matched %v", got)
	}
	if x.Unbind(Binding{Destination: "q", Key: "a.#.zzz"}) {
		t.Error("unbind of a pattern never bound reported true")
	}
}

// TestTopicManyHashes checks that "#" chains do not blow up: each trie node is
// visited at most once per word.
func TestTopicManyHashes(t *testing.T) {
	x, _ := New("t", Topic, false, false, false, nil)
	x.Bind(Binding{Destination: "q", Key: strings.Repeat("#.", 30) + "z"})
	key := strings.Repeat("a.", 200) + "z"
	if got := topicMatches(x, key); !slices.Equal(got, []string{"q"}) {
		t.Errorf("got %v", got)
	}
	if got := topicMatches(x, strings.Repeat("a.", 200)+"y"); len(got) != 0 {
		t.Errorf("got %v", got)
	}
}
