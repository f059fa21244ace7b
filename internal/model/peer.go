package model

import (
	"cmp"
	"fmt"
	"strings"
)

// PeerKind says what a Peer stands for.
type PeerKind uint8

const (
	// PeerWorkload is the pods of one workload: namespace, name and kind.
	PeerWorkload PeerKind = iota
	// PeerExternal is a range of addresses outside the cluster.
	PeerExternal
	// PeerIngressController is the cluster's ingress controller, the source
	// of traffic that arrives through Ingress objects and routes.
	PeerIngressController
)

// IngressControllerName is how the ingress controller peer prints.
const IngressControllerName = "{ingress-controller}"

// Peer is one end of a connection. It is comparable and used as a map key.
type Peer struct {
	Kind PeerKind
	// Namespace, Name and WorkloadKind identify a workload peer
	// ("Deployment", "StatefulSet", "Pod", ...).
	Namespace, Name, WorkloadKind string
	// Range is the addresses of an external peer.
	Range IPRange
}

// WorkloadPeer is the peer for a workload.
func WorkloadPeer(namespace, name, kind string) Peer {
	return Peer{Kind: PeerWorkload, Namespace: namespace, Name: name, WorkloadKind: kind}
}

// ExternalPeer is the peer for a range of external addresses.
func ExternalPeer(r IPRange) Peer { return Peer{Kind: PeerExternal, Range: r} }

// IngressController is the ingress controller peer.
func IngressController() Peer { return Peer{Kind: PeerIngressController} }

// String renders the conventional notation: "namespace/name[Kind]",
// "0.0.0.0-255.255.255.255", or "{ingress-controller}".
func (p Peer) String() string {
	switch p.Kind {
	case PeerWorkload:
		return p.Namespace + "/" + p.Name + "[" + p.WorkloadKind + "]"
	case PeerExternal:
		return p.Range.String()
	case PeerIngressController:
		return IngressControllerName
	}
	return fmt.Sprintf("PeerKind(%d)", p.Kind)
}

// ParsePeer reads the notation String writes.
func ParsePeer(s string) (Peer, error) {
	if s == IngressControllerName {
		return IngressController(), nil
	}
	if ns, rest, ok := strings.Cut(s, "/"); ok && strings.HasSuffix(rest, "]") {
		name, kind, ok := strings.Cut(strings.TrimSuffix(rest, "]"), "[")
		if ok && ns != "" && name != "" && kind != "" {
			return WorkloadPeer(ns, name, kind), nil
		}
	}
	r, err := ParseIPRange(s)
	if err != nil {
		return Peer{}, fmt.Errorf("peer %q: want namespace/name[Kind], an address range or %s", s, IngressControllerName)
	}
	return ExternalPeer(r), nil
}

// Compare orders peers: the ingress controller, then workloads by
// namespace, name and kind, then external ranges by address.
func (p Peer) Compare(q Peer) int {
	rank := func(k PeerKind) int {
		switch k {
		case PeerIngressController:
			return 0
		case PeerWorkload:
			return 1
		}
		return 2
	}
	if c := cmp.Compare(rank(p.Kind), rank(q.Kind)); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Namespace, q.Namespace); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Name, q.Name); c != 0 {
		return c
	}
	if c := cmp.Compare(p.WorkloadKind, q.WorkloadKind); c != 0 {
		return c
	}
	return p.Range.Compare(q.Range)
}

func (p Peer) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *Peer) UnmarshalText(b []byte) error {
	v, err := ParsePeer(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Edge is a directed pair of peers. It is comparable and used as a map key.
type Edge struct{ Src, Dst Peer }

func (e Edge) String() string { return e.Src.String() + " => " + e.Dst.String() }

// Compare orders edges by source, then destination.
func (e Edge) Compare(f Edge) int {
	if c := e.Src.Compare(f.Src); c != 0 {
		return c
	}
	return e.Dst.Compare(f.Dst)
}
