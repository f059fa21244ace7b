package extract

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Defaults of Options.
const (
	DefaultClusterDomain       = "cluster.local"
	DefaultMonitoringNamespace = "monitoring"
)

// Finding codes of extraction. They are stable: pipelines and suppressions
// rely on them.
const (
	// CodeServiceUnknown: a value names what can only be a Service (a
	// .svc name, name.namespace of a namespace in the inputs, or name:port)
	// that is not in the inputs. Warning.
	CodeServiceUnknown = "extract-service-unknown"
	// CodeServicePortUnknown: an address names a port its Service does not
	// have. Warning.
	CodeServicePortUnknown = "extract-service-port-unknown"
	// CodeServiceNoSelector: an address names a Service without a
	// selector, which selects no workload. Info.
	CodeServiceNoSelector = "extract-service-no-selector"
	// CodeServiceNoWorkloads: an address names a Service whose selector
	// matches no workload of the inputs. Warning.
	CodeServiceNoWorkloads = "extract-service-no-workloads"
	// CodeTargetPortUnresolved: a Service's targetPort names a container
	// port a selected workload does not declare. Warning.
	CodeTargetPortUnresolved = "extract-target-port-unresolved"
	// CodeConfigMissing: a ConfigMap or Secret a workload reads (and does
	// not mark optional) is not in the inputs. Warning.
	CodeConfigMissing = "extract-config-missing"
	// CodeRouteBackendMissing: a route's backend Service, or its port, is
	// not in the inputs (the code connectivity uses too). Warning.
	CodeRouteBackendMissing = "route-backend-missing"
	// CodeScrapePortUnknown: a Prometheus scrape annotation whose port
	// cannot be told. Warning.
	CodeScrapePortUnknown = "extract-scrape-port-unknown"
)

// Options control Topology.
type Options struct {
	// ClusterDomain is the cluster's DNS domain; DefaultClusterDomain when
	// empty.
	ClusterDomain string
	// MonitoringNamespace is where Prometheus runs, the source of scrapes;
	// DefaultMonitoringNamespace when empty.
	MonitoringNamespace string
	// Traffic are observed flows to merge (see ReadTraffic).
	Traffic []Flow
}

// Topology infers, from the objects read and observed traffic, what the
// application is made of and which connections it needs, each with its
// provenance. Problems are findings in the artifact, together with the
// input findings of objs; the error is only ctx's.
func Topology(ctx context.Context, objs *manifest.Objects, opts Options) (Artifact, error) {
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = DefaultClusterDomain
	}
	if opts.MonitoringNamespace == "" {
		opts.MonitoringNamespace = DefaultMonitoringNamespace
	}
	x := newExtractor(objs, opts)
	for wi := range objs.Workloads {
		if wi%256 == 0 {
			if err := ctx.Err(); err != nil {
				return Artifact{}, fmt.Errorf("extract topology: %w", err)
			}
		}
		x.workload(wi)
	}
	x.exposures()
	if err := x.traffic(ctx, opts.Traffic); err != nil {
		return Artifact{}, err
	}
	return x.artifact()
}

// extractor holds the state of one Topology call.
type extractor struct {
	objs       *manifest.Objects
	opts       Options
	ix         *index
	configMaps map[objKey]*manifest.ConfigMap
	secrets    map[objKey]*manifest.Secret

	connections map[model.Edge]*accum
	exposed     map[exposureKey]*accum
	external    map[externalKey]*accum

	findings []model.Finding
	reported map[model.Finding]bool
	// files caches configuration files parsed out of ConfigMap and Secret
	// values, which many workloads may mount.
	files map[fileKey][]entry
	// byLabels caches flow endpoints matched by labels.
	byLabels map[string]match
}

type exposureKey struct {
	src Source
	dst model.Peer
}

type externalKey struct {
	src  model.Peer
	host string
}

type fileKey struct{ object, path, file string }

func newExtractor(objs *manifest.Objects, opts Options) *extractor {
	x := &extractor{
		objs:        objs,
		opts:        opts,
		ix:          newIndex(objs, opts.ClusterDomain),
		configMaps:  make(map[objKey]*manifest.ConfigMap, len(objs.ConfigMaps)),
		secrets:     make(map[objKey]*manifest.Secret, len(objs.Secrets)),
		connections: map[model.Edge]*accum{},
		exposed:     map[exposureKey]*accum{},
		external:    map[externalKey]*accum{},
		reported:    map[model.Finding]bool{},
		files:       map[fileKey][]entry{},
	}
	for i := range objs.ConfigMaps {
		c := &objs.ConfigMaps[i]
		x.configMaps[objKey{c.Object.Namespace, c.Object.Name}] = c
	}
	for i := range objs.Secrets {
		s := &objs.Secrets[i]
		x.secrets[objKey{s.Object.Namespace, s.Object.Name}] = s
	}
	return x
}

// accum gathers what one connection, exposure or external destination
// needs, and every distinct reason.
type accum struct {
	conns model.ConnectionSet
	prov  []Provenance
	at    map[provKey]int
}

type provKey struct {
	file                 string
	line                 int
	object, path, reason string
}

func (a *accum) add(conns model.ConnectionSet, p Provenance) {
	a.conns = a.conns.Union(conns)
	k := provKey{p.File, p.Line, p.Object, p.Path, p.Reason}
	if i, ok := a.at[k]; ok {
		a.prov[i].Conns = a.prov[i].Conns.Union(conns)
		return
	}
	if a.at == nil {
		a.at = map[provKey]int{}
	}
	a.at[k] = len(a.prov)
	p.Conns = conns
	a.prov = append(a.prov, p)
}

func addTo[K comparable](m map[K]*accum, k K, conns model.ConnectionSet, p Provenance) {
	a := m[k]
	if a == nil {
		a = &accum{}
		m[k] = a
	}
	a.add(conns, p)
}

// report records a finding once.
func (x *extractor) report(f model.Finding) {
	if x.reported[f] {
		return
	}
	x.reported[f] = true
	x.findings = append(x.findings, f)
}

// site is where a value was found, and what it is, in words without the
// value.
type site struct {
	wi     int // the workload whose pods use the value
	loc    model.Location
	object string // "Deployment shop/frontend", "ConfigMap shop/app-config"
	path   string
	reason string // `env CART_ADDR`, `secret payments/db-creds key DB_URL`
	// secret marks values read from a Secret: neither provenance nor
	// findings may show them.
	secret bool
}

func (s site) provenance(detail string) Provenance {
	return Provenance{File: s.loc.File, Line: s.loc.Line, Object: s.object, Path: s.path, Reason: s.reason + detail}
}

// reference turns one reference found at a site into connections from the
// site's workload to the workloads behind the Service it names, or into an
// external destination, or a finding, or nothing.
func (x *extractor) reference(s site, r reference, detail string) {
	w := &x.ix.workloads[s.wi]
	res := x.ix.resolve(r.host, w.Namespace)
	if res.svc == nil {
		x.unresolved(s, r, res, detail)
		return
	}
	svc := res.svc
	obj := svc.object()
	what := "an address in " + s.object
	if !s.secret {
		what = fmt.Sprintf("%q", addressText(r))
	}
	finding := func(code string, sev model.Severity, format string, args ...any) {
		x.report(model.Finding{Code: code, Severity: sev, Location: s.loc, Object: s.object, Message: fmt.Sprintf(format, args...)})
	}
	if len(obj.Spec.Selector) == 0 {
		finding(CodeServiceNoSelector, model.Info,
			"%s names Service %s, which has no selector and so selects no workload; no connection is inferred (an external or hand-managed endpoint)", what, svc.id())
		return
	}
	var ports []corev1.ServicePort
	switch {
	case r.port != 0 && svc.headless:
		// A headless Service is not load-balanced: its name resolves to
		// the pods' addresses, and the port written is the pod's port.
	case r.port != 0:
		ports = servicePorts(obj, r.port)
		if len(ports) == 0 {
			port := fmt.Sprintf("port %d", r.port)
			if s.secret {
				port = "a port" // part of the Secret's value
			}
			finding(CodeServicePortUnknown, model.Warning,
				"%s names %s of Service %s, which has no such port (it has %s); correct the port, or add it to the Service",
				what, port, svc.id(), portList(obj))
			return
		}
	default:
		ports = obj.Spec.Ports
		if len(ports) == 0 {
			finding(CodeServicePortUnknown, model.Warning,
				"%s names Service %s without a port, and the Service declares none; write the port in the address", what, svc.id())
			return
		}
	}
	targets := x.ix.selected(svc)
	if len(targets) == 0 {
		finding(CodeServiceNoWorkloads, model.Warning,
			"%s names Service %s, whose selector matches no workload of the inputs; add the workload's manifest", what, svc.id())
		return
	}
	prov := s.provenance(detail)
	src := w.Peer()
	for _, t := range targets {
		var conns model.ConnectionSet
		if len(ports) == 0 {
			conns = headlessConns(obj, r.port)
		}
		for _, sp := range ports {
			c, unresolved := x.ix.targetConns(sp, nil, t)
			if unresolved != "" {
				x.targetPortUnresolved(svc, sp, unresolved, t)
			}
			conns = conns.Union(c)
		}
		if !conns.IsEmpty() {
			addTo(x.connections, model.Edge{Src: src, Dst: x.ix.workloads[t].Peer()}, conns, prov)
		}
	}
}

func (x *extractor) targetPortUnresolved(svc *service, sp corev1.ServicePort, name string, wi int) {
	x.report(model.Finding{
		Code: CodeTargetPortUnresolved, Severity: model.Warning, Location: svc.in.Source, Object: "Service " + svc.id(),
		Message: fmt.Sprintf("port %d of Service %s targets container port %q, which %s does not declare; name the port in the container's ports or use a number",
			sp.Port, svc.id(), name, x.ix.workloads[wi].Peer()),
	})
}

// headlessConns is a port written with a headless Service's name: the pod
// port itself, for the protocols the Service declares it with (TCP when it
// does not declare it).
func headlessConns(svc *corev1.Service, port int) model.ConnectionSet {
	var out model.ConnectionSet
	for _, sp := range svc.Spec.Ports {
		if int(sp.Port) == port {
			if proto, err := protocolOf(sp.Protocol); err == nil {
				out = out.Union(model.Connections(proto, model.Ports(port)))
			}
		}
	}
	if out.IsEmpty() {
		out = model.Connections(model.TCP, model.Ports(port))
	}
	return out
}

// unresolved handles a reference that names no Service of the inputs: a
// finding when it can only be a cluster name, an external destination when
// it is an address outside the cluster with a known port.
func (x *extractor) unresolved(s site, r reference, res resolution, detail string) {
	labels := strings.Count(r.host, ".") + 1
	clusterName := res.clusterForm ||
		labels == 2 && r.located && x.ix.namespaces[r.host[strings.IndexByte(r.host, '.')+1:]] ||
		labels == 1 && r.located && r.port != 0 && r.host != "localhost"
	if clusterName {
		what := "an address in " + s.object
		if !s.secret {
			what = fmt.Sprintf("%q", addressText(r))
		}
		x.report(model.Finding{
			Code: CodeServiceUnknown, Severity: model.Warning, Location: s.loc, Object: s.object,
			Message: fmt.Sprintf("%s names a Service that is not in the inputs; add the Service's manifest, or correct the name", what),
		})
		return
	}
	if !r.located || s.secret || !x.externalHost(r.host) {
		return
	}
	port := r.port
	if port == 0 {
		switch r.scheme {
		case "http", "ws":
			port = 80
		case "https", "wss":
			port = 443
		default:
			return
		}
	}
	conns := model.Connections(model.TCP, model.Ports(port))
	addTo(x.external, externalKey{x.ix.workloads[s.wi].Peer(), r.host}, conns, s.provenance(detail))
}

// externalHost reports whether a host that names no Service is outside the
// cluster: an IP address that is not loopback or unspecified, or a name of
// several labels that is not a cluster name.
func (x *extractor) externalHost(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return !a.IsLoopback() && !a.IsUnspecified()
	}
	if !strings.Contains(host, ".") || strings.HasSuffix(host, ".svc") || strings.HasSuffix(host, "."+x.ix.domain) {
		return false
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	for i := 0; i < len(last); i++ {
		if last[i] < 'a' || last[i] > 'z' {
			return false
		}
	}
	return len(last) >= 2
}

// addressText is a reference as written: host, host:port.
func addressText(r reference) string {
	if r.port == 0 {
		return r.host
	}
	return fmt.Sprintf("%s:%d", r.host, r.port)
}

func portList(svc *corev1.Service) string {
	var ps []string
	for _, sp := range svc.Spec.Ports {
		ps = append(ps, fmt.Sprint(sp.Port))
	}
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, ", ")
}

// artifact assembles the Topology from what was found, sorted.
func (x *extractor) artifact() (Artifact, error) {
	a := Artifact{
		APIVersion:  model.APIVersion,
		Kind:        KindTopology,
		Namespaces:  []Namespace{},
		Workloads:   make([]Workload, 0, len(x.objs.Workloads)),
		Services:    make([]Service, 0, len(x.objs.Services)),
		Connections: make([]Connection, 0, len(x.connections)),
		Exposures:   make([]Exposure, 0, len(x.exposed)),
		External:    make([]External, 0, len(x.external)),
		Policies:    []Policy{},
	}
	for _, ns := range x.objs.Namespaces {
		a.Namespaces = append(a.Namespaces, Namespace{Name: ns.Name, Labels: ns.Labels, Declared: ns.Declared, Source: ns.Source})
	}
	for _, w := range x.objs.Workloads {
		a.Workloads = append(a.Workloads, Workload{Peer: w.Peer(), Labels: w.PodLabels, Source: w.Source})
	}
	for i := range x.objs.Services {
		a.Services = append(a.Services, x.service(&x.objs.Services[i]))
	}
	for _, e := range slices.SortedFunc(maps.Keys(x.connections), model.Edge.Compare) {
		acc := x.connections[e]
		a.Connections = append(a.Connections, Connection{Src: e.Src, Dst: e.Dst, Conns: acc.conns, Provenance: sortedProvenance(acc)})
	}
	for _, k := range slices.SortedFunc(maps.Keys(x.exposed), func(p, q exposureKey) int {
		if c := p.dst.Compare(q.dst); c != 0 {
			return c
		}
		return p.src.Compare(q.src)
	}) {
		acc := x.exposed[k]
		a.Exposures = append(a.Exposures, Exposure{Src: k.src, Dst: k.dst, Conns: acc.conns, Provenance: sortedProvenance(acc)})
	}
	for _, k := range slices.SortedFunc(maps.Keys(x.external), func(p, q externalKey) int {
		if c := p.src.Compare(q.src); c != 0 {
			return c
		}
		return strings.Compare(p.host, q.host)
	}) {
		acc := x.external[k]
		a.External = append(a.External, External{Src: k.src, Host: k.host, Conns: acc.conns, Provenance: sortedProvenance(acc)})
	}
	policies, err := carryPolicies(x.objs)
	if err != nil {
		return Artifact{}, err
	}
	a.Policies = policies
	a.Findings = append(slices.Clone(x.objs.Findings), x.findings...)
	slices.SortStableFunc(a.Findings, model.CompareFindings)
	if a.Findings == nil {
		a.Findings = []model.Finding{}
	}
	return a, nil
}

func sortedProvenance(a *accum) []Provenance {
	return slices.SortedFunc(slices.Values(a.prov), compareProvenance)
}

func (x *extractor) service(s *manifest.Service) Service {
	obj := s.Object
	out := Service{
		Namespace: obj.Namespace,
		Name:      obj.Name,
		Type:      string(obj.Spec.Type),
		Headless:  obj.Spec.ClusterIP == corev1.ClusterIPNone,
		Selector:  obj.Spec.Selector,
		Ports:     []ServicePort{},
		Workloads: []model.Peer{},
		Source:    s.Source,
	}
	if out.Type == "" {
		out.Type = string(corev1.ServiceTypeClusterIP)
	}
	for _, sp := range obj.Spec.Ports {
		proto, err := protocolOf(sp.Protocol)
		if err != nil {
			continue
		}
		p := ServicePort{Name: sp.Name, Protocol: proto, Port: int(sp.Port)}
		if sp.TargetPort.IntVal != 0 || sp.TargetPort.StrVal != "" {
			tp := sp.TargetPort
			p.TargetPort = &tp
		}
		out.Ports = append(out.Ports, p)
	}
	for _, wi := range x.ix.selected(x.ix.services[objKey{obj.Namespace, obj.Name}]) {
		out.Workloads = append(out.Workloads, x.ix.workloads[wi].Peer())
	}
	return out
}
