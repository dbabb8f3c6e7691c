package codegen

import "fmt"

func renderConstants(p *printer, s *Spec) error {
	p.line("")
	p.line("// Frame types, the frame-end octet and the smallest frame-max a peer must accept.")
	p.line("const (")
	for _, c := range s.Constants {
		if c.Class == "frame" {
			p.line("%s = %d // %s", goConstName(c), c.Value, c.Name)
		}
	}
	p.line(")")

	p.line("")
	p.line("// Reply codes of connection.close, channel.close and basic.return. A soft error")
	p.line("// closes the channel, a hard error the connection (see IsHardError).")
	p.line("const (")
	for _, c := range s.Constants {
		if c.Class == "frame" {
			continue
		}
		if c.Value <= 0 || c.Value > 0xFFFF {
			return fmt.Errorf("reply code %q out of range", c.Name)
		}
		p.line("%s uint16 = %d // %s (%s)", goConstName(c), c.Value, replyName(c.Name), c.Class)
	}
	p.line(")")

	p.line("")
	p.line("// Class ids.")
	p.line("const (")
	for _, c := range s.sortedClasses() {
		p.line("Class%s uint16 = %d // %s: %s", GoName(c.Name), c.ID, c.Name, c.Label)
	}
	p.line(")")

	p.line("")
	p.line("// ReplyName returns RabbitMQ's name for a reply code, e.g. \"NOT_FOUND\" for 404,")
	p.line("// or \"\" for a code the specification does not define.")
	p.line("func ReplyName(code uint16) string {")
	p.line("switch code {")
	for _, c := range s.Constants {
		if c.Class != "frame" {
			p.line("case %s:", goConstName(c))
			p.line("return %q", replyName(c.Name))
		}
	}
	p.line("}")
	p.line("return \"\"")
	p.line("}")

	p.line("")
	p.line("// IsHardError reports whether the code is a hard error in AMQP 0-9-1: one that")
	p.line("// closes the whole connection (connection.close) rather than a channel. It is false")
	p.line("// for soft errors, reply-success and codes the specification does not define.")
	p.line("func IsHardError(code uint16) bool {")
	p.line("switch code {")
	for _, c := range s.Constants {
		if c.Class == "hard-error" {
			p.line("case %s:", goConstName(c))
			p.line("return true")
		}
	}
	p.line("}")
	p.line("return false")
	p.line("}")
	return nil
}
