package packaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/tightnet/tightnet/internal/kubetest"
)

// The apply steps run against the test binary's kube-apiserver
// (kubetest.Shared), each on an application of its own: a namespace and an
// owner no other test uses, as prune looks at the whole cluster.

// applyApp runs in the cluster before the apply: a web front, an API and a
// database, and two policies in force — "stale", applied by tightnet under
// the owner earlier, which lets every pod of the namespace reach the
// database, and "allow-probes", written by hand. {ns} and {owner} are
// replaced.
var applyApp = kubetest.Deployment("{ns}", "web", 8080) + "---\n" +
	kubetest.Deployment("{ns}", "api", 9000) + "---\n" +
	kubetest.Deployment("{ns}", "db", 5432) + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: stale
  namespace: "{ns}"
  labels: {app.kubernetes.io/managed-by: tightnet, tightnet.dev/owner: "{owner}"}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {}}]
    ports: [{protocol: TCP, port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-probes, namespace: "{ns}"}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - ports: [{protocol: TCP, port: 8080}]
`

// applyPolicies are the approved policies on the main branch: ingress
// denied by default, the API admitting the web front, the database the
// API.
const applyPolicies = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: "{ns}"}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: "{ns}"}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{protocol: TCP, port: 9000}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: "{ns}"}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{protocol: TCP, port: 5432}]
`

// applyBaseline are the baseline rules on the main branch. The stale
// policy breaks the first: applying without pruning it is refused.
const applyBaseline = `- name: only-api-reads-db
  action: deny
  from: app!=api
  to: app=db
  to_ns: kubernetes.io/metadata.name={ns}
  protocol: TCP
  port_min: 5432
  port_max: 5432
- name: web-reaches-api
  action: allow
  from: app=web
  from_ns: kubernetes.io/metadata.name={ns}
  to: app=api
  to_ns: kubernetes.io/metadata.name={ns}
  protocol: TCP
  port_min: 9000
  port_max: 9000
`

// Where the approved policies and the baseline rules are in the checkout:
// the defaults of the apply pipeline and workflow.
const (
	applyPoliciesDir = "networkpolicies/tightnet"
	applyBaselineDir = ".tightnet/baseline"
)

var networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}

// applyFixture is one application for an apply step: deployed in
// namespace ns with the policies of applyApp, its approved policies and
// baseline rules written into a checkout.
type applyFixture struct {
	srv       *kubetest.Server
	kc        *kubetest.Client
	ns, owner string
}

// newApplyFixture deploys the application in namespace ns and writes the
// checkout of its main branch into dir; the policies in ns are deleted when
// the test ends.
func newApplyFixture(t *testing.T, dir, ns, owner string) *applyFixture {
	t.Helper()
	srv := kubetest.Shared(t)
	f := &applyFixture{srv: srv, kc: srv.Client(t), ns: ns, owner: owner}
	t.Cleanup(func() { f.kc.DeleteAll(t, networkPolicies, ns) })
	f.kc.Apply(t, kubetest.Parse(t, f.text(applyApp)))
	for path, text := range map[string]string{
		filepath.Join(applyPoliciesDir, "policies.yaml"): applyPolicies,
		filepath.Join(applyBaselineDir, "baseline.yaml"): applyBaseline,
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.text(text)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *applyFixture) text(s string) string {
	return strings.NewReplacer("{ns}", f.ns, "{owner}", f.owner).Replace(s)
}

// adminKubeconfig is the kubeconfig of the server's administrator.
func (f *applyFixture) adminKubeconfig(t *testing.T) string {
	t.Helper()
	return readFile(t, f.srv.Kubeconfig)
}

// checkApplied checks the results of an apply with prune that found the
// cluster as the fixture left it — the three approved policies created,
// the stale one pruned, the baseline satisfied — and that the cluster
// holds the approved policies, labelled with the owner, and the
// hand-written one untouched.
func (f *applyFixture) checkApplied(t *testing.T, results map[string]string) {
	t.Helper()
	want := map[string]string{"created": "3", "changed": "0", "unchanged": "0", "pruned": "1", "violated": "0"}
	for name, v := range want {
		if results[name] != v {
			t.Errorf("result %s = %q, want %q (results %v)", name, results[name], v, results)
		}
	}
	list, err := f.kc.Dynamic.Resource(networkPolicies).Namespace(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.GetName())
		l := p.GetLabels()
		switch p.GetName() {
		case "allow-probes":
			if len(l) != 0 {
				t.Errorf("the hand-written policy was touched: labels %v", l)
			}
		default:
			if l["app.kubernetes.io/managed-by"] != "tightnet" || l["tightnet.dev/owner"] != f.owner {
				t.Errorf("policy %s/%s labelled %v, want managed by tightnet for %s", f.ns, p.GetName(), l, f.owner)
			}
		}
	}
	slices.Sort(names)
	if want := []string{"allow-probes", "api", "db", "default-deny-ingress"}; !slices.Equal(names, want) {
		t.Errorf("policies in %s: %v, want %v", f.ns, names, want)
	}
}

// runApplySample runs the apply sample's step twice against the test's
// API server, the kubeconfig Secret its workspace names emulated: the first
// run applies and prunes, the second finds nothing to do. The record of the
// changes is written where the out param says.
func runApplySample(t *testing.T, task *v1.Task, run *v1.TaskRun, ws string) {
	t.Helper()
	f := newApplyFixture(t, filepath.Join(ws, "repo"), "apply-sample", paramValues(t, task, run.Spec.Params)["owner"].StringVal)
	sec := secrets{"tightnet-kubeconfig": {"kubeconfig": f.adminKubeconfig(t)}}
	bound := map[string]string{}
	for _, w := range run.Spec.Workspaces {
		switch {
		case w.Secret != nil:
			bound[w.Name] = secretVolume(t, sec, w.Secret.SecretName, w.Secret.Optional != nil && *w.Secret.Optional)
		case w.Name == "source":
			bound[w.Name] = ws
		default:
			t.Fatalf("sample binds workspace %s to neither a Secret nor the source volume", w.Name)
		}
	}
	got := runStepBound(t, task, run.Spec.Params, bound, nil)
	f.checkApplied(t, got)
	var record struct {
		Kind    string
		Changes []struct{ Action, Namespace, Name string }
		DryRun  bool
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(ws, "repo", got["output"]))), &record); err != nil {
		t.Fatalf("the output %s: %v", got["output"], err)
	}
	if record.Kind != "ApplyResult" || len(record.Changes) != 4 || record.DryRun {
		t.Errorf("the output records %+v, want 4 changes written", record)
	}

	again := runStepBound(t, task, run.Spec.Params, bound, nil)
	for name, v := range map[string]string{"created": "0", "changed": "0", "unchanged": "3", "pruned": "0"} {
		if again[name] != v {
			t.Errorf("rerun: result %s = %q, want %q (results %v)", name, again[name], v, again)
		}
	}
}

// TestApplyTaskWithoutKubeconfig runs the apply step with its kubeconfig
// workspace unbound: KUBECONFIG is then "/kubeconfig" (Tekton substitutes
// "" for the workspace's path), and the stage must take that missing file
// as no configuration — client-go's next step is the pod's in-cluster
// service account — rather than as an error about the file. Outside a pod
// (no KUBERNETES_SERVICE_HOST in the step's env) that ends in the stage's
// "no cluster configured".
func TestApplyTaskWithoutKubeconfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	if _, err := os.Stat("/kubeconfig"); err == nil {
		t.Skip("this machine has a /kubeconfig; the step would read it")
	}
	task := loadTask(t, "apply")
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "policies.yaml"), strings.ReplaceAll(applyPolicies, "{ns}", "unbound"))
	writeFile(t, filepath.Join(ws, "baseline.yaml"), strings.ReplaceAll(applyBaseline, "{ns}", "unbound"))
	s := prepareStep(t, task, v1.Params{
		{Name: "policies", Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{"policies.yaml"}}},
		{Name: "baseline", Value: *v1.NewStructuredValues("baseline.yaml")},
	}, map[string]string{"source": ws}, nil)
	if !slices.Contains(s.env, "KUBECONFIG=/kubeconfig") {
		t.Errorf("env %v, want KUBECONFIG=/kubeconfig when the workspace is unbound", s.env)
	}
	cmd := exec.Command(binaryFor(t, s.image), s.args...)
	cmd.Dir, cmd.Env = s.dir, s.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "no cluster configured") || strings.Contains(string(out), "/kubeconfig") {
		t.Errorf("exit %v, want 2 and no cluster configured (not an error about /kubeconfig):\n%s", err, out)
	}
}

// serviceAccountKubeconfig applies tasks/apply/samples/rbac.yaml with its
// ServiceAccount in namespace ns and returns a kubeconfig holding a token
// of that account, once the server authorizes it to list policies.
func serviceAccountKubeconfig(t *testing.T, f *applyFixture, ns string) string {
	t.Helper()
	objs := kubetest.ReadObjects(t, filepath.Join(repoRoot, "tasks", "apply", "samples", "rbac.yaml"))
	var account string
	for _, u := range objs {
		switch u.GetKind() {
		case "ServiceAccount":
			u.SetNamespace(ns)
			account = u.GetName()
		case "ClusterRoleBinding", "RoleBinding":
			subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = ns
			}
			if err := unstructured.SetNestedSlice(u.Object, subjects, "subjects"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if account == "" {
		t.Fatal("rbac.yaml holds no ServiceAccount")
	}
	f.kc.Apply(t, objs)
	req := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authentication.k8s.io/v1",
		"kind":       "TokenRequest",
		"metadata":   map[string]any{"name": account, "namespace": ns},
		"spec":       map[string]any{"expirationSeconds": int64(3600)},
	}}
	sa := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	resp, err := f.kc.Dynamic.Resource(sa).Namespace(ns).Create(context.Background(), req, metav1.CreateOptions{}, "token")
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, account, err)
	}
	token, _, _ := unstructured.NestedString(resp.Object, "status", "token")
	if token == "" {
		t.Fatalf("token for %s/%s: none in %v", ns, account, resp.Object["status"])
	}
	// The authorizer learns of new bindings from a watch: wait for it.
	cfg := &rest.Config{Host: f.srv.Config.Host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := dyn.Resource(networkPolicies).List(context.Background(), metav1.ListOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s cannot list policies: %v", ns, account, err)
		}
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: ci
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: %s
  user: {token: %q}
contexts:
- name: ci
  context: {cluster: ci, user: %s}
current-context: ci
`, f.srv.Config.Host, account, token, account)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
