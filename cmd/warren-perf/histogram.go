package main

import (
	"math"
	"math/bits"
)

// Histogram records non-negative int64 values (nanoseconds, here) in log-linear
// buckets, in the manner of HdrHistogram: values below 2×subBuckets have a bucket
// each; above, every power-of-two range is cut into subBuckets equal buckets, so a
// bucket is never wider than 1/subBuckets (0.8 %) of the values it holds. Recording
// is a few instructions and never allocates. It is not safe for concurrent use: each
// consumer owns one and they are merged at the end.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits // buckets per power of two above the linear range
	linearLimit   = 2 * subBuckets     // values below this have a bucket each
	// histBuckets covers every int64: the linear range plus subBuckets buckets for
	// each shift from 1 to 63-subBucketBits.
	histBuckets = linearLimit + (63-subBucketBits)*subBuckets
)

// bucketOf returns the index of v's bucket; v must be non-negative.
func bucketOf(v int64) int {
	if v < linearLimit {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBucketBits + 1) // ≥ 1: v>>shift is in [subBuckets, 2*subBuckets)
	return linearLimit + (shift-1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < linearLimit {
		return int64(i), int64(i)
	}
	shift := (i-linearLimit)/subBuckets + 1
	top := int64((i-linearLimit)%subBuckets + subBuckets)
	lo = top << shift
	return lo, lo + (int64(1) << shift) - 1
}

// Record adds one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min and Max are the exact extremes (0 when empty).
func (h *Histogram) Min() int64 { return h.min }
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q (0 ≤ q ≤ 1): the largest value of the
// bucket that holds the ⌈q·n⌉-th smallest value, but never more than Max, as
// HdrHistogram's ValueAtPercentile reports the highest equivalent value. It is
// 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return min(max(hi, h.min), h.max)
		}
	}
	return h.max
}
