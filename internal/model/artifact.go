package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// APIVersion is the version of every artifact this release writes and reads.
const APIVersion = "tightnet.dev/v1alpha1"

// Artifact kinds.
const KindConnectivityMap = "ConnectivityMap"

// ErrArtifactKind is wrapped by decode errors about a wrong apiVersion or kind.
var ErrArtifactKind = errors.New("unexpected artifact")

// header is the part every artifact shares.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ConnectivityMap is the artifact of the connectivity stage: every peer, and
// for every ordered pair of distinct peers with any allowed connection, what
// is allowed. Pairs absent from Connections allow nothing.
type ConnectivityMap struct {
	APIVersion  string       `json:"apiVersion"`
	Kind        string       `json:"kind"`
	Peers       []Peer       `json:"peers"`
	Connections []Connection `json:"connections"`
	// Exposure lists, per workload, how open it is; present when asked for.
	Exposure []Exposure `json:"exposure,omitempty"`
	Findings []Finding  `json:"findings"`
}

// Connection is one edge of a ConnectivityMap.
type Connection struct {
	Src   Peer          `json:"src"`
	Dst   Peer          `json:"dst"`
	Conns ConnectionSet `json:"conns"`
}

// NewConnectivityMap wraps a matrix and findings as an artifact, sorted.
func NewConnectivityMap(m Matrix, findings []Finding) ConnectivityMap {
	out := ConnectivityMap{
		APIVersion:  APIVersion,
		Kind:        KindConnectivityMap,
		Peers:       m.Peers(),
		Connections: []Connection{},
		Findings:    slices.SortedFunc(slices.Values(findings), CompareFindings),
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	for e, c := range m.All() {
		out.Connections = append(out.Connections, Connection{e.Src, e.Dst, c})
	}
	return out
}

// Matrix rebuilds the matrix the artifact describes.
func (c ConnectivityMap) Matrix() Matrix {
	b := NewMatrixBuilder()
	for _, p := range c.Peers {
		b.AddPeer(p)
	}
	for _, x := range c.Connections {
		b.Add(Edge{x.Src, x.Dst}, x.Conns)
	}
	return b.Matrix()
}

// Marshal writes an artifact as indented JSON with a trailing newline.
func Marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Decode reads an artifact of the given kind into v, rejecting another kind or
// an apiVersion this release does not know, with an error saying what to do.
func Decode(data []byte, kind string, v any) error {
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("decode %s: not a JSON artifact: %w", kind, err)
	}
	if h.Kind != kind {
		got := h.Kind
		if got == "" {
			got = "no kind"
		}
		return fmt.Errorf("decode %s: found %s: %w; pass a file written by the stage that produces %s", kind, got, ErrArtifactKind, kind)
	}
	if h.APIVersion != APIVersion {
		return fmt.Errorf("decode %s: apiVersion %q: %w; this release reads %s, regenerate the file with the same tightnet release", kind, h.APIVersion, ErrArtifactKind, APIVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	return nil
}

// Exposure is how open one workload is, whatever talks to it: what an
// arbitrary pod anywhere in the cluster (any namespace, any labels) may open
// to it and it to such a pod, and what every external address may open to
// it and it to every external address. Isolated says whether some
// NetworkPolicy selects the workload for that direction.
type Exposure struct {
	Peer            Peer          `json:"peer"`
	IngressIsolated bool          `json:"ingressIsolated"`
	EgressIsolated  bool          `json:"egressIsolated"`
	FromCluster     ConnectionSet `json:"fromCluster"`
	ToCluster       ConnectionSet `json:"toCluster"`
	FromExternal    ConnectionSet `json:"fromExternal"`
	ToExternal      ConnectionSet `json:"toExternal"`
}

// Exposed reports whether the workload is open in any of the four ways, or
// not isolated in some direction.
func (x Exposure) Exposed() bool {
	return !x.IngressIsolated || !x.EgressIsolated || !x.FromCluster.IsEmpty() || !x.ToCluster.IsEmpty() ||
		!x.FromExternal.IsEmpty() || !x.ToExternal.IsEmpty()
}
