package manifest

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	policyv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	policyv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/tightnet/tightnet/internal/model"
)

// groupKind names a kind of object independently of its API version.
type groupKind struct{ group, kind string }

// kindSpec says how to read one kind of object.
type kindSpec struct {
	// versions are the API versions read. Old beta versions are decoded
	// into the v1 types: the fields tightnet uses kept their names and
	// meaning.
	versions []string
	// clusterScoped objects have no namespace.
	clusterScoped bool
	decode        decodeFunc
}

// decodeFunc decodes an object's JSON into its metadata and the content
// tightnet keeps: a podTemplate for workloads, else the typed object.
type decodeFunc func(data []byte) (metav1.ObjectMeta, any, error)

// podTemplate is the content kept of a workload.
type podTemplate struct {
	labels      map[string]string
	annotations map[string]string
	spec        corev1.PodSpec
}

// kinds are the objects tightnet reads; documents of other kinds are skipped
// with a debug log. Adding a kind is one entry here, plus a case in
// assemble if its content is a new type.
var kinds = map[groupKind]kindSpec{
	{"", "Namespace"}: {versions: []string{"v1"}, clusterScoped: true, decode: typed(func(o *corev1.Namespace) metav1.ObjectMeta { return o.ObjectMeta })},
	{"", "Service"}:   {versions: []string{"v1"}, decode: typed(func(o *corev1.Service) metav1.ObjectMeta { return o.ObjectMeta })},
	// ConfigMaps and Secrets hold the addresses workloads connect to.
	{"", "ConfigMap"}: {versions: []string{"v1"}, decode: typed(func(o *corev1.ConfigMap) metav1.ObjectMeta { return o.ObjectMeta })},
	{"", "Secret"}:    {versions: []string{"v1"}, decode: typed(func(o *corev1.Secret) metav1.ObjectMeta { return o.ObjectMeta })},

	{"", "Pod"}: {versions: []string{"v1"}, decode: workload(func(o *corev1.Pod) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
	})},
	{"", "ReplicationController"}: {versions: []string{"v1"}, decode: workload(func(o *corev1.ReplicationController) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, o.Spec.Template
	})},
	{"apps", "Deployment"}:       {versions: []string{"v1", "v1beta2", "v1beta1"}, decode: deployment},
	{"extensions", "Deployment"}: {versions: []string{"v1beta1"}, decode: deployment},
	{"apps", "ReplicaSet"}:       {versions: []string{"v1", "v1beta2"}, decode: replicaSet},
	{"extensions", "ReplicaSet"}: {versions: []string{"v1beta1"}, decode: replicaSet},
	{"apps", "StatefulSet"}: {versions: []string{"v1", "v1beta2", "v1beta1"}, decode: workload(func(o *appsv1.StatefulSet) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	{"apps", "DaemonSet"}:       {versions: []string{"v1", "v1beta2"}, decode: daemonSet},
	{"extensions", "DaemonSet"}: {versions: []string{"v1beta1"}, decode: daemonSet},
	{"batch", "Job"}: {versions: []string{"v1"}, decode: workload(func(o *batchv1.Job) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})},
	// CronJob's pods come from the template of the template of its Jobs.
	{"batch", "CronJob"}: {versions: []string{"v1", "v1beta1"}, decode: workload(func(o *batchv1.CronJob) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template
	})},

	{"networking.k8s.io", "NetworkPolicy"}: {versions: []string{"v1"}, decode: networkPolicy},
	{"extensions", "NetworkPolicy"}:        {versions: []string{"v1beta1"}, decode: networkPolicy},

	// The cluster-wide admin tiers (sigs.k8s.io/network-policy-api).
	{policyGroup, "AdminNetworkPolicy"}: {versions: []string{"v1alpha1"}, clusterScoped: true,
		decode: typed(func(o *policyv1alpha1.AdminNetworkPolicy) metav1.ObjectMeta { return o.ObjectMeta })},
	{policyGroup, "BaselineAdminNetworkPolicy"}: {versions: []string{"v1alpha1"}, clusterScoped: true,
		decode: typed(func(o *policyv1alpha1.BaselineAdminNetworkPolicy) metav1.ObjectMeta { return o.ObjectMeta })},
	// v1alpha2 and v1beta1 share one schema; both are held as v1beta1.
	{policyGroup, "ClusterNetworkPolicy"}: {versions: []string{"v1beta1", "v1alpha2"}, clusterScoped: true,
		decode: typed(func(o *policyv1beta1.ClusterNetworkPolicy) metav1.ObjectMeta { return o.ObjectMeta })},
}

// policyGroup is the API group of the admin tiers.
const policyGroup = "policy.networking.k8s.io"

var (
	deployment = workload(func(o *appsv1.Deployment) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})
	replicaSet = workload(func(o *appsv1.ReplicaSet) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})
	daemonSet = workload(func(o *appsv1.DaemonSet) (metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return o.ObjectMeta, &o.Spec.Template
	})
	networkPolicy = typed(func(o *networkingv1.NetworkPolicy) metav1.ObjectMeta { return o.ObjectMeta })
)

// unmarshal decodes JSON as the API server does: field names match case
// sensitively, and unknown fields are ignored.
func unmarshal(data []byte, v any) error {
	return sigsjson.UnmarshalCaseSensitivePreserveInts(data, v)
}

// typed reads an object that is kept whole.
func typed[T any](meta func(*T) metav1.ObjectMeta) decodeFunc {
	return func(data []byte) (metav1.ObjectMeta, any, error) {
		o := new(T)
		if err := unmarshal(data, o); err != nil {
			return metav1.ObjectMeta{}, nil, err
		}
		return meta(o), o, nil
	}
}

// workload reads an object of which the pod template is kept. The template
// may be nil (a ReplicationController may omit it).
func workload[T any](parts func(*T) (metav1.ObjectMeta, *corev1.PodTemplateSpec)) decodeFunc {
	return func(data []byte) (metav1.ObjectMeta, any, error) {
		o := new(T)
		if err := unmarshal(data, o); err != nil {
			return metav1.ObjectMeta{}, nil, err
		}
		meta, tpl := parts(o)
		var pt podTemplate
		if tpl != nil {
			pt = podTemplate{labels: tpl.Labels, annotations: tpl.Annotations, spec: tpl.Spec}
		}
		if pt.labels == nil {
			pt.labels = map[string]string{}
		}
		return meta, pt, nil
	}
}

// object is one object read, before duplicates are dropped and pods folded
// into their controllers.
type object struct {
	kind            string
	apiVersion      string
	namespace, name string
	meta            metav1.ObjectMeta
	content         any // podTemplate, *corev1.Service, ...
	source          model.Location
}

// id names the object in findings: "Kind namespace/name", or "Kind name"
// for cluster-scoped objects.
func (o *object) id() string { return objectID(o.kind, o.namespace, o.name) }

func objectID(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// object decodes a document of a known kind and records it.
func (s *decoded) object(d document, apiVersion, kind string, metaJSON json.RawMessage) {
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion // the core group: "v1"
	}
	spec, ok := kinds[groupKind{group, kind}]
	if !ok {
		s.debug("skipping object of a kind tightnet does not read", "location", d.loc().String(), "apiVersion", apiVersion, "kind", kind)
		return
	}
	// A best-effort name for messages, read before the object decodes.
	var names struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	_ = unmarshal(metaJSON, &names)
	namespace := names.Namespace
	if spec.clusterScoped {
		namespace = ""
	} else if namespace == "" {
		namespace = cmp.Or(d.namespace, DefaultNamespace)
	}
	// id names the object in findings, and describe in messages, as far as
	// they are known.
	id, describe := "", kind
	if names.Name != "" {
		id = objectID(kind, namespace, names.Name)
		describe = id
	}
	if !slices.Contains(spec.versions, version) {
		s.finding(CodeUnsupportedVersion, model.Warning, d.loc(), id,
			"%s %s is not an API version tightnet reads, so the object was skipped; use %s", kind, apiVersion, groupVersion(group, spec.versions[0]))
		return
	}
	meta, content, err := spec.decode(d.json)
	if err != nil {
		s.finding(CodeInvalidObject, model.Error, d.loc(), id,
			"%s cannot be decoded: %v; fix the field's type (quote numbers and booleans meant as strings)", describe, err)
		return
	}
	if meta.Name == "" {
		s.finding(CodeInvalidObject, model.Error, d.loc(), id,
			"%s has no metadata.name; give it one (generateName alone is not supported)", kind)
		return
	}
	s.objects = append(s.objects, object{
		kind:       kind,
		apiVersion: apiVersion,
		namespace:  namespace,
		name:       meta.Name,
		meta:       meta,
		content:    content,
		source:     d.loc(),
	})
}

func groupVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}
