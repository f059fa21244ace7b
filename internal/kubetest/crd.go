package kubetest

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ClusterNetworkPolicies is the resource the network-policy-api CRD serves.
var ClusterNetworkPolicies = schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1beta1", Resource: "clusternetworkpolicies"}

// InstallNetworkPolicyAPI installs the ClusterNetworkPolicy CRD shipped in
// the sigs.k8s.io/network-policy-api module tightnet builds with, waits
// until it is served, and returns a client that knows its kind.
func (s *Server) InstallNetworkPolicyAPI(t testing.TB) *Client {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/network-policy-api").Output()
	if err != nil {
		t.Fatalf("locate sigs.k8s.io/network-policy-api: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "policy.networking.k8s.io_clusternetworkpolicies.yaml")
	c := s.Client(t)
	c.Apply(t, ReadObjects(t, crd))
	for range 100 {
		if _, err := c.Dynamic.Resource(ClusterNetworkPolicies).List(context.Background(), metav1.ListOptions{}); err == nil {
			return s.Client(t) // a new client discovers the kind
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("ClusterNetworkPolicy never became served")
	return nil
}
