package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
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
				res := make(chan error, 1)
				s.Submit(&b, func(err error) {
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
		}()
	}
	wg.Wait()
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
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// However the child fares, it is killed within 30s.
		killer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		var confirmed []uint64
		sc := bufio.NewScanner(out)
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
