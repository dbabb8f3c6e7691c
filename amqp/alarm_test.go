package amqp

import (
	"context"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// TestResourceAlarmBlocksPublishers raises the disk alarm by hand: a publishing
// connection gets connection.blocked and its publish waits, consumers on another
// connection keep receiving, and when the alarm clears the publisher gets
// connection.unblocked and its publish goes through.
func TestResourceAlarmBlocksPublishers(t *testing.T) {
	var mu sync.Mutex
	free := uint64(1 << 40)
	cfg := DefaultConfig()
	cfg.ResourceCheckInterval = time.Hour // checks are made by hand below
	cfg.Resources = func() (Resources, error) {
		mu.Lock()
		defer mu.Unlock()
		return Resources{DiskFree: free}, nil
	}
	srv, url := startServer(t, cfg)
	setFree := func(n uint64) {
		mu.Lock()
		free = n
		mu.Unlock()
		srv.checkResources()
	}

	pub, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	defer setFree(1 << 40) // a blocked connection cannot close: unblock first
	blocked := pub.NotifyBlocked(make(chan amqp091.Blocking, 2))
	pch, _ := pub.Channel()
	q, err := pch.QueueDeclare("", false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(body string) error {
		return pch.PublishWithContext(context.Background(), "", q.Name, false, false, amqp091.Publishing{Body: []byte(body)})
	}
	if err := publish("before"); err != nil {
		t.Fatal(err)
	}
	// A round trip on the channel: "before" has been taken before the alarm.
	if _, err := pch.QueueDeclarePassive(q.Name, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}

	setFree(1000)                             // below the 50 MB limit
	if err := publish("during"); err != nil { // written to the socket; the broker holds it
		t.Fatal(err)
	}
	select {
	case b := <-blocked:
		if !b.Active || b.Reason != "low on disk" {
			t.Fatalf("blocked notification %+v", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.blocked")
	}

	con, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	cch, _ := con.Channel()
	msgs, err := cch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		if string(m.Body) != "before" {
			t.Fatalf("consumer got %q first, want %q", m.Body, "before")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("consumer starved while publishers are blocked")
	}

	setFree(1 << 40)
	select {
	case b := <-blocked:
		if b.Active {
			t.Fatalf("want connection.unblocked, got %+v", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection.unblocked")
	}
	select {
	case m := <-msgs:
		if string(m.Body) != "during" {
			t.Fatalf("after unblocking got %q, want %q", m.Body, "during")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held publish never arrived")
	}
}
