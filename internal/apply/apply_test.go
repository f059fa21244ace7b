package apply_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tightnet/tightnet/internal/apply"
	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/kubetest"
	"github.com/tightnet/tightnet/internal/manifest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

var networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}

// policy is a NetworkPolicy admitting TCP port from pods labelled app=from
// to pods labelled app=to.
func policy(ns, name, to, from, port string) string {
	return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  podSelector: {matchLabels: {app: ` + to + `}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: ` + from + `}}}]
    ports: [{protocol: TCP, port: ` + port + `}]
`
}

// fixture connects to the shared server and creates namespaces of the
// test's own.
func fixture(t testing.TB, namespaces ...string) (*cluster.Client, *kubetest.Client) {
	t.Helper()
	srv := kubetest.Shared(t)
	c, err := cluster.NewClient("cluster:kubetest", srv.Config, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kc := srv.Client(t)
	var nss []*unstructured.Unstructured
	for _, ns := range namespaces {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(ns)
		nss = append(nss, u)
	}
	kc.Apply(t, nss)
	return c, kc
}

func prepare(t *testing.T, owner string, docs ...string) []apply.Object {
	t.Helper()
	objs, err := manifest.ReadDocuments(context.Background(), []manifest.Document{{Name: "proposal.yaml", Data: []byte(strings.Join(docs, "---\n"))}}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Findings) > 0 {
		t.Fatalf("findings: %v", objs.Findings)
	}
	out, err := apply.Prepare(objs, owner)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t *testing.T, c *cluster.Client, objs []apply.Object, opts apply.Options) apply.Result {
	t.Helper()
	plan, err := apply.NewPlan(context.Background(), c, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func actions(r apply.Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, string(c.Action)+" "+c.Ref())
	}
	return out
}

func names(t *testing.T, kc *kubetest.Client, ns string) []string {
	t.Helper()
	list, err := kc.Dynamic.Resource(networkPolicies).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.GetName())
	}
	slices.Sort(out)
	return out
}

// TestApplyCreatesChangesAndKeeps: the first apply creates, a second one
// with one policy edited changes that one only, and labels record the
// owner.
func TestApplyCreatesChangesAndKeeps(t *testing.T) {
	c, kc := fixture(t, "apply-basic")
	first := prepare(t, "shop", policy("apply-basic", "web", "web", "lb", "80"), policy("apply-basic", "db", "db", "web", "5432"))
	got := actions(run(t, c, first, apply.Options{Owner: "shop"}))
	want := []string{"created NetworkPolicy apply-basic/db", "created NetworkPolicy apply-basic/web"}
	if !slices.Equal(got, want) {
		t.Errorf("first apply: got %v, want %v", got, want)
	}
	second := prepare(t, "shop", policy("apply-basic", "web", "web", "lb", "8080"), policy("apply-basic", "db", "db", "web", "5432"))
	got = actions(run(t, c, second, apply.Options{Owner: "shop"}))
	want = []string{"changed NetworkPolicy apply-basic/web", "unchanged NetworkPolicy apply-basic/db"}
	if !slices.Equal(got, want) {
		t.Errorf("second apply: got %v, want %v", got, want)
	}
	web, err := kc.Dynamic.Resource(networkPolicies).Namespace("apply-basic").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := web.GetLabels(); l[apply.ManagedByLabel] != "tightnet" || l[apply.OwnerLabel] != "shop" {
		t.Errorf("labels %v: want the ownership labels", l)
	}
	port, _, _ := unstructured.NestedSlice(web.Object, "spec", "ingress")
	if !strings.Contains(fmt.Sprint(port), "8080") {
		t.Errorf("the change did not land: ingress %v", port)
	}
	managers := map[string]bool{}
	for _, m := range web.GetManagedFields() {
		managers[m.Manager] = true
	}
	if !managers[apply.FieldManager] {
		t.Errorf("field managers %v: want %q", managers, apply.FieldManager)
	}
}

// TestPruneRemovesOnlyItsOwn: prune deletes the owner's policies the
// proposal dropped, and leaves hand-written policies and other owners'.
func TestPruneRemovesOnlyItsOwn(t *testing.T) {
	c, kc := fixture(t, "apply-prune")
	// Written by hand, with kubectl say: no ownership labels.
	kc.Apply(t, kubetest.Parse(t, policy("apply-prune", "hand-written", "hx", "hy", "1")))
	run(t, c, prepare(t, "other", policy("apply-prune", "other-app", "o", "p", "2")), apply.Options{Owner: "other"})
	run(t, c, prepare(t, "prune-shop", policy("apply-prune", "keep", "a", "b", "3"), policy("apply-prune", "drop", "c", "d", "4")), apply.Options{Owner: "prune-shop"})

	// A dry-run plan names what prune would delete, and deletes nothing.
	plan, err := apply.NewPlan(context.Background(), c, prepare(t, "prune-shop", policy("apply-prune", "keep", "a", "b", "3")), apply.Options{Owner: "prune-shop", Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(plan.Result), []string{"pruned NetworkPolicy apply-prune/drop", "unchanged NetworkPolicy apply-prune/keep"}; !slices.Equal(got, want) {
		t.Errorf("plan: got %v, want %v", got, want)
	}
	if got, want := names(t, kc, "apply-prune"), []string{"drop", "hand-written", "keep", "other-app"}; !slices.Equal(got, want) {
		t.Fatalf("after the dry run: %v, want %v", got, want)
	}
	if _, err := plan.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := names(t, kc, "apply-prune"), []string{"hand-written", "keep", "other-app"}; !slices.Equal(got, want) {
		t.Errorf("after prune: %v, want %v", got, want)
	}
}

// TestRejectedPolicyAppliesNothing: one invalid policy among valid ones;
// the server's message names it, and none of them is applied.
func TestRejectedPolicyAppliesNothing(t *testing.T) {
	c, kc := fixture(t, "apply-invalid")
	objs := prepare(t, "shop",
		policy("apply-invalid", "fine", "a", "b", "80"),
		policy("apply-invalid", "bad-port", "a", "b", "70000"),
		policy("apply-invalid", "also-fine", "c", "d", "443"))
	_, err := apply.NewPlan(context.Background(), c, objs, apply.Options{Owner: "shop"})
	var rejected *apply.RejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("want a RejectedError, got %v", err)
	}
	if len(rejected.Rejections) != 1 || rejected.Rejections[0].Ref != "NetworkPolicy apply-invalid/bad-port" {
		t.Fatalf("rejections %+v: want bad-port alone", rejected.Rejections)
	}
	msg := err.Error()
	for _, want := range []string{"proposal.yaml:", "bad-port", "70000", "between 1 and 65535", "nothing was applied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if got := names(t, kc, "apply-invalid"); len(got) != 0 {
		t.Errorf("policies applied despite the rejection: %v", got)
	}
}

// TestMissingNamespaceIsExplained: a policy for a namespace the cluster
// lacks is refused with advice.
func TestMissingNamespaceIsExplained(t *testing.T) {
	c, _ := fixture(t, "apply-present")
	_, err := apply.NewPlan(context.Background(), c, prepare(t, "shop", policy("apply-absent", "p", "a", "b", "80")), apply.Options{})
	if err == nil || !strings.Contains(err.Error(), `namespace "apply-absent" does not exist`) {
		t.Errorf("got %v", err)
	}
}

// TestConflictsNeedForce: a policy another tool applied with other values
// is a conflict the server reports, with the way out; --force-conflicts
// takes it over.
func TestConflictsNeedForce(t *testing.T) {
	c, kc := fixture(t, "apply-conflict")
	kc.Apply(t, kubetest.Parse(t, policy("apply-conflict", "web", "web", "lb", "80")))
	objs := prepare(t, "shop", policy("apply-conflict", "web", "web", "lb", "8080"))
	_, err := apply.NewPlan(context.Background(), c, objs, apply.Options{Owner: "shop"})
	if err == nil || !strings.Contains(err.Error(), "--force-conflicts") || !strings.Contains(err.Error(), "kubetest") {
		t.Fatalf("want a conflict naming the other manager and --force-conflicts, got %v", err)
	}
	got := actions(run(t, c, objs, apply.Options{Owner: "shop", ForceConflicts: true}))
	if want := []string{"changed NetworkPolicy apply-conflict/web"}; !slices.Equal(got, want) {
		t.Errorf("forced: got %v, want %v", got, want)
	}
}
