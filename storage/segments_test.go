package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// segmentFiles lists the segment files of a store's directory.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, segmentsDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// segmentOptions are TestOptions with 1 MiB segments.
func segmentOptions() Options {
	o := TestOptions()
	o.SegmentSize = 1 << 20
	return o
}

// TestSegmentsRemovedWhenEmpty checks that a segment's file goes once the last
// message in it is deleted, that one message keeps its segment (and only its),
// and that the head goes too once Compact finds it empty.
func TestSegmentsRemovedWhenEmpty(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, segmentOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, size = 4000, 1024 // about 4 segments
	fill(t, s, 1, 1, n, size)
	if got := len(segmentFiles(t, dir)); got < 4 {
		t.Fatalf("%d segments for %d KiB in 1 MiB segments", got, n*size>>10)
	}
	// Delete all but message 10 (in the first segment).
	var b Batch
	for id := uint64(1); id <= n; id++ {
		if id != 10 {
			b.DeleteIndex(1, id)
			b.DeleteMessage(id)
		}
	}
	submitWait(t, s, &b)
	// The head may stay for the next writes, being less than a quarter full.
	files := segmentFiles(t, dir)
	if len(files) == 0 || len(files) > 2 || files[0] != segmentName(1) {
		t.Fatalf("segments after deleting all but message 10: %v, want the first (and the head)", files)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if files := segmentFiles(t, dir); !slices.Equal(files, []string{segmentName(1)}) {
		t.Fatalf("segments after Compact: %v, want only the first", files)
	}
	if got := readAll(t, s, 10); len(got[10]) != size {
		t.Fatalf("message 10 read back as %d bytes", len(got[10]))
	}
	b = Batch{}
	b.DeleteIndex(1, 10)
	b.DeleteMessage(10)
	submitWait(t, s, &b)
	if files := segmentFiles(t, dir); len(files) != 0 {
		t.Fatalf("segments after deleting every message: %v", files)
	}
	// Writing goes on in a new segment.
	fill(t, s, 1, n+1, 10, size)
	if got := readAll(t, s, n+5); len(got[n+5]) != size {
		t.Fatal("message written after every segment was removed is unreadable")
	}
}

// TestSegmentsAfterRestart checks that a reopened store keeps reading its
// segments, appends only to a new one, removes a segment nothing refers to,
// and frees the old segments' messages as they are deleted.
func TestSegmentsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, segmentOptions())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 1, 1, 1500, 1024)
	s.Close()
	before := segmentFiles(t, dir)
	stray := filepath.Join(dir, segmentsDir, segmentName(99))
	if err := os.WriteFile(stray, []byte(segmentMagic+"records no batch refers to"), 0o640); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, segmentOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a segment no message is in was kept: %v", err)
	}
	fill(t, s, 1, 1501, 10, 1024)
	after := segmentFiles(t, dir)
	if want := append(slices.Clone(before), segmentName(100)); !slices.Equal(after, want) {
		t.Fatalf("segments after restart and a write: %v, want %v", after, want)
	}
	if got := readAll(t, s, 1, 1500, 1505); len(got) != 3 {
		t.Fatalf("read back %d of 3 messages", len(got))
	}
	var b Batch
	for id := uint64(1); id <= 1500; id++ {
		b.DeleteMessage(id)
	}
	submitWait(t, s, &b)
	if files := segmentFiles(t, dir); !slices.Equal(files, []string{segmentName(100)}) {
		t.Fatalf("segments after deleting the old messages: %v", files)
	}
}

// storedSegment stores n messages of size bytes in a closed store and returns
// its directory and the path of the segment they are in.
func storedSegment(t *testing.T, n, size int) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	s := openTest(t, dir)
	fill(t, s, 1, 1, n, size)
	s.Close()
	return dir, filepath.Join(dir, segmentsDir, segmentName(1))
}

// TestSegmentMissingRefused checks that Open fails, saying so, when a segment
// that stored messages are in is gone.
func TestSegmentMissingRefused(t *testing.T) {
	dir, path := storedSegment(t, 10, 100)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, TestOptions()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open with a segment missing: %v", err)
	}
}

// TestSegmentCorruptRecord checks that a record whose bytes changed on disk is
// reported as corrupt, and the others still read.
func TestSegmentCorruptRecord(t *testing.T) {
	dir, path := storedSegment(t, 3, 100)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The second record's data: magic, one record, the second's header.
	data[len(segmentMagic)+recordHeaderLen+100+recordHeaderLen+5] ^= 0xff
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	defer s.Close()
	var seen []uint64
	err = s.ReadMessages([]uint64{1, 2, 3}, func(id uint64, _ []byte) error {
		seen = append(seen, id)
		return nil
	})
	if !errors.Is(err, ErrCorrupt) || !slices.Equal(seen, []uint64{1}) {
		t.Fatalf("reading past a corrupt record: saw %v, error %v", seen, err)
	}
	if got := readAll(t, s, 3); len(got[3]) != 100 {
		t.Fatal("the record after the corrupt one is unreadable")
	}
}

// TestFormat1Upgraded checks that a directory of format 1 (message bodies in
// Badger under their message keys) opens, reads, lists and deletes its old
// messages beside new ones, and is marked format 2 (Badger's files stay where
// they are until a rebuild moves them).
func TestFormat1Upgraded(t *testing.T) {
	dir := t.TempDir()
	if err := writeFileSync(filepath.Join(dir, FormatFile), []byte(formatV1+"\n")); err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(TestOptions().badgerOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		for _, id := range []uint64{2, 4} {
			if err := txn.Set(appendMessageKey(nil, id), []byte{byte(id), 'v', '1'}); err != nil {
				return err
			}
			if err := txn.Set(appendIndexKey(nil, 1, id), appendIndexValue(nil, IndexEntry{MsgID: id})); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	var b Batch
	for _, id := range []uint64{1, 3, 5} {
		b.PutMessage(id, []byte{byte(id), 'v', '2'})
		b.PutIndex(1, id, id)
	}
	submitWait(t, s, &b)
	if got := messageIDs(t, s); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("message ids %v", got)
	}
	got := readAll(t, s, 1, 2, 3, 4, 5)
	for id, want := range map[uint64]string{1: "\x01v2", 2: "\x02v1", 3: "\x03v2", 4: "\x04v1", 5: "\x05v2"} {
		if got[id] != want {
			t.Fatalf("message %d read back as %q, want %q", id, got[id], want)
		}
	}
	b = Batch{}
	b.DeleteMessage(2)
	b.DeleteMessage(3)
	submitWait(t, s, &b)
	s.Close()
	if m, err := readMarker(dir); err != nil || m != (marker{format: formatV2}) {
		t.Fatalf("marker after opening a format-1 directory: %+v, %v", m, err)
	}
	s = openTest(t, dir)
	defer s.Close()
	if got := messageIDs(t, s); !slices.Equal(got, []uint64{1, 4, 5}) {
		t.Fatalf("message ids after deletes and a restart: %v", got)
	}
	err = s.ReadMessages([]uint64{2}, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("reading a deleted format-1 message: %v", err)
	}
}

// TestSegmentIDWindow checks the segments' id tables: ids that come out of
// order are found, an id too far from a segment's others begins a new segment,
// and all of them read back and are deleted after a restart.
func TestSegmentIDWindow(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, segmentOptions())
	if err != nil {
		t.Fatal(err)
	}
	far := uint64(1) << 40
	ids := []uint64{idSlack + 10, idSlack + 12, idSlack + 11, 5, far, far - 1, idSlack + 13}
	for _, id := range ids {
		fill(t, s, 1, id, 1, 100)
	}
	if got := len(segmentFiles(t, dir)); got != 4 {
		t.Fatalf("%d segments, want 4 (a window is left by 5, by %d and again by %d)", got, far, idSlack+13)
	}
	if got := readAll(t, s, ids...); len(got) != len(ids) {
		t.Fatalf("read back %d of %d", len(got), len(ids))
	}
	s.Close()
	s, err = Open(dir, segmentOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := readAll(t, s, ids...); len(got) != len(ids) {
		t.Fatalf("after a restart, read back %d of %d", len(got), len(ids))
	}
	var b Batch
	for _, id := range ids {
		b.DeleteIndex(1, id)
		b.DeleteMessage(id)
	}
	submitWait(t, s, &b)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if files := segmentFiles(t, dir); len(files) != 0 {
		t.Fatalf("segments left after deleting every message: %v", files)
	}
}
