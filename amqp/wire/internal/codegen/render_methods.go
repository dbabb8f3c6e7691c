package codegen

import (
	"fmt"
	"strings"
)

func renderMethods(p *printer, s *Spec) error {
	classes := s.sortedClasses()
	for _, c := range classes {
		for _, m := range c.Methods {
			renderMethod(p, s, c, m)
		}
	}

	p.line("")
	p.line("// decodeArguments decodes the arguments of the method with the given class and")
	p.line("// method ids from d, or returns nil if the specification has no such method.")
	p.line("func decodeArguments(classID, methodID uint16, d *decoder) Method {")
	p.line("switch uint32(classID)<<16 | uint32(methodID) {")
	for _, c := range classes {
		for _, m := range c.Methods {
			p.line("case %d<<16 | %d: // %s.%s", c.ID, m.ID, c.Name, m.Name)
			p.line("m := new(%s)", structName(c, m))
			p.line("m.decodeArguments(d)")
			p.line("return m")
		}
	}
	p.line("}")
	p.line("return nil")
	p.line("}")
	return nil
}

func structName(c Class, m Method) string { return GoName(c.Name) + GoName(m.Name) }

func renderMethod(p *printer, s *Spec, c Class, m Method) {
	name := structName(c, m)
	full := c.Name + "." + m.Name
	p.line("")
	p.line("// %s is %s (class %d, method %d): %s", name, full, c.ID, m.ID, sentence(m.Label))
	if m.Content {
		p.line("// It carries content: a content header frame and body frames follow it.")
	}
	if len(m.Responses) > 0 {
		rs := make([]string, len(m.Responses))
		for i, r := range m.Responses {
			rs[i] = c.Name + "." + r
		}
		p.line("// It is synchronous: the peer answers with %s.", strings.Join(rs, " or "))
	}
	if len(m.Fields) == 0 {
		p.line("type %s struct{}", name)
	} else {
		p.line("type %s struct {", name)
		for _, f := range m.Fields {
			p.line("%s %s // %s", f.GoName(), goType[s.Type(f.Domain)], fieldComment(s, f))
		}
		p.line("}")
	}

	p.line("")
	p.line("// ClassID returns %d (%s).", c.ID, c.Name)
	p.line("func (*%s) ClassID() uint16 { return Class%s }", name, GoName(c.Name))
	p.line("")
	p.line("// MethodID returns %d.", m.ID)
	p.line("func (*%s) MethodID() uint16 { return %d }", name, m.ID)
	p.line("")
	p.line("// Name returns %q.", full)
	p.line("func (*%s) Name() string { return %q }", name, full)
	p.line("")
	p.line("// HasContent reports %v: %s.", m.Content, map[bool]string{true: "content frames follow this method", false: "no content frames follow this method"}[m.Content])
	p.line("func (*%s) HasContent() bool { return %v }", name, m.Content)

	recv := "m"
	if len(m.Fields) == 0 {
		recv = ""
	}
	p.line("")
	p.line("// AppendTo appends the method frame payload of %s: class id, method id, arguments.", full)
	p.line("func (%s *%s) AppendTo(dst []byte) []byte {", recv, name)
	p.line("dst = append(dst, %d, %d, %d, %d)", c.ID>>8, c.ID&0xFF, m.ID>>8, m.ID&0xFF)
	forEachArgument(s, m.Fields, func(f Field, typ string) {
		p.line("dst = %s", appendExpr(typ, recv+"."+f.GoName()))
	}, func(bits []Field) {
		p.line("dst = append(dst, %s)", bitsExpr(recv, bits))
	})
	p.line("return dst")
	p.line("}")

	p.line("")
	p.line("// AppendFrame appends %s as a whole method frame on channel. It is", full)
	p.line("// AppendMethodFrame without the interface call, so m need not escape to the heap.")
	p.line("func (m *%s) AppendFrame(dst []byte, channel uint16) []byte {", name)
	p.line("start := len(dst)")
	p.line("dst = appendFrameHeader(dst, FrameMethod, channel)")
	p.line("return endFrame(m.AppendTo(dst), start)")
	p.line("}")

	p.line("")
	if len(m.Fields) == 0 {
		p.line("func (*%s) decodeArguments(*decoder) {}", name)
		return
	}
	p.line("func (m *%s) decodeArguments(d *decoder) {", name)
	forEachArgument(s, m.Fields, func(f Field, typ string) {
		p.line("m.%s = %s", f.GoName(), decodeExpr[typ])
	}, func(bits []Field) {
		p.line("{")
		p.line("bits := d.octet()")
		for i, f := range bits {
			p.line("m.%s = bits&%#02x != 0", f.GoName(), 1<<i)
		}
		p.line("}")
	})
	p.line("}")
}

// forEachArgument walks fields in wire order, calling field for each non-bit
// field and bits for each run of up to 8 consecutive bit fields, which share
// one octet (the first bit in the least significant position).
func forEachArgument(s *Spec, fields []Field, field func(Field, string), bits func([]Field)) {
	var run []Field
	flush := func() {
		if len(run) > 0 {
			bits(run)
			run = nil
		}
	}
	for _, f := range fields {
		typ := s.Type(f.Domain)
		if typ != "bit" {
			flush()
			field(f, typ)
			continue
		}
		run = append(run, f)
		if len(run) == 8 {
			flush()
		}
	}
	flush()
}

// bitsExpr packs a run of bit fields into one octet expression.
func bitsExpr(recv string, bits []Field) string {
	parts := make([]string, len(bits))
	for i, f := range bits {
		parts[i] = fmt.Sprintf("bit(%s.%s, %#02x)", recv, f.GoName(), 1<<i)
	}
	return strings.Join(parts, "|")
}
