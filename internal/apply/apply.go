// Package apply brings a cluster's policies to a proposal: server-side
// apply with field manager "tightnet", a dry run of everything before
// anything is written, and pruning of the policies tightnet applied before
// that the proposal no longer holds.
//
// Input: policy objects (manifest.Objects holding policies only) and a
// cluster.Client. Output: a Result listing what was created, changed, left
// unchanged and pruned. It must not depend on analyze or verify: whether a
// plan may be executed is decided by its caller (internal/rollout).
package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// FieldManager is the server-side apply field manager tightnet writes as.
const FieldManager = "tightnet"

// Ownership labels. Every object tightnet applies carries both; prune
// removes only objects whose labels say tightnet applied them for the same
// owner.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	OwnerLabel     = "tightnet.dev/owner"
	ManagedBy      = "tightnet"
)

// DefaultOwner is the owner label value when Options.Owner is empty.
const DefaultOwner = "default"

// Action is what apply did, or would do, to one object.
type Action string

const (
	Created   Action = "created"
	Changed   Action = "changed"
	Unchanged Action = "unchanged"
	Pruned    Action = "pruned"
)

// Change is one object's action.
type Change struct {
	Action    Action         `json:"action"`
	Kind      string         `json:"kind"`
	Namespace string         `json:"namespace,omitempty"`
	Name      string         `json:"name"`
	Source    model.Location `json:"source,omitzero"`
}

// Ref is "Kind namespace/name", or "Kind name" for a cluster-scoped kind.
func (c Change) Ref() string { return ref(c.Kind, c.Namespace, c.Name) }

// key names an object: kind, namespace ("" when cluster-scoped), name.
type key struct{ kind, namespace, name string }

func (c Change) key() key { return key{c.Kind, c.Namespace, c.Name} }

func ref(kind, ns, name string) string {
	if ns == "" {
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}

// KindApplyResult is the kind of the JSON apply writes (-o json).
const KindApplyResult = "ApplyResult"

// Result is what apply did, or would do.
type Result struct {
	Changes []Change `json:"changes"`
	// DryRun says nothing was written: Changes are what apply would do.
	DryRun bool `json:"dryRun"`
}

// Count is how many changes have action a.
func (r Result) Count(a Action) int {
	n := 0
	for _, c := range r.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Options control a plan.
type Options struct {
	// Owner names the set of policies this proposal is: prune removes
	// only policies applied under the same owner. Empty means DefaultOwner.
	Owner string
	// Prune removes the policies tightnet applied under Owner that the
	// proposal no longer holds.
	Prune bool
	// ForceConflicts takes over fields another field manager owns, as
	// kubectl apply --server-side --force-conflicts does.
	ForceConflicts bool
}

// RejectedError is returned when the server's dry run refused objects;
// nothing was written.
type RejectedError struct {
	Rejections []Rejection
}

// Rejection is one object the server refused, with its message.
type Rejection struct {
	Ref     string
	Source  model.Location
	Message string
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the cluster refused %d of the policies, so nothing was applied:", len(e.Rejections))
	for _, r := range e.Rejections {
		fmt.Fprintf(&b, "\n  %s: %s: %s", r.Source, r.Ref, r.Message)
	}
	return b.String()
}

// Object is one policy to apply.
type Object struct {
	gvr    schema.GroupVersionResource
	u      *unstructured.Unstructured
	source model.Location
}

func (o Object) ref() string { return ref(o.u.GetKind(), o.u.GetNamespace(), o.u.GetName()) }

func (o Object) key() key { return key{o.u.GetKind(), o.u.GetNamespace(), o.u.GetName()} }

// kindInfo is how each policy kind is applied.
type kindInfo struct {
	kind       string
	gvr        schema.GroupVersionResource
	namespaced bool
}

// prunable are the kinds prune looks at, in order.
var prunable = []kindInfo{
	{"NetworkPolicy", schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, true},
	{"AdminNetworkPolicy", schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}, false},
	{"BaselineAdminNetworkPolicy", schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "baselineadminnetworkpolicies"}, false},
	{"ClusterNetworkPolicy", schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1beta1", Resource: "clusternetworkpolicies"}, false},
	{"ClusterNetworkPolicy", schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha2", Resource: "clusternetworkpolicies"}, false},
}

// Prepare converts the policies read from files into the objects to
// apply, labelled with the owner. Anything but policies among the inputs is
// an error: apply applies policies only.
func Prepare(objs *manifest.Objects, owner string) ([]Object, error) {
	if owner == "" {
		owner = DefaultOwner
	}
	if errs := validLabelValue(owner); errs != "" {
		return nil, fmt.Errorf("owner %q: %s", owner, errs)
	}
	var others []string
	for _, w := range objs.Workloads {
		others = append(others, fmt.Sprintf("%s: %s %s/%s", w.Source, w.Kind, w.Namespace, w.Name))
	}
	for _, s := range objs.Services {
		others = append(others, fmt.Sprintf("%s: Service %s/%s", s.Source, s.Object.Namespace, s.Object.Name))
	}
	for _, r := range objs.Routes {
		others = append(others, fmt.Sprintf("%s: %s %s/%s", r.Source, r.Kind, r.Namespace, r.Name))
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("apply applies policies only, and the inputs hold %d other objects, the first %s; give the proposal's policies (tightnet synthesize writes them to policies.yaml)", len(others), others[0])
	}
	var out []Object
	add := func(typed runtime.Object, apiVersion, kind string, g schema.GroupVersionResource, src model.Location) error {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		clean(u)
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[ManagedByLabel], l[OwnerLabel] = ManagedBy, owner
		u.SetLabels(l)
		out = append(out, Object{gvr: g, u: u, source: src})
		return nil
	}
	for _, p := range objs.Policies {
		if err := add(p.Object, "networking.k8s.io/v1", "NetworkPolicy", prunable[0].gvr, p.Source); err != nil {
			return nil, err
		}
	}
	for _, p := range objs.AdminPolicies {
		if err := add(p.Object, "policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", prunable[1].gvr, p.Source); err != nil {
			return nil, err
		}
	}
	for _, p := range objs.BaselinePolicies {
		if err := add(p.Object, "policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy", prunable[2].gvr, p.Source); err != nil {
			return nil, err
		}
	}
	for _, p := range objs.ClusterPolicies {
		g := prunable[3].gvr
		if p.APIVersion == "policy.networking.k8s.io/v1alpha2" {
			g = prunable[4].gvr
		}
		if err := add(p.Object, "policy.networking.k8s.io/"+g.Version, "ClusterNetworkPolicy", g, p.Source); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the inputs hold no policies to apply")
	}
	return out, nil
}

// clean drops what the server owns: status, and metadata a previous read
// may have carried.
func clean(u *unstructured.Unstructured) {
	unstructured.RemoveNestedField(u.Object, "status")
	for _, f := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
}

func validLabelValue(v string) string {
	if len(v) > 63 {
		return "longer than 63 characters; it is a label value"
	}
	for i, c := range v {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(v)-1 || !strings.ContainsRune("-_.", c)) {
			return "not a valid label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
		}
	}
	return ""
}

// Plan is what applying a proposal would do, as the server's dry run
// found it.
type Plan struct {
	Result
	client  *cluster.Client
	objects []Object
	// current says, per object, that the server holds it already as
	// proposed and applied by tightnet: Execute sends nothing for it.
	current []bool
	stale   []staleObject
	force   bool
}

// workers is how many requests a plan keeps in flight; the client's rate
// limit and the server's priority and fairness bound the rest.
const workers = 8

// parallel runs f(0..n-1) on workers goroutines and returns the errors by
// index.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				errs[i] = f(i)
			}
		})
	}
	wg.Wait()
	return errs
}

// NewPlan applies every object with the server's dry run. When the server
// refuses any of them, it returns a *RejectedError listing them all, and
// nothing can be written. With opts.Prune, the plan also deletes the
// policies tightnet applied under the same owner that objs does not hold.
func NewPlan(ctx context.Context, c *cluster.Client, objs []Object, opts Options) (*Plan, error) {
	owner := cmp.Or(opts.Owner, DefaultOwner)
	p := &Plan{Result: Result{DryRun: true}, client: c, objects: objs, current: make([]bool, len(objs)), force: opts.ForceConflicts}
	existing, err := listExisting(ctx, c, objs)
	if err != nil {
		return nil, err
	}
	actions := make([]Action, len(objs))
	errs := parallel(len(objs), func(i int) error {
		o := objs[i]
		var err error
		actions[i], p.current[i], err = dryRun(ctx, c, o, existing[o.gvr][o.key()], opts.ForceConflicts)
		return err
	})
	var rejected []Rejection
	for i, o := range objs {
		if errs[i] != nil {
			rejected = append(rejected, Rejection{Ref: o.ref(), Source: o.source, Message: message(c, o, errs[i])})
			continue
		}
		p.Changes = append(p.Changes, Change{Action: actions[i], Kind: o.u.GetKind(), Namespace: o.u.GetNamespace(), Name: o.u.GetName(), Source: o.source})
	}
	if len(rejected) > 0 {
		return nil, &RejectedError{Rejections: rejected}
	}
	if opts.Prune {
		if p.stale, err = findStale(ctx, c, objs, owner); err != nil {
			return nil, err
		}
		for _, s := range p.stale {
			p.Changes = append(p.Changes, Change{Action: Pruned, Kind: s.kind, Namespace: s.namespace, Name: s.name})
		}
	}
	sortChanges(p.Changes)
	return p, nil
}

// Execute writes the plan: server-side apply of every object the server
// does not hold as proposed already, then the deletions. An error stops
// it; what was written before stays, and the error says how much that is.
func (p *Plan) Execute(ctx context.Context) (Result, error) {
	c := p.client
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var applied atomic.Int64
	errs := parallel(len(p.objects), func(i int) error {
		if p.current[i] || ctx.Err() != nil {
			return nil
		}
		o := p.objects[i]
		if _, err := apply(ctx, c, o, p.force, false); err != nil {
			cancel()
			return fmt.Errorf("%s: %s: %s", o.source, o.ref(), message(c, o, err))
		}
		applied.Add(1)
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return Result{}, fmt.Errorf("%w\n(%d policies were applied before this; fix it and apply again)", err, applied.Load())
	}
	for _, s := range p.stale {
		err := c.Dynamic.Resource(s.gvr).Namespace(s.namespace).Delete(ctx, s.name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &s.uid},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return Result{}, fmt.Errorf("prune %s: %w", ref(s.kind, s.namespace, s.name), err)
		}
	}
	res := p.Result
	res.DryRun = false
	return res, nil
}

func sortChanges(cs []Change) {
	order := map[Action]int{Created: 0, Changed: 1, Pruned: 2, Unchanged: 3}
	slices.SortStableFunc(cs, func(a, b Change) int {
		return cmp.Or(cmp.Compare(order[a.Action], order[b.Action]), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

func apply(ctx context.Context, c *cluster.Client, o Object, force, dry bool) (*unstructured.Unstructured, error) {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: force}
	if dry {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return c.Dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace()).Apply(ctx, o.u.GetName(), o.u, opts)
}

// dryRun applies o with the server's dry run and compares the result with
// current, what the server holds now (nil: nothing). inSync reports that
// the server holds o as proposed and tightnet's apply owns it already, so
// applying it for real would change nothing.
func dryRun(ctx context.Context, c *cluster.Client, o Object, current *unstructured.Unstructured, force bool) (action Action, inSync bool, err error) {
	after, err := apply(ctx, c, o, force, true)
	if err != nil {
		return "", false, err
	}
	switch {
	case current == nil:
		return Created, false, nil
	case sameContent(current, after):
		return Unchanged, appliedByUs(current), nil
	}
	return Changed, false, nil
}

// appliedByUs reports whether tightnet's server-side apply manages u.
func appliedByUs(u *unstructured.Unstructured) bool {
	for _, m := range u.GetManagedFields() {
		if m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// listExisting lists, once per resource the objects use, what the server
// holds. A resource the server does not serve lists as empty: the dry run
// then explains.
func listExisting(ctx context.Context, c *cluster.Client, objs []Object) (map[schema.GroupVersionResource]map[key]*unstructured.Unstructured, error) {
	out := map[schema.GroupVersionResource]map[key]*unstructured.Unstructured{}
	for _, o := range objs {
		if _, done := out[o.gvr]; done {
			continue
		}
		byKey := map[key]*unstructured.Unstructured{}
		out[o.gvr] = byKey
		opts := metav1.ListOptions{Limit: 500}
		for {
			list, err := c.Dynamic.Resource(o.gvr).List(ctx, opts)
			if apierrors.IsNotFound(err) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: list %s: %w", c.Name, o.gvr.Resource, err)
			}
			for i := range list.Items {
				u := &list.Items[i]
				byKey[key{o.u.GetKind(), u.GetNamespace(), u.GetName()}] = u
			}
			if list.GetContinue() == "" {
				break
			}
			opts.Continue = list.GetContinue()
		}
	}
	return out, nil
}

// sameContent compares what a policy means and how it is labelled: every
// top-level field but metadata and status, plus labels and annotations.
func sameContent(a, b *unstructured.Unstructured) bool {
	if !reflect.DeepEqual(a.GetLabels(), b.GetLabels()) || !reflect.DeepEqual(a.GetAnnotations(), b.GetAnnotations()) {
		return false
	}
	strip := func(u *unstructured.Unstructured) map[string]any {
		m := map[string]any{}
		for k, v := range u.Object {
			if k != "metadata" && k != "status" {
				m[k] = v
			}
		}
		return m
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// staleObject is a policy prune deletes.
type staleObject struct {
	kind, namespace, name string
	gvr                   schema.GroupVersionResource
	uid                   types.UID
}

// findStale lists the policies labelled as applied by tightnet for owner
// that objs does not hold. Kinds the cluster does not serve are skipped.
func findStale(ctx context.Context, c *cluster.Client, objs []Object, owner string) ([]staleObject, error) {
	keep := map[key]bool{}
	for _, o := range objs {
		keep[o.key()] = true
	}
	selector := labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedBy, OwnerLabel: owner}).String()
	var out []staleObject
	seen := map[key]bool{}
	for _, k := range prunable {
		ok, err := c.Serves(k.gvr)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		list, err := c.Dynamic.Resource(k.gvr).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("prune: list %s: %w", k.gvr.Resource, err)
		}
		for _, item := range list.Items {
			r := key{k.kind, item.GetNamespace(), item.GetName()}
			if keep[r] || seen[r] {
				continue // one object served in two versions is listed twice
			}
			seen[r] = true
			out = append(out, staleObject{kind: k.kind, namespace: item.GetNamespace(), name: item.GetName(), gvr: k.gvr, uid: item.GetUID()})
		}
	}
	return out, nil
}

// message is the server's reason for refusing o, with advice where the
// cause is known.
func message(c *cluster.Client, o Object, err error) string {
	switch {
	case apierrors.IsNotFound(err) && o.gvr.Group != "networking.k8s.io":
		return fmt.Sprintf("%s does not serve %s/%s %s; install the network-policy-api CRDs, or synthesize without admin guardrails",
			c.Name, o.gvr.Group, o.gvr.Version, o.gvr.Resource)
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("namespace %q does not exist in %s; create it first", o.u.GetNamespace(), c.Name)
	case apierrors.IsConflict(err):
		return fmt.Sprintf("%v; another field manager owns these fields: apply with --force-conflicts to take them over", err)
	}
	if se, ok := errors.AsType[*apierrors.StatusError](err); ok {
		return se.ErrStatus.Message
	}
	return err.Error()
}
