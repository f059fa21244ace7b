package analyze

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Finding codes about routes into the cluster.
const (
	CodeRouteBackendMissing = "route-backend-missing"
	CodeRouteBlocked        = "route-blocked"
)

// routeTarget is what one route opens on one workload behind its Services.
type routeTarget struct {
	route    *manifest.Route
	workload int
	conns    model.ConnectionSet
}

// routeTargets follows every route to the workloads behind its Services:
// a Service port (all of them when the route names none), then the
// Service's targetPort, by number or by container port name, resolved on
// each workload selected by the Service. A Service without a selector
// selects no workload. OpenShift Routes may name the pod port directly.
// Pinned by the ingress-controller scenario.
func (k *compiler) routeTargets(objs *manifest.Objects) []routeTarget {
	services := map[[2]string]*corev1.Service{}
	for _, s := range objs.Services {
		services[[2]string{s.Object.Namespace, s.Object.Name}] = s.Object
	}
	var out []routeTarget
	for ri := range objs.Routes {
		r := &objs.Routes[ri]
		object := r.Kind + " " + r.Namespace + "/" + r.Name
		for _, b := range r.Backends {
			svc := services[[2]string{b.Namespace, b.Service}]
			if svc == nil {
				k.findings = append(k.findings, model.Finding{
					Code: CodeRouteBackendMissing, Severity: model.Warning, Location: r.Source, Object: object,
					Message: fmt.Sprintf("backend Service %s/%s is not in the inputs, so tightnet cannot tell which workloads this route reaches; add the Service's manifest", b.Namespace, b.Service),
				})
				continue
			}
			ports := servicePorts(svc, b.Port)
			if len(ports) == 0 {
				k.findings = append(k.findings, model.Finding{
					Code: CodeRouteBackendMissing, Severity: model.Warning, Location: r.Source, Object: object,
					Message: fmt.Sprintf("Service %s/%s has no port %s; the route reaches nothing: use one of the Service's ports", b.Namespace, b.Service, b.Port.String()),
				})
				continue
			}
			if len(svc.Spec.Selector) == 0 {
				continue
			}
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			for wi, w := range objs.Workloads {
				if w.Namespace != svc.Namespace || !sel.Matches(labels.Set(w.PodLabels)) {
					continue
				}
				named := namedPorts(w.Pod)
				conns := model.NoConnections()
				for _, sp := range ports {
					conns = conns.Union(targetConns(sp, b.TargetPort, named))
				}
				if !conns.IsEmpty() {
					out = append(out, routeTarget{route: r, workload: wi, conns: conns})
				}
			}
		}
	}
	return out
}

// servicePorts picks the Service ports a backend names: all of them for an
// unset port, else the one with that number or name.
func servicePorts(svc *corev1.Service, port intstr.IntOrString) []corev1.ServicePort {
	if port.Type == intstr.Int && port.IntVal == 0 {
		return svc.Spec.Ports
	}
	for _, sp := range svc.Spec.Ports {
		if port.Type == intstr.Int && sp.Port == port.IntVal || port.Type == intstr.String && sp.Name == port.StrVal {
			return []corev1.ServicePort{sp}
		}
	}
	return nil
}

// targetConns is the pod port a Service port forwards to on one workload.
// routeTarget, from an OpenShift Route, overrides it: a number is the pod
// port, a name is a Service port name or else a container port name.
func targetConns(sp corev1.ServicePort, routeTarget *intstr.IntOrString, named map[namedPort]model.PortSet) model.ConnectionSet {
	proto, err := protocolOf(sp.Protocol)
	if err != nil {
		return model.NoConnections()
	}
	target := sp.TargetPort
	if routeTarget != nil {
		switch {
		case routeTarget.Type == intstr.Int:
			target = *routeTarget
		case sp.Name == routeTarget.StrVal:
			// The Route names this Service port: its targetPort applies.
		default:
			target = *routeTarget
		}
	}
	switch {
	case target.Type == intstr.String && target.StrVal != "":
		return model.Connections(proto, named[namedPort{target.StrVal, proto}])
	case target.Type == intstr.Int && target.IntVal != 0:
		return model.Connections(proto, model.Ports(int(target.IntVal)))
	}
	// An unset targetPort is the Service port itself.
	return model.Connections(proto, model.Ports(int(sp.Port)))
}

// CodeServiceExternalBlocked reports a LoadBalancer or NodePort Service
// whose workloads the policies close to external addresses.
const CodeServiceExternalBlocked = "service-external-blocked"

// blockedServices reports LoadBalancer and NodePort Services whose target
// ports the policies do not admit from every external address.
func (e *evaluation) blockedServices(exposure []model.Exposure) []model.Finding {
	c := e.k.c
	fromAll := map[model.Peer]model.ConnectionSet{}
	for _, x := range exposure {
		fromAll[x.Peer] = x.FromExternal
	}
	var out []model.Finding
	for _, s := range c.objs.Services {
		svc := s.Object
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeNodePort || len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, w := range c.objs.Workloads {
			if w.Namespace != svc.Namespace || !sel.Matches(labels.Set(w.PodLabels)) {
				continue
			}
			named := namedPorts(w.Pod)
			want := model.NoConnections()
			for _, sp := range svc.Spec.Ports {
				want = want.Union(targetConns(sp, nil, named))
			}
			if blocked := want.Subtract(fromAll[w.Peer()]); !blocked.IsEmpty() {
				out = append(out, model.Finding{
					Code: CodeServiceExternalBlocked, Severity: model.Warning, Location: s.Source,
					Object: "Service " + svc.Namespace + "/" + svc.Name,
					Message: fmt.Sprintf("%s Service %s/%s exposes %s on %s, but the policies do not admit every external address on %s of it; allow an ipBlock such as 0.0.0.0/0 on those ports, or make the Service ClusterIP",
						svc.Spec.Type, svc.Namespace, svc.Name, w.Peer(), want, blocked),
				})
			}
		}
	}
	return out
}

// blockedRoutes reports routes whose ports the policies do not admit from
// the ingress controller, in whole or in part.
func (e *evaluation) blockedRoutes(targets []routeTarget) []model.Finding {
	var out []model.Finding
	for _, t := range targets {
		w := &e.k.c.objs.Workloads[t.workload]
		allowed := e.k.sets.Set(e.pairCell(e.k.c.ingressCtl, e.k.c.classOf[t.workload]))
		blocked := t.conns.Subtract(allowed)
		if blocked.IsEmpty() {
			continue
		}
		how := "the NetworkPolicies admit the ingress controller on none of it"
		if !allowed.Intersect(t.conns).IsEmpty() {
			how = fmt.Sprintf("the policies block %s of it", blocked)
		}
		out = append(out, model.Finding{
			Code: CodeRouteBlocked, Severity: model.Warning, Location: t.route.Source,
			Object:  t.route.Kind + " " + t.route.Namespace + "/" + t.route.Name,
			Message: fmt.Sprintf("%s %s/%s routes to %s on %s, but %s: %s", t.route.Kind, t.route.Namespace, t.route.Name, w.Peer(), t.conns, how, e.k.c.ingressHint),
		})
	}
	return out
}

// ingressControllerHint says how to admit the ingress controller, depending
// on what tightnet knows of it.
func ingressControllerHint(ic *IngressController) string {
	if ic == nil {
		return "admit it with a rule whose peer selects every namespace (namespaceSelector: {}), or tell tightnet where the controller runs (--ingress-controller-namespace, --ingress-controller-labels)"
	}
	var ls []string
	for k, v := range ic.PodLabels {
		ls = append(ls, k+"="+v)
	}
	return fmt.Sprintf("admit pods %s of namespace %s", strings.Join(ls, ","), ic.Namespace)
}
