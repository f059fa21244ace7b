package extract

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// carryPolicies lists the policies of the inputs as their typed objects
// marshal, for the synthesizer: NetworkPolicies by namespace and name, then
// the admin tiers by name. Nothing is changed; the apiVersion is the one
// the input used.
func carryPolicies(objs *manifest.Objects) ([]Policy, error) {
	out := make([]Policy, 0, len(objs.Policies)+len(objs.AdminPolicies)+len(objs.BaselinePolicies)+len(objs.ClusterPolicies))
	add := func(tm metav1.TypeMeta, kind, apiVersion, namespace, name string, src model.Location, obj any) error {
		raw, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("extract topology: encode %s %s: %w", kind, name, err)
		}
		if tm.Kind != "" {
			kind = tm.Kind
		}
		if tm.APIVersion != "" {
			apiVersion = tm.APIVersion
		}
		out = append(out, Policy{Kind: kind, APIVersion: apiVersion, Namespace: namespace, Name: name, Source: src, Object: raw})
		return nil
	}
	for _, p := range objs.Policies {
		if err := add(p.Object.TypeMeta, "NetworkPolicy", "networking.k8s.io/v1", p.Object.Namespace, p.Object.Name, p.Source, p.Object); err != nil {
			return nil, err
		}
	}
	for _, p := range objs.AdminPolicies {
		if err := add(p.Object.TypeMeta, "AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "", p.Object.Name, p.Source, p.Object); err != nil {
			return nil, err
		}
	}
	for _, p := range objs.BaselinePolicies {
		if err := add(p.Object.TypeMeta, "BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", "", p.Object.Name, p.Source, p.Object); err != nil {
			return nil, err
		}
	}
	for _, p := range objs.ClusterPolicies {
		apiVersion := p.APIVersion
		if apiVersion == "" {
			apiVersion = "policy.networking.k8s.io/v1beta1"
		}
		if err := add(metav1.TypeMeta{Kind: p.Object.Kind, APIVersion: apiVersion}, "ClusterNetworkPolicy", apiVersion, "", p.Object.Name, p.Source, p.Object); err != nil {
			return nil, err
		}
	}
	return out, nil
}
