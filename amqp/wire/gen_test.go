package wire

import (
	"bytes"
	"os"
	"testing"

	"github.com/warren-mq/warren/amqp/wire/internal/codegen"
)

// loadSpec reads the spec table the generated files come from.
func loadSpec(t testing.TB) *codegen.Spec {
	t.Helper()
	data, err := os.ReadFile("spec/amqp0-9-1.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := codegen.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGeneratedUpToDate fails when a *_gen.go file differs from what the
// generator makes of the spec table: run go generate in amqp/wire.
func TestGeneratedUpToDate(t *testing.T) {
	files, err := codegen.Generate(loadSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("generator produced no files")
	}
	for _, f := range files {
		have, err := os.ReadFile(f.Name)
		if err != nil {
			t.Errorf("%s: %v (run go generate ./amqp/wire)", f.Name, err)
			continue
		}
		if !bytes.Equal(have, f.Source) {
			t.Errorf("%s is stale: run go generate ./amqp/wire", f.Name)
		}
		if !bytes.HasPrefix(have, []byte(codegen.Header+"\n")) {
			t.Errorf("%s does not start with the generated-code header", f.Name)
		}
	}
}

func TestSpecRefusesBadTables(t *testing.T) {
	for name, spec := range map[string]string{
		"unknown key":     `{"classes": [], "bogus": 1}`,
		"unknown domain":  `{"classes": [{"name": "c", "id": 1, "methods": [{"name": "m", "id": 1, "fields": [{"name": "f", "domain": "nope"}]}]}]}`,
		"duplicate id":    `{"classes": [{"name": "c", "id": 1, "methods": [{"name": "m", "id": 1, "fields": []}, {"name": "n", "id": 1, "fields": []}]}]}`,
		"method collides": `{"domains": [{"name": "short", "type": "short"}], "classes": [{"name": "c", "id": 1, "methods": [{"name": "m", "id": 1, "fields": [{"name": "class-id", "domain": "short"}]}]}]}`,
		"bad response":    `{"classes": [{"name": "c", "id": 1, "methods": [{"name": "m", "id": 1, "responses": ["m-ok"], "fields": []}]}]}`,
	} {
		if _, err := codegen.Load([]byte(spec)); err == nil {
			t.Errorf("%s: Load accepted %s", name, spec)
		}
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"routing-key": "RoutingKey", "no-wait": "NoWait", "nowait": "NoWait", "reserved-1": "Reserved1",
		"correlation-id": "CorrelationID", "get-ok": "GetOk", "update-secret-ok": "UpdateSecretOk",
		"virtual-host": "VirtualHost", "type": "Type",
	} {
		if got := codegen.GoName(in); got != want {
			t.Errorf("GoName(%q) = %q, want %q", in, got, want)
		}
	}
}
