package codegen

import "fmt"

// renderProperties generates Properties from the one class that has content
// properties (basic): the struct, the Flag constants and the codec.
func renderProperties(p *printer, s *Spec) error {
	var class *Class
	for i := range s.Classes {
		if len(s.Classes[i].Properties) > 0 {
			if class != nil {
				return fmt.Errorf("classes %s and %s both have properties; Properties can only describe one", class.Name, s.Classes[i].Name)
			}
			class = &s.Classes[i]
		}
	}
	if class == nil {
		return fmt.Errorf("no class has content properties")
	}
	props := class.Properties

	p.line("")
	p.line("// Properties are the content properties of class %s, carried in a content header", class.Name)
	p.line("// frame. Flags holds their presence bits: a property is encoded if and only if its")
	p.line("// Flag bit is set (whatever its value), and the decoder sets the bits of the")
	p.line("// properties it read. Bits that name no property are ignored when encoding.")
	p.line("type Properties struct {")
	p.line("Flags uint16 // presence bits: FlagContentType | FlagHeaders | ...")
	for _, f := range props {
		typ := s.Type(f.Domain)
		if typ == "bit" {
			return fmt.Errorf("property %s: bit properties are not supported", f.Name)
		}
		p.line("%s %s // %s", f.GoName(), goType[typ], fieldComment(s, f))
	}
	p.line("}")

	p.line("")
	p.line("// Presence bits of Properties.Flags, in wire order from the most significant bit.")
	p.line("// Bit 0 of a property-flags word is the continuation bit.")
	p.line("const (")
	var mask uint16
	for i, f := range props {
		bit := uint16(0x8000) >> i
		mask |= bit
		p.line("Flag%s uint16 = %#04x // %s", f.GoName(), bit, f.Name)
	}
	p.line(")")
	p.line("")
	p.line("// propertyFlagsMask holds the presence bits of every property.")
	p.line("const propertyFlagsMask uint16 = %#04x", mask)

	p.line("")
	p.line("// appendProperties appends the property flags and the present properties.")
	p.line("func (p *Properties) appendProperties(dst []byte) []byte {")
	p.line("flags := p.Flags & propertyFlagsMask")
	p.line("dst = appendUint16(dst, flags)")
	for _, f := range props {
		p.line("if flags&Flag%s != 0 {", f.GoName())
		p.line("dst = %s", appendExpr(s.Type(f.Domain), "p."+f.GoName()))
		p.line("}")
	}
	p.line("return dst")
	p.line("}")

	p.line("")
	p.line("// decodeProperties decodes the properties whose bits are set in flags, which")
	p.line("// must hold only bits of propertyFlagsMask.")
	p.line("func (p *Properties) decodeProperties(d *decoder, flags uint16) {")
	p.line("p.Flags = flags")
	for _, f := range props {
		p.line("if flags&Flag%s != 0 {", f.GoName())
		p.line("p.%s = %s", f.GoName(), decodeExpr[s.Type(f.Domain)])
		p.line("}")
	}
	p.line("}")
	return nil
}
