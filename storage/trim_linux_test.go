//go:build linux

package storage

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// TestTrimMapped checks that trimming gives back the resident pages of the
// store's mapped files and that every message reads back intact afterwards.
func TestTrimMapped(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	defer s.Close()
	const n, size = 30_000, 1024
	fill(t, s, 1, 1, n, size)
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i * 7)
	}
	readBack := func() {
		t.Helper()
		err := s.ReadMessages(ids, func(id uint64, data []byte) error {
			if !bytes.Equal(data, want) {
				t.Fatalf("message %d changed", id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readBack() // every page of the value log resident
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
	t.Logf("file-backed resident memory: %d MiB before trimming, %d MiB after", before>>20, after>>20)
	if after > before-(n*size/2) {
		t.Errorf("trimming gave back %d KiB of the %d KiB read", (before-after)>>10, n*size>>10)
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
