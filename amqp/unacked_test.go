package amqp

import (
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
	if len(s.order) > 200 {
		t.Fatalf("order holds %d tags for %d outstanding", len(s.order), s.len())
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
