package conformance

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// wait is how long a test waits for something the broker should do promptly.
const wait = 5 * time.Second

var nameSeq atomic.Uint64

// uniqueName returns a queue or exchange name no other test uses, so tests can run
// against a shared broker that keeps state between runs.
func uniqueName(t testing.TB) string {
	n := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	if len(n) > 150 {
		n = n[:150]
	}
	return fmt.Sprintf("conf.%s.%d.%d", n, time.Now().UnixNano(), nameSeq.Add(1))
}

// dial opens a connection that is closed when the test ends.
func dial(t testing.TB) *amqp.Connection {
	t.Helper()
	c, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatalf("dial %s: %v", brokerURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openChannel dials a connection and opens a channel on it.
func openChannel(t testing.TB) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	c := dial(t)
	ch, err := c.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return c, ch
}

// expectAMQPError asserts that err is an *amqp.Error with the given code and a reason
// that starts with prefix.
func expectAMQPError(t testing.TB, err error, code int, prefix string) {
	t.Helper()
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want AMQP error %d %q, got %v", code, prefix, err)
	}
	if ae.Code != code || !strings.HasPrefix(ae.Reason, prefix) {
		t.Fatalf("want AMQP error %d %q..., got %d %q", code, prefix, ae.Code, ae.Reason)
	}
}

// receive waits for one delivery or fails the test.
func receive(t testing.TB, d <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case m, ok := <-d:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		return m
	case <-time.After(wait):
		t.Fatal("no delivery within", wait)
	}
	return amqp.Delivery{}
}

// eventually polls cond until it is true or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
