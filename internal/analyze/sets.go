package analyze

import (
	"math/bits"

	"github.com/tightnet/tightnet/internal/model"
)

// connID numbers a distinct connection set within one analysis. The engine
// fills large matrices of them; unions and intersections of two numbers are
// computed once and remembered.
type connID = uint32

const (
	noConns  connID = 0
	allConns connID = 1
)

type setTable struct {
	*model.Interner
	unions    map[[2]connID]connID
	intersect map[[2]connID]connID
	minus     map[[2]connID]connID
}

func newSetTable() *setTable {
	t := &setTable{
		Interner:  model.NewInterner(),
		unions:    map[[2]connID]connID{},
		intersect: map[[2]connID]connID{},
		minus:     map[[2]connID]connID{},
	}
	t.ID(model.AllConnections()) // number 1, allConns
	return t
}

func (t *setTable) union(a, b connID) connID {
	switch {
	case a == b || b == noConns || a == allConns:
		return a
	case a == noConns || b == allConns:
		return b
	}
	return t.memo(t.unions, min(a, b), max(a, b), model.ConnectionSet.Union)
}

func (t *setTable) intersection(a, b connID) connID {
	switch {
	case a == b || b == allConns || a == noConns:
		return a
	case a == allConns || b == noConns:
		return b
	}
	return t.memo(t.intersect, min(a, b), max(a, b), model.ConnectionSet.Intersect)
}

func (t *setTable) subtract(a, b connID) connID {
	switch {
	case a == noConns || b == noConns:
		return a
	case a == b || b == allConns:
		return noConns
	}
	return t.memo(t.minus, a, b, model.ConnectionSet.Subtract)
}

// memo computes op(a, b) once per pair of numbers.
func (t *setTable) memo(m map[[2]connID]connID, a, b connID, op func(model.ConnectionSet, model.ConnectionSet) model.ConnectionSet) connID {
	k := [2]connID{a, b}
	if id, ok := m[k]; ok {
		return id
	}
	id := t.ID(op(t.Set(a), t.Set(b)))
	m[k] = id
	return id
}

// bitset is a set of small non-negative integers (class or atom indexes).
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) or(c bitset) {
	for i := range b {
		b[i] |= c[i]
	}
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// each calls f for every member in increasing order.
func (b bitset) each(f func(int)) {
	for i, w := range b {
		for w != 0 {
			f(i*64 + bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
}
