package cluster_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/diff"
	"github.com/tightnet/tightnet/internal/kubetest"
	"github.com/tightnet/tightnet/internal/manifest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// app is what the test deploys and reads back: its objects as files
// would hold them.
const app = `apiVersion: v1
kind: Namespace
metadata: {name: read-shop, labels: {team: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: read-shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: web, ports: [{name: http, containerPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: read-shop, labels: {app: db}}
spec:
  containers:
  - {name: db, image: db, ports: [{containerPort: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: read-shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: read-shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 5432}]
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: no-web-egress-to-internet}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: shop}}}
  egress:
  - name: deny-internet
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
`

// TestReadMatchesFiles deploys app to a real API server, with what the
// controllers would add (a ReplicaSet and a Pod of the Deployment, and a
// finished Pod), reads the cluster back and checks that tightnet sees
// what it sees in the files: the same workloads, labels and policies, and
// the same connectivity.
func TestReadMatchesFiles(t *testing.T) {
	srv := kubetest.Shared(t)
	kc := srv.InstallNetworkPolicyAPI(t)
	kc.Apply(t, kubetest.Parse(t, app))

	// What the Deployment controller and a finished Job would leave.
	deploy, err := kc.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace("read-shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs := owned(kubetest.Parse(t, `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-5d4f, namespace: read-shop, labels: {app: web, pod-template-hash: 5d4f}}
spec:
  selector: {matchLabels: {app: web, pod-template-hash: 5d4f}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d4f}}
    spec: {containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]}
`)[0], deploy)
	kc.Apply(t, []*unstructured.Unstructured{rs})
	rs, err = kc.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}).Namespace("read-shop").Get(context.Background(), "web-5d4f", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc.Apply(t, []*unstructured.Unstructured{owned(kubetest.Parse(t, `apiVersion: v1
kind: Pod
metadata: {name: web-5d4f-x7k2p, namespace: read-shop, labels: {app: web, pod-template-hash: 5d4f}}
spec: {containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]}
`)[0], rs)})
	kc.Apply(t, kubetest.Parse(t, `apiVersion: v1
kind: Pod
metadata: {name: migrate, namespace: read-shop, labels: {app: migrate}}
spec: {restartPolicy: Never, containers: [{name: m, image: m}]}
`))
	finish(t, kc, "read-shop", "migrate")

	c, err := cluster.NewClient("cluster:kubetest", srv.Config, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	live, err := c.Read(context.Background(), manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := manifest.ReadDocuments(context.Background(), []manifest.Document{{Name: "app.yaml", Data: []byte(app)}}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}

	var workloads []string
	for _, w := range live.Workloads {
		workloads = append(workloads, w.Peer().String())
		if w.Name == "web" && w.Source.File != "cluster:kubetest/deployments/read-shop/web" {
			t.Errorf("web's location is %q", w.Source.File)
		}
	}
	if want := []string{"read-shop/db[Pod]", "read-shop/web[Deployment]"}; !slices.Equal(workloads, want) {
		t.Errorf("workloads %v, want %v (the ReplicaSet and its Pod fold into the Deployment, the finished Pod is dropped)", workloads, want)
	}
	for _, ns := range live.Namespaces {
		if ns.Name == "read-shop" && ns.Labels["team"] != "shop" {
			t.Errorf("namespace labels %v", ns.Labels)
		}
	}
	if len(live.Policies) != 1 || len(live.ClusterPolicies) != 1 {
		t.Errorf("policies %d, cluster policies %d: want 1 and 1 (one version of the CRD read)", len(live.Policies), len(live.ClusterPolicies))
	}
	if len(live.ClusterPolicies) == 1 && live.ClusterPolicies[0].APIVersion != "policy.networking.k8s.io/v1beta1" {
		t.Errorf("cluster policy read as %s, want v1beta1", live.ClusterPolicies[0].APIVersion)
	}

	got, err := analyze.Connectivity(context.Background(), live)
	if err != nil {
		t.Fatal(err)
	}
	want, err := analyze.Connectivity(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	d, err := diff.Matrices(want.Matrix, got.Matrix)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Empty() {
		t.Errorf("the live cluster's connectivity differs from the files': %+v", d.Counts())
	}
}

// TestReadExplainsBadCredentials: a refused token is named as such.
func TestReadExplainsBadCredentials(t *testing.T) {
	srv := kubetest.Shared(t)
	cfg := *srv.Config
	cfg.BearerToken = "wrong"
	c, err := cluster.NewClient("cluster:kubetest", &cfg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(context.Background(), manifest.Options{})
	if err == nil || !strings.Contains(err.Error(), "credentials were refused") {
		t.Errorf("got %v", err)
	}
}

// TestConnectWithoutConfig: no kubeconfig anywhere is a clear error.
func TestConnectWithoutConfig(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := cluster.Connect(cluster.Config{})
	if err == nil || !strings.Contains(err.Error(), "no cluster configured") {
		t.Errorf("got %v", err)
	}
}

func owned(u, owner *unstructured.Unstructured) *unstructured.Unstructured {
	yes := true
	u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(), Controller: &yes}})
	return u
}

// finish marks a Pod Succeeded, as the kubelet would.
func finish(t *testing.T, kc *kubetest.Client, ns, name string) {
	t.Helper()
	pods := kc.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace(ns)
	pod, err := pods.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(pod.Object, "Succeeded", "status", "phase"); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
