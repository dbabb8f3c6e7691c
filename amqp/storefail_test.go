package amqp

import (
	"context"
	"errors"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/warren-mq/warren/storage"
)

// TestStoreFailureNacksPublishes: when the store cannot write, a persistent
// publish to a durable queue is nacked, never confirmed; a transient one is still
// acked; a durable declaration fails with 541 INTERNAL_ERROR.
func TestStoreFailureNacksPublishes(t *testing.T) {
	store := storage.NewMemory()
	defer store.Close()
	cfg := DefaultConfig()
	cfg.Store = store
	cfg.DiskFreeLimit, cfg.MemoryHighWatermark = 0, 0
	_, url := startServer(t, cfg)
	conn, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	if _, err := ch.QueueDeclare("dq", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	publish := func(mode uint8) bool {
		t.Helper()
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "dq", false, false,
			amqp091.Publishing{DeliveryMode: mode, Body: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		return dc.Wait()
	}
	if !publish(amqp091.Persistent) {
		t.Fatal("persistent publish nacked while the store works")
	}
	store.FailWrites(errors.New("disk on fire"))
	if publish(amqp091.Persistent) {
		t.Fatal("persistent publish confirmed although the store failed to write it")
	}
	if !publish(amqp091.Transient) {
		t.Fatal("transient publish nacked: it needs no store")
	}
	_, err = ch.QueueDeclare("dq-new", true, false, false, false, nil)
	var ae *amqp091.Error
	if !errors.As(err, &ae) || ae.Code != 541 {
		t.Fatalf("durable declare with a failing store: %v, want 541 INTERNAL_ERROR", err)
	}
}
