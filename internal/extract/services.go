package extract

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// objKey names a namespaced object of a known kind.
type objKey struct{ namespace, name string }

// labelKey is one label of a pod in one namespace.
type labelKey struct{ namespace, key, value string }

// service is a Service of the inputs with what is computed of it once.
type service struct {
	in       *manifest.Service
	headless bool
	// selected are the indexes of the workloads the selector matches,
	// computed on first use; nil until then.
	selected []int
	done     bool
}

func (s *service) object() *corev1.Service { return s.in.Object }

func (s *service) id() string { return s.in.Object.Namespace + "/" + s.in.Object.Name }

// index answers, in a few map lookups each, which Service a name resolves
// to, which workloads a Service selects and which pod ports a Service port
// reaches on each.
type index struct {
	domain     string
	workloads  []manifest.Workload
	services   map[objKey]*service
	namespaces map[string]bool
	byName     map[objKey][]int // workloads by namespace and name (one per kind)
	byLabel    map[labelKey][]int
	byNS       map[string][]int
	named      []map[namedPort]model.PortSet // per workload, on first use
}

type namedPort struct {
	name  string
	proto model.Protocol
}

func newIndex(objs *manifest.Objects, domain string) *index {
	ix := &index{
		domain:     strings.ToLower(strings.Trim(domain, ".")),
		workloads:  objs.Workloads,
		services:   make(map[objKey]*service, len(objs.Services)),
		namespaces: make(map[string]bool, len(objs.Namespaces)),
		byName:     make(map[objKey][]int, len(objs.Workloads)),
		byLabel:    make(map[labelKey][]int, 4*len(objs.Workloads)),
		byNS:       map[string][]int{},
		named:      make([]map[namedPort]model.PortSet, len(objs.Workloads)),
	}
	for _, ns := range objs.Namespaces {
		ix.namespaces[ns.Name] = true
	}
	for i := range objs.Services {
		s := &objs.Services[i]
		ix.services[objKey{s.Object.Namespace, s.Object.Name}] = &service{
			in:       s,
			headless: s.Object.Spec.ClusterIP == corev1.ClusterIPNone,
		}
	}
	for i, w := range objs.Workloads {
		k := objKey{w.Namespace, w.Name}
		ix.byName[k] = append(ix.byName[k], i)
		ix.byNS[w.Namespace] = append(ix.byNS[w.Namespace], i)
		for lk, lv := range w.PodLabels {
			key := labelKey{w.Namespace, lk, lv}
			ix.byLabel[key] = append(ix.byLabel[key], i)
		}
	}
	return ix
}

// resolution is what a host name resolves to in cluster DNS.
type resolution struct {
	svc *service
	// clusterForm is true when the name ends in .svc or .svc.<domain>: it
	// can only be a cluster name, so not finding it is worth a finding.
	clusterForm bool
}

// resolve finds the Service a host name reaches from a pod in namespace
// from, in every form cluster DNS answers (see the package documentation).
// Pod forms (pod.svc...) resolve only for headless Services, as in DNS.
func (ix *index) resolve(host, from string) resolution {
	h := host
	var res resolution
	if d := ".svc." + ix.domain; ix.domain != "" && strings.HasSuffix(h, d) {
		h = strings.TrimSuffix(h, d)
		res.clusterForm = true
	} else if strings.HasSuffix(h, ".svc") {
		h = strings.TrimSuffix(h, ".svc")
		res.clusterForm = true
	}
	labels := strings.Split(h, ".")
	lookup := func(ns, name string, pod bool) bool {
		s := ix.services[objKey{ns, name}]
		if s == nil || pod && !s.headless {
			return false
		}
		res.svc = s
		return true
	}
	switch len(labels) {
	case 1:
		if !res.clusterForm {
			lookup(from, labels[0], false)
		}
	case 2: // svc.ns, else pod.svc in the pod's own namespace
		if !lookup(labels[1], labels[0], false) && !res.clusterForm {
			lookup(from, labels[1], true)
		}
	case 3: // pod.svc.ns
		lookup(labels[2], labels[1], true)
	}
	return res
}

// selected returns the workloads the Service's selector matches, in input
// order. A Service without a selector selects none: its endpoints are
// managed by hand, and tightnet cannot tell where they point.
func (ix *index) selected(s *service) []int {
	if s.done {
		return s.selected
	}
	s.done = true
	sel := s.object().Spec.Selector
	if len(sel) == 0 {
		return nil
	}
	ns := s.object().Namespace
	// Start from the rarest label and check the others.
	var candidates []int
	first := true
	for k, v := range sel {
		c := ix.byLabel[labelKey{ns, k, v}]
		if first || len(c) < len(candidates) {
			candidates, first = c, false
		}
	}
	for _, wi := range candidates {
		if matches(sel, ix.workloads[wi].PodLabels) {
			s.selected = append(s.selected, wi)
		}
	}
	return s.selected
}

func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// namedPorts are a workload's container ports by name and protocol, over
// its containers and init containers (sidecars declare ports there).
func (ix *index) namedPorts(wi int) map[namedPort]model.PortSet {
	if m := ix.named[wi]; m != nil {
		return m
	}
	m := map[namedPort]model.PortSet{}
	spec := &ix.workloads[wi].Pod
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				proto, err := protocolOf(p.Protocol)
				if p.Name == "" || err != nil {
					continue
				}
				k := namedPort{p.Name, proto}
				m[k] = m[k].Union(model.Ports(int(p.ContainerPort)))
			}
		}
	}
	ix.named[wi] = m
	return m
}

func protocolOf(p corev1.Protocol) (model.Protocol, error) {
	if p == "" {
		return model.TCP, nil
	}
	return model.ParseProtocol(string(p))
}

// servicePorts are the ports of a Service an address names: the one(s)
// with the number written (TCP and UDP may share a number), or every port
// when none was written.
func servicePorts(svc *corev1.Service, port int) []corev1.ServicePort {
	if port == 0 {
		return svc.Spec.Ports
	}
	var out []corev1.ServicePort
	for _, sp := range svc.Spec.Ports {
		if int(sp.Port) == port {
			out = append(out, sp)
		}
	}
	return out
}

// servicePortByName is the port of a Service with the given name or number,
// as routes name them; every port when p is unset.
func servicePortByName(svc *corev1.Service, p intstr.IntOrString) []corev1.ServicePort {
	if p.Type == intstr.String {
		for _, sp := range svc.Spec.Ports {
			if sp.Name == p.StrVal {
				return []corev1.ServicePort{sp}
			}
		}
		return nil
	}
	return servicePorts(svc, int(p.IntVal))
}

// targetConns is the pod port a Service port forwards to on one workload:
// targetPort as a number, or as a container port name looked up by name
// and protocol on the workload; an unset targetPort is the port itself.
// unresolved is the name when the workload declares no such port.
func (ix *index) targetConns(sp corev1.ServicePort, override *intstr.IntOrString, wi int) (conns model.ConnectionSet, unresolved string) {
	proto, err := protocolOf(sp.Protocol)
	if err != nil {
		return model.NoConnections(), ""
	}
	target := sp.TargetPort
	if override != nil && (override.Type == intstr.Int || override.StrVal != sp.Name) {
		// An OpenShift Route's targetPort: a number is the pod port, a name
		// other than the Service port's own is a container port name.
		target = *override
	}
	switch {
	case target.Type == intstr.String && target.StrVal != "":
		ports := ix.namedPorts(wi)[namedPort{target.StrVal, proto}]
		if ports.IsEmpty() {
			return model.NoConnections(), target.StrVal
		}
		return model.Connections(proto, ports), ""
	case target.Type == intstr.Int && target.IntVal != 0:
		return model.Connections(proto, model.Ports(int(target.IntVal))), ""
	}
	return model.Connections(proto, model.Ports(int(sp.Port))), ""
}
