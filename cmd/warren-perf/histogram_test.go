package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketRangeHoldsItsValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<40 + 12345, math.MaxInt64}
	for range 10000 {
		values = append(values, r.Int64N(1<<uint(r.IntN(62)+1)))
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0,%d)", v, i, histBuckets)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d = [%d,%d]", v, i, lo, hi)
		}
		if float64(hi-lo) > float64(lo)/subBuckets {
			t.Fatalf("bucket %d = [%d,%d] wider than 1/%d of its values", i, lo, hi, subBuckets)
		}
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	_, prevHi := bucketRange(0)
	for i := 1; i < bucketOf(math.MaxInt64)+1; i++ {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		prevHi = hi
	}
}

func TestQuantilesMatchSortedValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	var vs []int64
	for range 100000 {
		v := int64(r.ExpFloat64() * 2e6) // nanoseconds, exponential around 2 ms
		vs = append(vs, v)
		h.Record(v)
	}
	slices.Sort(vs)
	for _, q := range []float64{0, 0.5, 0.95, 0.99, 0.999, 1} {
		rank := max(int(math.Ceil(q*float64(len(vs)))), 1)
		want := vs[rank-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subBuckets+1 {
			t.Errorf("quantile %v = %d, exact %d", q, got, want)
		}
	}
	if h.Min() != vs[0] || h.Max() != vs[len(vs)-1] || h.Count() != uint64(len(vs)) {
		t.Errorf("min %d max %d count %d, want %d %d %d", h.Min(), h.Max(), h.Count(), vs[0], vs[len(vs)-1], len(vs))
	}
}

func TestSmallValuesAreExact(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	if got := h.Quantile(0.5); got != 50 {
		t.Errorf("median of 1..100 = %d, want 50", got)
	}
	if got := h.Quantile(0.99); got != 99 {
		t.Errorf("p99 of 1..100 = %d, want 99", got)
	}
	if got := h.Mean(); got != 50.5 {
		t.Errorf("mean = %v, want 50.5", got)
	}
}

func TestMergeAndEmpty(t *testing.T) {
	var a, b, empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Error("empty histogram should report zeros")
	}
	a.Record(10)
	b.Record(1000)
	b.Record(-5) // counts as 0
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != 3 || a.Min() != 0 || a.Max() != 1000 {
		t.Errorf("merged: count %d min %d max %d", a.Count(), a.Min(), a.Max())
	}
	if got := a.Quantile(1); got != 1000 {
		t.Errorf("max quantile %d, want 1000 (capped at the maximum)", got)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(123456) }); n != 0 {
		t.Errorf("%v allocations per Record", n)
	}
}
