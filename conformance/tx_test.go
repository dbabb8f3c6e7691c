package conformance

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// msgTx puts ch in transactional mode.
func msgTx(t testing.TB, ch *amqp.Channel) {
	t.Helper()
	if err := ch.Tx(); err != nil {
		t.Fatalf("tx.select: %v", err)
	}
}

// TestTxPublishOnCommit pins that publishes in a transaction are invisible until
// tx.commit and in the queue right after it, and that the channel stays transactional
// for the next transaction (tx.select again is accepted).
func TestTxPublishOnCommit(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgTx(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)
	msgExpectEmpty(t, ch, q)
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "1", "2", "3") {
		t.Fatalf("after commit: %v", got)
	}
	msgTx(t, ch)
	msgPublish(t, ch, "", q, "4")
	msgExpectEmpty(t, ch, q)
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "4") {
		t.Fatalf("after second commit: %v", got)
	}
}

// TestTxRollbackDropsPublishes pins that tx.rollback drops the transaction's publishes
// and that the next transaction starts empty.
func TestTxRollbackDropsPublishes(t *testing.T) {
	t.Parallel()
	_, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgTx(t, ch)
	msgPublishRange(t, ch, "", q, 1, 2)
	if err := ch.TxRollback(); err != nil {
		t.Fatal(err)
	}
	msgPublish(t, ch, "", q, "3")
	if err := ch.TxCommit(); err != nil {
		t.Fatal(err)
	}
	if got := msgDrain(t, ch, q); !msgSame(got, "3") {
		t.Fatalf("after rollback and commit: %v, want [3]", got)
	}
}

// TestTxAckOnCommit pins that acks in a transaction take effect only at tx.commit: a
// channel closed before commit requeues the acked messages, one closed after does not.
func TestTxAckOnCommit(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)

	txCh := msgChannel(t, c)
	msgTx(t, txCh)
	ms := msgGetN(t, txCh, q, 2)
	for _, m := range ms {
		if err := m.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	if got := msgCloseAndDrain(t, c, txCh, q, 3); !msgSame(got, "1*", "2*", "3") {
		t.Fatalf("after acks without commit and close: %v, want [1* 2* 3]", got)
	}

	msgPublishRange(t, ch, "", q, 4, 6)
	txCh = msgChannel(t, c)
	msgTx(t, txCh)
	ms = msgGetN(t, txCh, q, 3)
	ms[0].Ack(false)
	ms[1].Ack(false)
	if err := txCh.TxCommit(); err != nil {
		t.Fatal(err)
	}
	if got := msgCloseAndDrain(t, c, txCh, q, 1); !msgSame(got, "6*") {
		t.Fatalf("after committed acks and close: %v, want [6*]", got)
	}
}

// TestTxRollbackUndoesAcks pins that tx.rollback undoes the transaction's acks: the
// messages are unacked again (not requeued), so they can be acked again and committed.
func TestTxRollbackUndoesAcks(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	q := msgDeclareQueue(t, ch)
	msgPublishRange(t, ch, "", q, 1, 3)
	txCh := msgChannel(t, c)
	msgTx(t, txCh)
	ms := msgGetN(t, txCh, q, 3)
	for _, m := range ms {
		m.Ack(false)
	}
	if err := txCh.TxRollback(); err != nil {
		t.Fatal(err)
	}
	msgExpectEmpty(t, txCh, q)
	ms[0].Ack(false)
	ms[1].Ack(false)
	if err := txCh.TxCommit(); err != nil {
		t.Fatal(err)
	}
	if got := msgCloseAndDrain(t, c, txCh, q, 1); !msgSame(got, "3*") {
		t.Fatalf("after rollback, re-ack of 1 and 2, commit and close: %v, want [3*]", got)
	}
}

// TestTxNotTransactional pins that tx.commit and tx.rollback on a channel without
// tx.select are a 406 PRECONDITION_FAILED channel close.
func TestTxNotTransactional(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	err := ch.TxCommit()
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - channel is not transactional")
	err = msgChannel(t, c).TxRollback()
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - channel is not transactional")
}

// TestTxConfirmExclusive pins that a channel cannot be both transactional and in
// confirm mode: each switch is a 406 PRECONDITION_FAILED channel close.
func TestTxConfirmExclusive(t *testing.T) {
	t.Parallel()
	c, ch := openChannel(t)
	msgTx(t, ch)
	err := ch.Confirm(false)
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")
	ch = msgChannel(t, c)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	err = ch.Tx()
	expectAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")
}
