package sanity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/verify/sanity"
)

func read(t *testing.T, yaml string) (*manifest.Objects, analyze.Result) {
	t.Helper()
	objs, err := manifest.Read(context.Background(), []string{"-"}, manifest.Options{Stdin: strings.NewReader(yaml)})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Findings) > 0 {
		t.Fatalf("input findings: %v", objs.Findings)
	}
	res, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	return objs, res
}

// lines renders findings as "line code severity object" for comparison.
func lines(findings []model.Finding) string {
	var out []string
	for _, f := range findings {
		out = append(out, fmt.Sprintf("%d %s %s %s", f.Location.Line, f.Code, f.Severity, f.Object))
	}
	return strings.Join(out, "\n")
}

func check(t *testing.T, yaml string, opts sanity.Options) []model.Finding {
	t.Helper()
	objs, res := read(t, yaml)
	findings, err := sanity.Check(context.Background(), objs, res, opts)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

const workloads = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: ops}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: postgres}]}
---
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: ops, labels: {app: probe}}
spec: {containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: ops, labels: {app: batch}}
spec: {containers: [{name: c, image: busybox}]}
`

const closeAll = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ops}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`

// TestFindings pins every check on one configuration, finding by finding.
func TestFindings(t *testing.T) {
	yaml := workloads + closeAll + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}]
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}, {port: 5433}]
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
    ports: [{port: 9187}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: probe, namespace: ops}
spec:
  podSelector: {matchLabels: {app: probe}}
  egress:
  - to: [{namespaceSelector: {matchLabels: {team: shop}}}]
  - to: [{podSelector: {matchLabels: {app: gone}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: legacy, namespace: shop}
spec:
  podSelector: {matchLabels: {app: legacy}}
  ingress: [{}]
`
	got := lines(check(t, yaml, sanity.Options{}))
	want := strings.Join([]string{
		// The default denies are not redundant: batch, and the directions
		// no other policy isolates, rely on them.
		// db: the first rule is inside the second; the ops peer admits
		// batch too, which its own policies keep from reaching db.
		"39 sanity-namespace-wide info NetworkPolicy shop/db",
		"39 sanity-redundant-rule warning NetworkPolicy shop/db",
		// probe: the shop peer admits web, whose ingress is closed; the
		// other peer selects nothing, so its rule changes nothing.
		"61 sanity-empty-selector info NetworkPolicy ops/probe",
		"61 sanity-namespace-wide info NetworkPolicy ops/probe",
		"61 sanity-redundant-rule warning NetworkPolicy ops/probe",
		// legacy: selects nothing, allows everything, changes nothing.
		"70 sanity-allow-all warning NetworkPolicy shop/legacy",
		"70 sanity-empty-selector warning NetworkPolicy shop/legacy",
		"70 sanity-redundant-policy warning NetworkPolicy shop/legacy",
	}, "\n")
	if got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}

func TestMessages(t *testing.T) {
	yaml := workloads + closeAll + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
  - from: [{podSelector: {matchLabels: {app: web}}}]
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: probe, namespace: ops}
spec:
  podSelector: {matchLabels: {app: probe}}
  egress: [{to: [{podSelector: {matchLabels: {app: db}}, namespaceSelector: {}}]}]
`
	msgs := map[string]string{}
	for _, f := range check(t, yaml, sanity.Options{}) {
		msgs[f.Code+" "+f.Object] += f.Message + "\n"
	}
	for key, want := range map[string]string{
		"sanity-redundant-rule NetworkPolicy shop/db":   "spec.ingress[0] is redundant: removing it alone from NetworkPolicy shop/db changes no connection",
		"sanity-namespace-wide NetworkPolicy shop/db":   "spec.ingress[2].from[0] admits every pod of namespace ops, 2 workloads, but only ops/probe[Pod] can reach the policy's pods",
		"sanity-redundant-policy NetworkPolicy shop/db": "", // two rules duplicate each other: neither policy nor both rules go
	} {
		if want == "" {
			if msgs[key] != "" {
				t.Errorf("%s: unexpected %q", key, msgs[key])
			}
			continue
		}
		if !strings.Contains(msgs[key], want) {
			t.Errorf("%s: messages %q lack %q", key, msgs[key], want)
		}
	}
	if !strings.Contains(msgs["sanity-redundant-rule NetworkPolicy shop/db"], "spec.ingress[1] is redundant") {
		t.Errorf("duplicate rules: both are reported: %q", msgs["sanity-redundant-rule NetworkPolicy shop/db"])
	}
}

func TestNotIsolated(t *testing.T) {
	yaml := workloads + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ops-egress, namespace: ops}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {}}]}]
`
	var got []string
	for _, f := range check(t, yaml, sanity.Options{}) {
		if f.Code == sanity.CodeNotIsolated {
			got = append(got, f.Location.String()+" "+strings.SplitN(f.Message, ":", 2)[0])
		}
	}
	want := []string{
		"<stdin>:9 shop/web[Pod] is not isolated for egress",
		"<stdin>:14 shop/db[Pod] is not isolated for ingress or egress",
		"<stdin>:19 ops/probe[Pod] is not isolated for ingress",
		"<stdin>:24 ops/batch[Pod] is not isolated for ingress",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("not isolated:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRemovingARuleKeepsThePolicyTypes pins that a rule is removed, not the
// isolation its presence implied: the only egress rule of a policy without
// policyTypes opens nothing, so it is redundant, though removing it from
// the YAML would make the API server default policyTypes to Ingress alone
// and open all egress.
func TestRemovingARuleKeepsThePolicyTypes(t *testing.T) {
	yaml := workloads + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{to: [{podSelector: {matchLabels: {app: gone}}}]}]
`
	got := lines(check(t, yaml, sanity.Options{}))
	if !strings.Contains(got, "sanity-redundant-rule warning NetworkPolicy shop/web") || strings.Contains(got, "sanity-redundant-policy") {
		t.Errorf("findings:\n%s\nwant the egress rule redundant, not the policy", got)
	}
}

func TestAdminTierRedundancy(t *testing.T) {
	yaml := workloads + `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: shop}}}
  ingress:
  - {name: deny-ops, action: Deny, from: [{namespaces: {matchLabels: {team: ops}}}]}
  - {name: deny-ops-again, action: Deny, from: [{namespaces: {matchLabels: {team: ops}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: nobody}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {team: nobody}}}
  ingress:
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
`
	got := lines(check(t, yaml, sanity.Options{}))
	for _, want := range []string{
		"sanity-redundant-rule warning AdminNetworkPolicy guard",
		"sanity-redundant-policy warning AdminNetworkPolicy nobody",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "sanity-redundant-policy warning AdminNetworkPolicy guard") {
		t.Errorf("guard is not redundant:\n%s", got)
	}
}

func TestEvaluationsAreBounded(t *testing.T) {
	yaml := workloads + closeAll
	findings := check(t, yaml, sanity.Options{MaxEvaluations: 1})
	var incomplete, redundant int
	for _, f := range findings {
		switch f.Code {
		case sanity.CodeIncomplete:
			incomplete++
			if !strings.Contains(f.Message, "redundancy checked for 1 of 2 policies and rules") {
				t.Errorf("message %q", f.Message)
			}
		case sanity.CodeRedundantPolicy:
			redundant++
		}
	}
	if incomplete != 1 || redundant > 1 {
		t.Errorf("%d incomplete findings, %d redundant: %v", incomplete, redundant, findings)
	}
}

func TestCancelled(t *testing.T) {
	objs, res := read(t, workloads+closeAll)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sanity.Check(ctx, objs, res, sanity.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestInputsUnchanged checks that the checks evaluate copies: the inputs
// evaluate to the same matrix afterwards.
func TestInputsUnchanged(t *testing.T) {
	objs, res := read(t, workloads+closeAll+`---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}, {to: [{podSelector: {}}]}]
`)
	before := model.NewConnectivityMap(res.Matrix, nil)
	if _, err := sanity.Check(context.Background(), objs, res, sanity.Options{}); err != nil {
		t.Fatal(err)
	}
	if len(objs.Policies[2].Object.Spec.Egress) != 2 || len(objs.Policies[2].Object.Spec.PolicyTypes) != 0 {
		t.Fatalf("the input policy changed: %+v", objs.Policies[2].Object.Spec)
	}
	again, err := analyze.Connectivity(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := model.Marshal(before)
	b, _ := model.Marshal(model.NewConnectivityMap(again.Matrix, nil))
	if string(a) != string(b) {
		t.Error("the inputs evaluate differently after the checks")
	}
}
