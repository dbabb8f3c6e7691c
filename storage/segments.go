package storage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Message bodies live in segment files of the store's own, in the segments
// directory beside Badger's files; Badger keeps, under each message's key, only
// where its record is (see keys.go). A segment is appended to until it reaches
// Options.SegmentSize, then a new one is begun; it is never written again after
// that, nor after a restart. The store knows which messages each segment holds
// and removes a segment's file as soon as none of them is stored any more, so
// a drained store gives its disk back whole, with no garbage collection and no
// rewriting (Badger's value log could only reclaim a file by rewriting its live
// values, and never the file it was appending to).
//
// Order of writes, for a group: the records are written and the segment synced
// before the Badger batch that points at them is written, so a location that
// Badger has durably is always readable; a crash between the two leaves records
// nothing points at, and their segment is removed at the next open if none of
// its records is referenced. A segment's file is removed only after the Badger
// batch that deleted its last message is durable.
//
// A segment file: segmentMagic, then records of
//
//	crc32c of id and data (4) | data length (4) | message id (8) | data
//
// all big-endian.

const (
	segmentsDir     = "segments"
	segmentExt      = ".seg"
	segmentMagic    = "WRNSEG01"
	recordHeaderLen = 4 + 4 + 8
	// locationLen is the length of a message key's value: segment (4),
	// record offset (8), data length (4).
	locationLen = 4 + 8 + 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// location is where a message's record is.
type location struct {
	seg  uint32
	off  int64 // of the record header
	size uint32
}

func appendLocation(b []byte, l location) []byte {
	b = binary.BigEndian.AppendUint32(b, l.seg)
	b = binary.BigEndian.AppendUint64(b, uint64(l.off))
	return binary.BigEndian.AppendUint32(b, l.size)
}

func decodeLocation(v []byte) (location, bool) {
	if len(v) != locationLen {
		return location{}, false
	}
	return location{
		seg:  binary.BigEndian.Uint32(v),
		off:  int64(binary.BigEndian.Uint64(v[4:])),
		size: binary.BigEndian.Uint32(v[12:]),
	}, true
}

// end is the offset just past the record.
func (l location) end() int64 { return l.off + recordHeaderLen + int64(l.size) }

// segment is one segment file.
type segment struct {
	id uint32
	f  *os.File
	// Owned by the committer goroutine: the file's length (what was written
	// to it), the ids of the messages in it and which of them are deleted,
	// and how many are not.
	size int64
	ids  idTable
	live int
}

// idTable holds the ids of a segment's records, ascending, at 4 octets each:
// an id's offset from base in the low 31 bits, the top bit set once the record
// is dead. A segment holds only ids within 2^31 of its base (see fits).
type idTable struct {
	base uint64
	offs []uint32
}

const (
	idDead = 1 << 31
	// idSlack is how far below its first id a segment's base is put, so that
	// ids that come a little out of order still fit.
	idSlack = 1 << 30
)

func (t *idTable) len() int        { return len(t.offs) }
func (t *idTable) at(i int) uint64 { return t.base + uint64(t.offs[i]&^idDead) }
func (t *idTable) dead(i int) bool { return t.offs[i]&idDead != 0 }
func (t *idTable) kill(i int)      { t.offs[i] |= idDead }
func (t *idTable) fits(id uint64) bool {
	return len(t.offs) == 0 || (id >= t.base && id-t.base < idDead)
}
func (t *idTable) off(id uint64) uint32 { return uint32(id - t.base) }
func (t *idTable) last() uint64         { return t.at(len(t.offs) - 1) }
func (t *idTable) first() uint64        { return t.at(0) }
func (t *idTable) grow(n int)           { t.offs = slices.Grow(t.offs, n) }
func (t *idTable) search(o uint32) (int, bool) {
	return slices.BinarySearchFunc(t.offs, o, func(x, o uint32) int { return cmp.Compare(x&^idDead, o) })
}

// find returns the index of id, or -1.
func (t *idTable) find(id uint64) int {
	if len(t.offs) == 0 || id < t.first() || id > t.last() {
		return -1
	}
	if i, ok := t.search(t.off(id)); ok {
		return i
	}
	return -1
}

// add records id, which must fit. Ids come nearly in order (a group's
// publishes from several connections interleave), so an insertion moves few.
func (t *idTable) add(id uint64) {
	if len(t.offs) == 0 {
		t.base = id - min(id, idSlack)
	}
	o := t.off(id)
	i := len(t.offs)
	for i > 0 && t.offs[i-1]&^idDead > o {
		i--
	}
	t.offs = slices.Insert(t.offs, i, o)
}

// newIDTable makes the table of a segment found at open from its ids,
// ascending.
func newIDTable(ids []uint64) (idTable, bool) {
	t := idTable{base: ids[0], offs: make([]uint32, len(ids))}
	if ids[len(ids)-1]-ids[0] >= idDead {
		return t, false
	}
	for i, id := range ids {
		t.offs[i] = t.off(id)
	}
	return t, true
}

// segments is the set of segment files of a store.
type segments struct {
	dir    string // the segments directory
	target int64  // Options.SegmentSize

	// mu guards byID against readers: the committer changes it under the
	// write lock; ReadMessages reads records under the read lock, so a file
	// is not closed under a read.
	mu   sync.RWMutex
	byID map[uint32]*segment

	// Owned by the committer goroutine.
	list    []*segment // by id, the head last
	head    *segment   // being appended to, or nil
	nextID  uint32
	buf     []byte // records of the head not yet written
	bufAt   int64  // the head offset buf starts at
	newHead bool   // a segment was created since the last sync: sync the directory
	deleted []uint64
	maxID   uint64 // the highest message id ever added
}

func segmentName(id uint32) string { return fmt.Sprintf("%08d%s", id, segmentExt) }

// openSegments opens the segments of dir/segments, creating the directory if
// needed. refs lists, for every segment some message is in, the ids of those
// messages in ascending order. A segment file no message is in is removed; a
// missing one is an error.
func openSegments(dir string, target int64, refs map[uint32][]uint64) (*segments, error) {
	d := filepath.Join(dir, segmentsDir)
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("storage: create segments directory: %w", err)
	}
	entries, err := os.ReadDir(d)
	if err != nil {
		return nil, fmt.Errorf("storage: read segments directory: %w", err)
	}
	ss := &segments{dir: d, target: target, byID: map[uint32]*segment{}, nextID: 1}
	fail := func(err error) (*segments, error) {
		ss.close()
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 10, 32)
		if !strings.HasSuffix(name, segmentExt) || err != nil || !e.Type().IsRegular() {
			continue
		}
		id := uint32(n)
		ss.nextID = max(ss.nextID, id+1)
		path := filepath.Join(d, name)
		ids, ok := refs[id]
		if !ok {
			// Written, but the batch that referred to it never was, or every
			// message in it was deleted before its removal.
			if err := os.Remove(path); err != nil {
				return fail(fmt.Errorf("storage: remove unused segment: %w", err))
			}
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return fail(fmt.Errorf("storage: open segment: %w", err))
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fail(fmt.Errorf("storage: open segment: %w", err))
		}
		t, ok := newIDTable(ids)
		if !ok {
			f.Close()
			return fail(fmt.Errorf("storage: segment %s: its message ids span more than 2^31", segmentName(id)))
		}
		s := &segment{id: id, f: f, size: st.Size(), ids: t, live: len(ids)}
		ss.maxID = max(ss.maxID, ids[len(ids)-1])
		ss.byID[id] = s
		ss.list = append(ss.list, s)
	}
	for id := range refs {
		if ss.byID[id] == nil {
			return fail(fmt.Errorf("storage: segment %s is missing: %d stored messages are in it", segmentName(id), len(refs[id])))
		}
	}
	slices.SortFunc(ss.list, func(a, b *segment) int { return int(a.id) - int(b.id) })
	return ss, nil
}

// close closes every segment file.
func (ss *segments) close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.byID {
		s.f.Close()
	}
	clear(ss.byID)
	ss.list, ss.head = nil, nil
}

// lookup returns the segment holding id and its index there, or nil.
// Committer goroutine only.
func (ss *segments) lookup(id uint64) (*segment, int) {
	for i := len(ss.list) - 1; i >= 0; i-- {
		t := &ss.list[i].ids
		if j := t.find(id); j >= 0 && !t.dead(j) { // find checks the range, so the offset fits
			return ss.list[i], j
		}
	}
	return nil, -1
}

// append adds a record for message id to the head (beginning a new segment when
// the head is full) and returns its location. It is written by the next sync.
// Committer goroutine only.
func (ss *segments) append(id uint64, data []byte) (location, error) {
	n := int64(recordHeaderLen + len(data))
	// A full head, or one whose table cannot hold id, ends.
	if h := ss.head; h != nil && h.size > int64(len(segmentMagic)) && (h.size+n > ss.target || !h.ids.fits(id)) {
		if err := ss.sync(); err != nil {
			return location{}, err
		}
		ss.head = nil
	}
	if ss.head == nil {
		if err := ss.begin(); err != nil {
			return location{}, err
		}
	}
	if id <= ss.maxID {
		ss.kill(id)
	}
	ss.maxID = max(ss.maxID, id)
	h := ss.head
	l := location{seg: h.id, off: h.size, size: uint32(len(data))}
	var hdr [recordHeaderLen]byte
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(data)))
	binary.BigEndian.PutUint64(hdr[8:], id)
	crc := crc32.Update(crc32.Update(0, crcTable, hdr[8:]), crcTable, data)
	binary.BigEndian.PutUint32(hdr[:4], crc)
	ss.buf = append(append(ss.buf, hdr[:]...), data...)
	h.size += n
	h.ids.add(id)
	h.live++
	return l, nil
}

// kill marks the record of message id dead, if it has one: the message is
// deleted, or stored again.
func (ss *segments) kill(id uint64) {
	if s, j := ss.lookup(id); s != nil {
		s.ids.kill(j)
		s.live--
	}
}

// begin creates a new head segment.
func (ss *segments) begin() error {
	id := ss.nextID
	path := filepath.Join(ss.dir, segmentName(id))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("storage: create segment: %w", err)
	}
	ss.nextID++
	s := &segment{id: id, f: f, size: int64(len(segmentMagic))}
	if n := len(ss.list); n > 0 {
		s.ids.grow(ss.list[n-1].ids.len()) // as many records as the last, most likely
	}
	ss.buf = append(ss.buf[:0], segmentMagic...)
	ss.bufAt = 0
	ss.newHead = true
	ss.mu.Lock()
	ss.byID[id] = s
	ss.mu.Unlock()
	ss.list = append(ss.list, s)
	ss.head = s
	return nil
}

// sync writes the head's pending records and syncs it (and the directory, when
// a segment was created). Committer goroutine only.
func (ss *segments) sync() error {
	h := ss.head
	if h == nil || len(ss.buf) == 0 {
		return nil
	}
	if _, err := h.f.WriteAt(ss.buf, ss.bufAt); err != nil {
		return fmt.Errorf("storage: write segment %s: %w", segmentName(h.id), err)
	}
	if err := h.f.Sync(); err != nil {
		return fmt.Errorf("storage: sync segment %s: %w", segmentName(h.id), err)
	}
	if ss.newHead {
		if err := syncDir(ss.dir); err != nil {
			return fmt.Errorf("storage: sync segments directory: %w", err)
		}
		ss.newHead = false
	}
	ss.bufAt += int64(len(ss.buf))
	ss.buf = ss.buf[:0]
	return nil
}

// deleting notes that message id is being deleted; settle applies it once the
// delete is durable. Committer goroutine only.
func (ss *segments) deleting(id uint64) { ss.deleted = append(ss.deleted, id) }

// settle applies the deletes noted since the last settle and removes the
// segments left with no message, but the head unless it is a quarter full
// (a queue that keeps emptying would otherwise begin a file a group).
// Committer goroutine only.
func (ss *segments) settle() error {
	for _, id := range ss.deleted {
		ss.kill(id)
	}
	ss.deleted = ss.deleted[:0]
	return ss.removeEmpty(ss.target / 4)
}

// removeEmpty removes every segment with no message in it, and the head too if
// it holds at least headAbove bytes. Committer goroutine only.
func (ss *segments) removeEmpty(headAbove int64) error {
	var gone []*segment
	kept := ss.list[:0]
	for _, s := range ss.list {
		if s.live == 0 && (s != ss.head || s.size >= headAbove) {
			gone = append(gone, s)
			continue
		}
		kept = append(kept, s)
	}
	clear(ss.list[len(kept):])
	ss.list = kept
	if len(gone) == 0 {
		return nil
	}
	ss.mu.Lock()
	for _, s := range gone {
		delete(ss.byID, s.id)
	}
	ss.mu.Unlock()
	var errs []error
	for _, s := range gone {
		if s == ss.head {
			ss.head, ss.buf = nil, ss.buf[:0]
		}
		s.f.Close()
		if err := os.Remove(filepath.Join(ss.dir, segmentName(s.id))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("storage: remove segment: %w", err))
		}
	}
	return errors.Join(errs...)
}

// readRun reads the records at locs, which are consecutive in one segment,
// into buf (grown as needed) and calls fn with each record's data, checked.
func (ss *segments) readRun(ids []uint64, locs []location, buf []byte, fn func(id uint64, data []byte) error) ([]byte, error) {
	from, to := locs[0].off, locs[len(locs)-1].end()
	buf = slices.Grow(buf[:0], int(to-from))[:to-from]
	ss.mu.RLock()
	s := ss.byID[locs[0].seg]
	var err error
	if s == nil {
		err = fmt.Errorf("storage: message %d: segment %s: %w", ids[0], segmentName(locs[0].seg), ErrNotFound)
	} else if _, err = s.f.ReadAt(buf, from); err != nil {
		err = fmt.Errorf("storage: read segment %s: %w", segmentName(s.id), err)
	}
	ss.mu.RUnlock()
	if err != nil {
		return buf, err
	}
	for i, l := range locs {
		rec := buf[l.off-from : l.end()-from]
		data := rec[recordHeaderLen:]
		crc := crc32.Update(crc32.Update(0, crcTable, rec[8:recordHeaderLen]), crcTable, data)
		if binary.BigEndian.Uint32(rec) != crc || binary.BigEndian.Uint32(rec[4:]) != l.size ||
			binary.BigEndian.Uint64(rec[8:]) != ids[i] {
			return buf, fmt.Errorf("storage: message %d: record in segment %s at %d: %w", ids[i], segmentName(l.seg), l.off, ErrCorrupt)
		}
		if err := fn(ids[i], data); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// eachLive calls fn for the id of every message in a segment, in order: a
// merge of the segments' ids, which are sorted within each and nearly disjoint
// from one segment to the next. Committer goroutine only.
func (ss *segments) eachLive(fn func(id uint64) error) error {
	at := make([]int, len(ss.list))
	for {
		best := -1
		for i, s := range ss.list {
			for at[i] < s.ids.len() && s.ids.dead(at[i]) {
				at[i]++
			}
			if at[i] < s.ids.len() && (best < 0 || s.ids.at(at[i]) < ss.list[best].ids.at(at[best])) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		id := ss.list[best].ids.at(at[best])
		at[best]++
		if err := fn(id); err != nil {
			return err
		}
	}
}

// maxReadRun bounds the bytes of one read of consecutive records.
const maxReadRun = 1 << 20
