package model

import "testing"

// benchSets are two connection sets with many ranges each, interleaved so
// that every operation has to walk both.
func benchSets() (ConnectionSet, ConnectionSet) {
	var a, b ConnectionSet
	for port := 1; port+3 <= MaxPort; port += 64 {
		for _, p := range Protocols() {
			a = a.Union(Connections(p, PortRange(port, port+3)))
			b = b.Union(Connections(p, PortRange(port+2, port+40)))
		}
	}
	return a, b
}

func BenchmarkConnectionSetUnion(b *testing.B) {
	x, y := benchSets()
	for b.Loop() {
		x.Union(y)
	}
}

func BenchmarkConnectionSetIntersect(b *testing.B) {
	x, y := benchSets()
	for b.Loop() {
		x.Intersect(y)
	}
}

func BenchmarkConnectionSetSubtract(b *testing.B) {
	x, y := benchSets()
	for b.Loop() {
		x.Subtract(y)
	}
}
