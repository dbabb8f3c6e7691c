package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultReadBufferSize is the size of a FrameReader's buffer from
// NewFrameReader. The buffer grows to hold a frame larger than it, up to the
// frame-max; it never shrinks.
const DefaultReadBufferSize = 64 << 10

// frameHeaderSize is the frame header: type, channel, payload size.
const frameHeaderSize = 7

// FrameReader reads frames from a stream through a buffer, so that many
// small frames cost one Read. It is not safe for concurrent use.
type FrameReader struct {
	rd       io.Reader
	size     int    // buffer size to allocate on the first read
	buf      []byte // nil until the first read
	r, w     int    // buf[r:w] is read but not yet consumed
	maxFrame uint32 // largest whole frame accepted, FrameOverhead included
	err      error  // error from rd held back while buf[r:w] still served; returned once
}

// NewFrameReader returns a FrameReader of r with a DefaultReadBufferSize
// buffer, allocated on the first read, and a frame-max of FrameMinSize.
func NewFrameReader(r io.Reader) *FrameReader {
	return NewFrameReaderSize(r, DefaultReadBufferSize)
}

// NewFrameReaderSize is NewFrameReader with a buffer of size octets (at
// least 4096).
func NewFrameReaderSize(r io.Reader, size int) *FrameReader {
	return &FrameReader{rd: r, size: max(size, 4096), maxFrame: FrameMinSize}
}

// SetMaxFrameSize sets the negotiated frame-max: the largest whole frame
// (payload + FrameOverhead) ReadFrame accepts. A frame whose header declares
// more is refused with a *FrameError before its payload is read or any
// memory is allocated for it. Values below FrameMinSize, including 0, mean
// FrameMinSize: that is the limit before connection.tune-ok, and every peer
// must accept frames that large. The specification's "0 = no limit" in
// connection.tune is the connection's to translate (e.g. into
// math.MaxUint32); RabbitMQ never negotiates 0 as its own frame_max is
// non-zero.
func (r *FrameReader) SetMaxFrameSize(n uint32) {
	r.maxFrame = effectiveFrameMax(n)
}

// MaxFrameSize returns the frame-max in force (see SetMaxFrameSize).
func (r *FrameReader) MaxFrameSize() uint32 { return r.maxFrame }

// Buffered reports how many octets have been read from the stream but not yet
// returned in a frame. A connection flushes its pending writes before a
// ReadFrame that may block, i.e. when Buffered cannot hold a whole frame.
func (r *FrameReader) Buffered() int { return r.w - r.r }

// FrameBuffered reports whether a whole frame is buffered, so that the next
// ReadFrame returns without reading from the stream. A connection batches its
// replies while it does, and sends them before a ReadFrame that may block.
func (r *FrameReader) FrameBuffered() bool {
	n := r.w - r.r
	if n < frameHeaderSize {
		return false
	}
	size := binary.BigEndian.Uint32(r.buf[r.r+3:])
	return uint64(n) >= uint64(size)+FrameOverhead
}

// ReadProtocolHeader reads exactly 8 octets: the protocol header a client
// sends before any frame. It does not check them (compare with
// ProtocolHeader). A stream that ends before 8 octets gives io.EOF if it
// was empty, else io.ErrUnexpectedEOF.
func (r *FrameReader) ReadProtocolHeader() ([8]byte, error) {
	var h [8]byte
	if err := r.fill(len(h)); err != nil {
		return h, r.eof(err, r.Buffered() > 0)
	}
	copy(h[:], r.buf[r.r:])
	r.r += len(h)
	return h, nil
}

// ReadFrame returns the next frame. Its Payload aliases the reader's buffer
// and is valid only until the next call.
//
// A frame larger than the frame-max (checked before its payload is read), a
// bad frame-end octet or an unknown frame type give a *FrameError, checked in
// that order as RabbitMQ does; the stream cannot be resynchronised after
// one. Errors of the underlying reader are returned as they are, except
// that a stream ending inside a frame gives io.ErrUnexpectedEOF: io.EOF
// means the stream ended cleanly between frames. Such an error loses no
// buffered octets, so after a read deadline, say, ReadFrame can be called
// again and goes on where the stream stopped.
func (r *FrameReader) ReadFrame() (Frame, error) {
	if err := r.fill(frameHeaderSize); err != nil {
		return Frame{}, r.eof(err, r.Buffered() > 0)
	}
	h := r.buf[r.r : r.r+frameHeaderSize]
	typ := h[0]
	channel := binary.BigEndian.Uint16(h[1:])
	size := binary.BigEndian.Uint32(h[3:])
	if uint64(size)+FrameOverhead > uint64(r.maxFrame) {
		return Frame{}, &FrameError{Type: typ,
			Reason: fmt.Sprintf("{frame_too_large,%d,%d}", size, r.maxFrame-FrameOverhead)}
	}
	total := frameHeaderSize + int(size) + 1
	if err := r.fill(total); err != nil {
		return Frame{}, r.eof(err, true)
	}
	f := r.buf[r.r : r.r+total]
	payload := f[frameHeaderSize : total-1 : total-1]
	if end := f[total-1]; end != FrameEnd {
		return Frame{}, &FrameError{Type: typ, Payload: bytes.Clone(payload),
			Reason: fmt.Sprintf("{invalid_frame_end_marker,%d}", end)}
	}
	switch typ {
	case FrameMethod, FrameHeader, FrameBody, FrameHeartbeat:
	default:
		return Frame{}, &FrameError{Type: typ, Payload: bytes.Clone(payload), Reason: "unknown_frame"}
	}
	r.r += total
	return Frame{Type: typ, Channel: channel, Payload: payload}, nil
}

// eof turns io.EOF into io.ErrUnexpectedEOF when it cut a frame short.
func (r *FrameReader) eof(err error, partial bool) error {
	if err == io.EOF && partial {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maxEmptyReads bounds successive (0, nil) reads, as bufio does.
const maxEmptyReads = 100

// fill reads until at least n octets are buffered. It moves buffered octets
// to the front of the buffer, or into a larger one, when the free space after
// them is too small. n is bounded by the frame-max, checked by the caller.
func (r *FrameReader) fill(n int) error {
	if r.w-r.r >= n {
		return nil
	}
	if r.err != nil {
		err := r.err
		r.err = nil
		return err
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	if len(r.buf) < n {
		nb := make([]byte, max(n, r.size, len(r.buf)))
		r.w = copy(nb, r.buf[r.r:r.w])
		r.r = 0
		r.buf = nb
	} else if r.r+n > len(r.buf) {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	for empty := 0; r.w-r.r < n; {
		m, err := r.rd.Read(r.buf[r.w:])
		if m < 0 || m > len(r.buf)-r.w {
			return fmt.Errorf("wire: reader returned invalid count %d", m)
		}
		r.w += m
		if err != nil {
			if r.w-r.r >= n {
				r.err = err // for the next fill that needs to read
				return nil
			}
			return err
		}
		if m > 0 {
			empty = 0
		} else if empty++; empty >= maxEmptyReads {
			return io.ErrNoProgress
		}
	}
	return nil
}
