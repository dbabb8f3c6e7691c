package storage

import (
	"testing"
	"time"
)

// fill stores n messages of size bytes in queue q from id first on, in batches
// of 256 submitted back to back, and waits for all of them.
func fill(t testing.TB, s Store, q, first uint64, n, size int) {
	t.Helper()
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	errs := make(chan error, n/256+1)
	batches := 0
	for i := 0; i < n; i += 256 {
		var b Batch
		for j := i; j < min(n, i+256); j++ {
			id := first + uint64(j)
			b.PutMessage(id, body)
			b.PutIndex(q, id, id)
		}
		s.Submit(&b, func(err error) { errs <- err })
		batches++
	}
	for range batches {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// drain deletes what fill stored.
func drain(t testing.TB, s Store, q, first uint64, n int) {
	t.Helper()
	for i := 0; i < n; i += 1024 {
		var b Batch
		for j := i; j < min(n, i+1024); j++ {
			id := first + uint64(j)
			b.DeleteIndex(q, id)
			b.DeleteMessage(id)
		}
		submitWait(t, s, &b)
	}
}

func usage(t testing.TB, s *Badger) int64 {
	t.Helper()
	n, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReclaimAfterDrain writes then deletes about 60 MB of messages (and 60,000 small ones) and checks
// that Compact brings the disk usage back to within 20% of where it started:
// segments go whole once their messages are deleted, tombstones with
// compaction.
func TestReclaimAfterDrain(t *testing.T) {
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	for _, tc := range []struct {
		name    string
		o       Options
		size, n int
	}{
		{"1KiB", TestOptions(), 1024, 60_000},
		{"64KiB", TestOptions(), 64 << 10, 3_200},
		{"16B", TestOptions(), 16, 60_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			start := usage(t, s)
			began := time.Now()
			fill(t, s, 1, 1, tc.n, tc.size)
			full := usage(t, s)
			drain(t, s, 1, 1, tc.n)
			drained := usage(t, s)
			wrote := time.Since(began)
			began = time.Now()
			if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
			after := usage(t, s)
			t.Logf("%d x %d bytes: start %.2f MB, full %.1f MB, drained %.1f MB, after Compact %.2f MB (write+drain %v, Compact %v)",
				tc.n, tc.size, mb(start), mb(full), mb(drained), mb(after), wrote.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
			if full < int64(tc.n*tc.size) {
				t.Fatalf("usage when full %d is less than the data written", full)
			}
			if limit := start + start/5; after > limit {
				t.Fatalf("usage after Compact %d > %d (start %d + 20%%)", after, limit, start)
			}
			if entries, _ := index(t, s, 1); len(entries) != 0 {
				t.Fatalf("%d index entries left", len(entries))
			}
		})
	}
}
