package codegen

import "strings"

// wordNames maps spec words whose Go spelling is not just a capital first letter.
var wordNames = map[string]string{
	"id":     "ID",     // class-id, correlation-id, ... follow Go's initialism rule
	"nowait": "NoWait", // confirm.select spells no-wait as one word
}

// GoName converts a spec name ("routing-key", "reserved-1", "get-ok") to an
// exported Go name ("RoutingKey", "Reserved1", "GetOk").
func GoName(spec string) string {
	var b strings.Builder
	for _, w := range strings.Split(spec, "-") {
		if w == "" {
			continue
		}
		if n, ok := wordNames[w]; ok {
			b.WriteString(n)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]))
		b.WriteString(w[1:])
	}
	return b.String()
}

// replyName is RabbitMQ's spelling of a reply code: "not-found" -> "NOT_FOUND".
func replyName(spec string) string {
	return strings.ToUpper(strings.ReplaceAll(spec, "-", "_"))
}

// goConstName is the Go name of a spec constant.
func goConstName(c Constant) string {
	if c.Go != "" {
		return c.Go
	}
	return GoName(c.Name)
}
