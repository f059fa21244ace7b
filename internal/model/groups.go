package model

import "slices"

// The grouped form of a Matrix, read-only, for algorithms that compare or
// combine whole matrices group pair by group pair instead of edge by edge,
// such as the diff stage: two 5,000-workload matrices are a few million
// group cells, not 25 million map lookups.

// NumGroups is the number of peer groups the matrix stores cells for.
func (m Matrix) NumGroups() int { return m.ngroups }

// PeerGroup is the group of Peers()[i].
func (m Matrix) PeerGroup(i int) int { return int(m.group[i]) }

// GroupCell numbers the connections from any peer of group g to any other
// peer of group h: an index into Sets. Equal numbers mean equal sets;
// different numbers may still hold equal sets.
func (m Matrix) GroupCell(g, h int) int { return int(m.cells[g*m.ngroups+h]) }

// Sets lists the connection sets GroupCell numbers; Sets()[0] is No
// Connections (the zero Matrix has none).
func (m Matrix) Sets() []ConnectionSet { return slices.Clone(m.sets) }
