package model

import (
	"math/bits"
	"slices"
)

// u128 is an unsigned 128-bit integer: wide enough for an IPv6 address, and
// used for ports and IPv4 addresses too so that one canonical interval set
// implementation sits behind every set in this package.
type u128 struct{ hi, lo uint64 }

func u128From(v uint64) u128 { return u128{lo: v} }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) less(b u128) bool { return a.cmp(b) < 0 }

// inc returns a+1; it wraps at the maximum, which callers guard against.
func (a u128) inc() u128 {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return u128{hi: a.hi + carry, lo: lo}
}

// dec returns a-1; it wraps at zero, which callers guard against.
func (a u128) dec() u128 {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return u128{hi: a.hi - borrow, lo: lo}
}

// interval is the closed range [lo, hi], lo <= hi.
type interval struct{ lo, hi u128 }

// intervalSet is a canonical set of integers: intervals sorted, disjoint and
// non-adjacent, so two equal sets have identical representations. The slice
// is never modified after construction; operations return new sets.
type intervalSet struct{ iv []interval }

func newIntervalSet(ivs ...interval) intervalSet {
	if len(ivs) == 0 {
		return intervalSet{}
	}
	s := slices.Clone(ivs)
	slices.SortFunc(s, func(a, b interval) int { return a.lo.cmp(b.lo) })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		// Merge when overlapping or adjacent (last.hi+1 >= x.lo).
		if !last.hi.less(x.lo) || last.hi.inc() == x.lo {
			if last.hi.less(x.hi) {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return intervalSet{iv: slices.Clip(out)}
}

func (s intervalSet) isEmpty() bool { return len(s.iv) == 0 }

func (s intervalSet) equal(t intervalSet) bool { return slices.Equal(s.iv, t.iv) }

func (s intervalSet) contains(v u128) bool {
	_, found := slices.BinarySearchFunc(s.iv, v, func(x interval, v u128) int {
		switch {
		case x.hi.less(v):
			return -1
		case v.less(x.lo):
			return 1
		}
		return 0
	})
	return found
}

func (s intervalSet) union(t intervalSet) intervalSet {
	switch {
	case s.isEmpty():
		return t
	case t.isEmpty():
		return s
	}
	all := make([]interval, 0, len(s.iv)+len(t.iv))
	all = append(all, s.iv...)
	all = append(all, t.iv...)
	return newIntervalSet(all...)
}

func (s intervalSet) intersect(t intervalSet) intervalSet {
	var out []interval
	i, j := 0, 0
	for i < len(s.iv) && j < len(t.iv) {
		a, b := s.iv[i], t.iv[j]
		lo, hi := a.lo, a.hi
		if lo.less(b.lo) {
			lo = b.lo
		}
		if b.hi.less(hi) {
			hi = b.hi
		}
		if !hi.less(lo) {
			out = append(out, interval{lo, hi})
		}
		if a.hi.less(b.hi) {
			i++
		} else {
			j++
		}
	}
	return intervalSet{iv: out}
}

func (s intervalSet) subtract(t intervalSet) intervalSet {
	if s.isEmpty() || t.isEmpty() {
		return s
	}
	var out []interval
	j := 0
	for _, a := range s.iv {
		lo := a.lo
		done := false
		for j < len(t.iv) && t.iv[j].hi.less(lo) {
			j++
		}
		for k := j; k < len(t.iv) && !a.hi.less(t.iv[k].lo); k++ {
			b := t.iv[k]
			if lo.less(b.lo) {
				out = append(out, interval{lo, b.lo.dec()})
			}
			if !b.hi.less(a.hi) {
				done = true
				break
			}
			lo = b.hi.inc()
		}
		if !done {
			out = append(out, interval{lo, a.hi})
		}
	}
	return intervalSet{iv: out}
}

func (s intervalSet) subset(t intervalSet) bool {
	j := 0
	for _, a := range s.iv {
		for j < len(t.iv) && t.iv[j].hi.less(a.lo) {
			j++
		}
		if j == len(t.iv) || a.lo.less(t.iv[j].lo) || t.iv[j].hi.less(a.hi) {
			return false
		}
	}
	return true
}

// hash mixes the intervals into 64 bits; equal sets hash equally.
func (s intervalSet) hash(h uint64) uint64 {
	for _, x := range s.iv {
		for _, w := range [4]uint64{x.lo.hi, x.lo.lo, x.hi.hi, x.hi.lo} {
			h ^= w
			h *= 0x100000001b3
			h ^= h >> 29
		}
	}
	return h
}
