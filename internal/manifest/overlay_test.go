package manifest

import (
	"context"
	"slices"
	"testing"
)

func readText(t *testing.T, name, text string) *Objects {
	t.Helper()
	objs, err := ReadDocuments(context.Background(), []Document{{Name: name, Data: []byte(text)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestOverlay: the files own the namespaces they put objects in; other
// namespaces, and a namespace's labels when the files only refer to it,
// come from the cluster; cluster-scoped policies are replaced by name.
func TestOverlay(t *testing.T) {
	live := readText(t, "live", `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: other}}
---
apiVersion: v1
kind: Pod
metadata: {name: old-web, namespace: shop, labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: billing, namespace: other, labels: {app: billing}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: old, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: billing, namespace: other}
spec: {podSelector: {}}
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: kept}
spec: {tier: Admin, priority: 1, subject: {namespaces: {}}}
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: replaced}
spec: {tier: Admin, priority: 2, subject: {namespaces: {}}}
`)
	files := readText(t, "files", `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: new, labels: {team: new}}
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: replaced}
spec: {tier: Baseline, priority: 3, subject: {namespaces: {}}}
`)
	liveBefore := len(live.Workloads)
	got := Overlay(live, files)

	var workloads, policies, nss, cnps []string
	for _, w := range got.Workloads {
		workloads = append(workloads, w.Namespace+"/"+w.Name)
	}
	for _, p := range got.Policies {
		policies = append(policies, p.Object.Namespace+"/"+p.Object.Name)
	}
	for _, n := range got.Namespaces {
		nss = append(nss, n.Name+":"+n.Labels["team"])
	}
	for _, c := range got.ClusterPolicies {
		cnps = append(cnps, c.Object.Name+":"+string(c.Object.Spec.Tier))
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"workloads", workloads, []string{"other/billing", "shop/web"}},
		{"policies", policies, []string{"other/billing", "shop/web"}},
		{"namespaces", nss, []string{"new:new", "other:other", "shop:shop"}},
		{"cluster policies", cnps, []string{"kept:Admin", "replaced:Baseline"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	if len(live.Workloads) != liveBefore {
		t.Error("Overlay modified live")
	}
}
