package action

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tightnet/tightnet/internal/kubetest"
	"github.com/tightnet/tightnet/internal/rollout"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

var actionApp = kubetest.Deployment("action-apply", "api", 9000) + "---\n" + kubetest.Deployment("action-apply", "web")

// apiPolicy admits from to the API on 9000.
func apiPolicy(from string) string {
	return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: action-apply}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: ` + from + `}]
    ports: [{protocol: TCP, port: 9000}]
`
}

const webReachesAPI = `- name: web-reaches-api
  action: allow
  from: app=web
  to: app=api
  protocol: TCP
  port_min: 9000
  port_max: 9000
`

// TestApplyMode runs mode apply against a real API server, with the
// kubeconfig passed as the input's contents: a proposal that cuts the web
// front off the API is refused by the baseline and writes nothing; the
// one that keeps it is applied; outputs and the job summary say so.
func TestApplyMode(t *testing.T) {
	srv := kubetest.Shared(t)
	kc := srv.Client(t)
	kc.Apply(t, kubetest.Parse(t, actionApp))
	kubeconfig, err := os.ReadFile(srv.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("rules.yaml", webReachesAPI)
	policies := kc.Dynamic.Resource(schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}).Namespace("action-apply")
	t.Cleanup(func() {
		_ = policies.DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	inputs := func(path string) map[string]string {
		return map[string]string{"mode": "apply", "paths": path, "baseline": rules, "kubeconfig": string(kubeconfig), "owner": "action", "prune": "true"}
	}

	r := newRun(t, "", inputs(write("cut.yaml", apiPolicy("{matchLabels: {app: batch}}"))))
	r.env["RUNNER_TEMP"] = t.TempDir()
	err = Config{Rollout: rollout.Run}.Run(t.Context(), r.gha)
	if !errors.Is(err, ErrFailOn) {
		t.Fatalf("a proposal cutting web off the API: got %v, want ErrFailOn", err)
	}
	if l, err := policies.List(context.Background(), metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("policies written despite the refusal: %v %v", l, err)
	}
	if got := r.outputs(t); got["violated"] != "1" || got["created"] != "1" || !strings.HasPrefix(got["summary"], "refused by the baseline") {
		t.Errorf("outputs after the refusal: %v", got)
	}
	if s := r.readSummary(t); !strings.Contains(s, "web-reaches-api") {
		t.Errorf("the summary does not name the failed rule:\n%s", s)
	}
	if left, _ := filepath.Glob(filepath.Join(r.env["RUNNER_TEMP"], "kubeconfig-*")); len(left) != 0 {
		t.Errorf("the kubeconfig was left on disk: %v", left)
	}

	r = newRun(t, "", inputs(write("keep.yaml", apiPolicy("{matchLabels: {app: web}}"))))
	if err := (Config{Rollout: rollout.Run}).Run(t.Context(), r.gha); err != nil {
		t.Fatal(err)
	}
	got := r.outputs(t)
	want := map[string]string{"summary": "1 created, 0 changed, 0 unchanged, 0 pruned", "created": "1", "changed": "0", "unchanged": "0", "pruned": "0", "violated": "0"}
	if !maps.Equal(got, want) {
		t.Errorf("outputs %v, want %v", got, want)
	}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(ApplyOutputs))) {
		t.Errorf("outputs set %v, want exactly %v", keys, ApplyOutputs)
	}
	if s := r.readSummary(t); !strings.Contains(s, "| created | `NetworkPolicy action-apply/api` |") {
		t.Errorf("summary:\n%s", s)
	}
}

// TestApplyModeInputs: apply needs baseline rules, and booleans are
// booleans.
func TestApplyModeInputs(t *testing.T) {
	r := newRun(t, "", map[string]string{"mode": "apply", "paths": "policies.yaml"})
	if err := (Config{}).Run(t.Context(), r.gha); err == nil || !strings.Contains(err.Error(), `needs the "baseline" input`) {
		t.Errorf("no baseline: %v", err)
	}
	r = newRun(t, "", map[string]string{"mode": "apply", "paths": "policies.yaml", "baseline": "rules.yaml", "prune": "yes please"})
	if err := (Config{}).Run(t.Context(), r.gha); err == nil || !strings.Contains(err.Error(), `input "prune" is "yes please"`) {
		t.Errorf("bad prune: %v", err)
	}
}
