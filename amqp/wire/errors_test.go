package wire

import (
	"strings"
	"testing"
)

func TestErrorf(t *testing.T) {
	e := Errorf(NotFound, "no queue '%s' in vhost '%s'", "q1", "/")
	if e.Text != "NOT_FOUND - no queue 'q1' in vhost '/'" || e.Code != 404 {
		t.Errorf("got %+v", e)
	}
	if e.Hard() {
		t.Error("404 is a soft error")
	}
	e.For(&QueueDeclare{})
	if e.ClassID != 50 || e.MethodID != 10 || !strings.Contains(e.Error(), "class 50, method 10") {
		t.Errorf("For: %+v, %q", e, e.Error())
	}
	cc := e.ConnectionClose()
	if cc.ReplyCode != 404 || cc.ReplyText != e.Text || cc.FailingClassID != 50 || cc.FailingMethodID != 10 {
		t.Errorf("ConnectionClose: %+v", cc)
	}
	ch := Errorf(PreconditionFailed, "x").ChannelClose()
	if ch.ReplyCode != 406 || ch.ReplyText != "PRECONDITION_FAILED - x" {
		t.Errorf("ChannelClose: %+v", ch)
	}
	if got := Errorf(999, "odd %d", 1).Text; got != "odd 1" {
		t.Errorf("unknown code text %q", got)
	}
}

func TestReplyCodes(t *testing.T) {
	for _, tc := range []struct {
		code uint16
		name string
		hard bool
	}{
		{ReplySuccess, "REPLY_SUCCESS", false},
		{ContentTooLarge, "CONTENT_TOO_LARGE", false},
		{NoRoute, "NO_ROUTE", false},
		{NoConsumers, "NO_CONSUMERS", false},
		{ConnectionForced, "CONNECTION_FORCED", true},
		{InvalidPath, "INVALID_PATH", true},
		{AccessRefused, "ACCESS_REFUSED", false},
		{NotFound, "NOT_FOUND", false},
		{ResourceLocked, "RESOURCE_LOCKED", false},
		{PreconditionFailed, "PRECONDITION_FAILED", false},
		{FrameErrorCode, "FRAME_ERROR", true},
		{SyntaxErrorCode, "SYNTAX_ERROR", true},
		{CommandInvalid, "COMMAND_INVALID", true},
		{ChannelError, "CHANNEL_ERROR", true},
		{UnexpectedFrame, "UNEXPECTED_FRAME", true},
		{ResourceError, "RESOURCE_ERROR", true},
		{NotAllowed, "NOT_ALLOWED", true},
		{NotImplemented, "NOT_IMPLEMENTED", true},
		{InternalError, "INTERNAL_ERROR", true},
		{0, "", false},
		{999, "", false},
	} {
		if got := ReplyName(tc.code); got != tc.name {
			t.Errorf("ReplyName(%d) = %q, want %q", tc.code, got, tc.name)
		}
		if got := IsHardError(tc.code); got != tc.hard {
			t.Errorf("IsHardError(%d) = %v, want %v", tc.code, got, tc.hard)
		}
	}
}
