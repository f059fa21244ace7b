package examples_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/kubetest"
	"github.com/tightnet/tightnet/internal/stage"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

var networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}

// TestSynthesizedPoliciesPassServerValidation applies every example's
// proposal (expected/policies.yaml.golden) to a real API server with its
// dry run: the server's validation accepts every policy tightnet writes.
func TestSynthesizedPoliciesPassServerValidation(t *testing.T) {
	srv := kubetest.Shared(t)
	c := srv.Client(t)
	for _, dir := range examples(t) {
		t.Run(dir, func(t *testing.T) {
			golden := filepath.Join(dir, "expected", "policies.yaml.golden")
			policies := kubetest.ReadObjects(t, golden)
			createNamespaces(t, c, policies)
			out, errs, code := runCode(t, "apply", golden, "--kubeconfig", srv.Kubeconfig, "--skip-verify", "--dry-run", "--owner", dir)
			if code != stage.ExitOK {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			if want := "apply: " + itoa(len(policies)) + " created, 0 changed, 0 unchanged, 0 pruned (dry run: nothing was written)"; !strings.Contains(out, want) {
				t.Errorf("want %q in\n%s", want, out)
			}
		})
	}
}

// TestGuardrailsPassServerValidation: the admin-tier guardrails synthesize
// writes from the shipped baseline rules (ClusterNetworkPolicies) pass the
// network-policy-api CRD's validation on a real server, beside the shop's
// NetworkPolicies.
func TestGuardrailsPassServerValidation(t *testing.T) {
	srv := kubetest.Shared(t)
	c := srv.InstallNetworkPolicyAPI(t)
	policies := filepath.Join(t.TempDir(), "policies.yaml")
	if _, errs, code := runCode(t, "synthesize", "shop", "--baseline", "baseline-rules", "--baseline-as", "admin", "--cnp",
		"--fail-on", "never", "--out", policies); code != stage.ExitOK {
		t.Fatalf("synthesize: exit %d\n%s", code, errs)
	}
	objs := kubetest.ReadObjects(t, policies)
	cnps := 0
	for _, u := range objs {
		if u.GetKind() == "ClusterNetworkPolicy" {
			cnps++
		}
	}
	if cnps == 0 {
		t.Fatal("the proposal holds no ClusterNetworkPolicy")
	}
	createNamespaces(t, c, objs)
	stdout, errs, code := runCode(t, "apply", policies, "--kubeconfig", srv.Kubeconfig, "--skip-verify", "--dry-run", "--owner", "guardrails")
	if want := "apply: " + itoa(len(objs)) + " created"; code != stage.ExitOK || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, want %q\n%s%s", code, want, stdout, errs)
	}
}

// TestApplyReadBackDiffIsEmpty deploys each plain-YAML example's workloads
// to a real API server, applies its proposal with tightnet apply, and then
// compares the live cluster with the files: the semantic diff is empty. A
// second apply changes nothing, down to the objects' resourceVersions.
func TestApplyReadBackDiffIsEmpty(t *testing.T) {
	srv := kubetest.Shared(t)
	c := srv.Client(t)
	ran := 0
	for _, dir := range examples(t) {
		t.Run(dir, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "manifests")); err != nil {
				t.Skip("not plain YAML (a chart or kustomization): covered by the validation test")
			}
			var app []*unstructured.Unstructured
			for _, u := range kubetest.ReadObjects(t, filepath.Join(dir, "manifests")) {
				if u.GetKind() != "NetworkPolicy" {
					app = append(app, u)
				}
			}
			if unserved := c.Serves(app); len(unserved) > 0 {
				t.Skipf("the test server does not serve %v", unserved)
			}
			c.Apply(t, app)
			golden := filepath.Join(dir, "expected", "policies.yaml.golden")
			policies := kubetest.ReadObjects(t, golden)
			for _, ns := range namespacesOf(policies) {
				t.Cleanup(func() { c.DeleteAll(t, networkPolicies, ns) })
			}

			// The files: the example's objects and the proposal.
			files := t.TempDir()
			var buf bytes.Buffer
			for _, u := range app {
				b, err := yaml.Marshal(u.Object)
				if err != nil {
					t.Fatal(err)
				}
				buf.WriteString("---\n")
				buf.Write(b)
			}
			writeFile(t, filepath.Join(files, "app.yaml"), buf.Bytes())
			proposal, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(files, "policies.yaml"), proposal)

			kube := []string{"--kubeconfig", srv.Kubeconfig}
			out, errs, code := runCode(t, append([]string{"apply", golden, "--skip-verify", "--owner", dir}, kube...)...)
			if code != stage.ExitOK || !strings.Contains(out, "apply: "+itoa(len(policies))+" created, 0 changed, 0 unchanged, 0 pruned\n") {
				t.Fatalf("first apply: exit %d\n%s%s", code, out, errs)
			}
			before := resourceVersions(t, c, policies)

			out, errs, code = runCode(t, append([]string{"diff", "--base", "cluster", files, "--fail-on-change", "--fail-on", "never"}, kube...)...)
			if code != stage.ExitOK {
				t.Errorf("the live cluster and the files differ (exit %d):\n%s%s", code, out, errs)
			}

			out, errs, code = runCode(t, append([]string{"apply", golden, "--skip-verify", "--owner", dir}, kube...)...)
			if code != stage.ExitOK || !strings.Contains(out, "apply: 0 created, 0 changed, "+itoa(len(policies))+" unchanged, 0 pruned\n") {
				t.Errorf("second apply: exit %d\n%s%s", code, out, errs)
			}
			after := resourceVersions(t, c, policies)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s: resourceVersion %s before the second apply, %s after", k, v, after[k])
				}
			}
			ran++
		})
	}
	if ran < 3 {
		t.Errorf("only %d examples went through the cluster; want at least 3", ran)
	}
}

func createNamespaces(t *testing.T, c *kubetest.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	var nss []*unstructured.Unstructured
	for _, ns := range namespacesOf(objs) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(ns)
		nss = append(nss, u)
	}
	c.Apply(t, nss)
}

func namespacesOf(objs []*unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range objs {
		if ns := u.GetNamespace(); ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

func resourceVersions(t *testing.T, c *kubetest.Client, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range objs {
		got, err := c.Dynamic.Resource(networkPolicies).Namespace(u.GetNamespace()).Get(context.Background(), u.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[u.GetNamespace()+"/"+u.GetName()] = got.GetResourceVersion()
	}
	return out
}

func runCode(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errs bytes.Buffer
	code := stage.Run(context.Background(), "", args, stage.Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	return out.String(), errs.String(), code
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
