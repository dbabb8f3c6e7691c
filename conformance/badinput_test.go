package conformance

// Bad input, sent as raw frames: what a broker does with frames and methods a correct
// client never sends. Each case pins the connection.close reply code, RabbitMQ's text
// and the method it names, and checks that a connection opened alongside is
// unaffected.

import (
	"testing"
)

// connBadInput is one malformed conversation and the connection.close it must earn.
type connBadInput struct {
	name string
	// frameMax, when not zero, is the frame-max the raw connection tunes to.
	frameMax uint32
	// provoke sends the bad input on a freshly opened raw connection.
	provoke func(c *rawConn)
	// code and text are the expected connection.close; text is matched whole.
	code uint16
	text string
	// classID and methodID are the method the close must name.
	classID, methodID uint16
	// desynced means the broker cannot delimit the bad frame, so it may not read the
	// client's close-ok: the test does not wait for it to close the socket.
	desynced bool
	// silentOK means RabbitMQ drops the socket without a connection.close here (its
	// connection process crashes); a broker may instead send the close described by
	// code and text (matched as a prefix).
	silentOK bool
}

// connRun runs each case as a parallel subtest: a healthy amqp091-go connection is
// opened first, the bad input is sent on a raw connection, its close is checked, and
// then the healthy connection must still declare, publish and get.
func connRun(t *testing.T, cases []connBadInput) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			side := dial(t)
			opts := rawOptions{}
			if tc.frameMax != 0 {
				opts.Tune = func(tu rawTune) rawTune { tu.FrameMax = tc.frameMax; return tu }
			}
			c, _ := rawOpen(t, opts)
			tc.provoke(c)
			if tc.silentOK {
				c.expectConnectionEnds(tc.code, tc.text)
			} else {
				var cl rawClose
				if tc.desynced {
					cl = c.expectConnectionCloseNoWait(tc.code, tc.text)
				} else {
					cl = c.expectConnectionClose(tc.code, tc.text)
				}
				if cl.Text != tc.text {
					t.Errorf("close text %q, want %q", cl.Text, tc.text)
				}
				if cl.ClassID != tc.classID || cl.MethodID != tc.methodID {
					t.Errorf("close names method %d.%d, want %d.%d", cl.ClassID, cl.MethodID, tc.classID, tc.methodID)
				}
			}
			connExpectWorks(t, side)
		})
	}
}

// connDeclareArgs is a valid queue.declare of a server-named exclusive queue.
func connDeclareArgs() []byte { return rawQueueDeclareArgs("", false, false, true, true, nil) }

// TestBadInputFrames pins the broker's answer to malformed frames: 501 FRAME_ERROR for
// an unknown frame type, a frame larger than the negotiated frame-max (checked from
// the size field, before the payload is read), a bad frame-end octet, a method frame
// too short for its class and method ids and a heartbeat with a payload; 505
// UNEXPECTED_FRAME for a heartbeat on a channel other than 0. All name no method.
func TestBadInputFrames(t *testing.T) {
	t.Parallel()
	connRun(t, []connBadInput{{
		name:    "unknown frame type",
		provoke: func(c *rawConn) { c.sendFrame(7, 0, []byte{1, 2}) },
		code:    501, text: "FRAME_ERROR - type 7, all octets = <<1,2>>: unknown_frame",
	}, {
		name: "unknown frame type on an open channel",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendFrame(7, 1, []byte{1, 2})
		},
		code: 501, text: "FRAME_ERROR - type 7, all octets = <<1,2>>: unknown_frame",
	}, {
		name: "declared size above frame-max",
		// Only the 7-octet frame header: the broker must refuse it from the size field.
		provoke: func(c *rawConn) { c.write([]byte{rawFrameMethod, 0, 1, 0x7f, 0, 0, 0}) },
		code:    501, text: "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,2130706432,131064}",
		desynced: true,
	}, {
		name: "body frame above frame-max",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawBasic, rawBasicPublish, rawBasicPublishArgs("", "nowhere"))
			c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(200000))
			c.writeTolerant(rawFrameBytes(rawFrameBody, 1, make([]byte, 140000)))
		},
		code: 501, text: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,140000,131064}",
		desynced: true,
	}, {
		name:     "body frame above a frame-max of 4096",
		frameMax: 4096,
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawBasic, rawBasicPublish, rawBasicPublishArgs("", "nowhere"))
			c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(5000))
			c.writeTolerant(rawFrameBytes(rawFrameBody, 1, make([]byte, 5000)))
		},
		code: 501, text: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}",
		desynced: true,
	}, {
		name: "bad frame-end octet",
		provoke: func(c *rawConn) {
			b := rawFrameBytes(rawFrameMethod, 1, rawMethodPayload(rawChannel, rawChannelOpen, rawShortstrArg("")))
			b[len(b)-1] = 0
			c.write(b)
		},
		code: 501, text: "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}",
		desynced: true,
	}, {
		name:    "method frame shorter than its ids",
		provoke: func(c *rawConn) { c.sendFrame(rawFrameMethod, 0, []byte{0, 10}) },
		code:    501, text: "FRAME_ERROR - type 1, all octets = <<0,10>>: unknown_frame",
	}, {
		name: "empty method frame",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendFrame(rawFrameMethod, 1, nil)
		},
		code: 501, text: "FRAME_ERROR - type 1, all octets = <<>>: unknown_frame",
	}, {
		name:    "heartbeat with a payload",
		provoke: func(c *rawConn) { c.sendFrame(rawFrameHeartbeat, 0, []byte{1}) },
		code:    501, text: "FRAME_ERROR - type 8, all octets = <<1>>: unknown_frame",
	}, {
		name: "heartbeat on an open channel",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendFrame(rawFrameHeartbeat, 1, nil)
		},
		code: 505, text: "UNEXPECTED_FRAME - type 8, all octets = <<>>",
	}, {
		name:    "heartbeat on a channel never opened",
		provoke: func(c *rawConn) { c.sendFrame(rawFrameHeartbeat, 1, nil) },
		code:    505, text: "UNEXPECTED_FRAME - type 8, all octets = <<>>",
	}})
}

// TestBadInputArguments pins the answer to method arguments that do not decode:
// truncated or with octets left over, 501 "FRAME_ERROR - cannot decode <<octets>>"
// naming the method. A field table with an unknown type tag, or an unknown class or
// method id, crashes RabbitMQ's connection process: the socket is closed without a
// connection.close (a broker may send 501 FRAME_ERROR, resp. 540 NOT_IMPLEMENTED,
// first).
func TestBadInputArguments(t *testing.T) {
	t.Parallel()
	connRun(t, []connBadInput{{
		name: "truncated arguments",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawQueue, rawQueueDeclare, []byte{0, 0, 5, 'a'})
		},
		code: 501, text: "FRAME_ERROR - cannot decode <<0,0,5,97>>", classID: rawQueue, methodID: rawQueueDeclare,
	}, {
		name:    "no arguments for channel.open",
		provoke: func(c *rawConn) { c.sendMethod(1, rawChannel, rawChannelOpen, nil) },
		code:    501, text: "FRAME_ERROR - cannot decode <<>>", classID: rawChannel, methodID: rawChannelOpen,
	}, {
		name: "octets after the last argument",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawQueue, rawQueueDeclare, append(connDeclareArgs(), 1, 2, 3))
		},
		code: 501, text: "FRAME_ERROR - cannot decode <<0,0,0,12,0,0,0,0,1,2,3>>", classID: rawQueue, methodID: rawQueueDeclare,
	}, {
		name: "unknown field type in a table",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			table := []byte{0, 0, 0, 4, 1, 'a', 'Z', 0} // field "a" of type 'Z'
			c.sendMethod(1, rawQueue, rawQueueDeclare, rawQueueDeclareArgs("", false, false, true, true, table))
		},
		silentOK: true, code: 501, text: "FRAME_ERROR - ",
	}, {
		name: "unknown class",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, 99, 10, nil)
		},
		silentOK: true, code: 540, text: "NOT_IMPLEMENTED - ",
	}, {
		name: "unknown method of a known class",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawQueue, 99, nil)
		},
		silentOK: true, code: 540, text: "NOT_IMPLEMENTED - ",
	}})
}

// TestBadInputContentSequence pins the answer to content frames out of order, all 505
// UNEXPECTED_FRAME: a content header or body with no publish before it (naming no
// method); a body, a method or a header of another class where the publish's content
// header is due, and a method where body is due (naming basic.publish); a body frame
// after the message is complete.
func TestBadInputContentSequence(t *testing.T) {
	t.Parallel()
	publish := func(c *rawConn) {
		c.openChannel(1)
		c.sendMethod(1, rawBasic, rawBasicPublish, rawBasicPublishArgs("", "nowhere"))
	}
	connRun(t, []connBadInput{{
		name: "content header without publish",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(3))
		},
		code: 505, text: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
	}, {
		name: "body without publish",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendFrame(rawFrameBody, 1, []byte("abc"))
		},
		code: 505, text: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
	}, {
		name: "body without content header",
		provoke: func(c *rawConn) {
			publish(c)
			c.sendFrame(rawFrameBody, 1, []byte("abc"))
		},
		code: 505, text: "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
		classID: rawBasic, methodID: rawBasicPublish,
	}, {
		name: "method where the content header is due",
		provoke: func(c *rawConn) {
			publish(c)
			c.sendMethod(1, rawQueue, rawQueueDeclare, connDeclareArgs())
		},
		code: 505, text: "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
		classID: rawBasic, methodID: rawBasicPublish,
	}, {
		name: "content header of another class",
		provoke: func(c *rawConn) {
			publish(c)
			h := rawHeaderPayload(0)
			h[1] = rawQueue
			c.sendFrame(rawFrameHeader, 1, h)
		},
		code: 505, text: "UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead",
		classID: rawBasic, methodID: rawBasicPublish,
	}, {
		name: "method where body is due",
		provoke: func(c *rawConn) {
			publish(c)
			c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(3))
			c.sendMethod(1, rawQueue, rawQueueDeclare, connDeclareArgs())
		},
		code: 505, text: "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
		classID: rawBasic, methodID: rawBasicPublish,
	}, {
		name: "body after the message is complete",
		provoke: func(c *rawConn) {
			publish(c)
			c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(3))
			c.sendFrame(rawFrameBody, 1, []byte("abc"))
			c.sendFrame(rawFrameBody, 1, []byte("d"))
		},
		code: 505, text: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
	}})
}

// TestBadInputBodyLargerThanDeclared pins what happens when body frames carry more
// octets than the content header declared: RabbitMQ raises no error of its own, the
// message is never completed (nothing reaches the queue) and the channel keeps
// waiting for body, so the next method gets 505 "UNEXPECTED_FRAME - expected content
// body, got non content body frame instead" naming basic.publish.
func TestBadInputBodyLargerThanDeclared(t *testing.T) {
	t.Parallel()
	side := dial(t)
	sideCh, err := side.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := uniqueName(t)
	// Exclusive to the side connection; other connections may still publish to it.
	if _, err := sideCh.QueueDeclare(q, false, false, true, false, nil); err != nil {
		t.Fatal(err)
	}

	c, _ := rawOpen(t, rawOptions{})
	c.openChannel(1)
	c.sendMethod(1, rawBasic, rawBasicPublish, rawBasicPublishArgs("", q))
	c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(3))
	c.sendFrame(rawFrameBody, 1, []byte("abcdef"))
	c.sendMethod(1, rawQueue, rawQueueDeclare, connDeclareArgs())
	cl := c.expectConnectionClose(505, "UNEXPECTED_FRAME - expected content body, got non content body frame instead")
	if cl.ClassID != rawBasic || cl.MethodID != rawBasicPublish {
		t.Errorf("close names method %d.%d, want 60.40", cl.ClassID, cl.MethodID)
	}

	// The raw connection is gone, so anything it could have published has been
	// routed by now: the queue must be empty.
	info, err := sideCh.QueueDeclarePassive(q, false, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 0 {
		t.Fatalf("queue holds %d messages, want 0", info.Messages)
	}
	connExpectWorks(t, side)
}

// TestBadInputWrongChannel pins methods on the wrong kind of channel: a connection
// method on channel 1 gets 503 "COMMAND_INVALID - unimplemented method"; a channel or
// queue method on channel 0 gets 504 "CHANNEL_ERROR - unexpected method in
// connection state running". Both name the method.
func TestBadInputWrongChannel(t *testing.T) {
	t.Parallel()
	connRun(t, []connBadInput{{
		name: "connection.close on channel 1",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawConnection, rawConnectionClose, rawCloseArgs(200, "bye", 0, 0))
		},
		code: 503, text: "COMMAND_INVALID - unimplemented method", classID: rawConnection, methodID: rawConnectionClose,
	}, {
		name: "connection.open on channel 1",
		provoke: func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, rawConnection, rawConnectionOpen, []byte{1, '/', 0, 0})
		},
		code: 503, text: "COMMAND_INVALID - unimplemented method", classID: rawConnection, methodID: rawConnectionOpen,
	}, {
		name:    "channel.open on channel 0",
		provoke: func(c *rawConn) { c.sendMethod(0, rawChannel, rawChannelOpen, rawShortstrArg("")) },
		code:    504, text: "CHANNEL_ERROR - unexpected method in connection state running", classID: rawChannel, methodID: rawChannelOpen,
	}, {
		name:    "queue.declare on channel 0",
		provoke: func(c *rawConn) { c.sendMethod(0, rawQueue, rawQueueDeclare, connDeclareArgs()) },
		code:    504, text: "CHANNEL_ERROR - unexpected method in connection state running", classID: rawQueue, methodID: rawQueueDeclare,
	}})
}

// TestBadInputServerMethods pins the answer to methods only a server sends. On
// channel 0 after the handshake (connection.start, tune-ok, open-ok): 504
// "CHANNEL_ERROR - unexpected method in connection state running". On an open channel
// (channel.open-ok, queue.declare-ok, basic.get-empty, and basic.deliver once its
// content header arrives): 503 "COMMAND_INVALID - unimplemented method". channel.close-ok
// on an open channel is answered the same way. basic.deliver carries content, so a
// method right after it gets 505 like any publish would. All name the method.
func TestBadInputServerMethods(t *testing.T) {
	t.Parallel()
	deliverArgs := func() []byte {
		var e rawEncoder
		e.shortstr("ctag")
		e.longlong(1)
		e.bits(false)
		e.shortstr("")
		e.shortstr("q")
		return e.b
	}
	onChannel1 := func(class, method uint16, args []byte) func(c *rawConn) {
		return func(c *rawConn) {
			c.openChannel(1)
			c.sendMethod(1, class, method, args)
		}
	}
	const running = "CHANNEL_ERROR - unexpected method in connection state running"
	const unimplemented = "COMMAND_INVALID - unimplemented method"
	connRun(t, []connBadInput{{
		name: "connection.start",
		provoke: func(c *rawConn) {
			var e rawEncoder
			e.octet(0)
			e.octet(9)
			e.table(nil)
			e.longstr([]byte("PLAIN"))
			e.longstr([]byte("en_US"))
			c.sendMethod(0, rawConnection, rawConnectionStart, e.b)
		},
		code: 504, text: running, classID: rawConnection, methodID: rawConnectionStart,
	}, {
		name: "connection.tune-ok after open",
		provoke: func(c *rawConn) {
			var e rawEncoder
			e.short(2047)
			e.long(131072)
			e.short(0)
			c.sendMethod(0, rawConnection, rawConnectionTuneOk, e.b)
		},
		code: 504, text: running, classID: rawConnection, methodID: rawConnectionTuneOk,
	}, {
		name:    "connection.open-ok",
		provoke: func(c *rawConn) { c.sendMethod(0, rawConnection, rawConnectionOpenOk, []byte{0}) },
		code:    504, text: running, classID: rawConnection, methodID: rawConnectionOpenOk,
	}, {
		name:    "channel.open-ok",
		provoke: onChannel1(rawChannel, rawChannelOpenOk, []byte{0, 0, 0, 0}),
		code:    503, text: unimplemented, classID: rawChannel, methodID: rawChannelOpenOk,
	}, {
		name:    "channel.close-ok on an open channel",
		provoke: onChannel1(rawChannel, rawChannelCloseOk, nil),
		code:    503, text: unimplemented, classID: rawChannel, methodID: rawChannelCloseOk,
	}, {
		name: "queue.declare-ok",
		provoke: func(c *rawConn) {
			var e rawEncoder
			e.shortstr("q")
			e.long(0)
			e.long(0)
			onChannel1(rawQueue, rawQueueDeclareOk, e.b)(c)
		},
		code: 503, text: unimplemented, classID: rawQueue, methodID: rawQueueDeclareOk,
	}, {
		name:    "basic.get-empty",
		provoke: onChannel1(rawBasic, rawBasicGetEmpty, []byte{0}),
		code:    503, text: unimplemented, classID: rawBasic, methodID: rawBasicGetEmpty,
	}, {
		name: "basic.deliver with its content header",
		provoke: func(c *rawConn) {
			onChannel1(rawBasic, rawBasicDeliver, deliverArgs())(c)
			c.sendFrame(rawFrameHeader, 1, rawHeaderPayload(0))
		},
		code: 503, text: unimplemented, classID: rawBasic, methodID: rawBasicDeliver,
	}, {
		name: "basic.deliver then a method",
		provoke: func(c *rawConn) {
			onChannel1(rawBasic, rawBasicDeliver, deliverArgs())(c)
			c.sendMethod(1, rawQueue, rawQueueDeclare, connDeclareArgs())
		},
		code: 505, text: "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
		classID: rawBasic, methodID: rawBasicDeliver,
	}})
}
