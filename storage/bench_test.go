package storage

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchOptions are DefaultOptions without background GC.
func benchOptions(syncWrites bool) Options {
	o := DefaultOptions()
	o.SyncWrites = syncWrites
	o.GCInterval = 0
	return o
}

// BenchmarkGroupCommit: N submitters each submit a batch of one 1 KiB
// PutMessage + PutIndex and wait for its done before the next, as publishers
// waiting for each confirm. One op is one message.
func BenchmarkGroupCommit(b *testing.B) {
	for _, syncWrites := range []bool{true, false} {
		for _, submitters := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("syncwrites=%v/submitters=%d", syncWrites, submitters), func(b *testing.B) {
				benchCommit(b, benchOptions(syncWrites), submitters, 1)
			})
		}
	}
}

// BenchmarkGroupCommitPipelined: 16 submitters with up to 64 batches each in
// flight, as publishers streaming with confirms: what the committer sustains.
func BenchmarkGroupCommitPipelined(b *testing.B) {
	for _, syncWrites := range []bool{true, false} {
		b.Run(fmt.Sprintf("syncwrites=%v/submitters=16/inflight=64", syncWrites), func(b *testing.B) {
			benchCommit(b, benchOptions(syncWrites), 16, 64)
		})
	}
}

// benchCommit runs b.N one-message batches through a fresh store from
// submitters goroutines, each with up to inflight batches not yet done.
func benchCommit(b *testing.B, o Options, submitters, inflight int) {
	s, err := Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var next atomic.Uint64
	var wg sync.WaitGroup
	before := s.CommitStats()
	b.ResetTimer()
	start := time.Now()
	for g := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			window := make(chan error, inflight)
			for range inflight {
				window <- nil
			}
			done := func(err error) { window <- err }
			for {
				if err := <-window; err != nil {
					b.Error(err)
					return
				}
				id := next.Add(1)
				if id > uint64(b.N) {
					break
				}
				var batch Batch
				batch.Ops = make([]Op, 0, 2)
				batch.PutMessage(id, body)
				batch.PutIndex(uint64(g), id, id)
				s.Submit(&batch, done)
			}
			for range inflight - 1 {
				if err := <-window; err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	st := s.CommitStats()
	groups := float64(st.Groups - before.Groups)
	b.ReportMetric(float64(b.N)/elapsed, "msgs/s")
	b.ReportMetric(groups/elapsed, "syncs/s")
	b.ReportMetric(float64(st.Batches-before.Batches)/groups, "batches/sync")
}

// BenchmarkReadMessages reads 1 KiB messages in batches of 64 consecutive ids,
// as a queue reads ahead of its consumers.
func BenchmarkReadMessages(b *testing.B) {
	const stored, batch = 50_000, 64
	s, err := Open(b.TempDir(), benchOptions(true))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fill(b, s, 1, 1, stored, 1024)
	ids := make([]uint64, batch)
	b.ReportAllocs()
	b.SetBytes(batch * 1024)
	b.ResetTimer()
	start := time.Now()
	var n int
	for i := range b.N {
		first := uint64(i*batch%(stored-batch)) + 1
		for j := range ids {
			ids[j] = first + uint64(j)
		}
		err := s.ReadMessages(ids, func(id uint64, data []byte) error {
			n += len(data)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "msgs/s")
}
