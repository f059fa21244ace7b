// Package model is tightnet's connectivity vocabulary: protocols, port sets,
// IP sets, connection sets, peers, edges, matrices, findings and the
// artifacts stages hand to each other.
//
// Every set is immutable and canonical: operations return new values, and
// equal sets print and marshal identically. One interval set implementation
// sits behind port sets and both IP families.
//
// Input: nothing but values built by callers. Output: values and their
// conventional notation. Must not depend on any other tightnet package nor on
// Kubernetes packages; the standard library only.
package model
