package storage

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Memory is the in-memory twin of Badger, for tests: the same semantics (group
// commit on a goroutine of its own, done in submit order, snapshots for reads,
// ErrClosed after Close) with nothing on disk. FailWrites injects write failures.
type Memory struct {
	life lifecycle
	c    *committer

	failMu sync.Mutex
	fail   error

	mu        sync.Mutex // guards the data below
	defs      map[Kind]map[string][]byte
	msgs      map[uint64][]byte
	index     map[uint64]map[uint64]IndexEntry // queue -> seq -> entry
	delivered map[uint64]uint64
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store. Close it when done.
func NewMemory() *Memory {
	m := &Memory{
		defs:      map[Kind]map[string][]byte{},
		msgs:      map[uint64][]byte{},
		index:     map[uint64]map[uint64]IndexEntry{},
		delivered: map[uint64]uint64{},
	}
	m.c = newCommitter(m, committerLimits{depth: 1 << 16, groupOps: 4096, groupBytes: 4 << 20,
		pendingBytes: 32 << 20, pendingOps: 1 << 16}, false)
	return m
}

// CommitStats reports the group committer's work so far.
func (m *Memory) CommitStats() CommitStats { return m.c.stats() }

// FailWrites makes every later write fail with err: batches submitted from now
// on get err in their done (and are not applied), PutDefinition,
// DeleteDefinition and DropQueue return it. FailWrites(nil) ends that.
func (m *Memory) FailWrites(err error) {
	m.failMu.Lock()
	m.fail = err
	m.failMu.Unlock()
}

func (m *Memory) failure() error {
	m.failMu.Lock()
	defer m.failMu.Unlock()
	return m.fail
}

// Submit implements Store (see Badger.Submit).
func (m *Memory) Submit(b *Batch, done func(error)) {
	if b == nil {
		b = &Batch{}
	}
	r := &request{batch: b, done: done, failed: m.failure()}
	if r.failed == nil {
		r.failed = checkBatch(b)
	}
	if err := m.life.enter(); err != nil {
		if done != nil {
			go done(err)
		}
		return
	}
	defer m.life.exit()
	m.c.submit(r)
}

// PutDefinition implements Store.
func (m *Memory) PutDefinition(kind Kind, key string, value []byte) error {
	return m.do(&request{def: &definitionOp{kind: kind, key: key, value: slices.Clone(value)}})
}

// DeleteDefinition implements Store.
func (m *Memory) DeleteDefinition(kind Kind, key string) error {
	return m.do(&request{def: &definitionOp{kind: kind, key: key, delete: true}})
}

// DropQueue implements Store: after every batch submitted before it.
func (m *Memory) DropQueue(queueID uint64) error {
	return m.do(&request{barrier: func() error {
		m.mu.Lock()
		delete(m.index, queueID)
		delete(m.delivered, queueID)
		m.mu.Unlock()
		return nil
	}})
}

func (m *Memory) do(r *request) error {
	if err := m.life.enter(); err != nil {
		return err
	}
	defer m.life.exit()
	if err := m.failure(); err != nil {
		return err
	}
	return m.c.do(r)
}

// writeGroup implements groupWriter.
func (m *Memory) writeGroup(group []*request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range group {
		if d := r.def; d != nil {
			if d.delete {
				delete(m.defs[d.kind], d.key)
			} else if m.defs[d.kind] == nil {
				m.defs[d.kind] = map[string][]byte{d.key: d.value}
			} else {
				m.defs[d.kind][d.key] = d.value
			}
			continue
		}
		for _, op := range r.batch.Ops {
			switch op.Kind {
			case OpPutMessage:
				m.msgs[op.MsgID] = append([]byte{}, op.Data...)
			case OpDeleteMessage:
				delete(m.msgs, op.MsgID)
			case OpPutIndex:
				if m.index[op.QueueID] == nil {
					m.index[op.QueueID] = map[uint64]IndexEntry{}
				}
				m.index[op.QueueID][op.Seq] = op.IndexEntry()
			case OpDeleteIndex:
				delete(m.index[op.QueueID], op.Seq)
			case OpSetDelivered:
				m.delivered[op.QueueID] = op.Seq
			default:
				return fmt.Errorf("storage: unknown operation kind %d", op.Kind)
			}
		}
	}
	return nil
}

// ForEachDefinition implements Store. value is a copy fn may keep.
func (m *Memory) ForEachDefinition(kind Kind, fn func(key string, value []byte) error) error {
	if err := m.life.enter(); err != nil {
		return err
	}
	defer m.life.exit()
	type def struct {
		key   string
		value []byte
	}
	m.mu.Lock()
	defs := make([]def, 0, len(m.defs[kind]))
	for k, v := range m.defs[kind] {
		defs = append(defs, def{k, slices.Clone(v)})
	}
	m.mu.Unlock()
	sort.Slice(defs, func(i, j int) bool { return defs[i].key < defs[j].key })
	for _, d := range defs {
		if err := fn(d.key, d.value); err != nil {
			return err
		}
	}
	return nil
}

// ForEachIndex implements Store.
func (m *Memory) ForEachIndex(queueID uint64, fn func(seq uint64, e IndexEntry) error) (uint64, error) {
	if err := m.life.enter(); err != nil {
		return 0, err
	}
	defer m.life.exit()
	m.mu.Lock()
	delivered := m.delivered[queueID]
	seqs := make([]uint64, 0, len(m.index[queueID]))
	for seq := range m.index[queueID] {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	ids := make([]IndexEntry, len(seqs))
	for i, seq := range seqs {
		ids[i] = m.index[queueID][seq]
	}
	m.mu.Unlock()
	for i, seq := range seqs {
		if err := fn(seq, ids[i]); err != nil {
			return delivered, err
		}
	}
	return delivered, nil
}

// ReadMessages implements Store. A missing id is an error wrapping ErrNotFound.
func (m *Memory) ReadMessages(ids []uint64, fn func(id uint64, data []byte) error) error {
	if err := m.life.enter(); err != nil {
		return err
	}
	defer m.life.exit()
	var missing error
	m.mu.Lock()
	data := make([][]byte, 0, len(ids))
	for _, id := range ids {
		d, ok := m.msgs[id]
		if !ok {
			missing = fmt.Errorf("storage: message %d: %w", id, ErrNotFound)
			break
		}
		data = append(data, d) // stored slices are never written to
	}
	m.mu.Unlock()
	for i, d := range data {
		if err := fn(ids[i], d); err != nil {
			return err
		}
	}
	return missing
}

// ForEachMessageID implements Store.
func (m *Memory) ForEachMessageID(fn func(id uint64) error) error {
	if err := m.life.enter(); err != nil {
		return err
	}
	defer m.life.exit()
	m.mu.Lock()
	ids := make([]uint64, 0, len(m.msgs))
	for id := range m.msgs {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// Usage implements Store: the bytes of stored messages, index entries and
// definitions.
func (m *Memory) Usage() (int64, error) {
	if err := m.life.enter(); err != nil {
		return 0, err
	}
	defer m.life.exit()
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, d := range m.msgs {
		n += int64(messageKeyLen + len(d))
	}
	for _, q := range m.index {
		n += int64(len(q) * (indexKeyLen + u64Len))
	}
	n += int64(len(m.delivered) * (deliveredKeyLen + u64Len))
	for _, defs := range m.defs {
		for k, v := range defs {
			n += int64(2 + len(k) + len(v))
		}
	}
	return n, nil
}

// Compact does nothing (there is nothing to reclaim); it is here so that code
// written for Badger runs against the twin.
func (m *Memory) Compact() error {
	if err := m.life.enter(); err != nil {
		return err
	}
	m.life.exit()
	return nil
}

// Close implements Store.
func (m *Memory) Close() error {
	if !m.life.shut() {
		return ErrClosed
	}
	m.c.close()
	return nil
}
