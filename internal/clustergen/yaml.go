package clustergen

import (
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/manifest"
)

// WriteYAML writes objects as a multi-document YAML manifest, each document
// starting with "---": Namespaces, then workloads, then Services, then
// NetworkPolicies, then AdminNetworkPolicies, BaselineAdminNetworkPolicies
// and ClusterNetworkPolicies, each group in objs' order.
//
// Only declared namespaces are written: an undeclared one is implied by the
// objects in it, as when the inputs reference it without defining it.
// Each workload is written as an object of its own Kind (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob or
// Pod) whose pod template carries PodLabels and Pod; a controller's selector
// is PodLabels. An unknown Kind is an error.
//
// AdminNetworkPolicies and BaselineAdminNetworkPolicies are written as
// policy.networking.k8s.io/v1alpha1, a ClusterNetworkPolicy with its
// APIVersion (policy.networking.k8s.io/v1beta1 when empty); the admin
// tiers are written without status.
func WriteYAML(w io.Writer, objs *manifest.Objects) error {
	var docs []any
	for _, ns := range objs.Namespaces {
		if !ns.Declared {
			continue
		}
		docs = append(docs, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: ns.Labels},
		})
	}
	for _, wl := range objs.Workloads {
		doc, err := workloadObject(wl)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	for _, s := range objs.Services {
		if s.Object == nil {
			continue
		}
		svc := s.Object.DeepCopy()
		svc.APIVersion, svc.Kind = "v1", "Service"
		docs = append(docs, svc)
	}
	for _, p := range objs.Policies {
		if p.Object == nil {
			continue
		}
		np := p.Object.DeepCopy()
		np.APIVersion, np.Kind = "networking.k8s.io/v1", "NetworkPolicy"
		docs = append(docs, np)
	}
	for _, p := range objs.AdminPolicies {
		if p.Object == nil {
			continue
		}
		docs = append(docs, specDoc[policyv1alpha1.AdminNetworkPolicySpec]{
			TypeMeta:   metav1.TypeMeta{APIVersion: policyV1alpha1, Kind: "AdminNetworkPolicy"},
			ObjectMeta: p.Object.ObjectMeta,
			Spec:       p.Object.Spec,
		})
	}
	for _, p := range objs.BaselinePolicies {
		if p.Object == nil {
			continue
		}
		docs = append(docs, specDoc[policyv1alpha1.BaselineAdminNetworkPolicySpec]{
			TypeMeta:   metav1.TypeMeta{APIVersion: policyV1alpha1, Kind: "BaselineAdminNetworkPolicy"},
			ObjectMeta: p.Object.ObjectMeta,
			Spec:       p.Object.Spec,
		})
	}
	for _, p := range objs.ClusterPolicies {
		if p.Object == nil {
			continue
		}
		apiVersion := p.APIVersion
		if apiVersion == "" {
			apiVersion = policyV1beta1
		}
		docs = append(docs, specDoc[policyv1beta1.ClusterNetworkPolicySpec]{
			TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: "ClusterNetworkPolicy"},
			ObjectMeta: p.Object.ObjectMeta,
			Spec:       p.Object.Spec,
		})
	}
	for _, doc := range docs {
		b, err := yaml.Marshal(doc)
		if err != nil {
			return fmt.Errorf("write yaml: %w", err)
		}
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return fmt.Errorf("write yaml: %w", err)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write yaml: %w", err)
		}
	}
	return nil
}

// specDoc is a cluster-scoped object with metadata and spec, written without
// the status its Go type always marshals.
type specDoc[Spec any] struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              Spec `json:"spec"`
}

// workloadObject is the Kubernetes object of the workload's Kind.
func workloadObject(w manifest.Workload) (any, error) {
	meta := metav1.ObjectMeta{Namespace: w.Namespace, Name: w.Name, Labels: w.PodLabels}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: w.PodLabels}, Spec: w.Pod}
	selector := &metav1.LabelSelector{MatchLabels: w.PodLabels}
	typeMeta := func(apiVersion string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: apiVersion, Kind: w.Kind}
	}
	switch w.Kind {
	case "Pod":
		return &corev1.Pod{TypeMeta: typeMeta("v1"), ObjectMeta: meta, Spec: w.Pod}, nil
	case "Deployment":
		return &appsv1.Deployment{TypeMeta: typeMeta("apps/v1"), ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{Selector: selector, Template: template}}, nil
	case "StatefulSet":
		return &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1"), ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{Selector: selector, Template: template, ServiceName: w.Name}}, nil
	case "DaemonSet":
		return &appsv1.DaemonSet{TypeMeta: typeMeta("apps/v1"), ObjectMeta: meta,
			Spec: appsv1.DaemonSetSpec{Selector: selector, Template: template}}, nil
	case "ReplicaSet":
		return &appsv1.ReplicaSet{TypeMeta: typeMeta("apps/v1"), ObjectMeta: meta,
			Spec: appsv1.ReplicaSetSpec{Selector: selector, Template: template}}, nil
	case "ReplicationController":
		return &corev1.ReplicationController{TypeMeta: typeMeta("v1"), ObjectMeta: meta,
			Spec: corev1.ReplicationControllerSpec{Selector: w.PodLabels, Template: &template}}, nil
	case "Job":
		return &batchv1.Job{TypeMeta: typeMeta("batch/v1"), ObjectMeta: meta,
			Spec: batchv1.JobSpec{Template: template}}, nil
	case "CronJob":
		return &batchv1.CronJob{TypeMeta: typeMeta("batch/v1"), ObjectMeta: meta,
			Spec: batchv1.CronJobSpec{Schedule: "*/15 * * * *", JobTemplate: batchv1.JobTemplateSpec{
				Spec: batchv1.JobSpec{Template: template},
			}}}, nil
	}
	return nil, fmt.Errorf("write yaml: workload %s has kind %q, which has no object form; use Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob", w.Peer(), w.Kind)
}
