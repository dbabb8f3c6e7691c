package broker

import (
	"encoding/json"
	"fmt"
	"math"

	"go.uber.org/zap"

	"github.com/warren-mq/warren/amqp/wire"
)

// Definitions are what a RabbitMQ definitions file (rabbitmqctl
// export_definitions, or the file load_definitions names) holds that Warren
// takes at start: policies, exchanges, queues and bindings of the vhost "/".
// Users, permissions, parameters and other vhosts are not Warren's to take yet;
// ParseDefinitions reports them in Ignored.
type Definitions struct {
	Policies  []Policy
	Exchanges []ExchangeDefinition
	Queues    []QueueDefinition
	Bindings  []BindingDefinition
	// Ignored names the sections and entries left out.
	Ignored []string
}

// ExchangeDefinition, QueueDefinition and BindingDefinition are the entries
// of a definitions file.
type ExchangeDefinition struct {
	Name, Vhost, Type             string
	Durable, AutoDelete, Internal bool
	Arguments                     wire.Table
}

type QueueDefinition struct {
	Name, Vhost         string
	Durable, AutoDelete bool
	Arguments           wire.Table
}

type BindingDefinition struct {
	Source, Vhost, Destination, DestinationType, RoutingKey string
	Arguments                                               wire.Table
}

type definitionsJSON struct {
	Policies  []policyJSON `json:"policies"`
	Exchanges []struct {
		Name       string         `json:"name"`
		Vhost      string         `json:"vhost"`
		Type       string         `json:"type"`
		Durable    bool           `json:"durable"`
		AutoDelete bool           `json:"auto_delete"`
		Internal   bool           `json:"internal"`
		Arguments  map[string]any `json:"arguments"`
	} `json:"exchanges"`
	Queues []struct {
		Name       string         `json:"name"`
		Vhost      string         `json:"vhost"`
		Durable    bool           `json:"durable"`
		AutoDelete bool           `json:"auto_delete"`
		Arguments  map[string]any `json:"arguments"`
	} `json:"queues"`
	Bindings []struct {
		Source          string         `json:"source"`
		Vhost           string         `json:"vhost"`
		Destination     string         `json:"destination"`
		DestinationType string         `json:"destination_type"`
		RoutingKey      string         `json:"routing_key"`
		Arguments       map[string]any `json:"arguments"`
	} `json:"bindings"`
	Vhosts []struct {
		Name string `json:"name"`
	} `json:"vhosts"`
	Users       []json.RawMessage `json:"users"`
	Permissions []json.RawMessage `json:"permissions"`
	Parameters  []json.RawMessage `json:"parameters"`
	Global      []json.RawMessage `json:"global_parameters"`
}

// ParseDefinitions reads a RabbitMQ definitions file.
func ParseDefinitions(data []byte) (*Definitions, error) {
	var dj definitionsJSON
	if err := json.Unmarshal(data, &dj); err != nil {
		return nil, fmt.Errorf("definitions: %w", err)
	}
	d := &Definitions{}
	ignore := func(what string) { d.Ignored = append(d.Ignored, what) }
	for _, v := range dj.Vhosts {
		if v.Name != "/" {
			ignore("vhost " + v.Name)
		}
	}
	for _, sec := range []struct {
		name string
		n    int
	}{{"users", len(dj.Users)}, {"permissions", len(dj.Permissions)}, {"parameters", len(dj.Parameters)}, {"global_parameters", len(dj.Global)}} {
		if sec.n > 0 {
			ignore(sec.name)
		}
	}
	for i := range dj.Policies {
		p, err := dj.Policies[i].policy()
		if err != nil {
			return nil, fmt.Errorf("definitions: %w", err)
		}
		if p.Vhost != "/" {
			ignore("policy " + p.Name + " of vhost " + p.Vhost)
			continue
		}
		d.Policies = append(d.Policies, p)
	}
	for _, x := range dj.Exchanges {
		if vhostOf(x.Vhost) != "/" {
			ignore("exchange " + x.Name + " of vhost " + x.Vhost)
			continue
		}
		d.Exchanges = append(d.Exchanges, ExchangeDefinition{Name: x.Name, Vhost: "/", Type: x.Type, Durable: x.Durable,
			AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: jsonTable(x.Arguments)})
	}
	for _, q := range dj.Queues {
		if vhostOf(q.Vhost) != "/" {
			ignore("queue " + q.Name + " of vhost " + q.Vhost)
			continue
		}
		d.Queues = append(d.Queues, QueueDefinition{Name: q.Name, Vhost: "/", Durable: q.Durable,
			AutoDelete: q.AutoDelete, Arguments: jsonTable(q.Arguments)})
	}
	for _, b := range dj.Bindings {
		if vhostOf(b.Vhost) != "/" {
			ignore("binding of vhost " + b.Vhost)
			continue
		}
		if b.DestinationType != "queue" && b.DestinationType != "exchange" {
			return nil, fmt.Errorf("definitions: binding from %q: destination_type must be queue or exchange, not %q", b.Source, b.DestinationType)
		}
		d.Bindings = append(d.Bindings, BindingDefinition{Source: b.Source, Vhost: "/", Destination: b.Destination,
			DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: jsonTable(b.Arguments)})
	}
	return d, nil
}

func vhostOf(v string) string {
	if v == "" {
		return "/"
	}
	return v
}

// jsonTable converts decoded JSON arguments to a field table: whole numbers
// become long integers (as RabbitMQ imports them), other numbers doubles.
func jsonTable(m map[string]any) wire.Table {
	if len(m) == 0 {
		return nil
	}
	t := make(wire.Table, len(m))
	for k, v := range m {
		t[k] = jsonValue(v)
	}
	return t
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case map[string]any:
		return jsonTable(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v // string, bool, nil
}

// declare applies the definitions' exchanges, queues and bindings, as a
// client declaring them would; one that fails (say, inequivalent to what the
// store holds) is logged and skipped, as RabbitMQ does at boot.
func (b *Broker) declare(d *Definitions) {
	v := b.vhosts["/"]
	for _, x := range d.Exchanges {
		if err := v.DeclareExchange(x.Name, x.Type, false, x.Durable, x.AutoDelete, x.Internal, x.Arguments); err != nil {
			b.log.Warn("definitions: exchange not declared", zap.String("exchange", x.Name), zap.String("error", err.Text))
		}
	}
	for _, q := range d.Queues {
		_, err := v.DeclareQueue(QueueDeclaration{Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Args: q.Arguments}, nil)
		if err != nil {
			b.log.Warn("definitions: queue not declared", zap.String("queue", q.Name), zap.String("error", err.Text))
		}
	}
	for _, bd := range d.Bindings {
		var err *wire.Error
		if bd.DestinationType == "exchange" {
			err = v.BindExchange(bd.Destination, bd.Source, bd.RoutingKey, bd.Arguments, false)
		} else {
			err = v.BindQueue(bd.Destination, bd.Source, bd.RoutingKey, bd.Arguments, nil, false)
		}
		if err != nil {
			b.log.Warn("definitions: binding not declared", zap.String("source", bd.Source),
				zap.String("destination", bd.Destination), zap.String("error", err.Text))
		}
	}
}
