package storage

import "errors"

// Kind is the kind of a definition record. Values are stored on disk: ONLY APPEND.
type Kind uint8

const (
	KindExchange Kind = 1
	KindQueue    Kind = 2
	KindBinding  Kind = 3
)

// ErrIncompatible is returned by Open for a data directory whose format version
// this build does not know; the directory is left untouched.
var ErrIncompatible = errors.New("storage: data directory has an unknown format version")

// ErrCorrupt is wrapped by ReadMessages for a stored message whose bytes fail
// their check.
var ErrCorrupt = errors.New("storage: stored message is corrupt")

// ErrClosed is returned, or passed to done, once the store is closed.
var ErrClosed = errors.New("storage: closed")

// Store is the durability of one broker node: definitions (exchanges, queues,
// bindings) and persistent messages. The broker owns the meaning of the bytes it
// stores; the store only keeps them, in order, durably.
//
// Messages are stored once, under a message id the broker assigns, however many
// queues hold them; each durable queue has an index of (seq -> message id) entries
// under the queue's id. The broker counts references and deletes a message when
// its last queue is done with it.
//
// Implementations: Open (Badger, on disk) and NewMemory (in memory, for tests);
// one contract test suite runs against both.
type Store interface {
	// PutDefinition and DeleteDefinition write one definition record and return
	// once it is durable (fsync). Definitions are few and change rarely.
	PutDefinition(kind Kind, key string, value []byte) error
	DeleteDefinition(kind Kind, key string) error
	// ForEachDefinition calls fn for every definition of kind, in key order.
	ForEachDefinition(kind Kind, fn func(key string, value []byte) error) error

	// Submit hands a batch of message operations to the group committer: batches
	// submitted by many goroutines are written together, with one sync. Submit
	// does not wait for I/O, though it may block briefly when the committer is
	// behind (back-pressure). done is called exactly once, from a goroutine of
	// the store's (never from inside Submit), after every operation of the batch
	// is on disk, or with the error that kept it from getting there; it must not
	// block. Batches are applied in the order they were submitted. The store owns
	// b after Submit.
	Submit(b *Batch, done func(error))

	// ForEachIndex calls fn for every index entry of a queue in seq order, with
	// the queue's delivered mark (see Batch.SetDelivered; 0 if none).
	ForEachIndex(queueID uint64, fn func(seq uint64, e IndexEntry) error) (delivered uint64, err error)
	// ReadMessages calls fn with the stored bytes of each message id, in the order
	// given; a missing id is an error. The bytes are valid only during fn.
	ReadMessages(ids []uint64, fn func(id uint64, data []byte) error) error
	// ForEachMessageID calls fn for every stored message id, in order (recovery
	// uses it to find the highest id and messages no queue refers to).
	ForEachMessageID(fn func(id uint64) error) error
	// DropQueue deletes every index entry and the delivered mark of a queue and
	// returns once that is durable. It does not delete the messages: the caller
	// does, for those no other queue holds.
	DropQueue(queueID uint64) error

	// Usage reports the bytes the store occupies on disk.
	Usage() (int64, error)
	// Close waits for submitted batches (their done runs), then closes.
	Close() error
}

// IndexEntry is what a queue's index holds for one seq: the message and what the
// queue must know of it without reading it back.
type IndexEntry struct {
	MsgID uint64
	// Expires is when the message expires in this queue, in Unix milliseconds;
	// 0 means never.
	Expires int64
	// Priority is the message's priority level in a priority queue.
	Priority uint8
	// Size is the message's body octets, for length limits in bytes.
	Size uint32
}

// Batch is a group of message operations applied together. The zero value is
// an empty batch ready to use.
type Batch struct {
	Ops []Op
}

// OpKind says what an Op does.
type OpKind uint8

const (
	OpPutMessage    OpKind = iota + 1 // store Data under MsgID
	OpDeleteMessage                   // delete message MsgID
	OpPutIndex                        // queue QueueID holds MsgID at Seq
	OpDeleteIndex                     // queue QueueID no longer holds Seq
	OpSetDelivered                    // queue QueueID has delivered every seq <= Seq at least once
)

// Op is one operation of a batch.
type Op struct {
	Kind    OpKind
	QueueID uint64
	Seq     uint64
	MsgID   uint64
	Data    []byte // OpPutMessage: the message's bytes (the store may keep the slice until done)
	// OpPutIndex: the rest of the index entry (MsgID is its message).
	Expires  int64
	Priority uint8
	Size     uint32
}

func (b *Batch) PutMessage(id uint64, data []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutMessage, MsgID: id, Data: data})
}
func (b *Batch) DeleteMessage(id uint64) { b.Ops = append(b.Ops, Op{Kind: OpDeleteMessage, MsgID: id}) }

// PutIndex adds an index entry with nothing but its message id.
func (b *Batch) PutIndex(queueID, seq, msgID uint64) {
	b.PutIndexEntry(queueID, seq, IndexEntry{MsgID: msgID})
}
func (b *Batch) PutIndexEntry(queueID, seq uint64, e IndexEntry) {
	b.Ops = append(b.Ops, Op{Kind: OpPutIndex, QueueID: queueID, Seq: seq, MsgID: e.MsgID,
		Expires: e.Expires, Priority: e.Priority, Size: e.Size})
}

// IndexEntry returns the index entry an OpPutIndex writes.
func (op *Op) IndexEntry() IndexEntry {
	return IndexEntry{MsgID: op.MsgID, Expires: op.Expires, Priority: op.Priority, Size: op.Size}
}
func (b *Batch) DeleteIndex(queueID, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteIndex, QueueID: queueID, Seq: seq})
}
func (b *Batch) SetDelivered(queueID, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpSetDelivered, QueueID: queueID, Seq: seq})
}

// Len is the number of operations in the batch.
func (b *Batch) Len() int { return len(b.Ops) }
