package manifest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
)

// checkInvariants checks what every result of Read must satisfy, whatever
// the input: sorted slices, namespaces for everything namespaced, the
// namespace name label, locations on objects and findings.
func checkInvariants(t *testing.T, o *Objects) {
	t.Helper()
	if !slices.IsSortedFunc(o.Namespaces, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) }) {
		t.Error("namespaces are not sorted")
	}
	if !slices.IsSortedFunc(o.Workloads, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	}) {
		t.Error("workloads are not sorted")
	}
	if !slices.IsSortedFunc(o.Services, func(a, b Service) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	}) {
		t.Error("services are not sorted")
	}
	if !slices.IsSortedFunc(o.Policies, func(a, b NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	}) {
		t.Error("policies are not sorted")
	}
	if !slices.IsSortedFunc(o.Findings, model.CompareFindings) {
		t.Error("findings are not sorted")
	}

	namespaces := map[string]bool{}
	for _, ns := range o.Namespaces {
		if namespaces[ns.Name] {
			t.Errorf("namespace %s listed twice", ns.Name)
		}
		namespaces[ns.Name] = true
		if ns.Labels[NamespaceNameLabel] != ns.Name {
			t.Errorf("namespace %s: label %s is %q", ns.Name, NamespaceNameLabel, ns.Labels[NamespaceNameLabel])
		}
		if ns.Declared && ns.Source.File == "" {
			t.Errorf("namespace %s: declared without a source", ns.Name)
		}
	}
	need := func(what, ns string, loc model.Location) {
		if ns == "" {
			t.Errorf("%s at %s has no namespace", what, loc)
		} else if !namespaces[ns] {
			t.Errorf("%s at %s: namespace %s is not listed", what, loc, ns)
		}
		if loc.File == "" || loc.Line < 1 {
			t.Errorf("%s has no location: %v", what, loc)
		}
	}
	workloads := map[model.Peer]bool{}
	for _, w := range o.Workloads {
		need("workload "+w.Peer().String(), w.Namespace, w.Source)
		if workloads[w.Peer()] {
			t.Errorf("workload %s listed twice", w.Peer())
		}
		workloads[w.Peer()] = true
		if w.PodLabels == nil {
			t.Errorf("workload %s: nil PodLabels", w.Peer())
		}
	}
	for _, s := range o.Services {
		need("service "+s.Object.Name, s.Object.Namespace, s.Source)
	}
	for _, p := range o.Policies {
		need("policy "+p.Object.Name, p.Object.Namespace, p.Source)
	}
	for _, f := range o.Findings {
		if f.Code == "" || f.Message == "" || f.Location.File == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}
