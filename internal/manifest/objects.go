package manifest

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/model"
)

// NamespaceNameLabel is the label the API server sets on every namespace to
// its own name (Kubernetes 1.22+); policies select namespaces by it.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// DefaultNamespace is where namespaced objects without metadata.namespace go.
const DefaultNamespace = "default"

// Objects is everything read from the inputs that tightnet analyses. Every
// slice is sorted by namespace and name, so analysis output is deterministic.
type Objects struct {
	Namespaces []Namespace
	Workloads  []Workload
	Services   []Service
	// ConfigMaps and Secrets, sorted by namespace and name. Secret values
	// are read to find addresses and must never be printed.
	ConfigMaps []ConfigMap
	Secrets    []Secret
	Policies   []NetworkPolicy
	// The cluster-scoped admin tiers, each sorted by name.
	AdminPolicies    []AdminNetworkPolicy
	BaselinePolicies []BaselineAdminNetworkPolicy
	ClusterPolicies  []ClusterNetworkPolicy
	// Routes are the ways into the cluster through an ingress controller
	// or a gateway, sorted by namespace, name and kind.
	Routes []Route
	// Findings are problems with the inputs that did not stop the read:
	// malformed documents, objects that could not be decoded, skipped files.
	Findings []model.Finding
}

// Namespace is a namespace with its labels. Labels always hold
// NamespaceNameLabel set to Name, as the API server does.
type Namespace struct {
	Name   string
	Labels map[string]string
	// Declared is false for namespaces that the inputs reference but do not
	// define; their only label is NamespaceNameLabel.
	Declared bool
	// Source is where the Namespace was read; for an undeclared namespace,
	// where the first object in it was read.
	Source model.Location
}

// Workload is a set of pods managed together: a Pod, Deployment, ReplicaSet,
// ReplicationController, StatefulSet, DaemonSet, Job or CronJob. A Pod or
// ReplicaSet owned by a controller present in the inputs is folded into that
// controller's workload and does not appear on its own.
type Workload struct {
	Kind      string // "Deployment", "Pod", ...
	Namespace string
	Name      string
	// PodLabels are the labels of the workload's pods (the pod template's
	// labels, or a Pod's own).
	PodLabels map[string]string
	// PodAnnotations are the pod template's annotations (Prometheus scrape
	// annotations live there).
	PodAnnotations map[string]string
	// Pod is the pod template's spec (or a Pod's spec); containers and
	// initContainers carry the named ports policies resolve.
	Pod    corev1.PodSpec
	Source model.Location
}

// Peer is the connectivity peer of the workload.
func (w Workload) Peer() model.Peer { return model.WorkloadPeer(w.Namespace, w.Name, w.Kind) }

// Service is a Service object and where it was read.
type Service struct {
	Object *corev1.Service
	Source model.Location
}

// NetworkPolicy is a NetworkPolicy object and where it was read.
type NetworkPolicy struct {
	Object *networkingv1.NetworkPolicy
	Source model.Location
}

// AdminNetworkPolicy is a policy.networking.k8s.io/v1alpha1
// AdminNetworkPolicy and where it was read.
type AdminNetworkPolicy struct {
	Object *policyv1alpha1.AdminNetworkPolicy
	Source model.Location
}

// BaselineAdminNetworkPolicy is a policy.networking.k8s.io/v1alpha1
// BaselineAdminNetworkPolicy and where it was read.
type BaselineAdminNetworkPolicy struct {
	Object *policyv1alpha1.BaselineAdminNetworkPolicy
	Source model.Location
}

// ClusterNetworkPolicy is a policy.networking.k8s.io ClusterNetworkPolicy
// and where it was read. v1alpha2 objects, whose schema v1beta1 kept, are
// held as v1beta1; APIVersion says which one the input used.
type ClusterNetworkPolicy struct {
	Object     *policyv1beta1.ClusterNetworkPolicy
	APIVersion string
	Source     model.Location
}

// Route is a way traffic enters the cluster through the ingress controller
// or a gateway: an Ingress, an OpenShift Route, or a Gateway API route
// (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute), reduced to the
// Services it sends traffic to.
type Route struct {
	Kind      string
	Namespace string
	Name      string
	Backends  []Backend
	Source    model.Location
}

// Backend is a Service a route sends traffic to.
type Backend struct {
	Namespace string
	Service   string
	// Port is the Service port, by number or by name; unset (zero value)
	// means every port of the Service.
	Port intstr.IntOrString
	// TargetPort, set by OpenShift Routes only, is the pod port, by number
	// or by container port name, bypassing the Service's port list.
	TargetPort *intstr.IntOrString
}

// ConfigMap is a ConfigMap object and where it was read.
type ConfigMap struct {
	Object *corev1.ConfigMap
	Source model.Location
}

// Secret is a Secret object and where it was read. Its values must never be
// printed: findings and provenance name the Secret and key only.
type Secret struct {
	Object *corev1.Secret
	Source model.Location
}
