package baseline

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/tightnet/tightnet/internal/model"
)

// NamespaceNameLabel is the label the API server sets on every namespace to
// its own name; namespace selectors name namespaces by it.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Action is what a rule requires of the connections it describes.
type Action uint8

const (
	// Allow requires every connection the rule describes to be permitted.
	Allow Action = iota
	// Deny requires none of them to be permitted.
	Deny
	numActions
)

var actionNames = [numActions]string{Allow: "allow", Deny: "deny"}

func (a Action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// ParseAction reads "allow" or "deny".
func ParseAction(s string) (Action, error) {
	for a, name := range actionNames {
		if s == name {
			return Action(a), nil
		}
	}
	return 0, fmt.Errorf("%w: %q: want allow or deny", ErrAction, s)
}

func (a Action) MarshalText() ([]byte, error) {
	if a >= numActions {
		return nil, fmt.Errorf("cannot marshal %v", a)
	}
	return []byte(a.String()), nil
}

func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// EndKind says what one side of a rule selects.
type EndKind uint8

const (
	// Anything is every pod of every namespace, every external address and
	// the ingress controller: a side with neither a selector nor a
	// namespace selector.
	Anything EndKind = iota
	// Pods is the pods whose labels a selector matches, in the namespaces
	// whose labels a namespace selector matches.
	Pods
	// Addresses is the external addresses inside a CIDR.
	Addresses
)

func (k EndKind) String() string {
	switch k {
	case Anything:
		return "Anything"
	case Pods:
		return "Pods"
	case Addresses:
		return "Addresses"
	}
	return fmt.Sprintf("EndKind(%d)", uint8(k))
}

// End is one side of a rule, from or to.
type End struct {
	Kind EndKind
	// Pods and Namespaces (Kind Pods) select pods by their labels and
	// namespaces by theirs; either may be labels.Everything().
	Pods, Namespaces labels.Selector
	// Addresses (Kind Addresses) is the CIDR's addresses.
	Addresses model.IPSet
	// Selector and NamespaceSelector are from (or to) and from_ns (or
	// to_ns) as written, trimmed; "" when absent.
	Selector, NamespaceSelector string
}

// MatchesPod reports whether the side selects a pod with the labels given,
// in a namespace with the labels given. Addresses never match a pod.
func (e End) MatchesPod(podLabels, namespaceLabels map[string]string) bool {
	switch e.Kind {
	case Anything:
		return true
	case Pods:
		return e.Namespaces.Matches(labels.Set(namespaceLabels)) && e.Pods.Matches(labels.Set(podLabels))
	}
	return false
}

// NeedsLabels reports whether telling which pods the side selects takes
// more than namespace names: a pod selector, or a namespace selector on a
// label other than NamespaceNameLabel. A configuration known by its
// connectivity map alone has no labels to answer it.
func (e End) NeedsLabels() bool {
	if e.Kind != Pods {
		return false
	}
	if !e.Pods.Empty() {
		return true
	}
	reqs, _ := e.Namespaces.Requirements()
	for _, r := range reqs {
		if r.Key() != NamespaceNameLabel {
			return true
		}
	}
	return false
}

// String describes the side: "anything", "pods app=web in namespaces
// env=prod", "every pod in namespaces env=prod", "pods app=web", or the
// CIDR as written.
func (e End) String() string {
	switch e.Kind {
	case Anything:
		return "anything"
	case Addresses:
		return e.Selector
	}
	var b strings.Builder
	if e.Pods.Empty() {
		b.WriteString("every pod")
	} else {
		b.WriteString("pods " + e.Pods.String())
	}
	if !e.Namespaces.Empty() {
		b.WriteString(" in namespaces " + e.Namespaces.String())
	}
	return b.String()
}

// Rule is one baseline rule, validated.
type Rule struct {
	Name        string
	Description string
	Action      Action
	From, To    End
	// Conns is the connections the rule describes between each source and
	// destination it selects: protocol and destination ports.
	Conns model.ConnectionSet
	// Source is the file and line where the rule starts.
	Source model.Location
}

// String renders the rule on one line: "deny-telnet: deny anything =>
// anything : TCP 23".
func (r Rule) String() string {
	return fmt.Sprintf("%s: %s %s => %s : %s", r.Name, r.Action, r.From, r.To, r.Conns)
}
