package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warren-mq/warren/amqp/wire"
	"github.com/warren-mq/warren/message"
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

// A message dropped along a chain of full queues, each dead-lettering into the
// next, reaches the end of the chain, however long it is (past the depth at
// which dead-lettering continues on a goroutine of its own).
func TestDeadLetterChain(t *testing.T) {
	b, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	v := b.Vhost("/")
	const n = 3 * maxDeadLetterDepth
	name := func(i int) string { return fmt.Sprintf("chain.%d", i) }
	for i := 0; i < n; i++ {
		args := wire.Table{"x-max-length": int32(0), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name(i + 1)}
		if _, err := v.DeclareQueue(QueueDeclaration{Name: name(i), Args: args}, nil); err != nil {
			t.Fatal(err)
		}
	}
	last := mustQueue(t, v, name(n))
	qs, _, werr := v.Route("", []string{name(0)}, nil, nil, nil)
	if werr != nil {
		t.Fatal(werr)
	}
	b.NewPublisher().Publish(&message.Message{RoutingKey: name(0), Body: []byte("m")}, qs, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := last.Counts(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message did not reach the end of the chain")
		}
		time.Sleep(time.Millisecond)
	}
	d, _, _ := last.Get(true)
	deaths, _ := d.Msg.Props.Headers["x-death"].([]any)
	if len(deaths) != n {
		t.Fatalf("x-death has %d entries, want %d", len(deaths), n)
	}
}

// A remembered route holds only while the definitions are unchanged.
func TestRouteCache(t *testing.T) {
	b, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	v := b.Vhost("/")
	q1 := mustQueue(t, v, "rc.1")
	var c RouteCache
	route := func() []*queue.Queue {
		t.Helper()
		qs, err := v.RouteOne("amq.direct", "k", &c)
		if err != nil {
			t.Fatal(err)
		}
		return qs
	}
	if qs := route(); len(qs) != 0 {
		t.Fatalf("unbound key routed to %v", qs)
	}
	if err := v.BindQueue("rc.1", "amq.direct", "k", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	if qs := route(); len(qs) != 1 || qs[0] != q1 {
		t.Fatalf("after bind: %v", qs)
	}
	if qs := route(); len(qs) != 1 || !c.valid {
		t.Fatalf("second route not from the cache: %v %v", qs, c.valid)
	}
	if _, err := v.DeleteQueue("rc.1", false, false, nil); err != nil {
		t.Fatal(err)
	}
	if qs := route(); len(qs) != 0 {
		t.Fatalf("after delete: %v", qs)
	}
	if _, err := v.RouteOne("no-such-exchange", "k", &c); err == nil || c.valid {
		t.Fatalf("unknown exchange: %v, cache valid %v", err, c.valid)
	}
}
