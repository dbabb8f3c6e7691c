package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

const crashDirEnv = "WARREN_STORAGE_CRASH_CHILD_DIR"

// crashBody is message id's body: recognisable and 1 KiB.
func crashBody(id uint64) []byte {
	b := bytes.Repeat([]byte{byte(id)}, 1024)
	copy(b, strconv.FormatUint(id, 10))
	return b
}

// TestCrashChild is the child of TestCrashRecovery: it writes messages from 8
// submitters for ever and prints the id of each one whose done returned nil,
// until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child of TestCrashRecovery")
	}
	_, submit := openCrashChild(dir)
	var wg sync.WaitGroup
	for g := range uint64(8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(1); ; i++ {
				id := g<<32 | i
				var b Batch
				b.PutMessage(id, crashBody(id))
				b.PutIndex(g, i, id)
				b.SetDelivered(g, i)
				submit(&b, id)
			}
		}()
	}
	wg.Wait()
}

// openCrashChild opens the store of a crash test's child, and returns it with
// a function that submits a batch, waits for it and prints id once its done
// returned nil (the child exits on an error).
func openCrashChild(dir string) (*Badger, func(b *Batch, id uint64)) {
	s, err := Open(dir, TestOptions())
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	// done must not block: it hands ids to one printer goroutine.
	printed := make(chan uint64, 1<<16)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for id := range printed {
			fmt.Fprintln(w, id)
			if len(printed) == 0 {
				w.Flush()
			}
		}
	}()
	return s, func(b *Batch, id uint64) {
		res := make(chan error, 1)
		s.Submit(b, func(err error) {
			if err == nil {
				printed <- id
			}
			res <- err
		})
		if err := <-res; err != nil {
			fmt.Println("write:", err)
			os.Exit(2)
		}
	}
}

// startChild runs this test binary's test child with env set to dir, and
// returns it with a scanner of its output and the timer that kills it within
// 30 s, however it fares.
func startChild(t *testing.T, child, env, dir string) (*exec.Cmd, *bufio.Scanner, *time.Timer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out), time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
}

// TestCrashRecovery runs TestCrashChild, kills it with SIGKILL once it has
// confirmed enough writes, reopens its directory and checks that every write
// whose done returned is there.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	for round := range 2 { // the second round crashes a store recovered from a crash
		cmd, sc, killer := startChild(t, "TestCrashChild", crashDirEnv, dir)
		var confirmed []uint64
		for len(confirmed) < 8000 && sc.Scan() {
			id, err := strconv.ParseUint(sc.Text(), 10, 64)
			if err != nil {
				cmd.Process.Kill()
				t.Fatalf("child said %q", sc.Text())
			}
			confirmed = append(confirmed, id)
		}
		cmd.Process.Kill() // SIGKILL
		killer.Stop()
		// Ids printed before the kill landed were confirmed too.
		for sc.Scan() {
			if id, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
				confirmed = append(confirmed, id)
			}
		}
		cmd.Wait()
		if len(confirmed) < 100 {
			t.Fatalf("round %d: the child confirmed only %d writes", round, len(confirmed))
		}

		s := openTest(t, dir)
		missing := 0
		for _, id := range confirmed {
			err := s.ReadMessages([]uint64{id}, func(_ uint64, data []byte) error {
				if !bytes.Equal(data, crashBody(id)) {
					return fmt.Errorf("message %d has the wrong bytes", id)
				}
				return nil
			})
			if err != nil {
				missing++
				if missing < 5 {
					t.Errorf("round %d: confirmed message: %v", round, err)
				}
			}
		}
		last := map[uint64]uint64{} // the highest confirmed seq per queue
		for _, id := range confirmed {
			last[id>>32] = max(last[id>>32], id&(1<<32-1))
		}
		for q, seq := range last {
			n := uint64(0)
			delivered, err := s.ForEachIndex(q, func(s uint64, e IndexEntry) error {
				id := e.MsgID
				n++
				if s != n || id != q<<32|s {
					return fmt.Errorf("queue %d: entry %d is (%d, %d)", q, n, s, id)
				}
				return nil
			})
			if err != nil || n < seq || delivered < seq {
				t.Errorf("round %d queue %d: %d entries, delivered %d, want at least %d (%v)", round, q, n, delivered, seq, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d confirmed writes, all found after SIGKILL (%d missing)", round, len(confirmed), missing)
	}
}

const rebuildChildEnv = "WARREN_STORAGE_REBUILD_CHILD_DIR"

// rebuildKeep reports whether the rebuild crash test keeps seq: it deletes the
// others in the batch after theirs.
func rebuildKeep(seq uint64) bool { return seq%50 == 0 }

// TestRebuildCrashChild is the child of TestRebuildCrash: 4 submitters each
// write a message a batch and delete the one before unless it is kept, while
// Compact runs in a loop, so that the store, small all along, is rebuilt again
// and again; it prints the id of every batch whose done returned nil, until
// it is killed.
func TestRebuildCrashChild(t *testing.T) {
	dir := os.Getenv(rebuildChildEnv)
	if dir == "" {
		t.Skip("the child of TestRebuildCrash")
	}
	s, submit := openCrashChild(dir)
	go func() {
		for {
			if err := s.Compact(); err != nil {
				fmt.Println("compact:", err)
				os.Exit(2)
			}
		}
	}()
	start := map[uint64]uint64{}
	s.ForEachMessageID(func(id uint64) error { start[id>>32] = max(start[id>>32], id&(1<<32-1)); return nil })
	var wg sync.WaitGroup
	for g := range uint64(4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := start[g] + 1; ; i++ {
				id := g<<32 | i
				var b Batch
				b.PutMessage(id, crashBody(id))
				b.PutIndex(g, i, id)
				if prev := i - 1; prev > 0 && !rebuildKeep(prev) { // the last of a killed run too
					b.DeleteIndex(g, prev)
					b.DeleteMessage(g<<32 | prev)
				}
				submit(&b, id)
			}
		}()
	}
	wg.Wait()
}

// TestRebuildCrash kills TestRebuildCrashChild at a moment that falls
// anywhere in its rebuilds, reopens the directory and checks that every
// confirmed batch is there: its message readable, every kept message before
// it and none of the deleted ones. WARREN_REBUILD_CRASH_CYCLES sets how many
// kills (default 3).
func TestRebuildCrash(t *testing.T) {
	if os.Getenv(rebuildChildEnv) != "" || os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	cycles := 3
	if n, err := strconv.Atoi(os.Getenv("WARREN_REBUILD_CRASH_CYCLES")); err == nil && n > 0 {
		cycles = n
	}
	dir := t.TempDir()
	last := map[uint64]uint64{} // the highest confirmed seq per submitter, over every round
	for round := range cycles {
		cmd, sc, killer := startChild(t, "TestRebuildCrashChild", rebuildChildEnv, dir)
		want := 500 + round*397%2000 // kill after a different number of batches each round
		n := 0
		note := func(text string) {
			id, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				cmd.Process.Kill()
				t.Fatalf("child said %q", text)
			}
			last[id>>32] = max(last[id>>32], id&(1<<32-1))
			n++
		}
		for n < want && sc.Scan() {
			note(sc.Text())
		}
		cmd.Process.Kill()
		killer.Stop()
		for sc.Scan() {
			note(sc.Text())
		}
		cmd.Wait()
		if n < 100 {
			t.Fatalf("round %d: the child confirmed only %d batches", round, n)
		}

		s := openTest(t, dir)
		marker := markerOf(t, dir)
		if d := dbDirs(t, dir); !slices.Equal(d, []string{marker.db}) {
			t.Errorf("round %d: database directories %v after open, marker names %s", round, d, marker.db)
		}
		for q, seq := range last {
			var seqs []uint64
			if _, err := s.ForEachIndex(q, func(s uint64, e IndexEntry) error {
				if e.MsgID != q<<32|s {
					return fmt.Errorf("entry %d holds message %d", s, e.MsgID)
				}
				seqs = append(seqs, s)
				return nil
			}); err != nil {
				t.Fatalf("round %d queue %d: %v", round, q, err)
			}
			have := map[uint64]bool{}
			for _, k := range seqs {
				have[k] = true
				if !rebuildKeep(k) && k < seq {
					t.Errorf("round %d queue %d: seq %d, deleted by confirmed batch %d, is back", round, q, k, k+1)
				}
			}
			for k := uint64(50); k < seq; k += 50 {
				if !have[k] {
					t.Errorf("round %d queue %d: kept seq %d is missing (confirmed up to %d)", round, q, k, seq)
				}
			}
			if !have[seq] && !have[seq+1] {
				t.Errorf("round %d queue %d: confirmed seq %d is missing, and no later one is there", round, q, seq)
			}
			for _, seq := range seqs {
				id := q<<32 | seq
				if err := s.ReadMessages([]uint64{id}, func(_ uint64, data []byte) error {
					if !bytes.Equal(data, crashBody(id)) {
						return fmt.Errorf("message %d has the wrong bytes", id)
					}
					return nil
				}); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d batches, database %s, everything confirmed found", round, n, marker.db)
	}
}
