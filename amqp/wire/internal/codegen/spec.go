// Package codegen turns the AMQP 0-9-1 spec table (amqp/wire/spec/amqp0-9-1.json)
// into the generated Go files of package wire. It is a library so that the wire
// package's tests can run it in-process and fail when a generated file is stale;
// the go:generate entry point is amqp/wire/internal/gen.
package codegen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Spec is the whole spec table.
type Spec struct {
	Comment   string     `json:"comment"`
	Major     int        `json:"major"`
	Minor     int        `json:"minor"`
	Revision  int        `json:"revision"`
	Port      int        `json:"port"`
	Constants []Constant `json:"constants"`
	Domains   []Domain   `json:"domains"`
	Classes   []Class    `json:"classes"`

	domainType map[string]string
}

// Constant is a named protocol constant. Class is "frame" (frame types and
// sizes), "reply" (reply-success), "soft-error" or "hard-error" (reply codes).
// Go overrides the Go name derived from Name.
type Constant struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
	Class string `json:"class"`
	Go    string `json:"go,omitempty"`
}

// Domain names a field type; Type is one of the primitive AMQP types.
type Domain struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Class is an AMQP class: its id, its methods and (for basic) its content
// properties, in wire order.
type Class struct {
	Name       string   `json:"name"`
	ID         int      `json:"id"`
	Label      string   `json:"label"`
	Properties []Field  `json:"properties,omitempty"`
	Methods    []Method `json:"methods"`
}

// Method is one method of a class. Content is true for methods followed by a
// content header and body frames. Responses names the methods that answer a
// synchronous request.
type Method struct {
	Name      string   `json:"name"`
	ID        int      `json:"id"`
	Label     string   `json:"label"`
	Content   bool     `json:"content,omitempty"`
	Responses []string `json:"responses,omitempty"`
	Fields    []Field  `json:"fields"`
}

// Field is a method argument or content property, typed by a domain. Go
// overrides the Go name derived from Name; the table uses it where that name
// would collide with a method of the generated struct (connection.close's
// class-id is FailingClassID, since ClassID() is the method's own class).
type Field struct {
	Name   string `json:"name"`
	Domain string `json:"domain"`
	Label  string `json:"label,omitempty"`
	Go     string `json:"go,omitempty"`
}

// GoName is the field's Go name.
func (f Field) GoName() string {
	if f.Go != "" {
		return f.Go
	}
	return GoName(f.Name)
}

// structMethods are the methods of every generated method struct; no field
// may take their names.
var structMethods = []string{"ClassID", "MethodID", "Name", "HasContent", "AppendTo", "AppendFrame"}

// primitiveTypes are the AMQP 0-9-1 argument types the codec implements.
var primitiveTypes = []string{"bit", "octet", "short", "long", "longlong", "shortstr", "longstr", "timestamp", "table"}

// Load parses and validates a spec table. Unknown JSON keys are refused so a
// typo in the table cannot silently drop information.
func Load(data []byte) (*Spec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return &s, nil
}

// Type returns the primitive type of a domain.
func (s *Spec) Type(domain string) string { return s.domainType[domain] }

func (s *Spec) validate() error {
	s.domainType = make(map[string]string, len(s.Domains))
	for _, d := range s.Domains {
		if !slices.Contains(primitiveTypes, d.Type) {
			return fmt.Errorf("domain %q: unknown type %q", d.Name, d.Type)
		}
		if _, dup := s.domainType[d.Name]; dup {
			return fmt.Errorf("domain %q declared twice", d.Name)
		}
		s.domainType[d.Name] = d.Type
	}
	constNames := map[string]bool{}
	for _, c := range s.Constants {
		switch c.Class {
		case "frame", "reply", "soft-error", "hard-error":
		default:
			return fmt.Errorf("constant %q: unknown class %q", c.Name, c.Class)
		}
		if constNames[c.Name] {
			return fmt.Errorf("constant %q declared twice", c.Name)
		}
		constNames[c.Name] = true
	}
	classIDs := map[int]bool{}
	classNames := map[string]bool{}
	for _, c := range s.Classes {
		if c.ID <= 0 || c.ID > 0xFFFF || classIDs[c.ID] || classNames[c.Name] {
			return fmt.Errorf("class %q: bad or duplicate id %d or name", c.Name, c.ID)
		}
		classIDs[c.ID], classNames[c.Name] = true, true
		if err := s.checkFields("class "+c.Name+" properties", c.Properties); err != nil {
			return err
		}
		if len(c.Properties) > 15 {
			return fmt.Errorf("class %q: %d properties do not fit one property-flags word", c.Name, len(c.Properties))
		}
		methodIDs := map[int]bool{}
		methodNames := map[string]bool{}
		for _, m := range c.Methods {
			if m.ID <= 0 || m.ID > 0xFFFF || methodIDs[m.ID] || methodNames[m.Name] {
				return fmt.Errorf("method %s.%s: bad or duplicate id %d or name", c.Name, m.Name, m.ID)
			}
			methodIDs[m.ID], methodNames[m.Name] = true, true
			if err := s.checkFields("method "+c.Name+"."+m.Name, m.Fields); err != nil {
				return err
			}
		}
		for _, m := range c.Methods {
			for _, r := range m.Responses {
				if !methodNames[r] {
					return fmt.Errorf("method %s.%s: unknown response %q", c.Name, m.Name, r)
				}
			}
		}
	}
	return nil
}

func (s *Spec) checkFields(where string, fields []Field) error {
	names := map[string]bool{}
	for _, f := range fields {
		if _, ok := s.domainType[f.Domain]; !ok {
			return fmt.Errorf("%s: field %q has unknown domain %q", where, f.Name, f.Domain)
		}
		if names[f.GoName()] {
			return fmt.Errorf("%s: field %q declared twice", where, f.Name)
		}
		if slices.Contains(structMethods, f.GoName()) {
			return fmt.Errorf("%s: field %q would be Go field %s, which is a method name; set \"go\"", where, f.Name, f.GoName())
		}
		names[f.GoName()] = true
	}
	return nil
}

// sortedClasses returns the classes ordered by id, each with its methods
// ordered by id, so the output does not depend on the table's layout.
func (s *Spec) sortedClasses() []Class {
	classes := slices.Clone(s.Classes)
	slices.SortFunc(classes, func(a, b Class) int { return a.ID - b.ID })
	for i := range classes {
		classes[i].Methods = slices.Clone(classes[i].Methods)
		slices.SortFunc(classes[i].Methods, func(a, b Method) int { return a.ID - b.ID })
	}
	return classes
}
