// Package cluster will own membership (hashicorp/memberlist), propagation of
// definitions, queue placement and the inter-node links that forward publishes,
// deliveries, acks and confirms (see DESIGN.md, "Cluster"). Warren is single-node
// until then.
package cluster
