package manifest

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// routeKinds are the objects that bring traffic into the cluster. Gateway
// API routes of every version are decoded into the v1 types: the backend
// references tightnet reads have one schema in all of them.
var routeKinds = map[groupKind]kindSpec{
	{"networking.k8s.io", "Ingress"}: {versions: []string{"v1"},
		decode: typed(func(o *networkingv1.Ingress) metav1.ObjectMeta { return o.ObjectMeta })},
	{"route.openshift.io", "Route"}: {versions: []string{"v1"},
		decode: typed(func(o *openshiftRoute) metav1.ObjectMeta { return o.ObjectMeta })},
	{gatewayGroup, "HTTPRoute"}: {versions: []string{"v1", "v1beta1"},
		decode: typed(func(o *gatewayv1.HTTPRoute) metav1.ObjectMeta { return o.ObjectMeta })},
	{gatewayGroup, "GRPCRoute"}: {versions: []string{"v1", "v1alpha2"},
		decode: typed(func(o *gatewayv1.GRPCRoute) metav1.ObjectMeta { return o.ObjectMeta })},
	{gatewayGroup, "TCPRoute"}: {versions: []string{"v1", "v1alpha2"},
		decode: typed(func(o *gatewayv1.TCPRoute) metav1.ObjectMeta { return o.ObjectMeta })},
	{gatewayGroup, "TLSRoute"}: {versions: []string{"v1", "v1alpha3", "v1alpha2"},
		decode: typed(func(o *gatewayv1.TLSRoute) metav1.ObjectMeta { return o.ObjectMeta })},
	{gatewayGroup, "UDPRoute"}: {versions: []string{"v1", "v1alpha2"},
		decode: typed(func(o *gatewayv1.UDPRoute) metav1.ObjectMeta { return o.ObjectMeta })},
}

const gatewayGroup = "gateway.networking.k8s.io"

// init adds the route kinds to the kinds tightnet reads; they live in this
// file with the code that reduces them to backends.
func init() {
	for k, v := range routeKinds {
		kinds[k] = v
	}
}

// openshiftRoute is the part of an OpenShift route.openshift.io/v1 Route
// that tightnet reads. It is written here rather than imported: the
// OpenShift API module is large and carries no Go module versions, and
// these fields have been stable since Route v1.
type openshiftRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		To                routeTarget   `json:"to"`
		AlternateBackends []routeTarget `json:"alternateBackends,omitempty"`
		Port              *struct {
			TargetPort intstr.IntOrString `json:"targetPort"`
		} `json:"port,omitempty"`
	} `json:"spec"`
}

type routeTarget struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// route reduces a route object's content to its backends; ok is false for
// content that is not a route.
func route(kind, namespace, name string, content any) (Route, bool) {
	r := Route{Kind: kind, Namespace: namespace, Name: name}
	add := func(ns, svc string, port intstr.IntOrString) {
		r.Backends = append(r.Backends, Backend{Namespace: ns, Service: svc, Port: port})
	}
	gateway := func(refs []gatewayv1.BackendRef) {
		for _, ref := range refs {
			b := ref.BackendObjectReference
			// Only core Services are backends tightnet follows.
			if b.Group != nil && *b.Group != "" || b.Kind != nil && *b.Kind != "Service" {
				continue
			}
			ns := namespace
			if b.Namespace != nil {
				ns = string(*b.Namespace)
			}
			var port intstr.IntOrString
			if b.Port != nil {
				port = intstr.FromInt32(int32(*b.Port))
			}
			add(ns, string(b.Name), port)
		}
	}
	switch c := content.(type) {
	case *networkingv1.Ingress:
		backend := func(b *networkingv1.IngressBackend) {
			if b == nil || b.Service == nil {
				return
			}
			port := intstr.FromInt32(b.Service.Port.Number)
			if b.Service.Port.Name != "" {
				port = intstr.FromString(b.Service.Port.Name)
			}
			add(namespace, b.Service.Name, port)
		}
		backend(c.Spec.DefaultBackend)
		for _, rule := range c.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				backend(&p.Backend)
			}
		}
	case *openshiftRoute:
		for _, t := range append([]routeTarget{c.Spec.To}, c.Spec.AlternateBackends...) {
			if t.Kind != "" && t.Kind != "Service" {
				continue
			}
			b := Backend{Namespace: namespace, Service: t.Name}
			if c.Spec.Port != nil {
				tp := c.Spec.Port.TargetPort
				b.TargetPort = &tp
			}
			r.Backends = append(r.Backends, b)
		}
	case *gatewayv1.HTTPRoute:
		for _, rule := range c.Spec.Rules {
			for _, b := range rule.BackendRefs {
				gateway([]gatewayv1.BackendRef{b.BackendRef})
			}
		}
	case *gatewayv1.GRPCRoute:
		for _, rule := range c.Spec.Rules {
			for _, b := range rule.BackendRefs {
				gateway([]gatewayv1.BackendRef{b.BackendRef})
			}
		}
	case *gatewayv1.TCPRoute:
		for _, rule := range c.Spec.Rules {
			gateway(rule.BackendRefs)
		}
	case *gatewayv1.TLSRoute:
		for _, rule := range c.Spec.Rules {
			gateway(rule.BackendRefs)
		}
	case *gatewayv1.UDPRoute:
		for _, rule := range c.Spec.Rules {
			gateway(rule.BackendRefs)
		}
	default:
		return Route{}, false
	}
	return r, true
}
