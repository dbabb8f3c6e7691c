package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The fuzz targets check that decoding never panics, fails only with the
// documented error types, and that whatever decodes re-encodes to octets
// that decode to the same value and re-encode identically. Seeds live in
// testdata/fuzz/<FuzzName>/ (written by TestWriteFuzzSeeds).

func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewFrameReaderSize(bytes.NewReader(data), 4096)
		r.SetMaxFrameSize(16 << 10)
		consumed := 0
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				var fe *FrameError
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &fe) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				if err == io.EOF && consumed != len(data) {
					t.Fatalf("io.EOF with %d of %d octets consumed", consumed, len(data))
				}
				return
			}
			var enc []byte
			switch fr.Type {
			case FrameBody:
				enc = AppendBodyFrames(nil, fr.Channel, fr.Payload, uint32(len(fr.Payload)+FrameOverhead))
			default:
				enc = append(appendFrameHeader(nil, fr.Type, fr.Channel), fr.Payload...)
				enc = endFrame(enc, 0)
			}
			if len(fr.Payload) > 0 && !bytes.Equal(enc, data[consumed:consumed+len(enc)]) {
				t.Fatalf("frame at %d does not re-encode to its octets", consumed)
			}
			consumed += len(fr.Payload) + FrameOverhead
			switch fr.Type { // the payload decoders must not panic on any frame either
			case FrameMethod:
				_, _ = DecodeMethod(fr.Payload)
			case FrameHeader:
				_, _, _, _ = DecodeContentHeader(fr.Payload)
			}
		}
	})
}

func FuzzDecodeMethod(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := DecodeMethod(payload)
		if err != nil {
			var se *SyntaxError
			var ume *UnknownMethodError
			if !errors.As(err, &se) && !errors.As(err, &ume) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		enc := m.AppendTo(nil)
		m2, err := DecodeMethod(enc)
		if err != nil {
			t.Fatalf("%s re-encoded does not decode: %v", m.Name(), err)
		}
		if !sameValue(reflect.ValueOf(m).Elem(), reflect.ValueOf(m2).Elem()) {
			t.Fatalf("%s: decode(encode(decode(x))) differs\n%#v\n%#v", m.Name(), m, m2)
		}
		if enc2 := m2.AppendTo(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("%s: encoding is not stable", m.Name())
		}
	})
}

func FuzzDecodeContentHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		classID, size, p, err := DecodeContentHeader(payload)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		enc := AppendContentHeader(nil, classID, size, &p)
		classID2, size2, p2, err := DecodeContentHeader(enc)
		if err != nil {
			t.Fatalf("re-encoded header does not decode: %v", err)
		}
		if classID2 != classID || size2 != size || !sameValue(reflect.ValueOf(p), reflect.ValueOf(p2)) {
			t.Fatalf("decode(encode(decode(x))) differs\n%#v\n%#v", p, p2)
		}
		if enc2 := AppendContentHeader(nil, classID2, size2, &p2); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not stable")
		}
	})
}

func FuzzDecodeTable(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, n, err := DecodeTable(b)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if n < 4 || n > len(b) {
			t.Fatalf("consumed %d of %d octets", n, len(b))
		}
		enc := AppendTable(nil, tab)
		tab2, n2, err := DecodeTable(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-encoded table does not decode: n=%d/%d %v", n2, len(enc), err)
		}
		if !sameValue(reflect.ValueOf(tab), reflect.ValueOf(tab2)) {
			t.Fatalf("decode(encode(decode(x))) differs\n%#v\n%#v", tab, tab2)
		}
		if enc2 := AppendTable(nil, tab2); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not stable")
		}
	})
}

// sameValue is reflect.DeepEqual except that floats compare by their bits,
// so a NaN equals itself.
func sameValue(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) ||
			(a.Kind() == reflect.Float32 && math.Float32bits(float32(a.Float())) == math.Float32bits(float32(b.Float())))
	case reflect.Interface, reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
		}
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !sameValue(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// TestWriteFuzzSeeds writes the checked-in seed corpus. It runs only with
// WIRE_WRITE_FUZZ_SEEDS=1; the seeds are valid inputs of every kind, so the
// fuzzer starts from deep inside the decoders.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("WIRE_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set WIRE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	seeds := map[string][][]byte{}
	add := func(name string, b []byte) { seeds[name] = append(seeds[name], bytes.Clone(b)) }

	var stream []byte
	stream = AppendMethodFrame(stream, 1, &BasicPublish{Exchange: "x", RoutingKey: "k"})
	p := allProperties()
	stream = AppendHeaderFrame(stream, 1, ClassBasic, 300, &p)
	stream = AppendBodyFrames(stream, 1, bytes.Repeat([]byte{'b'}, 300), 0)
	stream = AppendHeartbeatFrame(stream)
	stream = AppendMethodFrame(stream, 65535, &ChannelCloseOk{})
	add("FuzzReadFrame", stream)
	add("FuzzReadFrame", AppendHeartbeatFrame(nil))
	add("FuzzReadFrame", []byte{FrameBody, 0, 1, 0x80, 0, 0, 0})
	for _, sm := range specMethods(t) {
		randomize(t, rng, sm.m, sm.fieldTypes)
		payload := sm.m.AppendTo(nil)
		if len(payload) > 2000 { // keep the corpus small: shorten long random strings
			reflect.ValueOf(sm.m).Elem().SetZero()
			payload = sm.m.AppendTo(nil)
		}
		add("FuzzDecodeMethod", payload)
		add("FuzzReadFrame", AppendMethodFrame(nil, 1, sm.m))
	}
	add("FuzzDecodeMethod", (&QueueDeclare{Queue: "q", Arguments: everyTypeTable()}).AppendTo(nil))
	add("FuzzDecodeContentHeader", AppendContentHeader(nil, ClassBasic, 1024, &p))
	add("FuzzDecodeContentHeader", AppendContentHeader(nil, ClassBasic, 0, nil))
	add("FuzzDecodeContentHeader", AppendContentHeader(nil, ClassBasic, 5, &Properties{Flags: FlagDeliveryMode | FlagHeaders,
		DeliveryMode: 2, Headers: Table{"x-delay": int32(5000), "trace": "abc"}}))
	add("FuzzDecodeContentHeader", []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x80, 0x01, 0x00, 0x00, 2, 'h', 'i'})
	add("FuzzDecodeTable", AppendTable(nil, everyTypeTable()))
	add("FuzzDecodeTable", AppendTable(nil, nil))
	add("FuzzDecodeTable", AppendTable(nil, Table{"a": []any{Table{"b": []any{Table{"c": nil}}}}}))
	add("FuzzDecodeTable", AppendTable(nil, randomTable(rng, 3)))

	for name, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, b := range list {
			sum := sha256.Sum256(b)
			file := filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8]))
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
