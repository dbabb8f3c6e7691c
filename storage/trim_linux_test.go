//go:build linux

package storage

import (
	"path/filepath"
	"testing"
	"time"
)

// TestTrimMapped checks that trimming gives back the resident pages of the
// store's mapped files (Badger's tables: message bodies are read from their
// segments, not mapped) and that every index entry reads back intact afterwards.
func TestTrimMapped(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	defer s.Close()
	const n = 100_000
	fill(t, s, 1, 1, n, 16)
	if err := s.Compact(); err != nil { // the memtables into tables
		t.Fatal(err)
	}
	tables, err := DiskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	readBack := func() {
		t.Helper()
		entries, _ := index(t, s, 1)
		if len(entries) != n {
			t.Fatalf("%d index entries, want %d", len(entries), n)
		}
		for i, e := range entries {
			if e.id != uint64(i+1) {
				t.Fatalf("index entry %d holds message %d", i, e.id)
			}
		}
	}
	readBack() // every page of the tables resident
	before, err := residentFile()
	if err != nil {
		t.Skip(err)
	}
	_, trimmed, err := trimMapped(dir, 0)
	if err == errTrimUnsupported {
		t.Skip(err)
	}
	if err != nil || !trimmed {
		t.Fatalf("trimMapped: %v, %v", trimmed, err)
	}
	after, _ := residentFile()
	t.Logf("file-backed resident memory: %d KiB before trimming, %d KiB after; %d KiB of tables", before>>10, after>>10, tables>>10)
	if after > before-tables/2 {
		t.Errorf("trimming gave back %d KiB of the %d KiB of tables read", (before-after)>>10, tables>>10)
	}
	readBack()
	if _, trimmed, _ := trimMapped(dir, 1<<50); trimmed {
		t.Error("trimmed under the limit")
	}
}

// TestTrimLoop checks that the store trims by itself with TrimMappedAbove set.
func TestTrimLoop(t *testing.T) {
	o := TestOptions()
	o.TrimMappedAbove = 1
	o.TrimInterval = 10 * time.Millisecond
	s, err := Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, 1, 1, 1000, 1024)
	deadline := time.Now().Add(10 * time.Second)
	for s.Trims() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the store never trimmed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
