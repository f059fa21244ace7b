package stage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tightnet/tightnet/internal/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// gateApp runs in the cluster before the apply: a web front and a
// database, with nothing isolated.
var gateApp = strings.Join([]string{
	kubetest.Deployment("gate", "web"),
	kubetest.Deployment("gate", "db", 5432),
	kubetest.Deployment("gate", "report"),
}, "---\n")

// Two proposals: one isolates the database to the web front, the other
// lets every pod of the namespace in.
const (
	isolateDB = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: gate}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{protocol: TCP, port: 5432}]
`
	openDB = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: gate}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {}}]
    ports: [{protocol: TCP, port: 5432}]
`
	onlyWebReadsDB = `- name: only-web-reads-db
  action: deny
  from: app!=web
  to: app=db
  protocol: TCP
  port_min: 5432
  port_max: 5432
`
)

// TestApplyRefusesWhatTheBaselineForbids: a proposal that lets the report
// job reach the database is refused, and nothing is written; --dry-run of
// the one that admits the web front alone writes nothing; applying it
// writes it; "connectivity cluster" then shows what the cluster enforces.
func TestApplyRefusesWhatTheBaselineForbids(t *testing.T) {
	srv := kubetest.Shared(t)
	kc := srv.Client(t)
	kc.Apply(t, kubetest.Parse(t, gateApp))
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("rules.yaml", onlyWebReadsDB)
	kube := []string{"--kubeconfig", srv.Kubeconfig, "--baseline", rules, "--owner", "gate"}
	policies := kc.Dynamic.Resource(schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}).Namespace("gate")
	t.Cleanup(func() {
		_ = policies.DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	count := func() int {
		l, err := policies.List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}

	results := t.TempDir()
	code, out, errs := runStage(t, append([]string{"apply", write("open.yaml", openDB), "--results-dir", results}, kube...)...)
	if code != ExitFindings || !strings.Contains(errs, "apply refused") || !strings.Contains(errs, "only-web-reads-db") {
		t.Fatalf("open proposal: exit %d, want 1 and a refusal naming the rule\n%s%s", code, out, errs)
	}
	if n := count(); n != 0 {
		t.Errorf("%d policies written despite the refusal", n)
	}
	if b, _ := os.ReadFile(filepath.Join(results, "violated")); string(b) != "1" {
		t.Errorf("violated result %q, want 1", b)
	}

	isolate := write("isolate.yaml", isolateDB)
	code, out, errs = runStage(t, append([]string{"apply", isolate, "--dry-run"}, kube...)...)
	if code != ExitOK || !strings.Contains(out, "created NetworkPolicy gate/db") || !strings.Contains(out, "dry run: nothing was written") || count() != 0 {
		t.Fatalf("dry run: exit %d, %d policies\n%s%s", code, count(), out, errs)
	}
	code, out, errs = runStage(t, append([]string{"apply", isolate}, kube...)...)
	if code != ExitOK || out != "created NetworkPolicy gate/db\napply: 1 created, 0 changed, 0 unchanged, 0 pruned\n" {
		t.Fatalf("isolating proposal: exit %d\n%q\n%s", code, out, errs)
	}

	// What was applied is what the cluster now enforces.
	code, out, errs = runStage(t, "connectivity", "cluster", "--kubeconfig", srv.Kubeconfig, "--focus-workload", "gate/db")
	if code != ExitOK || !strings.Contains(out, "gate/web[Deployment] => gate/db[Deployment] : TCP 5432") || strings.Contains(out, "gate/report[Deployment] => gate/db") {
		t.Errorf("connectivity of the cluster: exit %d\n%s%s", code, out, errs)
	}
}

// TestApplyNeedsABaselineOrSkip: verification is the default.
func TestApplyNeedsABaselineOrSkip(t *testing.T) {
	code, _, errs := runStage(t, "apply", "policies.yaml")
	if code != ExitError || !strings.Contains(errs, "--baseline is required") {
		t.Errorf("exit %d\n%s", code, errs)
	}
}

// TestApplyTakesPoliciesOnly: a Deployment among the inputs is refused,
// by file and line, before any cluster is contacted.
func TestApplyTakesPoliciesOnly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, []byte(isolateDB+"---\n"+gateApp), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runStage(t, "apply", p, "--skip-verify", "--kubeconfig", filepath.Join(t.TempDir(), "none"))
	if code != ExitError || !strings.Contains(errs, "apply applies policies only") || !strings.Contains(errs, "app.yaml:20: Deployment gate/db") {
		t.Errorf("exit %d\n%s", code, errs)
	}
}

// TestClusterKeywordIsNotAmbiguous: a local directory named cluster must
// be written ./cluster.
func TestClusterKeywordIsNotAmbiguous(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("cluster", 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runStage(t, "connectivity", "cluster")
	if code != ExitError || !strings.Contains(errs, "write ./cluster") {
		t.Errorf("exit %d\n%s", code, errs)
	}
}

func runStage(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := Run(context.Background(), "", args, Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	return code, out.String(), errs.String()
}

// TestDiffAndReviewAgainstTheCluster: the cluster runs two applications;
// the files hold one of them with a new policy. diff --base cluster shows
// what the change does — the other application loses its way to the
// database too — and not the other application as removed; review --base
// cluster verifies the cluster as it will be.
func TestDiffAndReviewAgainstTheCluster(t *testing.T) {
	srv := kubetest.Shared(t)
	kc := srv.Client(t)
	app := strings.ReplaceAll(gateApp, `namespace: "gate"`, `namespace: "overlay"`)
	kc.Apply(t, kubetest.Parse(t, app))
	kc.Apply(t, kubetest.Parse(t, kubetest.Deployment("overlay-other", "billing")))
	dir := t.TempDir()
	files := filepath.Join(dir, "app.yaml")
	change := app + "---\n" + strings.ReplaceAll(isolateDB, "namespace: gate", "namespace: overlay")
	if err := os.WriteFile(files, []byte(change), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runStage(t, "diff", "--base", "cluster", files, "--kubeconfig", srv.Kubeconfig)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if strings.Contains(out, "destination: overlay-other/billing") || strings.Contains(out, "[removed workload]") {
		t.Errorf("the other application's own connectivity shows in the diff:\n%s", out)
	}
	for _, want := range []string{
		"diff-type: removed, source: overlay/report[Deployment], destination: overlay/db[Deployment]",
		"diff-type: removed, source: overlay-other/billing[Deployment], destination: overlay/db[Deployment]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}

	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(onlyWebReadsDB), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runStage(t, "review", files, "--base", "cluster", "--kubeconfig", srv.Kubeconfig,
		"--baseline", rules, "--out-dir", filepath.Join(dir, "review"))
	if code != ExitOK || !strings.Contains(out, "0 connections added") || !strings.Contains(out, "0 baseline rules violated") {
		t.Errorf("review: exit %d\n%s%s", code, out, errs)
	}
}

// TestApplyAheadOfTheWorkloads: policies go out before the workload a
// baseline allow rule names. Verified against the cluster alone, the rule
// cannot be checked and apply refuses; with --manifests the workload to
// come counts, and the policies are applied.
func TestApplyAheadOfTheWorkloads(t *testing.T) {
	srv := kubetest.Shared(t)
	kc := srv.Client(t)
	deployed := strings.ReplaceAll(gateApp, `namespace: "gate"`, `namespace: "ahead"`)
	kc.Apply(t, kubetest.Parse(t, deployed))
	policies := kc.Dynamic.Resource(schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}).Namespace("ahead")
	t.Cleanup(func() {
		_ = policies.DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The API, not deployed yet, must reach the database.
	manifests := write("app.yaml", deployed+"---\n"+kubetest.Deployment("ahead", "api"))
	rules := write("rules.yaml", `- name: api-reads-db
  action: allow
  from: app=api
  to: app=db
  protocol: TCP
  port_min: 5432
  port_max: 5432
`)
	proposal := write("policies.yaml", strings.ReplaceAll(strings.ReplaceAll(isolateDB, "namespace: gate", "namespace: ahead"), "app: web}}}]", "app: api}}}]"))
	args := []string{"apply", proposal, "--kubeconfig", srv.Kubeconfig, "--baseline", rules, "--owner", "ahead"}

	code, out, errs := runStage(t, args...)
	if code != ExitFindings || !strings.Contains(errs, "api-reads-db") {
		t.Fatalf("without --manifests: exit %d, want 1 and the rule unchecked\n%s%s", code, out, errs)
	}
	code, out, errs = runStage(t, append(args, "--manifests", manifests)...)
	if code != ExitOK || !strings.Contains(out, "created NetworkPolicy ahead/db") {
		t.Errorf("with --manifests: exit %d\n%s%s", code, out, errs)
	}
}
