package extract

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Prometheus' conventional scrape annotations.
const (
	annotationScrape = "prometheus.io/scrape"
	annotationPort   = "prometheus.io/port"
)

// anywhere is every IPv4 address, the source of traffic that reaches
// LoadBalancer and NodePort Services.
func anywhere() Source {
	return PeerSource(model.ExternalPeer(model.IPRange{
		First: netip.AddrFrom4([4]byte{0, 0, 0, 0}),
		Last:  netip.AddrFrom4([4]byte{255, 255, 255, 255}),
	}))
}

// exposures finds the ways into workloads from outside them: Services open
// to every address, routes from the ingress controller, and Prometheus
// scrapes from the monitoring namespace.
func (x *extractor) exposures() {
	for i := range x.objs.Services {
		x.serviceExposure(&x.objs.Services[i])
	}
	for i := range x.objs.Routes {
		x.routeExposure(&x.objs.Routes[i])
	}
	for wi := range x.ix.workloads {
		w := &x.ix.workloads[wi]
		if w.PodAnnotations[annotationScrape] != "true" {
			continue
		}
		prov := Provenance{
			File: w.Source.File, Line: w.Source.Line, Object: workloadObject(w),
			Path:   podMetaPath(w.Kind) + ".annotations[" + annotationScrape + "]",
			Reason: scrapeReason(w.PodAnnotations),
		}
		x.scrape(wi, w.PodAnnotations[annotationPort], nil, prov)
	}
}

// serviceExposure: a LoadBalancer or NodePort Service, or one with
// externalIPs, opens its target ports on the selected workloads to every
// address; a Service annotated for scraping opens them to Prometheus.
func (x *extractor) serviceExposure(s *manifest.Service) {
	obj := s.Object
	svc := x.ix.services[objKey{obj.Namespace, obj.Name}]
	id := "Service " + svc.id()
	external := obj.Spec.Type == corev1.ServiceTypeLoadBalancer || obj.Spec.Type == corev1.ServiceTypeNodePort
	scrape := obj.Annotations[annotationScrape] == "true"
	if !external && len(obj.Spec.ExternalIPs) == 0 && !scrape {
		return
	}
	targets := x.ix.selected(svc)
	if external || len(obj.Spec.ExternalIPs) > 0 {
		prov := Provenance{File: s.Source.File, Line: s.Source.Line, Object: id, Path: "spec.type",
			Reason: fmt.Sprintf("%s Service, reachable from outside the cluster", obj.Spec.Type)}
		if !external {
			prov.Path = "spec.externalIPs"
			prov.Reason = "Service with externalIPs " + strings.Join(obj.Spec.ExternalIPs, ", ")
		}
		for _, t := range targets {
			conns := x.allTargets(svc, t)
			if !conns.IsEmpty() {
				addTo(x.exposed, exposureKey{anywhere(), x.ix.workloads[t].Peer()}, conns, prov)
			}
		}
	}
	if scrape {
		prov := Provenance{File: s.Source.File, Line: s.Source.Line, Object: id,
			Path: "metadata.annotations[" + annotationScrape + "]", Reason: scrapeReason(obj.Annotations)}
		for _, t := range targets {
			x.scrape(t, obj.Annotations[annotationPort], svc, prov)
		}
	}
}

// allTargets is what every port of a Service reaches on one workload.
func (x *extractor) allTargets(svc *service, wi int) model.ConnectionSet {
	var conns model.ConnectionSet
	for _, sp := range svc.object().Spec.Ports {
		c, unresolved := x.ix.targetConns(sp, nil, wi)
		if unresolved != "" {
			x.targetPortUnresolved(svc, sp, unresolved, wi)
		}
		conns = conns.Union(c)
	}
	return conns
}

// routeExposure: an Ingress, OpenShift Route or Gateway API route opens
// its backends' target ports to the ingress controller: the Service port
// named (all of them when none is), then its targetPort on each selected
// workload; an OpenShift Route's targetPort overrides the Service's.
func (x *extractor) routeExposure(r *manifest.Route) {
	object := r.Kind + " " + r.Namespace + "/" + r.Name
	for _, b := range r.Backends {
		finding := func(format string, args ...any) {
			x.report(model.Finding{Code: CodeRouteBackendMissing, Severity: model.Warning, Location: r.Source, Object: object,
				Message: fmt.Sprintf(format, args...)})
		}
		svc := x.ix.services[objKey{b.Namespace, b.Service}]
		if svc == nil {
			finding("backend Service %s/%s is not in the inputs, so tightnet cannot tell which workloads this route reaches; add the Service's manifest", b.Namespace, b.Service)
			continue
		}
		ports := servicePortByName(svc.object(), b.Port)
		if len(ports) == 0 {
			finding("Service %s has no port %s; the route reaches nothing: use one of the Service's ports", svc.id(), b.Port.String())
			continue
		}
		port := "every port"
		if b.Port.Type == intstr.String || b.Port.IntVal != 0 {
			port = "port " + b.Port.String()
		}
		if b.TargetPort != nil {
			port += ", targetPort " + b.TargetPort.String()
		}
		prov := Provenance{File: r.Source.File, Line: r.Source.Line, Object: object,
			Reason: fmt.Sprintf("%s backend Service %s, %s", r.Kind, svc.id(), port)}
		for _, t := range x.ix.selected(svc) {
			var conns model.ConnectionSet
			for _, sp := range ports {
				c, unresolved := x.ix.targetConns(sp, b.TargetPort, t)
				if unresolved != "" {
					x.targetPortUnresolved(svc, sp, unresolved, t)
				}
				conns = conns.Union(c)
			}
			if !conns.IsEmpty() {
				addTo(x.exposed, exposureKey{PeerSource(model.IngressController()), x.ix.workloads[t].Peer()}, conns, prov)
			}
		}
	}
}

// scrape opens a workload to the monitoring namespace on the port the
// prometheus.io/port annotation names: a number, or a container port name.
// Without one Prometheus scrapes every declared port: each TCP container
// port for a pod annotation (Prometheus' pod role), each target port for a
// Service annotation (the endpoints role).
func (x *extractor) scrape(wi int, port string, svc *service, prov Provenance) {
	w := &x.ix.workloads[wi]
	var conns model.ConnectionSet
	switch {
	case port == "" && svc != nil:
		conns = x.allTargets(svc, wi)
	case port == "":
		for _, cs := range [][]corev1.Container{w.Pod.InitContainers, w.Pod.Containers} {
			for _, c := range cs {
				for _, p := range c.Ports {
					if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
						conns = conns.Union(model.Connections(model.TCP, model.Ports(int(p.ContainerPort))))
					}
				}
			}
		}
	default:
		if n, err := strconv.Atoi(port); err == nil {
			conns = model.Connections(model.TCP, model.Ports(n))
		} else {
			conns = model.Connections(model.TCP, x.ix.namedPorts(wi)[namedPort{port, model.TCP}])
		}
	}
	if conns.IsEmpty() {
		what := "declares no TCP port"
		if port != "" {
			what = fmt.Sprintf("has no port %q", port)
		}
		x.report(model.Finding{Code: CodeScrapePortUnknown, Severity: model.Warning, Location: model.Location{File: prov.File, Line: prov.Line},
			Object:  prov.Object,
			Message: fmt.Sprintf("%s is marked for Prometheus scraping, but %s %s; set %s to the metrics port", prov.Object, w.Peer(), what, annotationPort)})
		return
	}
	addTo(x.exposed, exposureKey{NamespaceSource(x.opts.MonitoringNamespace), w.Peer()}, conns, prov)
}

func scrapeReason(annotations map[string]string) string {
	parts := []string{fmt.Sprintf("%s: %q", annotationScrape, annotations[annotationScrape])}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range annotations {
			if k != annotationScrape && strings.HasPrefix(k, "prometheus.io/") && !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s: %q", k, annotations[k]))
	}
	return "annotations " + strings.Join(parts, ", ")
}
