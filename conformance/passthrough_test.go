package conformance

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestPublishPropertiesByteForByte pins that a broker passes a message's content
// header properties through byte for byte: header table keys keep the order the
// publisher wrote them in (clients such as Node's amqplib rely on it), rather than
// being decoded and re-encoded.
func TestPublishPropertiesByteForByte(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	q := uniqueName(t)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(q, false, false, true, true, nil))
	c.expectMethod(1, rawQueue, rawQueueDeclareOk)

	// content-type, then a headers table whose keys are not in sorted order, nested too.
	var table rawEncoder
	for _, kv := range []struct{ k, v string }{{"zeta", "1"}, {"alpha", "2"}, {"mid", "3"}} {
		table.shortstr(kv.k)
		table.octet('S')
		table.longstr([]byte(kv.v))
	}
	table.shortstr("nested")
	table.octet('F')
	var inner rawEncoder
	inner.shortstr("y")
	inner.octet('t')
	inner.octet(1)
	inner.shortstr("b")
	inner.octet('t')
	inner.octet(0)
	table.long(uint32(len(inner.b)))
	table.b = append(table.b, inner.b...)
	var props rawEncoder
	props.short(0x8000 | 0x2000) // content-type, headers
	props.shortstr("text/plain")
	props.long(uint32(len(table.b)))
	props.b = append(props.b, table.b...)

	body := []byte("hello")
	header := make([]byte, 12, 12+len(props.b))
	binary.BigEndian.PutUint16(header, rawBasic)
	binary.BigEndian.PutUint64(header[4:], uint64(len(body)))
	header = append(header, props.b...)
	c.sendMethod(1, rawBasic, rawBasicPublish, rawBasicPublishArgs("", q))
	c.sendFrame(rawFrameHeader, 1, header)
	c.sendFrame(rawFrameBody, 1, body)

	c.sendMethod(1, rawBasic, rawBasicGet, rawBasicGetArgs(q))
	c.expectMethod(1, rawBasic, rawBasicGetOk)
	f, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != rawFrameHeader || len(f.Payload) < 12 {
		t.Fatalf("want a content header, got frame type %d", f.Type)
	}
	if got := f.Payload[12:]; !bytes.Equal(got, props.b) {
		t.Fatalf("properties changed in passing\n sent % x\n  got % x", props.b, got)
	}
	if f, err := c.readFrame(); err != nil || f.Type != rawFrameBody || !bytes.Equal(f.Payload, body) {
		t.Fatalf("body frame: %v %+v", err, f)
	}
	c.close()
}

// Method ids the raw client's table does not name.
const (
	ptBasicConsume   = 20
	ptBasicConsumeOk = 21
	ptBasicCancel    = 30
	ptQueueDelete    = 40
	ptQueueDeleteOk  = 41
)

// TestQueueDeleteOkBeforeOwnCancel pins the order of replies when a channel deletes
// a queue it consumes from itself: queue.delete-ok first, then the server's
// basic.cancel for the consumer (py-amqp, under kombu and Celery, fails otherwise).
func TestQueueDeleteOkBeforeOwnCancel(t *testing.T) {
	t.Parallel()
	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	q := uniqueName(t)
	c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs(q, false, false, true, true, nil))
	c.expectMethod(1, rawQueue, rawQueueDeclareOk)

	var consume rawEncoder
	consume.short(0)
	consume.shortstr(q)
	consume.shortstr("ctag")
	consume.bits(false, false, false, false)
	consume.table(nil)
	c.sendMethod(1, rawBasic, ptBasicConsume, consume.b)
	c.expectMethod(1, rawBasic, ptBasicConsumeOk)

	var del rawEncoder
	del.short(0)
	del.shortstr(q)
	del.bits(false, false, false)
	c.sendMethod(1, rawQueue, ptQueueDelete, del.b)
	c.expectMethod(1, rawQueue, ptQueueDeleteOk)
	c.expectMethod(1, rawBasic, ptBasicCancel)
	c.close()
}
