package wire

import "slices"

// appendFrameHeader appends a frame header whose size endFrame fills in.
func appendFrameHeader(dst []byte, typ uint8, channel uint16) []byte {
	return append(dst, typ, byte(channel>>8), byte(channel), 0, 0, 0, 0)
}

// endFrame sets the size of the frame that starts at dst[start] and appends
// the frame-end octet.
func endFrame(dst []byte, start int) []byte {
	putUint32(dst[start+3:], uint32(len(dst)-start-7))
	return append(dst, FrameEnd)
}

// AppendMethodFrame appends m as a whole method frame (header, payload,
// frame-end) on channel. The interface call makes m escape to the heap; on a
// hot path call the concrete method's AppendFrame instead, which does not.
func AppendMethodFrame(dst []byte, channel uint16, m Method) []byte {
	start := len(dst)
	dst = appendFrameHeader(dst, FrameMethod, channel)
	return endFrame(m.AppendTo(dst), start)
}

// AppendHeaderFrame appends a whole content header frame on channel (see
// AppendContentHeader).
func AppendHeaderFrame(dst []byte, channel uint16, classID uint16, bodySize uint64, p *Properties) []byte {
	start := len(dst)
	dst = appendFrameHeader(dst, FrameHeader, channel)
	return endFrame(AppendContentHeader(dst, classID, bodySize, p), start)
}

// AppendBodyFrames appends body as content body frames on channel, each with
// at most frameMax-FrameOverhead payload octets, where frameMax is the
// negotiated frame-max; 0 or anything below FrameMinSize counts as
// FrameMinSize, as in FrameReader.SetMaxFrameSize. An empty body gives no
// frame.
func AppendBodyFrames(dst []byte, channel uint16, body []byte, frameMax uint32) []byte {
	if len(body) == 0 {
		return dst
	}
	chunk := int(min(uint64(effectiveFrameMax(frameMax))-FrameOverhead, uint64(len(body))))
	frames := (len(body) + chunk - 1) / chunk
	dst = slices.Grow(dst, len(body)+frames*FrameOverhead)
	for len(body) > 0 {
		n := min(chunk, len(body))
		dst = append(dst, FrameBody, byte(channel>>8), byte(channel),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		dst = append(dst, body[:n]...)
		dst = append(dst, FrameEnd)
		body = body[n:]
	}
	return dst
}

// AppendHeartbeatFrame appends a heartbeat frame (channel 0, no payload).
func AppendHeartbeatFrame(dst []byte) []byte {
	return append(dst, FrameHeartbeat, 0, 0, 0, 0, 0, 0, FrameEnd)
}

// effectiveFrameMax is the frame-max in force for a negotiated value n: n itself, but
// at least FrameMinSize, which every peer must accept (so 0, "not negotiated
// yet", means FrameMinSize).
func effectiveFrameMax(n uint32) uint32 {
	return max(n, FrameMinSize)
}

// ContentHeaderPropertiesOffset is where the property flags start in a content
// header payload, after class-id, weight and body-size.
const ContentHeaderPropertiesOffset = 12

// AppendRawHeaderFrame appends a content header frame whose property flags and
// property list are rawProps, as a publisher encoded them (the content header
// payload from ContentHeaderPropertiesOffset on): a broker passes them through
// byte for byte, as RabbitMQ does, keeping the order of header table keys.
func AppendRawHeaderFrame(dst []byte, channel uint16, classID uint16, bodySize uint64, rawProps []byte) []byte {
	start := len(dst)
	dst = appendFrameHeader(dst, FrameHeader, channel)
	dst = appendUint16(dst, classID)
	dst = append(dst, 0, 0) // weight
	dst = appendUint64(dst, bodySize)
	dst = append(dst, rawProps...)
	return endFrame(dst, start)
}
