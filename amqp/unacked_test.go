package amqp

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func tags(us []unacked) []uint64 {
	var out []uint64
	for _, u := range us {
		out = append(out, u.tag)
	}
	return out
}

func TestUnackedSet(t *testing.T) {
	var s unackedSet
	for tag := uint64(1); tag <= 6; tag++ {
		s.add(unacked{tag: tag})
	}
	if got, ok := s.take(3, false, nil); !ok || len(got) != 1 || got[0].tag != 3 {
		t.Fatalf("take 3 = %v %v", tags(got), ok)
	}
	if _, ok := s.take(3, false, nil); ok {
		t.Fatal("took 3 twice")
	}
	if _, ok := s.take(3, true, nil); ok {
		t.Fatal("multiple up to a settled tag accepted; RabbitMQ refuses it")
	}
	got, ok := s.take(4, true, nil)
	if !ok || len(got) != 3 || got[0].tag != 1 || got[2].tag != 4 {
		t.Fatalf("take 4 multiple = %v %v, want [1 2 4]", tags(got), ok)
	}
	// A rolled-back transaction puts old tags back in order.
	s.add(unacked{tag: 2})
	got, _ = s.take(0, true, nil)
	if len(got) != 3 || got[0].tag != 2 || got[1].tag != 5 || got[2].tag != 6 {
		t.Fatalf("take all = %v, want [2 5 6]", tags(got))
	}
	if s.len() != 0 {
		t.Fatalf("len %d after taking all", s.len())
	}
	if _, ok := s.take(0, true, nil); !ok {
		t.Fatal("multiple with tag 0 on an empty set must succeed")
	}
}

// TestUnackedSetCompacts checks that acking out of order does not leave the order
// slice growing without bound.
func TestUnackedSetCompacts(t *testing.T) {
	var s unackedSet
	s.add(unacked{tag: 1})
	for tag := uint64(2); tag < 10000; tag++ {
		s.add(unacked{tag: tag})
		s.take(tag, false, nil)
	}
	if len(s.s)-s.h > 200 {
		t.Fatalf("the set holds %d slots for %d outstanding", len(s.s), s.len())
	}
}

func TestErlangFormatting(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "<<>>"},
		{"abc", `<<"abc">>`},
		{"a\"b", `<<"a\"b">>`},
		{"ab\x00", "<<97,98,0>>"},
	} {
		if got := erlBinary([]byte(c.in)); got != c.want {
			t.Errorf("erlBinary(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := erlBytes([]byte("ab")); got != "<<97,98>>" {
		t.Errorf("erlBytes = %s", got)
	}
	long := string(make([]byte, 300))
	if got := replyText(long); len(got) != 255 || got[252:] != "..." {
		t.Errorf("replyText cut to %d octets ending %q", len(got), got[252:])
	}
}

// TestUnackedSetModel runs random deliveries, acks (single, multiple, all) and
// rollbacks against a plain sorted model and compares every answer.
func TestUnackedSetModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s unackedSet
	model := map[uint64]bool{} // outstanding tags
	var taken []uint64         // settled tags a rollback may put back
	next := uint64(0)
	sorted := func(upTo uint64) []uint64 {
		var out []uint64
		for tag := range model {
			if tag <= upTo {
				out = append(out, tag)
			}
		}
		slices.Sort(out)
		return out
	}
	for step := range 200000 {
		switch op := rng.IntN(100); {
		case op < 55:
			next++
			s.add(unacked{tag: next})
			model[next] = true
		case op < 57 && len(taken) > 0:
			j := rng.IntN(len(taken))
			tag := taken[j]
			taken = slices.Delete(taken, j, j+1)
			s.add(unacked{tag: tag})
			model[tag] = true
		default:
			tag := uint64(0)
			if next > 0 {
				tag = next - uint64(rng.IntN(min(int(next), 600)))
			}
			multiple := rng.IntN(4) == 0
			if rng.IntN(200) == 0 {
				tag, multiple = 0, true
			}
			var want []uint64
			wantOK := true
			switch {
			case multiple && tag == 0:
				want = sorted(^uint64(0))
			case !model[tag]:
				wantOK = false
			case multiple:
				want = sorted(tag)
			default:
				want = []uint64{tag}
			}
			got, ok := s.take(tag, multiple, nil)
			if ok != wantOK || !slices.Equal(tags(got), want) {
				t.Fatalf("step %d: take(%d, %v) = %v %v, want %v %v", step, tag, multiple, tags(got), ok, want, wantOK)
			}
			for _, tg := range want {
				delete(model, tg)
				taken = append(taken, tg)
			}
			if len(taken) > 1000 {
				taken = taken[len(taken)-1000:]
			}
		}
		if s.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, s.len(), len(model))
		}
	}
	for i, x := range s.s[:s.h] {
		if x.u.tag != 0 || x.live {
			t.Fatalf("slot %d before the head still holds tag %d", i, x.u.tag)
		}
	}
}

// BenchmarkUnackedSet is a consumer with prefetch 500 that acks every 50th
// delivery with multiple: one add and a fiftieth of a take per op.
func BenchmarkUnackedSet(b *testing.B) {
	b.ReportAllocs()
	var s unackedSet
	dst := make([]unacked, 0, 64)
	tag := uint64(0)
	for range 450 {
		tag++
		s.add(unacked{tag: tag})
	}
	for b.Loop() {
		tag++
		s.add(unacked{tag: tag})
		if tag%50 == 0 {
			dst, _ = s.take(tag-450, true, dst[:0])
		}
	}
}
