package wire

import "fmt"

// FrameOverhead is the number of octets a frame adds to its payload: the
// 7-octet header (type, channel, size) and the frame-end octet.
const FrameOverhead = 8

// ProtocolHeader is the protocol header a client sends first, and the one a
// server answers with when it refuses the client's.
var ProtocolHeader = [8]byte{'A', 'M', 'Q', 'P', 0, 0, 9, 1}

// Frame is one frame as read by FrameReader.
type Frame struct {
	Type    uint8  // FrameMethod, FrameHeader, FrameBody or FrameHeartbeat
	Channel uint16 // 0 for connection-level frames
	Payload []byte // valid only until the next ReadFrame call
}

// FrameError reports a frame that breaks the framing rules: too large for the
// negotiated frame-max, a bad frame-end octet or an unknown frame type. The
// connection answers it with connection.close FRAME_ERROR (501), whose text
// RabbitMQ builds from these fields; the stream cannot be resynchronised after it.
type FrameError struct {
	Type    uint8  // the frame's type octet
	Payload []byte // the payload as far as it was read (none for a frame too large), a copy
	// Reason is RabbitMQ's reason as an Erlang term: "unknown_frame",
	// "{frame_too_large,Size,Max}" (Max is frame-max less the overhead) or
	// "{invalid_frame_end_marker,Octet}".
	Reason string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("amqp frame error: type %d, %d payload octets: %s", e.Type, len(e.Payload), e.Reason)
}
