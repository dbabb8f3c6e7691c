package storage

import (
	"bufio"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Big measurements run only with WARREN_STORAGE_BIG=1 and without -short:
//
//	WARREN_STORAGE_BIG=1 go test -run Big -v -timeout 1h ./storage/
//
// WARREN_STORAGE_BIG_N sets the number of 1 KiB messages (default 2,000,000),
// WARREN_STORAGE_BIG_DIR the directory (default a temporary one), and
// WARREN_STORAGE_BIG_SEGMENT and WARREN_STORAGE_BIG_MEMTABLE override
// Options.SegmentSize and Options.MemTableSize.
func bigTest(t *testing.T) (n int, o Options, dir string) {
	if testing.Short() || os.Getenv("WARREN_STORAGE_BIG") != "1" {
		t.Skip("set WARREN_STORAGE_BIG=1 (and no -short) for big measurements")
	}
	n = 2_000_000
	if v, err := strconv.Atoi(os.Getenv("WARREN_STORAGE_BIG_N")); err == nil {
		n = v
	}
	o = DefaultOptions()
	if v, err := strconv.ParseInt(os.Getenv("WARREN_STORAGE_BIG_SEGMENT"), 10, 64); err == nil {
		o.SegmentSize = v
	}
	if v, err := strconv.ParseInt(os.Getenv("WARREN_STORAGE_BIG_MEMTABLE"), 10, 64); err == nil {
		o.MemTableSize = v
	}
	dir = os.Getenv("WARREN_STORAGE_BIG_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	return n, o, dir
}

// procStatus returns fields of /proc/self/status in KiB (VmRSS, RssAnon, ...).
func procStatus(t *testing.T) map[string]int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if ok && len(fields) == 2 && fields[1] == "kB" {
			out[k], _ = strconv.ParseInt(fields[0], 10, 64)
		}
	}
	return out
}

func logMemory(t *testing.T, when string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := procStatus(t)
	t.Logf("%s: VmRSS %d MiB (RssAnon %d MiB, RssFile %d MiB, RssShmem %d MiB), VmHWM %d MiB, Go heap in use %d MiB, Go sys %d MiB",
		when, st["VmRSS"]>>10, st["RssAnon"]>>10, st["RssFile"]>>10, st["RssShmem"]>>10, st["VmHWM"]>>10,
		ms.HeapInuse>>20, ms.Sys>>20)
}

// TestBigStore stores n 1 KiB messages from 16 pipelined submitters with the
// default options, reports the rate and the process's memory, then reopens the
// store and times the recovery scans.
func TestBigStore(t *testing.T) {
	n, o, dir := bigTest(t)
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	logMemory(t, "opened")
	const submitters, inflight = 16, 64
	body := make([]byte, 1024)
	for i := range body {
		body[i] = byte(i)
	}
	start := time.Now()
	var wg sync.WaitGroup
	per := n / submitters
	for g := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			window := make(chan error, inflight)
			for range inflight {
				window <- nil
			}
			done := func(err error) { window <- err }
			for i := range per {
				if err := <-window; err != nil {
					t.Error(err)
					return
				}
				id := uint64(g*per + i + 1)
				var b Batch
				b.Ops = make([]Op, 0, 2)
				b.PutMessage(id, body)
				b.PutIndex(uint64(g), id, id)
				s.Submit(&b, done)
			}
			for range inflight {
				<-window
			}
		}()
	}
	ticker := time.NewTicker(15 * time.Second)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-ticker.C:
				st := s.CommitStats()
				t.Logf("%v: %d messages", time.Since(start).Round(time.Second), st.Batches)
			case <-stop:
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	ticker.Stop()
	elapsed := time.Since(start)
	st := s.CommitStats()
	use, _ := s.Usage()
	t.Logf("stored %d x 1 KiB in %v: %.0f msgs/s, %d groups (%.0f syncs/s, %.1f batches each), disk %d MiB",
		submitters*per, elapsed.Round(time.Millisecond), float64(submitters*per)/elapsed.Seconds(),
		st.Groups, float64(st.Groups)/elapsed.Seconds(), float64(st.Batches)/float64(st.Groups), use>>20)
	logMemory(t, "after storing")
	runtime.GC()
	logMemory(t, "after storing and a GC")
	if path := os.Getenv("WARREN_STORAGE_BIG_HEAPPROFILE"); path != "" {
		writeHeapProfile(t, path)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Recovery: reopen, read every index entry of one queue and every message id.
	start = time.Now()
	s, err = Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opened := time.Since(start)
	start = time.Now()
	entries := 0
	for q := range uint64(submitters) {
		if _, err := s.ForEachIndex(q, func(uint64, IndexEntry) error { entries++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	scan := time.Since(start)
	start = time.Now()
	ids := 0
	if err := s.ForEachMessageID(func(uint64) error { ids++; return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("reopen %v; ForEachIndex over %d entries %v (%.0f entries/s); ForEachMessageID over %d ids %v",
		opened.Round(time.Millisecond), entries, scan.Round(time.Millisecond), float64(entries)/scan.Seconds(),
		ids, time.Since(start).Round(time.Millisecond))
	if entries != submitters*per || ids != submitters*per {
		t.Fatalf("found %d entries and %d ids, want %d", entries, ids, submitters*per)
	}
	logMemory(t, "after recovery scans")
}

// TestBigRecoveryScan stores n index entries in one queue (default 1,000,000)
// and times ForEachIndex after a reopen.
func TestBigRecoveryScan(t *testing.T) {
	_, o, _ := bigTest(t)
	n := 1_000_000
	dir := t.TempDir()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10_000 {
		var b Batch
		for j := i; j < i+10_000; j++ {
			b.PutIndex(1, uint64(j+1), uint64(j+1))
		}
		submitWait(t, s, &b)
	}
	s.Close()
	start := time.Now()
	s, err = Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opened := time.Since(start)
	start = time.Now()
	count := 0
	if _, err := s.ForEachIndex(1, func(uint64, IndexEntry) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("reopen %v; ForEachIndex over %d entries of one queue: %v", opened.Round(time.Millisecond), count, time.Since(start).Round(time.Millisecond))
	if count != n {
		t.Fatalf("%d entries, want %d", count, n)
	}
}

func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

// TestBigFlow streams n 1 KiB messages through queues that stay about 1,000
// messages deep (each batch stores a message and deletes the one 1,000 before
// it), as a queue whose consumers keep up, and reports the disk usage over time:
// the value log is reclaimed by GC only after compaction has seen the deletes.
func TestBigFlow(t *testing.T) {
	n, o, dir := bigTest(t)
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const submitters, inflight, depth = 16, 64, 1000
	body := make([]byte, 1024)
	start := time.Now()
	var wg sync.WaitGroup
	per := n / submitters
	for g := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			window := make(chan error, inflight)
			for range inflight {
				window <- nil
			}
			done := func(err error) { window <- err }
			for i := range per {
				if err := <-window; err != nil {
					t.Error(err)
					return
				}
				id := uint64(g*per + i + 1)
				var b Batch
				b.Ops = make([]Op, 0, 4)
				b.PutMessage(id, body)
				b.PutIndex(uint64(g), id, id)
				if i >= depth {
					b.DeleteIndex(uint64(g), id-depth)
					b.DeleteMessage(id - depth)
				}
				s.Submit(&b, done)
			}
			for range inflight {
				<-window
			}
		}()
	}
	stop := make(chan struct{})
	sampled := make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if u, err := s.Usage(); err == nil {
					peak = max(peak, u)
				}
			case <-stop:
				sampled <- peak
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	peak := <-sampled
	elapsed := time.Since(start)
	end, _ := s.Usage()
	t.Logf("streamed %d x 1 KiB through queues %d deep in %v (%.0f msgs/s): disk peak %d MiB, at the end %d MiB",
		submitters*per, depth, elapsed.Round(time.Millisecond), float64(submitters*per)/elapsed.Seconds(), peak>>20, end>>20)
	logMemory(t, "after streaming")
	began := time.Now()
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Usage()
	t.Logf("Compact: %v, disk %d MiB", time.Since(began).Round(time.Millisecond), after>>20)
}
