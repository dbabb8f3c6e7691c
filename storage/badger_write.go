package storage

import (
	"fmt"

	"go.uber.org/zap"
)

// writeGroup implements groupWriter: the group's message bodies are appended
// to the head segment and synced, then the rest goes into one Badger WriteBatch
// (Badger splits it into transactions of its maximum size, committed in order),
// followed by one sync; the deletes are applied to the segments once that is
// durable. Within a group, later operations on a key win, as if the batches
// were applied one after another.
func (s *Badger) writeGroup(group []*request) (err error) {
	// Bodies first: Badger may commit part of a large batch as soon as it is
	// given it, and must not point at a record that is not on disk.
	locs := s.locs[:0]
	defer func() { s.locs = locs[:0] }()
	for _, r := range group {
		if r.batch == nil {
			continue
		}
		for i := range r.batch.Ops {
			if op := &r.batch.Ops[i]; op.Kind == OpPutMessage {
				l, err := s.segs.append(op.MsgID, op.Data)
				if err != nil {
					return err
				}
				locs = append(locs, l)
			}
		}
	}
	if err := s.segs.sync(); err != nil {
		return err
	}
	puts := 0
	wb := s.db.NewWriteBatch()
	defer wb.Cancel() // after Flush, only releases; after an error, waits for pending commits
	// Keys and 8-byte values are sliced from one arena; a slice keeps its bytes
	// if the arena grows, and Badger has copied them all once Flush or Cancel
	// returns, so the arena is reused by the next group.
	a := s.arena[:0]
	bytes := 0
	defer func() { s.arena = a[:0] }()
	set := func(k, v []byte) {
		if err == nil {
			err = wb.Set(k, v)
		}
	}
	del := func(k []byte) {
		if err == nil {
			err = wb.Delete(k)
		}
	}
	for _, r := range group {
		if d := r.def; d != nil {
			n := len(a)
			a = appendDefinitionKey(a, d.kind, d.key)
			k := tail(a, n)
			if d.delete {
				del(k)
			} else {
				set(k, d.value)
			}
			continue
		}
		for i := range r.batch.Ops {
			op := &r.batch.Ops[i]
			n := len(a)
			switch op.Kind {
			case OpPutMessage:
				a = appendLocationKey(a, op.MsgID)
				a = appendLocation(a, locs[puts])
				puts++
				set(a[n:n+messageKeyLen:n+messageKeyLen], tail(a, n+messageKeyLen))
				bytes += len(op.Data)
			case OpDeleteMessage:
				a = appendLocationKey(a, op.MsgID)
				del(tail(a, n))
				if s.legacy {
					n = len(a)
					a = appendMessageKey(a, op.MsgID)
					del(tail(a, n))
				}
				s.segs.deleting(op.MsgID)
				s.deletes.Add(1)
			case OpPutIndex:
				a = appendIndexKey(a, op.QueueID, op.Seq)
				a = appendIndexValue(a, op.IndexEntry())
				set(a[n:n+indexKeyLen:n+indexKeyLen], tail(a, n+indexKeyLen))
			case OpDeleteIndex:
				a = appendIndexKey(a, op.QueueID, op.Seq)
				del(tail(a, n))
			case OpSetDelivered:
				a = appendDeliveredKey(a, op.QueueID)
				a = appendU64(a, op.Seq)
				set(a[n:n+deliveredKeyLen:n+deliveredKeyLen], tail(a, n+deliveredKeyLen))
			default:
				if err == nil {
					err = fmt.Errorf("storage: unknown operation kind %d", op.Kind)
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("storage: write: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("storage: write: %w", err)
	}
	if !s.opts.SyncWrites {
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("storage: sync: %w", err)
		}
	}
	s.written(bytes)
	if err := s.segs.settle(); err != nil {
		// The deletes are durable; a segment left behind is removed at the
		// next open.
		s.log.Warn("removing a segment no message is in failed", zap.String("dir", s.dir), zap.Error(err))
	}
	return nil
}

// tail returns arena[from:], capped so that later appends never write into it.
func tail(arena []byte, from int) []byte { return arena[from:len(arena):len(arena)] }
