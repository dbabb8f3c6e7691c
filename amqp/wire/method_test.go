package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// specMethod is one method of the spec table with its zero struct.
type specMethod struct {
	classID, methodID uint16
	name              string
	content           bool
	fieldTypes        map[string]string // Go field name -> primitive type
	m                 Method
}

func specMethods(t testing.TB) []specMethod {
	t.Helper()
	s := loadSpec(t)
	var out []specMethod
	for _, c := range s.Classes {
		for _, sm := range c.Methods {
			m := decodeArguments(uint16(c.ID), uint16(sm.ID), &decoder{})
			if m == nil {
				t.Fatalf("%s.%s: no generated struct", c.Name, sm.Name)
			}
			reflect.ValueOf(m).Elem().SetZero()
			types := map[string]string{}
			for _, f := range sm.Fields {
				types[f.GoName()] = s.Type(f.Domain)
			}
			out = append(out, specMethod{uint16(c.ID), uint16(sm.ID), c.Name + "." + sm.Name, sm.Content, types, m})
		}
	}
	return out
}

// randomize sets every field of the method struct m to a random value that
// survives encoding (short strings at most 255 octets).
func randomize(t testing.TB, rng *rand.Rand, m Method, types map[string]string) {
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch types[name] {
		case "bit":
			f.SetBool(rng.IntN(2) == 1)
		case "octet", "short", "long", "longlong", "timestamp":
			f.SetUint(rng.Uint64())
		case "shortstr":
			f.SetString(randomString(rng, 256))
		case "longstr":
			f.SetString(randomString(rng, 1000))
		case "table":
			f.Set(reflect.ValueOf(randomTable(rng, 2)))
		default:
			t.Fatalf("%s.%s: no spec type", m.Name(), name)
		}
	}
}

func randomString(rng *rand.Rand, maxLen int) string {
	b := make([]byte, rng.IntN(maxLen))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}

// randomTable returns a table with a value of every type (nested to depth).
func randomTable(rng *rand.Rand, depth int) Table {
	if rng.IntN(4) == 0 {
		return nil
	}
	t := Table{
		"bool": rng.IntN(2) == 1, "int8": int8(rng.Uint32()), "uint8": uint8(rng.Uint32()),
		"int16": int16(rng.Uint32()), "uint16": uint16(rng.Uint32()), "int32": int32(rng.Uint32()),
		"uint32": rng.Uint32(), "int64": int64(rng.Uint64()), "float32": rng.Float32(), "float64": rng.Float64(),
		"decimal": Decimal{Scale: uint8(rng.Uint32()), Value: int32(rng.Uint32())},
		"string":  randomString(rng, 40), "bytes": []byte(randomString(rng, 40)),
		"time": time.Unix(rng.Int64N(1<<40), 0).UTC(), "void": nil,
	}
	if depth > 0 {
		if nested := randomTable(rng, depth-1); nested != nil {
			t["table"] = nested
		}
		t["array"] = []any{int64(rng.Uint64()), "s", []any{true, nil}, Table{"k": int32(1)}}
	}
	return t
}

func TestMethodRoundTripEveryMethod(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	methods := specMethods(t)
	if len(methods) != 66 {
		t.Errorf("spec has %d methods, want 66", len(methods))
	}
	for _, sm := range methods {
		if sm.m.ClassID() != sm.classID || sm.m.MethodID() != sm.methodID || sm.m.Name() != sm.name || sm.m.HasContent() != sm.content {
			t.Errorf("%T: ids (%d,%d) name %q content %v; spec says (%d,%d) %q %v", sm.m,
				sm.m.ClassID(), sm.m.MethodID(), sm.m.Name(), sm.m.HasContent(), sm.classID, sm.methodID, sm.name, sm.content)
		}
		for range 20 {
			randomize(t, rng, sm.m, sm.fieldTypes)
			payload := sm.m.AppendTo(nil)
			got, err := DecodeMethod(payload)
			if err != nil {
				t.Fatalf("%s: DecodeMethod: %v", sm.name, err)
			}
			if !reflect.DeepEqual(got, sm.m) {
				t.Fatalf("%s: round trip\n got %#v\nwant %#v", sm.name, got, sm.m)
			}
			if again := got.AppendTo(nil); !bytes.Equal(again, payload) {
				t.Fatalf("%s: re-encoding differs", sm.name)
			}
			// Every strict prefix is truncated.
			for _, n := range []int{4, len(payload) / 2, len(payload) - 1} {
				if n < 4 || n >= len(payload) {
					continue
				}
				var se *SyntaxError
				if _, err := DecodeMethod(payload[:n]); !errors.As(err, &se) {
					t.Fatalf("%s: prefix of %d/%d octets: err %v, want *SyntaxError", sm.name, n, len(payload), err)
				}
			}
			var se *SyntaxError
			if _, err := DecodeMethod(append(payload, 0)); !errors.As(err, &se) || !strings.Contains(se.Reason, "trailing") {
				t.Fatalf("%s: trailing octet: err %v, want *SyntaxError", sm.name, err)
			}
		}
	}
}

func TestAppendFrameMatchesAppendMethodFrame(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sm := range specMethods(t) {
		randomize(t, rng, sm.m, sm.fieldTypes)
		want := AppendMethodFrame([]byte("prefix"), 7, sm.m)
		af := reflect.ValueOf(sm.m).MethodByName("AppendFrame").Interface().(func([]byte, uint16) []byte)
		if got := af([]byte("prefix"), 7); !bytes.Equal(got, want) {
			t.Errorf("%s: AppendFrame differs from AppendMethodFrame", sm.name)
		}
	}
}

// Hand-built payloads, octet by octet from the specification, check the
// field order and bit packing that a round trip alone cannot.
func TestMethodKnownEncodings(t *testing.T) {
	for _, tc := range []struct {
		m    Method
		want []byte
	}{
		{&BasicPublish{Exchange: "ex", RoutingKey: "rk", Mandatory: true},
			[]byte{0, 60, 0, 40, 0, 0, 2, 'e', 'x', 2, 'r', 'k', 0x01}},
		{&BasicPublish{Immediate: true},
			[]byte{0, 60, 0, 40, 0, 0, 0, 0, 0x02}},
		{&BasicDeliver{ConsumerTag: "c", DeliveryTag: 0x0102030405060708, Redelivered: true, Exchange: "", RoutingKey: "q"},
			[]byte{0, 60, 0, 60, 1, 'c', 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0, 1, 'q'}},
		{&QueueDeclare{Queue: "q", Durable: true, AutoDelete: true, NoWait: true},
			[]byte{0, 50, 0, 10, 0, 0, 1, 'q', 0x02 | 0x08 | 0x10, 0, 0, 0, 0}},
		{&ExchangeDeclare{Exchange: "x", Type: "topic", Passive: true, Internal: true, Arguments: Table{"a": int32(1)}},
			[]byte{0, 40, 0, 10, 0, 0, 1, 'x', 5, 't', 'o', 'p', 'i', 'c', 0x01 | 0x08, 0, 0, 0, 7, 1, 'a', 'I', 0, 0, 0, 1}},
		{&BasicNack{DeliveryTag: 9, Multiple: true, Requeue: true},
			[]byte{0, 60, 0, 120, 0, 0, 0, 0, 0, 0, 0, 9, 0x03}},
		{&ExchangeUnbindOk{}, []byte{0, 40, 0, 51}},
		{&AccessRequest{Realm: "/data", Passive: true, Read: true}, []byte{0, 30, 0, 10, 5, '/', 'd', 'a', 't', 'a', 0x02 | 0x10}},
		{&AccessRequestOk{Reserved1: 1}, []byte{0, 30, 0, 11, 0, 1}}, // as RabbitMQ 3.10 answers
		{&ConfirmSelect{NoWait: true}, []byte{0, 85, 0, 10, 1}},
		{&ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
			[]byte{0, 10, 0, 30, 0x07, 0xFF, 0, 2, 0, 0, 0, 60}},
		{&ConnectionClose{ReplyCode: 320, ReplyText: "x", FailingClassID: 50, FailingMethodID: 10},
			[]byte{0, 10, 0, 50, 0x01, 0x40, 1, 'x', 0, 50, 0, 10}},
		{&ConnectionOpen{VirtualHost: "/", Reserved2: true}, []byte{0, 10, 0, 40, 1, '/', 0, 1}},
		{&ChannelOpenOk{}, []byte{0, 20, 0, 11, 0, 0, 0, 0}},
		{&BasicQos{PrefetchSize: 1, PrefetchCount: 2, Global: true}, []byte{0, 60, 0, 10, 0, 0, 0, 1, 0, 2, 1}},
		{&BasicGetOk{DeliveryTag: 1, Exchange: "e", RoutingKey: "r", MessageCount: 3},
			[]byte{0, 60, 0, 71, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'e', 1, 'r', 0, 0, 0, 3}},
	} {
		if got := tc.m.AppendTo(nil); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: AppendTo\n got % x\nwant % x", tc.m.Name(), got, tc.want)
		}
		got, err := DecodeMethod(tc.want)
		if err != nil || !reflect.DeepEqual(got, tc.m) {
			t.Errorf("%s: DecodeMethod = %#v, %v", tc.m.Name(), got, err)
		}
	}
}

func TestDecodeMethodErrors(t *testing.T) {
	var ume *UnknownMethodError
	if _, err := DecodeMethod([]byte{0, 70, 0, 10}); !errors.As(err, &ume) || ume.ClassID != 70 || ume.MethodID != 10 {
		t.Errorf("class 70: err %v, want *UnknownMethodError{70, 10}", err)
	}
	if _, err := DecodeMethod([]byte{0, 60, 0, 41}); !errors.As(err, &ume) {
		t.Errorf("unknown basic method: err %v", err)
	}
	var se *SyntaxError
	for _, p := range [][]byte{nil, {0}, {0, 60, 0}} {
		if _, err := DecodeMethod(p); !errors.As(err, &se) {
			t.Errorf("payload % x: err %v, want *SyntaxError", p, err)
		}
	}
	// A bad table inside the arguments is a syntax error naming the method.
	bad := []byte{0, 50, 0, 10, 0, 0, 1, 'q', 0, 0, 0, 0, 3, 1, 'k', 'Z'}
	if _, err := DecodeMethod(bad); !errors.As(err, &se) || !strings.Contains(se.Reason, "queue.declare") {
		t.Errorf("bad table: err %v", err)
	}
}

// Unused bits of a bit octet are ignored, as RabbitMQ does.
func TestDecodeMethodIgnoresUnusedBits(t *testing.T) {
	m, err := DecodeMethod([]byte{0, 60, 0, 40, 0, 0, 0, 0, 0xFD})
	if err != nil {
		t.Fatal(err)
	}
	if p := m.(*BasicPublish); !p.Mandatory || p.Immediate {
		t.Errorf("got %#v", p)
	}
}

func TestShortstrTruncation(t *testing.T) {
	long := strings.Repeat("a", 254) + "é" + "tail" // 'é' spans octets 254 and 255
	payload := (&BasicConsumeOk{ConsumerTag: long}).AppendTo(nil)
	m, err := DecodeMethod(payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*BasicConsumeOk).ConsumerTag; got != strings.Repeat("a", 254) {
		t.Errorf("cut at %d octets, want 254 (before the split character)", len(got))
	}
	ascii := strings.Repeat("b", 300)
	m, _ = DecodeMethod((&BasicConsumeOk{ConsumerTag: ascii}).AppendTo(nil))
	if got := m.(*BasicConsumeOk).ConsumerTag; got != ascii[:255] {
		t.Errorf("ASCII cut at %d octets, want 255", len(got))
	}
	binary := strings.Repeat("\x80", 300) // not UTF-8: cut at the limit
	m, _ = DecodeMethod((&BasicConsumeOk{ConsumerTag: binary}).AppendTo(nil))
	if got := m.(*BasicConsumeOk).ConsumerTag; len(got) != 255 {
		t.Errorf("binary cut at %d octets, want 255", len(got))
	}
}

func TestDecodedMethodDoesNotAliasPayload(t *testing.T) {
	payload := (&QueueDeclare{Queue: "orders", Arguments: Table{"x-k": "v", "b": []byte("bytes")}}).AppendTo(nil)
	m, err := DecodeMethod(payload)
	if err != nil {
		t.Fatal(err)
	}
	for i := range payload {
		payload[i] = 0xEE
	}
	q := m.(*QueueDeclare)
	if q.Queue != "orders" || q.Arguments["x-k"] != "v" || string(q.Arguments["b"].([]byte)) != "bytes" {
		t.Errorf("decoded method changed with its payload: %#v", q)
	}
}

func TestDecodeBasicPublish(t *testing.T) {
	want := BasicPublish{Exchange: "ex", RoutingKey: "a.b", Mandatory: true}
	payload := want.AppendTo(nil)
	got := BasicPublish{Exchange: "old", Immediate: true}
	if ok, err := DecodeBasicPublish(payload, &got); !ok || err != nil || got != want {
		t.Fatalf("DecodeBasicPublish = %v, %v, %+v", ok, err, got)
	}
	if ok, err := DecodeBasicPublish((&BasicAck{DeliveryTag: 1}).AppendTo(nil), &got); ok || err != nil {
		t.Fatalf("basic.ack taken for basic.publish: %v %v", ok, err)
	}
	if _, err := DecodeBasicPublish(append(payload, 0), &got); err == nil {
		t.Fatal("trailing octet accepted")
	}
	if _, err := DecodeBasicPublish(payload[:len(payload)-2], &got); err == nil {
		t.Fatal("truncated arguments accepted")
	}
}
