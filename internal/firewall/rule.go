package firewall

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/model"
)

// Inventory is what rules name workloads by.
type Inventory struct {
	// PodLabels holds the labels of the pods of each workload peer. A
	// workload peer absent from the map has pods without labels.
	PodLabels map[model.Peer]map[string]string
}

// Rule allows the connections Conns from every peer Src selects to every
// peer Dst selects.
type Rule struct {
	Src, Dst Endpoint
	Conns    model.ConnectionSet
}

// EndpointKind says how an Endpoint selects peers.
type EndpointKind uint8

const (
	// Pods selects the workloads of some namespaces whose pod labels match a
	// selector.
	Pods EndpointKind = iota
	// Peers lists peers one by one: the ingress controller, and workloads
	// no selector tells apart from others (same namespace and same labels,
	// but different connectivity, as named ports can make them).
	Peers
	// Addresses selects the external address ranges inside a set.
	Addresses
)

func (k EndpointKind) String() string {
	switch k {
	case Pods:
		return "Pods"
	case Peers:
		return "Peers"
	case Addresses:
		return "Addresses"
	}
	return fmt.Sprintf("EndpointKind(%d)", uint8(k))
}

// Endpoint is one side of a rule.
type Endpoint struct {
	Kind EndpointKind
	// Namespaces (Kind Pods) lists namespace names, sorted; AllNamespaces
	// stands for every namespace ("*") and leaves Namespaces empty.
	Namespaces    []string
	AllNamespaces bool
	// Selector (Kind Pods) picks pods by labels; empty selects every pod.
	Selector Selector
	// List (Kind Peers) is the peers, sorted.
	List []model.Peer
	// Addresses (Kind Addresses) is the external addresses; an external peer
	// is selected when its whole range lies inside.
	Addresses model.IPSet
}

// Matches reports whether the endpoint selects p, whose pod labels inv
// holds.
func (e Endpoint) Matches(p model.Peer, inv Inventory) bool {
	switch e.Kind {
	case Pods:
		if p.Kind != model.PeerWorkload {
			return false
		}
		if !e.AllNamespaces {
			if _, ok := slices.BinarySearch(e.Namespaces, p.Namespace); !ok {
				return false
			}
		}
		return e.Selector.Matches(inv.PodLabels[p])
	case Peers:
		_, ok := slices.BinarySearchFunc(e.List, p, model.Peer.Compare)
		return ok
	case Addresses:
		return p.Kind == model.PeerExternal && model.RangeSet(p.Range).Subset(e.Addresses)
	}
	return false
}

// Compare orders endpoints: pods (every namespace first, then by namespaces
// and selector), then listed peers, then addresses.
func (e Endpoint) Compare(f Endpoint) int {
	if c := cmp.Compare(e.Kind, f.Kind); c != 0 {
		return c
	}
	switch e.Kind {
	case Pods:
		if e.AllNamespaces != f.AllNamespaces {
			if e.AllNamespaces {
				return -1
			}
			return 1
		}
		if c := slices.Compare(e.Namespaces, f.Namespaces); c != 0 {
			return c
		}
		return e.Selector.Compare(f.Selector)
	case Peers:
		return slices.CompareFunc(e.List, f.List, model.Peer.Compare)
	}
	return slices.CompareFunc(e.Addresses.Ranges(), f.Addresses.Ranges(), model.IPRange.Compare)
}

// Compare orders rules by source, destination, then connections.
func (r Rule) Compare(s Rule) int {
	if c := r.Src.Compare(s.Src); c != 0 {
		return c
	}
	if c := r.Dst.Compare(s.Dst); c != 0 {
		return c
	}
	return strings.Compare(r.Conns.String(), s.Conns.String())
}

// Operator is how a requirement tests one label key.
type Operator uint8

const (
	// In: the key is present with one of the values.
	In Operator = iota
	// NotIn: the key is absent, or present with none of the values.
	NotIn
	// Exists: the key is present.
	Exists
	// DoesNotExist: the key is absent.
	DoesNotExist
)

// Requirement is one test on pod labels, as in a Kubernetes label selector.
type Requirement struct {
	Key    string
	Op     Operator
	Values []string // sorted; In and NotIn only
}

// Matches reports whether labels satisfy the requirement.
func (r Requirement) Matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Op {
	case In:
		return ok && slices.Contains(r.Values, v)
	case NotIn:
		return !ok || !slices.Contains(r.Values, v)
	case Exists:
		return ok
	case DoesNotExist:
		return !ok
	}
	return false
}

// String renders the Kubernetes selector notation: "key=value",
// "key in (a,b)", "key notin (a,b)", "key", "!key".
func (r Requirement) String() string {
	switch r.Op {
	case In:
		if len(r.Values) == 1 {
			return r.Key + "=" + r.Values[0]
		}
		return r.Key + " in (" + strings.Join(r.Values, ",") + ")"
	case NotIn:
		return r.Key + " notin (" + strings.Join(r.Values, ",") + ")"
	case Exists:
		return r.Key
	case DoesNotExist:
		return "!" + r.Key
	}
	return fmt.Sprintf("Operator(%d) %s", uint8(r.Op), r.Key)
}

// Compare orders requirements by key, operator, then values.
func (r Requirement) Compare(s Requirement) int {
	return cmp.Or(strings.Compare(r.Key, s.Key), cmp.Compare(r.Op, s.Op), slices.Compare(r.Values, s.Values))
}

// Selector is a conjunction of requirements, sorted; the empty selector
// matches every pod.
type Selector []Requirement

// Matches reports whether labels satisfy every requirement.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s {
		if !r.Matches(labels) {
			return false
		}
	}
	return true
}

// String renders the requirements comma-separated, as kubectl's -l flag
// reads them, or "*" for the empty selector.
func (s Selector) String() string {
	if len(s) == 0 {
		return "*"
	}
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Compare orders selectors requirement by requirement, shorter first.
func (s Selector) Compare(t Selector) int { return slices.CompareFunc(s, t, Requirement.Compare) }
