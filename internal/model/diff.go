package model

import (
	"fmt"
	"slices"
)

// KindConnectivityDiff is the kind of the diff stage's artifact.
const KindConnectivityDiff = "ConnectivityDiff"

// ChangeKind says how the connections along an edge differ between an old
// and a new configuration. The zero value is not a kind.
type ChangeKind uint8

const (
	// Added: the old configuration allows nothing along the edge, the new
	// one something.
	Added ChangeKind = iota + 1
	// Removed: the old configuration allows something, the new one nothing.
	Removed
	// Changed: both allow something, not the same.
	Changed
	numChangeKinds
)

var changeKindNames = [numChangeKinds]string{Added: "added", Removed: "removed", Changed: "changed"}

// ChangeOf classifies the difference between the old and new connections
// of an edge; ok is false when they are equal.
func ChangeOf(old, new ConnectionSet) (kind ChangeKind, ok bool) {
	switch {
	case old.Equal(new):
		return 0, false
	case old.IsEmpty():
		return Added, true
	case new.IsEmpty():
		return Removed, true
	}
	return Changed, true
}

func (k ChangeKind) String() string {
	if k > 0 && k < numChangeKinds {
		return changeKindNames[k]
	}
	return fmt.Sprintf("ChangeKind(%d)", uint8(k))
}

// ParseChangeKind reads "added", "removed" or "changed".
func ParseChangeKind(s string) (ChangeKind, error) {
	for k, name := range changeKindNames {
		if k > 0 && s == name {
			return ChangeKind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown change %q: want added, removed or changed", s)
}

func (k ChangeKind) MarshalText() ([]byte, error) {
	if k == 0 || k >= numChangeKinds {
		return nil, fmt.Errorf("cannot marshal %v", k)
	}
	return []byte(k.String()), nil
}

func (k *ChangeKind) UnmarshalText(b []byte) error {
	v, err := ParseChangeKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Change is one edge whose connections differ between an old and a new
// configuration: Old and New are what each allows along it.
type Change struct {
	Kind ChangeKind    `json:"diff"`
	Src  Peer          `json:"src"`
	Dst  Peer          `json:"dst"`
	Old  ConnectionSet `json:"old"`
	New  ConnectionSet `json:"new"`
}

// Edge is the changed edge.
func (c Change) Edge() Edge { return Edge{c.Src, c.Dst} }

// ConnectivityDiff is the artifact of the diff stage: the peers only one
// configuration has, and every edge whose connections differ. Edges absent
// from Changes allow the same in both configurations.
type ConnectivityDiff struct {
	APIVersion   string   `json:"apiVersion"`
	Kind         string   `json:"kind"`
	AddedPeers   []Peer   `json:"addedPeers"`
	RemovedPeers []Peer   `json:"removedPeers"`
	Changes      []Change `json:"changes"`
}

// NewConnectivityDiff wraps peers and changes as an artifact, sorted.
func NewConnectivityDiff(addedPeers, removedPeers []Peer, changes []Change) ConnectivityDiff {
	nonNil := func(ps []Peer) []Peer {
		ps = slices.SortedFunc(slices.Values(ps), Peer.Compare)
		if ps == nil {
			ps = []Peer{}
		}
		return ps
	}
	out := ConnectivityDiff{
		APIVersion:   APIVersion,
		Kind:         KindConnectivityDiff,
		AddedPeers:   nonNil(addedPeers),
		RemovedPeers: nonNil(removedPeers),
		Changes:      slices.SortedFunc(slices.Values(changes), func(a, b Change) int { return a.Edge().Compare(b.Edge()) }),
	}
	if out.Changes == nil {
		out.Changes = []Change{}
	}
	return out
}
