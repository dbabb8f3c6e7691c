package amqp

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
)

// recordWriter returns a writer whose frames can be read back, and a function
// that stops it and returns the methods it wrote.
func recordWriter(t *testing.T) (*writer, func() []wire.Method) {
	client, server := net.Pipe()
	w := newWriter(server)
	go w.run()
	got := make(chan []wire.Method, 1)
	go func() {
		var ms []wire.Method
		r := wire.NewFrameReader(client)
		for {
			f, err := r.ReadFrame()
			if err != nil {
				got <- ms
				return
			}
			m, err := wire.DecodeMethod(f.Payload)
			if err != nil {
				t.Error(err)
			}
			ms = append(ms, m)
		}
	}()
	return w, func() []wire.Method {
		w.stop(time.Second)
		server.Close()
		return <-got
	}
}

func TestConfirmsInOrderRuns(t *testing.T) {
	w, done := recordWriter(t)
	c := newConfirms()
	t1 := c.add(confirmPending) // persistent
	c.add(confirmAck)           // transient, waits behind t1
	t3 := c.add(confirmPending)
	c.flush(w, 1) // nothing is complete at the front yet
	c.complete(t1, true)
	c.complete(t3, false)
	c.add(confirmAck)
	c.add(confirmAck)
	c.flush(w, 1)
	ms := done()
	want := []wire.Method{
		&wire.BasicAck{DeliveryTag: 2, Multiple: true},
		&wire.BasicNack{DeliveryTag: 3},
		&wire.BasicAck{DeliveryTag: 5, Multiple: true},
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d methods %+v, want %+v", len(ms), ms, want)
	}
	for i := range want {
		if fmt.Sprintf("%T%+v", ms[i], ms[i]) != fmt.Sprintf("%T%+v", want[i], want[i]) {
			t.Errorf("method %d = %T%+v, want %T%+v", i, ms[i], ms[i], want[i], want[i])
		}
	}
}
