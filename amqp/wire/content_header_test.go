package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func allProperties() Properties {
	return Properties{
		Flags: FlagContentType | FlagContentEncoding | FlagHeaders | FlagDeliveryMode | FlagPriority |
			FlagCorrelationID | FlagReplyTo | FlagExpiration | FlagMessageID | FlagTimestamp | FlagType |
			FlagUserID | FlagAppID | FlagClusterID,
		ContentType: "application/json", ContentEncoding: "gzip", Headers: everyTypeTable(),
		DeliveryMode: 2, Priority: 9, CorrelationID: "corr", ReplyTo: "reply.queue",
		Expiration: "60000", MessageID: "m-1", Timestamp: 1700000000, Type: "order.created",
		UserID: "guest", AppID: "warren", ClusterID: "c",
	}
}

func TestContentHeaderRoundTripAllFlags(t *testing.T) {
	p := allProperties()
	if p.Flags != propertyFlagsMask {
		t.Fatalf("allProperties sets flags %#04x, want every property %#04x", p.Flags, propertyFlagsMask)
	}
	payload := AppendContentHeader(nil, ClassBasic, 1<<40, &p)
	classID, size, got, err := DecodeContentHeader(payload)
	if err != nil {
		t.Fatal(err)
	}
	if classID != ClassBasic || size != 1<<40 || !reflect.DeepEqual(got, p) {
		t.Errorf("got class %d size %d %#v", classID, size, got)
	}
	if again := AppendContentHeader(nil, classID, size, &got); !bytes.Equal(again, payload) {
		t.Error("re-encoding differs")
	}
}

func TestContentHeaderEachFlagAlone(t *testing.T) {
	all := allProperties()
	for bit := uint16(0x8000); bit >= 0x0004; bit >>= 1 {
		p := all
		p.Flags = bit
		_, _, got, err := DecodeContentHeader(AppendContentHeader(nil, ClassBasic, 0, &p))
		if err != nil {
			t.Fatalf("flag %#04x: %v", bit, err)
		}
		if got.Flags != bit {
			t.Errorf("flag %#04x: decoded flags %#04x", bit, got.Flags)
		}
		// Only the flagged property comes back; the others stay zero.
		want := Properties{Flags: bit}
		wv, av := reflect.ValueOf(&want).Elem(), reflect.ValueOf(all)
		gv := reflect.ValueOf(got)
		for i := 1; i < wv.NumField(); i++ {
			if !gv.Field(i).IsZero() {
				wv.Field(i).Set(av.Field(i))
			}
		}
		if !reflect.DeepEqual(got, want) || countSet(gv) != 2 {
			t.Errorf("flag %#04x: got %#v", bit, got)
		}
	}
}

func countSet(v reflect.Value) int {
	n := 0
	for i := range v.NumField() {
		if !v.Field(i).IsZero() {
			n++
		}
	}
	return n
}

// A property without its flag is not encoded; flag bits that name no
// property are dropped.
func TestContentHeaderFlagsDecidePresence(t *testing.T) {
	p := Properties{Flags: FlagDeliveryMode | 0x0003, DeliveryMode: 2, ContentType: "text/plain"}
	payload := AppendContentHeader(nil, ClassBasic, 5, &p)
	want := []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0x10, 0x00, 2}
	if !bytes.Equal(payload, want) {
		t.Errorf("got % x\nwant % x", payload, want)
	}
	if got := AppendContentHeader(nil, ClassBasic, 0, nil); !bytes.Equal(got, []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("nil properties: % x", got)
	}
}

func TestContentHeaderContinuationFlags(t *testing.T) {
	// content-type present, continuation bit set, then an empty second flags
	// word (continuation set again) and an empty third one.
	payload := []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 2, 'h', 'i'}
	_, size, p, err := DecodeContentHeader(payload)
	if err != nil {
		t.Fatal(err)
	}
	if size != 3 || p.Flags != FlagContentType || p.ContentType != "hi" {
		t.Errorf("got size %d %#v", size, p)
	}
	// Bit 1 names no property: ignored, as RabbitMQ does.
	if _, _, p, err := DecodeContentHeader([]byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x02, 1}); err != nil ||
		p.Flags != FlagDeliveryMode || p.DeliveryMode != 1 {
		t.Errorf("flags with bit 1: %+v, %v", p, err)
	}
	var se *SyntaxError
	for name, b := range map[string][]byte{
		"second word names a property": {0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x80, 0x00},
		"missing continuation word":    {0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01},
	} {
		if _, _, _, err := DecodeContentHeader(b); !errors.As(err, &se) {
			t.Errorf("%s: err %v, want *SyntaxError", name, err)
		}
	}
}

func TestContentHeaderErrors(t *testing.T) {
	p := allProperties()
	payload := AppendContentHeader(nil, ClassBasic, 10, &p)
	var se *SyntaxError
	for n := range len(payload) {
		if _, _, _, err := DecodeContentHeader(payload[:n]); !errors.As(err, &se) {
			t.Fatalf("prefix of %d/%d octets: err %v, want *SyntaxError", n, len(payload), err)
		}
	}
	if _, _, _, err := DecodeContentHeader(append(payload, 0)); !errors.As(err, &se) {
		t.Errorf("trailing octet: err %v, want *SyntaxError", err)
	}
}
