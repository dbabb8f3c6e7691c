package queue

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/warren-mq/warren/message"
)

// TestReadyListPacking runs random operations on a ready list whose paged
// chunks are packed as it goes, against a plain sorted slice, and checks after
// each step that both hold the same entries in the same order.
func TestReadyListPacking(t *testing.T) {
	packedSeen := 0
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		var r readyList
		var model []entry
		var popped []entry
		var seq uint64
		held := &message.Message{}
		check := func(step int) {
			t.Helper()
			if r.len() != len(model) {
				t.Fatalf("seed %d step %d: len %d, want %d", seed, step, r.len(), len(model))
			}
			i := 0
			r.scan(func(e *entry) bool {
				if *e != model[i] {
					t.Fatalf("seed %d step %d: entry %d is %+v, want %+v", seed, step, i, *e, model[i])
				}
				i++
				return true
			})
			if i != len(model) {
				t.Fatalf("seed %d step %d: scan saw %d entries, want %d", seed, step, i, len(model))
			}
		}
		for step := range 20000 {
			switch op := rng.IntN(100); {
			case op < 55: // enqueue, mostly paged, with varied fields
				seq += 1 + uint64(rng.IntN(3)/2)
				e := entry{id: seq*3 + uint64(rng.IntN(5)), seq: seq, size: 1024}
				switch rng.IntN(10) {
				case 0:
					e.size = uint32(rng.IntN(1 << 20))
				case 1:
					e.expires = int64(1e12 + rng.IntN(1e6))
				case 2:
					e.redelivered = true
				}
				if rng.IntN(3000) == 0 { // a chunk holding one stays plain
					e.msg = held
				}
				r.pushBack(e)
				model = append(model, e)
			case op < 75: // take from the head
				if len(model) == 0 {
					continue
				}
				if f := r.front(); *f != model[0] {
					t.Fatalf("seed %d step %d: front %+v, want %+v", seed, step, *f, model[0])
				}
				e := r.popFront()
				if e != model[0] {
					t.Fatalf("seed %d step %d: popped %+v, want %+v", seed, step, e, model[0])
				}
				model = model[1:]
				popped = append(popped, e)
			case op < 85: // requeue a taken one to its place
				if len(popped) == 0 {
					continue
				}
				k := rng.IntN(len(popped))
				e := popped[k]
				popped = slices.Delete(popped, k, k+1)
				if r.len() == 0 || e.seq > lastSeq(&r) {
					r.pushBack(e)
				} else {
					r.insert(e)
				}
				i, _ := slices.BinarySearchFunc(model, e.seq, func(x entry, s uint64) int { return cmpSeq(x.seq, s) })
				model = slices.Insert(model, i, e)
			case op < 97: // consider everything so far for paging, and pack
				if len(model) > 0 {
					r.pageSeq = model[len(model)-1].seq
				}
				r.packPaged()
				for _, c := range r.live() {
					if c.packed != nil {
						packedSeen++
					}
				}
			case op < 98: // page in near the head through each, as paging does
				n := 0
				r.each(func(e *entry) bool {
					n++
					return n < pageReadBatch
				})
			default: // a walk from some seq, as paging out does
				if len(model) == 0 {
					continue
				}
				from := model[rng.IntN(len(model))].seq
				var got []uint64
				r.eachAfter(0, from, func(e *entry) bool {
					got = append(got, e.seq)
					return len(got) < 50
				})
				var want []uint64
				for _, e := range model {
					if e.seq > from && len(want) < 50 {
						want = append(want, e.seq)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: eachAfter(%d) = %v, want %v", seed, step, from, got, want)
				}
			}
			if step%97 == 0 {
				check(step)
			}
		}
		check(-1)
	}
	if packedSeen == 0 {
		t.Fatal("no chunk was ever packed: the test does not test packing")
	}
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestPackedChunkSize checks what packing is for: a chunk of paged 1 KiB
// entries with near-consecutive ids packs into a few octets an entry.
func TestPackedChunkSize(t *testing.T) {
	var r readyList
	for i := range uint64(3 * chunkSize) {
		r.pushBack(entry{id: 4*i + i%3, seq: i + 1, size: 1024})
	}
	r.pageSeq = 3 * chunkSize
	r.packPaged()
	c := r.live()[1] // the head and the tail chunks stay plain
	if c.packed == nil || r.live()[0].packed != nil || r.live()[2].packed != nil {
		t.Fatal("want only the middle chunk packed")
	}
	if per := float64(len(c.packed)) / chunkSize; per > 3 {
		t.Fatalf("packed %.1f octets an entry, want at most 3", per)
	}
}

func BenchmarkPackUnpack(b *testing.B) {
	b.ReportAllocs()
	var c chunk
	for i := range uint64(chunkSize) {
		c.e = append(c.e, entry{id: 4*i + i%3, seq: i + 1, size: 1024})
	}
	for b.Loop() {
		c.pack()
		c.unpack()
	}
}
