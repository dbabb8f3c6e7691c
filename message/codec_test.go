package message

import (
	"bytes"
	"testing"

	"github.com/warren-mq/warren/amqp/wire"
)

func TestEncodeDecode(t *testing.T) {
	m := &Message{Exchange: "ex", RoutingKey: "a.b", Body: []byte("hello"), Props: wire.Properties{
		Flags:        wire.FlagDeliveryMode | wire.FlagHeaders | wire.FlagMessageID,
		DeliveryMode: 2, MessageID: "m1", Headers: wire.Table{"n": int64(7), "s": "x"},
	}}
	b := m.Encode(nil)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Exchange != "ex" || got.RoutingKey != "a.b" || !bytes.Equal(got.Body, m.Body) ||
		got.Props.MessageID != "m1" || got.Props.Headers["n"] != int64(7) || !got.Persistent() {
		t.Fatalf("round trip: %+v", got)
	}
	// Raw properties survive byte for byte.
	got.Body = []byte("again")
	again, err := Decode(got.Encode(nil))
	if err != nil || !bytes.Equal(again.RawProps, got.RawProps) || string(again.Body) != "again" {
		t.Fatalf("raw round trip: %v %+v", err, again)
	}
	for i := 0; i < len(b); i++ {
		if _, err := Decode(b[:i]); err == nil {
			t.Fatalf("truncated to %d octets decoded", i)
		}
	}
}

func TestRefs(t *testing.T) {
	m := &Message{}
	m.Ref()
	m.Ref()
	if m.Unref() {
		t.Fatal("last ref reported early")
	}
	if !m.Unref() {
		t.Fatal("last ref not reported")
	}
}
