package wire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

func TestAppendFrames(t *testing.T) {
	got := AppendMethodFrame(nil, 0x0102, &BasicQosOk{})
	if want := []byte{1, 1, 2, 0, 0, 0, 4, 0, 60, 0, 11, 0xCE}; !bytes.Equal(got, want) {
		t.Errorf("method frame % x, want % x", got, want)
	}
	got = AppendHeaderFrame(nil, 1, ClassBasic, 3, &Properties{Flags: FlagDeliveryMode, DeliveryMode: 1})
	if want := []byte{2, 0, 1, 0, 0, 0, 15, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x10, 0, 1, 0xCE}; !bytes.Equal(got, want) {
		t.Errorf("header frame % x, want % x", got, want)
	}
	if got := AppendHeartbeatFrame([]byte{9}); !bytes.Equal(got, []byte{9, 8, 0, 0, 0, 0, 0, 0, 0xCE}) {
		t.Errorf("heartbeat % x", got)
	}
}

func TestAppendBodyFrames(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000) // 10000 octets
	for _, tc := range []struct {
		frameMax uint32
		sizes    []int
	}{
		{0, []int{4088, 4088, 1824}},    // 0 means FrameMinSize
		{100, []int{4088, 4088, 1824}},  // below the minimum too
		{4096, []int{4088, 4088, 1824}}, //
		{5008, []int{5000, 5000}},       // exact fit
		{131072, []int{10000}},
	} {
		frames := AppendBodyFrames(nil, 5, body, tc.frameMax)
		r := NewFrameReader(bytes.NewReader(frames))
		r.SetMaxFrameSize(tc.frameMax)
		var sizes []int
		var got []byte
		for {
			f, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("frameMax %d: %v", tc.frameMax, err)
			}
			if f.Type != FrameBody || f.Channel != 5 {
				t.Fatalf("frame type %d channel %d", f.Type, f.Channel)
			}
			sizes = append(sizes, len(f.Payload))
			got = append(got, f.Payload...)
		}
		if !equalInts(sizes, tc.sizes) || !bytes.Equal(got, body) {
			t.Errorf("frameMax %d: payload sizes %v, want %v", tc.frameMax, sizes, tc.sizes)
		}
	}
	if got := AppendBodyFrames([]byte{1}, 1, nil, 0); !bytes.Equal(got, []byte{1}) {
		t.Errorf("empty body gave frames: % x", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testStream is a stream of frames of several types and sizes.
func testStream(t *testing.T) ([]byte, []Frame) {
	t.Helper()
	var buf []byte
	buf = append(buf, ProtocolHeader[:]...)
	buf = AppendMethodFrame(buf, 1, &BasicPublish{Exchange: "x", RoutingKey: "k"})
	p := allProperties()
	buf = AppendHeaderFrame(buf, 1, ClassBasic, 9000, &p)
	buf = AppendBodyFrames(buf, 1, bytes.Repeat([]byte{0xAB}, 9000), 8192)
	buf = AppendHeartbeatFrame(buf)
	buf = AppendMethodFrame(buf, 65535, &ChannelCloseOk{})
	r := NewFrameReader(bytes.NewReader(buf))
	r.SetMaxFrameSize(8192)
	if _, err := r.ReadProtocolHeader(); err != nil {
		t.Fatal(err)
	}
	var frames []Frame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Payload = bytes.Clone(f.Payload)
		frames = append(frames, f)
	}
	if len(frames) != 6 {
		t.Fatalf("read %d frames, want 6", len(frames))
	}
	return buf, frames
}

func TestFrameReaderOneByteAtATime(t *testing.T) {
	stream, want := testStream(t)
	for _, wrap := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
		r := NewFrameReaderSize(wrap(bytes.NewReader(stream)), 4096) // smaller than a frame: forces growth
		r.SetMaxFrameSize(8192)
		h, err := r.ReadProtocolHeader()
		if err != nil || h != ProtocolHeader {
			t.Fatalf("protocol header %q, %v", h, err)
		}
		for i, w := range want {
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if f.Type != w.Type || f.Channel != w.Channel || !bytes.Equal(f.Payload, w.Payload) {
				t.Fatalf("frame %d: type %d ch %d len %d; want type %d ch %d len %d",
					i, f.Type, f.Channel, len(f.Payload), w.Type, w.Channel, len(w.Payload))
			}
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Fatalf("after the last frame: %v, want io.EOF", err)
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Fatalf("again after the last frame: %v, want io.EOF", err)
		}
	}
}

// Every cut of the stream inside a frame is io.ErrUnexpectedEOF; every cut
// between frames is io.EOF.
func TestFrameReaderTruncated(t *testing.T) {
	stream, frames := testStream(t)
	boundaries := map[int]bool{8: true}
	at := 8
	for _, f := range frames {
		at += len(f.Payload) + FrameOverhead
		boundaries[at] = true
	}
	for cut := 0; cut < len(stream); cut += 1 + cut/50 {
		r := NewFrameReader(iotest.OneByteReader(bytes.NewReader(stream[:cut])))
		r.SetMaxFrameSize(8192)
		var err error
		if _, err = r.ReadProtocolHeader(); err == nil {
			for err == nil {
				_, err = r.ReadFrame()
			}
		}
		want := io.ErrUnexpectedEOF
		if boundaries[cut] || cut == 0 {
			want = io.EOF
		}
		if err != want {
			t.Fatalf("cut at %d: %v, want %v", cut, err, want)
		}
	}
}

// trickleReader yields its data then fails the test if read further.
type trickleReader struct {
	t    *testing.T
	data []byte
}

func (r *trickleReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		r.t.Error("frame reader read past the frame header of an oversized frame")
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestFrameReaderRefusesOversizedFrameBeforeAllocating(t *testing.T) {
	header := []byte{FrameBody, 0, 1, 0x80, 0, 0, 0} // declares a 2^31-octet payload
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		r := NewFrameReaderSize(&trickleReader{t: t, data: header}, 4096)
		_, err := r.ReadFrame()
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Reason != "{frame_too_large,2147483648,4088}" {
			t.Fatalf("err %v, want *FrameError naming the size", err)
		}
	}
	runtime.ReadMemStats(&after)
	// The reader, its 4 KiB buffer and the error: nothing sized by the frame.
	if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 8<<10 {
		t.Errorf("%d octets allocated refusing an oversized frame", perRun)
	}
}

func TestFrameReaderMaxFrameSize(t *testing.T) {
	frame := func(payload int) []byte {
		return AppendBodyFrames(nil, 1, make([]byte, payload), uint32(payload+FrameOverhead))
	}
	for _, tc := range []struct {
		max     uint32
		payload int
		ok      bool
	}{
		{0, 4088, true}, {0, 4089, false}, // 0 means FrameMinSize
		{10, 4088, true}, // below the minimum means the minimum
		{131072, 131064, true}, {131072, 131065, false},
		{1<<32 - 1, 200000, true},
	} {
		r := NewFrameReader(bytes.NewReader(frame(tc.payload)))
		r.SetMaxFrameSize(tc.max)
		f, err := r.ReadFrame()
		var fe *FrameError
		if tc.ok && (err != nil || len(f.Payload) != tc.payload) {
			t.Errorf("max %d payload %d: %v", tc.max, tc.payload, err)
		}
		if !tc.ok && !errors.As(err, &fe) {
			t.Errorf("max %d payload %d: err %v, want *FrameError", tc.max, tc.payload, err)
		}
	}
	if got := NewFrameReader(nil).MaxFrameSize(); got != FrameMinSize {
		t.Errorf("initial frame-max %d, want %d", got, FrameMinSize)
	}
}

func TestFrameReaderFrameErrors(t *testing.T) {
	good := AppendMethodFrame(nil, 1, &BasicAck{DeliveryTag: 1})
	badEnd := bytes.Clone(good)
	badEnd[len(badEnd)-1] = 0xCD
	unknownType := bytes.Clone(good)
	unknownType[0] = 4
	zeroType := bytes.Clone(good)
	zeroType[0] = 0
	payload := good[7 : len(good)-1]
	for name, tc := range map[string]struct {
		stream []byte
		typ    uint8
		reason string
	}{
		"bad frame-end": {badEnd, FrameMethod, "{invalid_frame_end_marker,205}"},
		"type 4":        {unknownType, 4, "unknown_frame"},
		"type 0":        {zeroType, 0, "unknown_frame"},
	} {
		r := NewFrameReader(bytes.NewReader(tc.stream))
		_, err := r.ReadFrame()
		var fe *FrameError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err %v, want *FrameError", name, err)
			continue
		}
		if fe.Type != tc.typ || fe.Reason != tc.reason || !bytes.Equal(fe.Payload, payload) {
			t.Errorf("%s: got type %d reason %q payload %v, want %d %q %v", name, fe.Type, fe.Reason, fe.Payload, tc.typ, tc.reason, payload)
		}
	}
}

func TestFrameReaderBuffered(t *testing.T) {
	stream := AppendHeartbeatFrame(AppendHeartbeatFrame(nil))
	r := NewFrameReader(bytes.NewReader(stream))
	if r.Buffered() != 0 {
		t.Errorf("Buffered before reading = %d", r.Buffered())
	}
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 8 {
		t.Errorf("Buffered after one of two frames = %d, want 8", r.Buffered())
	}
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 0 {
		t.Errorf("Buffered after both = %d, want 0", r.Buffered())
	}
}

func TestFrameReaderReadErrors(t *testing.T) {
	boom := errors.New("boom")
	r := NewFrameReader(iotest.ErrReader(boom))
	if _, err := r.ReadFrame(); err != boom {
		t.Errorf("err %v, want the reader's error", err)
	}
	r = NewFrameReader(io.MultiReader(bytes.NewReader([]byte{1, 0}), iotest.ErrReader(boom)))
	if _, err := r.ReadFrame(); err != boom {
		t.Errorf("err %v, want the reader's error mid-frame", err)
	}
	r = NewFrameReader(bytes.NewReader([]byte("AMQ")))
	if _, err := r.ReadProtocolHeader(); err != io.ErrUnexpectedEOF {
		t.Errorf("short protocol header: %v", err)
	}
	r = NewFrameReader(bytes.NewReader(nil))
	if _, err := r.ReadProtocolHeader(); err != io.EOF {
		t.Errorf("empty stream protocol header: %v", err)
	}
	r = NewFrameReader(emptyReader{})
	if _, err := r.ReadFrame(); err != io.ErrNoProgress {
		t.Errorf("reader that never progresses: %v", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// The payload is only valid until the next ReadFrame: the reader reuses its
// buffer rather than allocating per frame.
func TestFrameReaderDoesNotAllocatePerFrame(t *testing.T) {
	frame := AppendMethodFrame(nil, 1, &BasicAck{DeliveryTag: 1})
	stream := bytes.Repeat(frame, 2000)
	br := bytes.NewReader(stream)
	r := NewFrameReader(br)
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

// timeoutOnce fails one Read with an error, mid-stream, then goes on.
type timeoutOnce struct {
	r      io.Reader
	reads  int
	failAt int
}

var errTimeout = errors.New("i/o timeout")

func (t *timeoutOnce) Read(p []byte) (int, error) {
	t.reads++
	if t.reads == t.failAt {
		return 0, errTimeout
	}
	return t.r.Read(p)
}

func TestFrameReaderRetriesAfterReadError(t *testing.T) {
	stream, want := testStream(t)
	for failAt := 1; ; failAt++ {
		r := NewFrameReaderSize(&timeoutOnce{r: iotest.HalfReader(bytes.NewReader(stream)), failAt: failAt}, 4096)
		r.SetMaxFrameSize(8192)
		errs := 0
		var err error
		for {
			if _, err = r.ReadProtocolHeader(); err != errTimeout {
				break
			}
			errs++
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(want); {
			f, err := r.ReadFrame()
			if err == errTimeout {
				errs++
				continue
			}
			if err != nil || f.Type != want[i].Type || !bytes.Equal(f.Payload, want[i].Payload) {
				t.Fatalf("fail at read %d: frame %d: %v", failAt, i, err)
			}
			i++
		}
		_, err = r.ReadFrame()
		if err == errTimeout {
			errs++
			_, err = r.ReadFrame()
		}
		if err != io.EOF || errs > 1 {
			t.Fatalf("fail at read %d: end %v, %d errors seen", failAt, err, errs)
		}
		if errs == 0 { // failAt is past the last read
			break
		}
	}
}

func TestFrameReaderFrameBuffered(t *testing.T) {
	one := AppendMethodFrame(nil, 1, &BasicAck{DeliveryTag: 1})
	stream := append(bytes.Clone(one), one[:len(one)-1]...) // a frame and most of another
	r := NewFrameReader(bytes.NewReader(stream))
	if r.FrameBuffered() {
		t.Fatal("FrameBuffered before reading")
	}
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() == 0 || r.FrameBuffered() {
		t.Fatalf("after one frame: Buffered %d, FrameBuffered %v; want a partial frame, not a whole one", r.Buffered(), r.FrameBuffered())
	}
	r = NewFrameReader(bytes.NewReader(append(bytes.Clone(one), one...)))
	r.ReadFrame()
	if !r.FrameBuffered() {
		t.Fatal("a whole second frame is buffered but FrameBuffered is false")
	}
}

func TestAppendRawHeaderFrame(t *testing.T) {
	p := Properties{Flags: FlagHeaders | FlagContentType, ContentType: "text/plain", Headers: Table{"b": int32(1), "a": "x"}}
	want := AppendHeaderFrame(nil, 3, 60, 42, &p)
	payload := AppendContentHeader(nil, 60, 42, &p)
	got := AppendRawHeaderFrame(nil, 3, 60, 42, payload[ContentHeaderPropertiesOffset:])
	if !bytes.Equal(got, want) {
		t.Fatalf("raw header frame\n got %v\nwant %v", got, want)
	}
}
