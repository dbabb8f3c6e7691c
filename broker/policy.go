package broker

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
)

// Policy is a RabbitMQ policy: settings for the queues and/or exchanges of a
// vhost whose names match Pattern. Of the policies that match a name, the one
// of highest Priority applies (one policy at a time, as in RabbitMQ).
type Policy struct {
	Name     string
	Vhost    string
	Pattern  string
	ApplyTo  string // "queues", "exchanges" or "all"
	Priority int
	// Definition holds the settings, decoded: integers as int64, strings.
	Definition map[string]any

	re *regexp.Regexp
}

// policyKeys are the definition keys Warren applies, with their kind, and
// what each applies to.
var policyKeys = map[string]struct {
	kind    string // "int>=0", "int>0", "string", "overflow"
	applies string // "queues" or "exchanges"
}{
	"message-ttl":             {"int>=0", "queues"},
	"expires":                 {"int>0", "queues"},
	"max-length":              {"int>=0", "queues"},
	"max-length-bytes":        {"int>=0", "queues"},
	"dead-letter-exchange":    {"string", "queues"},
	"dead-letter-routing-key": {"string", "queues"},
	"overflow":                {"overflow", "queues"},
	"alternate-exchange":      {"string", "exchanges"},
}

// ignoredPolicyKeys are RabbitMQ policy keys Warren accepts and does not act on
// (mirroring, federation, queue modes and the like).
var ignoredPolicyKeys = []string{
	"ha-mode", "ha-params", "ha-sync-mode", "ha-promote-on-shutdown", "ha-promote-on-failure",
	"ha-sync-batch-size", "queue-mode", "queue-master-locator", "queue-leader-locator",
	"federation-upstream", "federation-upstream-set", "delivery-limit", "max-in-memory-length",
	"max-in-memory-bytes", "max-age", "stream-max-segment-size-bytes", "initial-cluster-size",
}

// policyJSON is a policy as RabbitMQ's definitions files write it.
type policyJSON struct {
	Name       string                     `json:"name"`
	Vhost      string                     `json:"vhost"`
	Pattern    string                     `json:"pattern"`
	ApplyTo    string                     `json:"apply-to"`
	Priority   int                        `json:"priority"`
	Definition map[string]json.RawMessage `json:"definition"`
}

// ParsePolicy reads one policy in the JSON form of RabbitMQ's definitions files
// ({"name": ..., "vhost": "/", "pattern": ..., "apply-to": ..., "priority": ...,
// "definition": {...}}) and checks it as RabbitMQ's set_policy does.
func ParsePolicy(data []byte) (Policy, error) {
	var pj policyJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	return pj.policy()
}

func (pj *policyJSON) policy() (Policy, error) {
	p := Policy{Name: pj.Name, Vhost: pj.Vhost, Pattern: pj.Pattern, ApplyTo: pj.ApplyTo,
		Priority: pj.Priority, Definition: map[string]any{}}
	if p.Name == "" {
		return p, fmt.Errorf("policy: no name")
	}
	if p.Vhost == "" {
		p.Vhost = "/"
	}
	if p.ApplyTo == "" {
		p.ApplyTo = "all"
	}
	if p.ApplyTo != "queues" && p.ApplyTo != "exchanges" && p.ApplyTo != "all" {
		return p, fmt.Errorf("policy %q: apply-to must be queues, exchanges or all, not %q", p.Name, p.ApplyTo)
	}
	re, err := regexp.Compile(p.Pattern)
	if err != nil {
		return p, fmt.Errorf("policy %q: pattern: %w", p.Name, err)
	}
	p.re = re
	if len(pj.Definition) == 0 {
		return p, fmt.Errorf("policy %q: empty definition", p.Name)
	}
	keys := make([]string, 0, len(pj.Definition))
	for k := range pj.Definition {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := pj.Definition[k]
		spec, known := policyKeys[k]
		if !known {
			if slices.Contains(ignoredPolicyKeys, k) {
				continue
			}
			return p, fmt.Errorf("policy %q: unrecognised key %q", p.Name, k)
		}
		v, err := policyValue(spec.kind, raw)
		if err != nil {
			return p, fmt.Errorf("policy %q: %s: %w", p.Name, k, err)
		}
		p.Definition[k] = v
	}
	return p, nil
}

func policyValue(kind string, raw json.RawMessage) (any, error) {
	switch kind {
	case "string", "overflow":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("want a string, not %s", raw)
		}
		if kind == "overflow" && s != "drop-head" && s != "reject-publish" && s != "reject-publish-dlx" {
			return nil, fmt.Errorf("want drop-head, reject-publish or reject-publish-dlx, not %q", s)
		}
		return s, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || f > math.MaxInt64/2 {
		return nil, fmt.Errorf("want an integer, not %s", raw)
	}
	n := int64(f)
	if n < 0 || (kind == "int>0" && n == 0) {
		return nil, fmt.Errorf("want an integer above %s, not %d", map[string]string{"int>=0": "-1", "int>0": "0"}[kind], n)
	}
	return n, nil
}

// appliesTo reports whether p applies to a queue (queues true) or exchange named name.
func (p *Policy) appliesTo(name string, queues bool) bool {
	if p.ApplyTo != "all" && (p.ApplyTo == "queues") != queues {
		return false
	}
	return p.re.MatchString(name)
}

// policyFor returns the policy that applies to the vhost's queue (queues true)
// or exchange named name, or nil. Policies are few: a linear scan.
func (v *Vhost) policyFor(name string, queues bool) *Policy {
	var best *Policy
	for i := range v.policies {
		p := &v.policies[i]
		if p.appliesTo(name, queues) && (best == nil || p.Priority > best.Priority) {
			best = p
		}
	}
	return best
}
