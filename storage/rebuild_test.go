package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// storeState is everything a store holds that the tests below compare across
// a rebuild: definitions, the index and delivered mark of queues 1 and 2, the
// stored message ids and their bytes.
type storeState struct {
	defs       []def
	idx1, idx2 []entry
	del1, del2 uint64
	ids        []uint64
	messages   map[uint64]string
}

func stateOf(t *testing.T, s Store) storeState {
	t.Helper()
	st := storeState{defs: definitions(t, s, KindQueue), ids: messageIDs(t, s)}
	st.idx1, st.del1 = index(t, s, 1)
	st.idx2, st.del2 = index(t, s, 2)
	st.messages = readAll(t, s, st.ids...)
	return st
}

func (a storeState) equal(b storeState) bool {
	if !slices.Equal(a.defs, b.defs) || !slices.Equal(a.idx1, b.idx1) || !slices.Equal(a.idx2, b.idx2) ||
		a.del1 != b.del1 || a.del2 != b.del2 || !slices.Equal(a.ids, b.ids) || len(a.messages) != len(b.messages) {
		return false
	}
	for id, m := range a.messages {
		if b.messages[id] != m {
			return false
		}
	}
	return true
}

// fillSmall stores what a drained broker holds: two queue definitions, queue
// 2 with three messages and a delivered mark, queue 1 with n messages that
// drainQueue1 deletes.
func fillSmall(t *testing.T, s *Badger, n int) {
	t.Helper()
	for _, q := range []string{"q1", "q2"} {
		if err := s.PutDefinition(KindQueue, q, []byte("durable "+q)); err != nil {
			t.Fatal(err)
		}
	}
	var b Batch
	for id := uint64(1); id <= 3; id++ {
		b.PutMessage(id, []byte(fmt.Sprintf("kept %d", id)))
		b.PutIndex(2, id, id)
	}
	b.SetDelivered(2, 2)
	submitWait(t, s, &b)
	fill(t, s, 1, 100, n, 256)
}

func markerOf(t *testing.T, dir string) marker {
	t.Helper()
	m, err := readMarker(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dbDirs lists the database directories in dir.
func dbDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && validDBName(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// databaseUsage is the disk the store uses but for its segments (which the
// three messages fillSmall keeps hold on to; TestReclaimAfterDrain checks
// those).
func databaseUsage(t *testing.T, s *Badger) int64 {
	t.Helper()
	segs, err := DiskUsage(s.segs.dir)
	if err != nil {
		t.Fatal(err)
	}
	return usage(t, s) - segs
}

// TestRebuildAfterDrain checks that Compact of a drained store moves what is
// left to a new database, removes the old one, keeps everything (also across a
// restart), and gives back the disk to within 20% of a new store's even after
// enough messages to grow Badger's MANIFEST.
func TestRebuildAfterDrain(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	start := databaseUsage(t, s)
	fillSmall(t, s, 100_000)
	drain(t, s, 1, 100, 100_000)
	before := stateOf(t, s)
	if len(before.ids) != 3 || before.del2 != 2 || len(before.idx2) != 3 || len(before.defs) != 2 {
		t.Fatalf("state before the rebuild: %+v", before)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if m := markerOf(t, dir); m != (marker{format: FormatVersion, db: dbPrefix + "2"}) {
		t.Fatalf("marker after Compact: %+v", m)
	}
	if got := dbDirs(t, dir); !slices.Equal(got, []string{dbPrefix + "2"}) {
		t.Fatalf("database directories after Compact: %v", got)
	}
	after := databaseUsage(t, s)
	t.Logf("usage but segments: new %d, after 100,000 messages and Compact %d", start, after)
	if limit := start + start/5; after > limit {
		t.Fatalf("usage after Compact %d > %d (new %d + 20%%)", after, limit, start)
	}
	if got := stateOf(t, s); !got.equal(before) {
		t.Fatalf("after the rebuild: %+v, before %+v", got, before)
	}
	// The store goes on writing to the new database.
	var b Batch
	b.PutMessage(7, []byte("after"))
	b.PutIndex(2, 4, 7)
	submitWait(t, s, &b)
	before = stateOf(t, s)
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if got := stateOf(t, s); !got.equal(before) || got.messages[7] != "after" {
		t.Fatalf("after a restart: %+v, before %+v", got, before)
	}
}

// TestNoRebuildWhenLarge checks that Compact leaves a database of more than
// rebuildMaxKeys keys where it is.
func TestNoRebuildWhenLarge(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	fill(t, s, 1, 1, rebuildMaxKeys, 16) // a location and an index entry each
	compactWant(t, s, dbPrefix+"1", "a large store")
}

// compactWant runs Compact and checks that the marker then names database db.
func compactWant(t *testing.T, s *Badger, db, what string) {
	t.Helper()
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if m := markerOf(t, s.dir); m.db != db {
		t.Fatalf("marker after Compact of %s: %+v, want %s", what, m, db)
	}
}

// TestNoRebuildUnderRead checks that a rebuild gives way to a read in
// progress, whose callback may be waiting for the committer, instead of
// waiting for it.
func TestNoRebuildUnderRead(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	fillSmall(t, s, 10)
	first := true
	_, err := s.ForEachIndex(2, func(uint64, IndexEntry) error {
		if first {
			first = false
			compactWant(t, s, dbPrefix+"1", "a store under a read")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	compactWant(t, s, dbPrefix+"2", "a store once the read is over")
}

// TestRebuildWhileBusy rebuilds again and again while messages are written,
// read and deleted, then checks that every message still stored is readable
// and nothing deleted came back, also across a restart.
func TestRebuildWhileBusy(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	const rounds = 200
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := uint64(0); r < rounds; r++ {
			var b Batch
			for i := uint64(0); i < 10; i++ {
				id := r*10 + i + 1
				b.PutMessage(id, []byte(fmt.Sprint(id)))
				b.PutIndex(1, id, id)
			}
			if r > 0 { // keep message 10r-9 of each earlier round, delete the rest of the round before
				for i := uint64(1); i < 10; i++ {
					id := (r-1)*10 + i + 1
					b.DeleteIndex(1, id)
					b.DeleteMessage(id)
				}
			}
			if err := trySubmit(s, &b); err != nil {
				t.Error(err)
				return
			}
			if _, err := s.ForEachIndex(1, func(seq uint64, e IndexEntry) error { return nil }); err != nil {
				t.Error(err)
				return
			}
			if err := s.ReadMessages([]uint64{r*10 + 1}, func(uint64, []byte) error { return nil }); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	rebuilds := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		if err := s.Compact(); err != nil {
			t.Fatal(err)
		}
		rebuilds++
	}
	check := func(s *Badger) {
		t.Helper()
		var want []uint64
		for r := uint64(0); r < rounds-1; r++ {
			want = append(want, r*10+1)
		}
		for id := uint64((rounds-1)*10 + 1); id <= rounds*10; id++ {
			want = append(want, id)
		}
		if got := messageIDs(t, s); !slices.Equal(got, want) {
			t.Fatalf("message ids: %v, want %v", got, want)
		}
		got := readAll(t, s, want...)
		for _, id := range want {
			if got[id] != fmt.Sprint(id) {
				t.Fatalf("message %d read back as %q", id, got[id])
			}
		}
		idx, _ := index(t, s, 1)
		if len(idx) != len(want) {
			t.Fatalf("%d index entries, want %d", len(idx), len(want))
		}
	}
	check(s)
	s.Close()
	t.Logf("%d Compacts, database now %s", rebuilds, markerOf(t, dir).db)
	if got := dbDirs(t, dir); len(got) != 1 {
		t.Fatalf("database directories: %v", got)
	}
	s = openTest(t, dir)
	defer s.Close()
	check(s)
}

// TestRebuildMovesFormat2 checks that a format-2 directory (Badger's files in
// the data directory itself) opens as it is and is moved into a database
// directory, format 3, by its first rebuild, with nothing of the old files
// left.
func TestRebuildMovesFormat2(t *testing.T) {
	dir := t.TempDir()
	if err := writeFileSync(filepath.Join(dir, FormatFile), []byte(formatV2+"\n")); err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(TestOptions().badgerOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(appendDefinitionKey(nil, KindQueue, "old"), []byte("from format 2")); err != nil {
			return err
		}
		return txn.Set(appendIndexKey(nil, 2, 5), appendIndexValue(nil, IndexEntry{MsgID: 9, Size: 3}))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	if m := markerOf(t, dir); m != (marker{format: formatV2}) {
		t.Fatalf("marker after opening a format-2 directory: %+v", m)
	}
	before := stateOf(t, s)
	if len(before.defs) != 1 || len(before.idx2) != 1 {
		t.Fatalf("format-2 state: %+v", before)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if m := markerOf(t, dir); m != (marker{format: FormatVersion, db: dbPrefix + "1"}) {
		t.Fatalf("marker after the rebuild: %+v", m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if isBadgerFile(e.Name()) {
			t.Fatalf("%s is left in the data directory", e.Name())
		}
	}
	s = openTest(t, dir)
	defer s.Close()
	if got := stateOf(t, s); !got.equal(before) {
		t.Fatalf("after the move and a restart: %+v, before %+v", got, before)
	}
}

// TestKilledRebuildCleanedUp checks what Open does with what a rebuild killed
// part way leaves: a copy the marker does not name yet (killed before the
// marker's rename) and an old database the marker no longer names (killed
// after it), both whole databases holding the same keys. Open uses the one the
// marker names and removes the other.
func TestKilledRebuildCleanedUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		renamed bool
	}{{"before the rename", false}, {"after the rename", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir)
			fillSmall(t, s, 10)
			want := stateOf(t, s)
			// Do the copy the rebuild would, on the committer, and stop there.
			err := s.c.do(&request{barrier: func() error {
				db, err := s.copyInto(filepath.Join(dir, dbPrefix+"2"))
				if err == nil {
					err = db.Close()
				}
				return err
			}})
			if err != nil {
				t.Fatal(err)
			}
			// A write the copy does not have: after the rename it is lost
			// with the old database, which is why the rebuild holds the
			// committer from the copy to the switch; here it shows which
			// database Open took.
			var b Batch
			b.PutMessage(50, []byte("old database only"))
			b.PutIndex(2, 50, 50)
			submitWait(t, s, &b)
			s.Close()
			if tc.renamed {
				if _, err := writeMarker(dir, marker{format: FormatVersion, db: dbPrefix + "2"}); err != nil {
					t.Fatal(err)
				}
			}
			s = openTest(t, dir)
			defer s.Close()
			got := stateOf(t, s)
			keep, gone := dbPrefix+"1", dbPrefix+"2"
			if tc.renamed {
				keep, gone = gone, keep
				if !got.equal(want) {
					t.Fatalf("after the rename: %+v, want the copy's %+v", got, want)
				}
			} else if len(got.idx2) != len(want.idx2)+1 {
				t.Fatalf("before the rename: queue 2 holds %v, want the old database's %d entries", got.idx2, len(want.idx2)+1)
			}
			if d := dbDirs(t, dir); !slices.Equal(d, []string{keep}) {
				t.Fatalf("database directories %v, want %s only (%s removed)", d, keep, gone)
			}
		})
	}
}
