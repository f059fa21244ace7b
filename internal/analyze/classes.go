package analyze

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// namedPort is a container port name together with its protocol: a policy
// port {port: http, protocol: UDP} only resolves to container ports named
// "http" whose protocol is UDP.
type namedPort struct {
	name  string
	proto model.Protocol
}

// A class is a set of workloads whose pods no policy can tell apart: same
// namespace, same pod labels, same named ports. The engine works on classes,
// never on individual pods or workload pairs.
type class struct {
	ns        int
	labels    labels.Set
	named     map[namedPort]model.PortSet
	workloads []int // indexes into Objects.Workloads
}

// cluster is the grouped view of the inputs: namespaces and classes, with
// classes indexed by namespace.
type cluster struct {
	objs     *manifest.Objects
	nsNames  []string
	nsIndex  map[string]int
	nsLabels []labels.Set
	classes  []class
	byNS     [][]int // class indexes per namespace index
	// anyPod is the class of an arbitrary pod: some pod of some namespace,
	// labels unknown. Only selectors that match every namespace and every
	// pod match it. It stands for "the whole cluster" in exposure reports
	// and for the ingress controller, whose namespace and labels the
	// inputs do not give. It has no workloads and belongs to no namespace.
	anyPod int
	// ingressCtl is the class of the ingress controller: anyPod, or a class
	// of its own when the user says where the controller runs.
	ingressCtl  int
	ingressHint string
	// classOf is the class of each workload.
	classOf []int
}

func newCluster(objs *manifest.Objects, ic *IngressController) *cluster {
	c := &cluster{objs: objs, nsIndex: map[string]int{}, classOf: make([]int, len(objs.Workloads))}
	for _, ns := range objs.Namespaces {
		c.addNamespace(ns.Name, ns.Labels)
	}
	byKey := map[string]int{}
	for i, w := range objs.Workloads {
		ns := c.namespace(w.Namespace)
		named := namedPorts(w.Pod)
		key := classKey(w.Namespace, w.PodLabels, named)
		ci, ok := byKey[key]
		if !ok {
			ci = len(c.classes)
			byKey[key] = ci
			c.classes = append(c.classes, class{ns: ns, labels: labels.Set(w.PodLabels), named: named})
			c.byNS[ns] = append(c.byNS[ns], ci)
		}
		c.classes[ci].workloads = append(c.classes[ci].workloads, i)
		c.classOf[i] = ci
	}
	c.anyPod = len(c.classes)
	c.classes = append(c.classes, class{ns: -1, labels: labels.Set{}, named: map[namedPort]model.PortSet{}})
	c.ingressCtl, c.ingressHint = c.anyPod, ingressControllerHint(ic)
	if ic != nil {
		// A pod of the controller's namespace with its labels: selectors
		// and policies treat it as any other pod there.
		ns := c.namespace(ic.Namespace)
		c.ingressCtl = len(c.classes)
		c.classes = append(c.classes, class{ns: ns, labels: labels.Set(ic.PodLabels), named: map[namedPort]model.PortSet{}})
		c.byNS[ns] = append(c.byNS[ns], c.ingressCtl)
	}
	return c
}

func (c *cluster) addNamespace(name string, lbls map[string]string) int {
	set := labels.Set{}
	maps.Copy(set, lbls)
	// The API server labels every namespace with its own name (1.22+).
	set[manifest.NamespaceNameLabel] = name
	i := len(c.nsNames)
	c.nsIndex[name] = i
	c.nsNames = append(c.nsNames, name)
	c.nsLabels = append(c.nsLabels, set)
	c.byNS = append(c.byNS, nil)
	return i
}

// namespace returns the index of a namespace, adding it with only its name
// label when the inputs never declared it.
func (c *cluster) namespace(name string) int {
	if name == "" {
		name = manifest.DefaultNamespace
	}
	if i, ok := c.nsIndex[name]; ok {
		return i
	}
	return c.addNamespace(name, nil)
}

// namedPorts collects the named ports of every container and init container
// (sidecar init containers serve ports too). Protocol defaults to TCP.
func namedPorts(spec corev1.PodSpec) map[namedPort]model.PortSet {
	out := map[namedPort]model.PortSet{}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, ctr := range cs {
			for _, p := range ctr.Ports {
				if p.Name == "" {
					continue
				}
				proto, err := protocolOf(p.Protocol)
				if err != nil {
					continue
				}
				k := namedPort{p.Name, proto}
				out[k] = out[k].Union(model.Ports(int(p.ContainerPort)))
			}
		}
	}
	return out
}

func protocolOf(p corev1.Protocol) (model.Protocol, error) {
	if p == "" {
		return model.TCP, nil
	}
	return model.ParseProtocol(string(p))
}

// classKey identifies the behaviour of a workload's pods. It is only used to
// group workloads and never leaves this file.
func classKey(ns string, lbls map[string]string, named map[namedPort]model.PortSet) string {
	var b strings.Builder
	b.WriteString(ns)
	for _, k := range slices.Sorted(maps.Keys(lbls)) {
		b.WriteString("\x00")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(lbls[k])
	}
	b.WriteString("\x01")
	keys := slices.SortedFunc(maps.Keys(named), func(a, b namedPort) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return int(a.proto) - int(b.proto)
	})
	for _, k := range keys {
		b.WriteString("\x00")
		b.WriteString(k.name)
		b.WriteString("/")
		b.WriteString(strconv.Itoa(int(k.proto)))
		b.WriteString("=")
		b.WriteString(named[k].String())
	}
	return b.String()
}
