package exchange

import (
	"slices"
	"strings"
)

// The headers exchange matches a message's headers against each binding's arguments,
// as RabbitMQ 3.10 does:
//
//   - x-match "all" (also when absent or not a recognised longstr) matches when every
//     argument matches; "any" when at least one does. With no argument to match,
//     "all" matches every message and "any" none.
//   - Arguments whose name starts with "x-" are not matched, except by "all-with-x"
//     and "any-with-x"; x-match itself never is.
//   - An argument matches a header of the same name and equal value (see
//     headerValueEqual); an argument of type void matches any header of that name.

// xMatch is a headers binding's x-match mode.
type xMatch uint8

const (
	xMatchAll xMatch = iota
	xMatchAny
	xMatchAllWithX
	xMatchAnyWithX
)

// parseXMatch reads the x-match argument; like RabbitMQ it takes only a longstr (a Go
// string) and falls back to "all" for anything else.
func parseXMatch(v any) xMatch {
	switch v {
	case "any":
		return xMatchAny
	case "all-with-x":
		return xMatchAllWithX
	case "any-with-x":
		return xMatchAnyWithX
	}
	return xMatchAll
}

// headersBinding is a headers-exchange binding's arguments, ready to match.
type headersBinding struct {
	dest *dest
	any  bool
	args []headerArg // sorted by name
	pos  int         // index in headersRouter.bindings
}

type headerArg struct {
	name  string
	value any
	void  bool // matches on the presence of the header alone
}

func newHeadersBinding(args map[string]any, d *dest) *headersBinding {
	mode := parseXMatch(args["x-match"])
	withX := mode == xMatchAllWithX || mode == xMatchAnyWithX
	hb := &headersBinding{dest: d, any: mode == xMatchAny || mode == xMatchAnyWithX}
	for name, v := range args {
		if name == "x-match" || (!withX && strings.HasPrefix(name, "x-")) {
			continue
		}
		hb.args = append(hb.args, headerArg{name: name, value: v, void: v == nil})
	}
	slices.SortFunc(hb.args, func(a, b headerArg) int { return strings.Compare(a.name, b.name) })
	return hb
}

// matches reports whether a message with these headers matches the binding.
func (hb *headersBinding) matches(headers map[string]any) bool {
	for i := range hb.args {
		a := &hb.args[i]
		v, present := headers[a.name]
		ok := present && (a.void || headerValueEqual(a.value, v))
		if ok == hb.any {
			return ok // the first match decides "any", the first mismatch "all"
		}
	}
	return !hb.any
}

// headersRouter evaluates every binding; its bindings are in no particular order.
type headersRouter struct {
	bindings []*headersBinding
}

func (r *headersRouter) bind(en *entry) {
	en.hb.pos = len(r.bindings)
	r.bindings = append(r.bindings, en.hb)
}

func (r *headersRouter) unbind(en *entry) {
	i, last := en.hb.pos, len(r.bindings)-1
	r.bindings[i] = r.bindings[last]
	r.bindings[i].pos = i
	r.bindings[last] = nil
	r.bindings = r.bindings[:last]
}

func (r *headersRouter) collect(sc *scratch, headers map[string]any) {
	for _, hb := range r.bindings {
		if !sc.emitted(hb.dest) && hb.matches(headers) {
			sc.emit(hb.dest)
		}
	}
}
