// Package firewall condenses a connectivity matrix into firewall-style rules
// that a reviewer can read: "these pods of these namespaces may reach those
// pods on TCP 5432", naming pods by label selectors instead of listing every
// pair of workloads.
//
// Input: a model.Matrix and an Inventory (the pod labels of every workload
// peer). Output: []Rule, sorted, exactly equivalent to the matrix: Expand
// turns the rules back into a matrix equal to the input, edge by edge. A rule
// never selects a pair the matrix does not allow with exactly the rule's
// connections, except an edge from a peer to itself, which a matrix never
// lists.
//
// Must not depend on anything but model: it does not know where the matrix or
// the labels came from, and it does not format for humans (report does).
package firewall
