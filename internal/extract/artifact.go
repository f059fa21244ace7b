package extract

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tightnet/tightnet/internal/model"
)

// KindTopology is the artifact kind the extract stage writes.
const KindTopology = "Topology"

// Artifact is the Topology: what the application is made of and which
// connections it needs, each with the reasons it is needed. It is the input
// of the synthesizer. Every list is sorted; equal inputs give equal bytes.
type Artifact struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Namespaces []Namespace `json:"namespaces"`
	Workloads  []Workload  `json:"workloads"`
	Services   []Service   `json:"services"`
	// Connections are the required connections between workloads.
	Connections []Connection `json:"connections"`
	// Exposures are the ways into workloads from outside them: every
	// address, the ingress controller, the monitoring namespace, or
	// addresses seen in observed traffic.
	Exposures []Exposure `json:"exposures"`
	// External are destinations outside the cluster that workloads'
	// configuration names with a port (or an http/https URL), and
	// addresses outside the cluster seen in observed traffic.
	External []External `json:"external"`
	// Policies are the policies of the inputs, carried unchanged.
	Policies []Policy        `json:"policies"`
	Findings []model.Finding `json:"findings"`
}

// Namespace is a namespace and its labels (always with
// kubernetes.io/metadata.name).
type Namespace struct {
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels"`
	Declared bool              `json:"declared"`
	Source   model.Location    `json:"source,omitzero"`
}

// Workload is a workload and its pods' labels.
type Workload struct {
	Peer   model.Peer        `json:"peer"`
	Labels map[string]string `json:"labels"`
	Source model.Location    `json:"source,omitzero"`
}

// Service is a Service, its ports and the workloads it selects.
type Service struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Headless  bool              `json:"headless,omitempty"`
	Selector  map[string]string `json:"selector,omitempty"`
	Ports     []ServicePort     `json:"ports"`
	Workloads []model.Peer      `json:"workloads"`
	Source    model.Location    `json:"source,omitzero"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string              `json:"name,omitempty"`
	Protocol   model.Protocol      `json:"protocol"`
	Port       int                 `json:"port"`
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`
}

// Connection is a required connection between two workloads.
type Connection struct {
	Src        model.Peer          `json:"src"`
	Dst        model.Peer          `json:"dst"`
	Conns      model.ConnectionSet `json:"conns"`
	Provenance []Provenance        `json:"provenance"`
}

// Exposure is a way into a workload from outside the workloads of the
// inputs.
type Exposure struct {
	Src        Source              `json:"src"`
	Dst        model.Peer          `json:"dst"`
	Conns      model.ConnectionSet `json:"conns"`
	Provenance []Provenance        `json:"provenance"`
}

// External is a destination outside the cluster a workload connects to:
// a host name or an address.
type External struct {
	Src        model.Peer          `json:"src"`
	Host       string              `json:"host"`
	Conns      model.ConnectionSet `json:"conns"`
	Provenance []Provenance        `json:"provenance"`
}

// Provenance says why a connection exists: where the value that implies it
// is written — file and line of the object, the object, the path inside it
// — or which traffic record showed it, and in words what was found. It
// never holds a Secret's value.
type Provenance struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Object is "Kind namespace/name" of the object holding the value.
	Object string `json:"object,omitempty"`
	// Path is the field inside Object: spec.template.spec.containers[app].env[CART_ADDR],
	// data[application.properties].
	Path   string `json:"path,omitempty"`
	Reason string `json:"reason"`
	// Conns is what this reason alone requires.
	Conns model.ConnectionSet `json:"conns"`
}

// Policy is a policy of the inputs, carried unchanged for the synthesizer:
// a NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy or
// ClusterNetworkPolicy, as its typed object marshals.
type Policy struct {
	Kind       string          `json:"kind"`
	APIVersion string          `json:"apiVersion"`
	Namespace  string          `json:"namespace,omitempty"`
	Name       string          `json:"name"`
	Source     model.Location  `json:"source,omitzero"`
	Object     json.RawMessage `json:"object"`
}

// Source is where an exposure comes from: a peer (an address range, the
// ingress controller) or every pod of a namespace. It prints as the peer
// does, or "namespace/*".
type Source struct {
	Peer      model.Peer
	Namespace string
}

// NamespaceSource is every pod of a namespace.
func NamespaceSource(ns string) Source { return Source{Namespace: ns} }

// PeerSource is a peer.
func PeerSource(p model.Peer) Source { return Source{Peer: p} }

func (s Source) String() string {
	if s.Namespace != "" {
		return s.Namespace + "/*"
	}
	return s.Peer.String()
}

// Compare orders sources: peers as model.Peer orders them, then namespaces.
func (s Source) Compare(o Source) int {
	switch {
	case s.Namespace == "" && o.Namespace == "":
		return s.Peer.Compare(o.Peer)
	case s.Namespace == "":
		return -1
	case o.Namespace == "":
		return 1
	}
	return cmp.Compare(s.Namespace, o.Namespace)
}

func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Source) UnmarshalText(b []byte) error {
	if ns, ok := strings.CutSuffix(string(b), "/*"); ok && ns != "" && !strings.Contains(ns, "/") {
		*s = NamespaceSource(ns)
		return nil
	}
	p, err := model.ParsePeer(string(b))
	if err != nil {
		return fmt.Errorf("exposure source: %w, or namespace/*", err)
	}
	*s = PeerSource(p)
	return nil
}

// Decode reads a Topology, rejecting another kind or an unknown apiVersion
// with an error saying what to do.
func Decode(data []byte) (Artifact, error) {
	var a Artifact
	if err := model.Decode(data, KindTopology, &a); err != nil {
		return Artifact{}, err
	}
	return a, nil
}

// Marshal writes the Topology as indented JSON with a trailing newline.
func (a Artifact) Marshal() ([]byte, error) { return model.Marshal(a) }

// AddFindings adds findings, such as those of reading traffic files, and
// keeps the list sorted.
func (a *Artifact) AddFindings(fs ...model.Finding) {
	a.Findings = append(a.Findings, fs...)
	slices.SortStableFunc(a.Findings, model.CompareFindings)
}

func compareProvenance(a, b Provenance) int {
	return cmp.Or(a.Location().Compare(b.Location()), cmp.Compare(a.Object, b.Object), cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Reason, b.Reason))
}

// Location is the file and line of the provenance.
func (p Provenance) Location() model.Location { return model.Location{File: p.File, Line: p.Line} }
