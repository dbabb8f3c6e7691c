package broker

import (
	"strings"
	"testing"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/queue"
)

const testDefinitions = `{
  "rabbit_version": "3.10.8",
  "users": [{"name": "guest"}],
  "vhosts": [{"name": "/"}, {"name": "other"}],
  "policies": [
    {"vhost": "/", "name": "ttl", "pattern": "^ttl\\.", "apply-to": "queues", "priority": 1,
     "definition": {"message-ttl": 1000, "max-length": 10, "dead-letter-exchange": "dlx", "ha-mode": "all"}},
    {"vhost": "/", "name": "ttl-low", "pattern": "^ttl\\.", "apply-to": "queues", "priority": 0,
     "definition": {"message-ttl": 5}},
    {"vhost": "/", "name": "ae", "pattern": "^ae$", "apply-to": "exchanges", "definition": {"alternate-exchange": "amq.fanout"}}
  ],
  "exchanges": [{"name": "orders", "vhost": "/", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}],
  "queues": [{"name": "ttl.orders", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {"x-message-ttl": 500, "x-max-length": 20}},
             {"name": "elsewhere", "vhost": "other", "durable": true, "arguments": {}}],
  "bindings": [{"source": "orders", "vhost": "/", "destination": "ttl.orders", "destination_type": "queue", "routing_key": "#", "arguments": {}}]
}`

func TestDefinitionsImport(t *testing.T) {
	d, err := ParseDefinitions([]byte(testDefinitions))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Ignored, ","); got != "vhost other,users,queue elsewhere of vhost other" {
		t.Errorf("ignored %q", got)
	}
	b, err := Open(Config{Definitions: d})
	if err != nil {
		t.Fatal(err)
	}
	v := b.Vhost("/")
	q, werr := v.Queue("ttl.orders", nil)
	if werr != nil {
		t.Fatal(werr)
	}
	s := q.Settings()
	// The highest-priority policy applies; TTL and length take the lower of
	// argument and policy, the DLX comes from the policy.
	if s.MessageTTL != 500 || s.MaxLength != 10 || !s.DeadLetter || s.DeadLetterExchange != "dlx" {
		t.Errorf("settings %+v", s)
	}
	qs, _, werr := v.Route("orders", []string{"a.b"}, nil, nil, nil)
	if werr != nil || len(qs) != 1 || qs[0] != q {
		t.Errorf("binding not imported: %v %v", qs, werr)
	}
	// A policy's alternate exchange applies to an exchange declared later.
	if werr := v.DeclareExchange("ae", "direct", false, false, false, false, nil); werr != nil {
		t.Fatal(werr)
	}
	if ae := v.Exchange("ae").AlternateExchange(); ae != "amq.fanout" {
		t.Errorf("alternate exchange %q", ae)
	}
	// The argument wins over the policy for the DLX.
	nq, werr := v.DeclareQueue(QueueDeclaration{Name: "ttl.x", Args: wire.Table{"x-dead-letter-exchange": "mine"}}, nil)
	if werr != nil || nq.Settings().DeadLetterExchange != "mine" || nq.Settings().MessageTTL != 1000 {
		t.Errorf("ttl.x: %+v %v", nq.Settings(), werr)
	}
	if s := mustQueue(t, v, "plain").Settings(); s != queue.DefaultSettings() {
		t.Errorf("a queue no policy matches has settings %+v", s)
	}
}

func mustQueue(t *testing.T, v *Vhost, name string) *queue.Queue {
	t.Helper()
	q, err := v.DeclareQueue(QueueDeclaration{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestParsePolicyErrors(t *testing.T) {
	for _, bad := range []string{
		`{"name": "p", "pattern": ".*", "definition": {}}`,
		`{"name": "p", "pattern": "(", "definition": {"message-ttl": 1}}`,
		`{"name": "p", "pattern": ".*", "apply-to": "bindings", "definition": {"message-ttl": 1}}`,
		`{"name": "p", "pattern": ".*", "definition": {"message-ttl": -1}}`,
		`{"name": "p", "pattern": ".*", "definition": {"expires": 0}}`,
		`{"name": "p", "pattern": ".*", "definition": {"message-ttl": "10"}}`,
		`{"name": "p", "pattern": ".*", "definition": {"overflow": "drop-tail"}}`,
		`{"name": "p", "pattern": ".*", "definition": {"no-such-key": 1}}`,
		`{"pattern": ".*", "definition": {"message-ttl": 1}}`,
	} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) succeeded", bad)
		}
	}
	p, err := ParsePolicy([]byte(`{"name": "p", "pattern": "^a", "definition": {"max-length-bytes": 100, "overflow": "reject-publish"}}`))
	if err != nil || p.Vhost != "/" || p.ApplyTo != "all" || p.Definition["max-length-bytes"] != int64(100) {
		t.Fatalf("%+v %v", p, err)
	}
}
