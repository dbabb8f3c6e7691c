package storage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.PutDefinition(KindExchange, "x", []byte("exchange")); err != nil {
		t.Fatal(err)
	}
	var b Batch
	for id := uint64(1); id <= 1000; id++ {
		b.PutMessage(id, []byte(fmt.Sprint("message ", id)))
		b.PutIndex(9, id, id)
	}
	b.SetDelivered(9, 400)
	submitWait(t, s, &b)
	b = Batch{}
	b.DeleteIndex(9, 1)
	b.DeleteMessage(1)
	// Submitted without waiting: Close must still write it.
	s.Submit(&b, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	defer s.Close()
	if got := definitions(t, s, KindExchange); !slices.Equal(got, []def{{"x", "exchange"}}) {
		t.Fatalf("definitions after reopen: %q", got)
	}
	entries, delivered := index(t, s, 9)
	if len(entries) != 999 || entries[0] != (entry{2, 2}) || delivered != 400 {
		t.Fatalf("after reopen: %d entries from %v, delivered %d", len(entries), entries[0], delivered)
	}
	if m := readAll(t, s, 2, 1000); m[2] != "message 2" || m[1000] != "message 1000" {
		t.Fatalf("messages after reopen: %v", m)
	}
	if ids := messageIDs(t, s); len(ids) != 999 || ids[0] != 2 {
		t.Fatalf("ids after reopen: %d from %d", len(ids), ids[0])
	}
}

func TestFormatMarkerWritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data") // Open creates missing parents
	s := openTest(t, dir)
	s.Close()
	got, err := os.ReadFile(filepath.Join(dir, FormatFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != FormatVersion+"\n"+dbPrefix+"1\n" {
		t.Fatalf("marker holds %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, dbPrefix+"1", "MANIFEST")); err != nil {
		t.Fatalf("no Badger database where the marker says: %v", err)
	}
	// An empty directory that already exists is taken too, lost+found aside.
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	s.Close()
}

// snapshot returns every file's name, mode, size and content hash under dir.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d", path, info.Mode(), info.Size())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x %v", sha256.Sum256(data), info.ModTime())
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnknownVersionRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	submitWait(t, s, &Batch{Ops: []Op{{Kind: OpPutMessage, MsgID: 1, Data: []byte("kept")}}})
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, FormatFile), []byte("warren-storage-v99\nfrom the future\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	_, err := Open(dir, TestOptions())
	if !errors.Is(err, ErrIncompatible) {
		t.Fatalf("Open of a v99 directory: %v, want ErrIncompatible", err)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "warren-storage-v99") {
		t.Fatalf("error does not name the directory and the version found: %v", err)
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Fatalf("refused directory was changed:\nbefore %q\nafter  %q", before, after)
	}
}

func TestForeignDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("not yours"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	_, err := Open(dir, TestOptions())
	if err == nil || !strings.Contains(err.Error(), "not a Warren data directory") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open of a foreign directory: %v", err)
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Fatalf("refused directory was changed:\nbefore %q\nafter  %q", before, after)
	}

	// A Badger database without our marker is foreign too.
	dir = t.TempDir()
	s := openTest(t, dir)
	s.Close()
	if err := os.Remove(filepath.Join(dir, FormatFile)); err != nil {
		t.Fatal(err)
	}
	before = snapshot(t, dir)
	if _, err := Open(dir, TestOptions()); err == nil {
		t.Fatal("Open of a Badger directory without a marker succeeded")
	}
	if after := snapshot(t, dir); !slices.Equal(before, after) {
		t.Fatal("refused Badger directory was changed")
	}

	// A file where the directory should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, TestOptions()); err == nil {
		t.Fatal("Open of a regular file succeeded")
	}
}

func TestGarbageDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.Close()
	db := filepath.Join(dir, dbPrefix+"1")
	if err := os.WriteFile(filepath.Join(db, "MANIFEST"), bytes.Repeat([]byte("garbage!"), 100), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, TestOptions())
	if err == nil || !strings.Contains(err.Error(), "open Badger database in "+db) {
		t.Fatalf("Open with a garbage MANIFEST: %v", err)
	}
	t.Logf("garbage MANIFEST: %v", err)
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	if _, err := Open(dir, TestOptions()); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open of an open directory: %v", err)
	}
	// The first is unharmed.
	submitWait(t, s, &Batch{Ops: []Op{{Kind: OpPutMessage, MsgID: 1}}})
}

func TestOptionsValidated(t *testing.T) {
	for name, change := range map[string]func(*Options){
		"small memtable": func(o *Options) { o.MemTableSize = 1000 },
		"small segments": func(o *Options) { o.SegmentSize = 1000 },
		"one compactor":  func(o *Options) { o.NumCompactors = 1 },
		"discard ratio":  func(o *Options) { o.GCDiscardRatio = 1 },
		"queue depth":    func(o *Options) { o.QueueDepth = 0 },
	} {
		o := TestOptions()
		change(&o)
		dir := t.TempDir()
		if _, err := Open(dir, o); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: invalid options wrote to the directory", name)
		}
	}
	if err := DefaultOptions().validate(); err != nil {
		t.Fatalf("DefaultOptions: %v", err)
	}
}

func TestSyncWritesOff(t *testing.T) {
	o := TestOptions()
	o.SyncWrites = false
	dir := t.TempDir()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.PutMessage(1, []byte("one"))
	submitWait(t, s, &b)
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if m := readAll(t, s, 1); m[1] != "one" {
		t.Fatalf("read %v", m)
	}
}

func TestFreeSpace(t *testing.T) {
	n, err := FreeSpace(t.TempDir())
	if err != nil || n == 0 {
		t.Fatalf("FreeSpace = %d, %v", n, err)
	}
	if _, err := FreeSpace(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("FreeSpace of a missing directory succeeded")
	}
}

// TestDropLargeQueue drops queues on both sides of dropPrefixAbove and checks,
// after a reopen, that they are gone and their neighbours are not.
func TestDropLargeQueue(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	var b Batch
	for seq := uint64(1); seq <= 3*dropPrefixAbove; seq++ {
		b.PutIndex(1, seq, seq)
		b.PutIndex(2, seq, seq)
		if seq <= dropPrefixAbove/2 {
			b.PutIndex(3, seq, seq)
		}
	}
	b.SetDelivered(1, 10)
	b.SetDelivered(3, 10)
	submitWait(t, s, &b)
	if err := s.DropQueue(1); err != nil { // DropPrefix
		t.Fatal(err)
	}
	if err := s.DropQueue(3); err != nil { // one by one
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	for q, want := range map[uint64]int{1: 0, 2: 3 * dropPrefixAbove, 3: 0} {
		entries, delivered := index(t, s, q)
		if len(entries) != want || (want == 0 && delivered != 0) {
			t.Errorf("queue %d: %d entries (want %d), delivered %d", q, len(entries), want, delivered)
		}
	}
}

// TestEmptyMemtableLogAfterCrash checks that a zero-length memtable log, left
// by a kill between its creation and its sizing, does not keep the store from
// opening, and that nothing stored is lost with it.
func TestEmptyMemtableLogAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	var b Batch
	b.PutMessage(1, []byte("kept"))
	submitWait(t, s, &b)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, dbPrefix+"1", "00099.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	if got := readAll(t, s, 1); got[1] != "kept" {
		t.Fatalf("message 1 read back as %q", got[1])
	}
}
