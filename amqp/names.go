package amqp

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
)

// generatedName returns prefix followed by 22 random URL-safe characters, the shape
// of RabbitMQ's server-generated queue names and consumer tags.
func generatedName(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// replyText cuts a reply text to fit a short string the way RabbitMQ does: the
// first 252 octets and "...".
func replyText(s string) string {
	if len(s) <= 255 {
		return s
	}
	return s[:252] + "..."
}

// erlBytes writes b as Erlang's ~w shows a binary: <<0,10,97>>.
func erlBytes(b []byte) string {
	out := make([]byte, 0, 2+4*len(b)+2)
	out = append(out, "<<"...)
	for i, c := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(c), 10)
	}
	return string(append(out, ">>"...))
}

// erlBinary writes b as Erlang's ~p shows a binary: as a string, <<"abc">>, when
// every octet is printable, else as erlBytes does.
func erlBinary(b []byte) string {
	if len(b) == 0 {
		return "<<>>"
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return erlBytes(b)
		}
	}
	s := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(string(b))
	return `<<"` + s + `">>`
}
