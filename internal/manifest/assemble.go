package manifest

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/model"
)

// ownerKinds lists, for each kind that controllers create, the controller
// kinds it is folded into when its controller is among the inputs: a Pod
// into its ReplicaSet, and that into its Deployment; a Pod into its Job, and
// that into its CronJob; a Pod into its StatefulSet, DaemonSet or
// ReplicationController.
var ownerKinds = map[string][]string{
	"Pod":        {"ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet", "Job"},
	"ReplicaSet": {"Deployment"},
	"Job":        {"CronJob"},
}

// maxOwnerChain bounds the walk up owner references; the longest chain
// ownerKinds allows is Pod → ReplicaSet → Deployment.
const maxOwnerChain = 3

type objectKey struct{ kind, namespace, name string }

// assemble turns the objects read into Objects: duplicates dropped, pods
// folded into their controllers, namespaces completed, everything sorted.
func (r *reader) assemble() *Objects {
	kept := make([]*object, 0, len(r.objects))
	index := make(map[objectKey]*object, len(r.objects))
	for i := range r.objects {
		o := &r.objects[i]
		k := objectKey{o.kind, o.namespace, o.name}
		if first, ok := index[k]; ok {
			r.finding(CodeDuplicate, model.Warning, o.source, o.id(),
				"%s is defined again and this definition was ignored; the first, at %s, is kept; remove one of them", o.id(), first.source)
			continue
		}
		index[k] = o
		kept = append(kept, o)
	}

	out := &Objects{}
	declared := map[string]bool{}
	used := map[string]model.Location{} // namespace → first object in it
	use := func(o *object) {
		if prev, ok := used[o.namespace]; !ok || o.source.Compare(prev) < 0 {
			used[o.namespace] = o.source
		}
	}
	for _, o := range kept {
		switch c := o.content.(type) {
		case *corev1.Namespace:
			labels := make(map[string]string, len(c.Labels)+1)
			maps.Copy(labels, c.Labels)
			// The API server sets this label on every namespace, replacing
			// any value given (Kubernetes 1.22+).
			labels[NamespaceNameLabel] = o.name
			out.Namespaces = append(out.Namespaces, Namespace{Name: o.name, Labels: labels, Declared: true, Source: o.source})
			declared[o.name] = true
		case *corev1.Service:
			c.Namespace = o.namespace
			out.Services = append(out.Services, Service{Object: c, Source: o.source})
			use(o)
		case *corev1.ConfigMap:
			c.Namespace = o.namespace
			out.ConfigMaps = append(out.ConfigMaps, ConfigMap{Object: c, Source: o.source})
			use(o)
		case *corev1.Secret:
			c.Namespace = o.namespace
			out.Secrets = append(out.Secrets, Secret{Object: c, Source: o.source})
			use(o)
		case *networkingv1.NetworkPolicy:
			c.Namespace = o.namespace
			out.Policies = append(out.Policies, NetworkPolicy{Object: c, Source: o.source})
			use(o)
		case *policyv1alpha1.AdminNetworkPolicy:
			out.AdminPolicies = append(out.AdminPolicies, AdminNetworkPolicy{Object: c, Source: o.source})
		case *policyv1alpha1.BaselineAdminNetworkPolicy:
			out.BaselinePolicies = append(out.BaselinePolicies, BaselineAdminNetworkPolicy{Object: c, Source: o.source})
		case *policyv1beta1.ClusterNetworkPolicy:
			out.ClusterPolicies = append(out.ClusterPolicies, ClusterNetworkPolicy{Object: c, APIVersion: o.apiVersion, Source: o.source})
		default:
			if rt, ok := route(o.kind, o.namespace, o.name, c); ok {
				rt.Source = o.source
				out.Routes = append(out.Routes, rt)
				use(o)
			}
		case podTemplate:
			if top := topController(o, index); top != o {
				r.log.Debug("folding object into its controller", "object", o.id(), "controller", top.id(), "location", o.source.String())
				continue
			}
			out.Workloads = append(out.Workloads, Workload{
				Kind:           o.kind,
				Namespace:      o.namespace,
				Name:           o.name,
				PodLabels:      c.labels,
				PodAnnotations: c.annotations,
				Pod:            c.spec,
				Source:         o.source,
			})
			use(o)
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(used)) {
		if !declared[ns] {
			out.Namespaces = append(out.Namespaces, Namespace{
				Name:   ns,
				Labels: map[string]string{NamespaceNameLabel: ns},
				Source: used[ns],
			})
		}
	}

	slices.SortFunc(out.Namespaces, func(a, b Namespace) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Workloads, func(a, b Workload) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	slices.SortFunc(out.Services, func(a, b Service) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	slices.SortFunc(out.Policies, func(a, b NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	slices.SortFunc(out.ConfigMaps, func(a, b ConfigMap) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	slices.SortFunc(out.Secrets, func(a, b Secret) int {
		return cmp.Or(cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	slices.SortFunc(out.Routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	slices.SortFunc(out.AdminPolicies, func(a, b AdminNetworkPolicy) int { return cmp.Compare(a.Object.Name, b.Object.Name) })
	slices.SortFunc(out.BaselinePolicies, func(a, b BaselineAdminNetworkPolicy) int { return cmp.Compare(a.Object.Name, b.Object.Name) })
	slices.SortFunc(out.ClusterPolicies, func(a, b ClusterNetworkPolicy) int { return cmp.Compare(a.Object.Name, b.Object.Name) })
	out.Findings = slices.Clone(r.findings)
	slices.SortStableFunc(out.Findings, model.CompareFindings)
	return out
}

// topController is the top-most controller of o among the inputs, or o.
func topController(o *object, index map[objectKey]*object) *object {
	top := o
	for range maxOwnerChain {
		owner := presentController(top, index)
		if owner == nil {
			break
		}
		top = owner
	}
	return top
}

// presentController is the controller of o if it is among the inputs, in
// o's namespace (owner references never cross namespaces).
func presentController(o *object, index map[objectKey]*object) *object {
	allowed := ownerKinds[o.kind]
	if allowed == nil {
		return nil
	}
	ref := controllerRef(o.meta.OwnerReferences)
	if ref == nil || !slices.Contains(allowed, ref.Kind) {
		return nil
	}
	group, _, found := strings.Cut(ref.APIVersion, "/")
	if !found {
		group = ""
	}
	if _, ok := kinds[groupKind{group, ref.Kind}]; !ok && ref.APIVersion != "" {
		return nil // a kind of the same name in another API group
	}
	owner := index[objectKey{ref.Kind, o.namespace, ref.Name}]
	if owner == nil {
		return nil
	}
	if ref.UID != "" && owner.meta.UID != "" && ref.UID != owner.meta.UID {
		return nil // the owner was replaced by another of the same name
	}
	return owner
}

// controllerRef is the owner reference marked controller, or the only one.
func controllerRef(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if c := refs[i].Controller; c != nil && *c {
			return &refs[i]
		}
	}
	if len(refs) == 1 {
		return &refs[0]
	}
	return nil
}
