package model

import (
	"math"
	"math/bits"
	"slices"
	"testing"
)

// The interval set is checked against a brute-force reference: a 256-bit
// bitset over a small universe [base, base+255]. The base moves the universe
// across the places where u128 arithmetic carries or borrows between its
// halves, so inc and dec are exercised at 2^64 and at the 128-bit maximum.

var u128Max = u128{^uint64(0), ^uint64(0)}

// universeBases are the offsets the fuzz targets place the 256-value universe at.
var universeBases = []u128{
	{},                             // 0..255
	{0, math.MaxUint64 - 127},      // straddles 2^64: 128 values below, 128 at or above
	{0, math.MaxUint64 - 255},      // ends exactly at 2^64-1
	{1, 0},                         // starts exactly at 2^64
	{^uint64(0), ^uint64(0) - 255}, // ends at the 128-bit maximum
	{0, 1<<32 - 256},               // ends at the top of the IPv4 space
}

func add128(a u128, n uint64) u128 {
	lo, carry := bits.Add64(a.lo, n, 0)
	return u128{hi: a.hi + carry, lo: lo}
}

// bitset256 is the reference: bit i stands for base+i.
type bitset256 [4]uint64

func (b *bitset256) set(i int)     { b[i/64] |= 1 << (i % 64) }
func (b bitset256) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset256) or(c bitset256) (r bitset256) {
	for i := range b {
		r[i] = b[i] | c[i]
	}
	return r
}
func (b bitset256) and(c bitset256) (r bitset256) {
	for i := range b {
		r[i] = b[i] & c[i]
	}
	return r
}
func (b bitset256) andNot(c bitset256) (r bitset256) {
	for i := range b {
		r[i] = b[i] &^ c[i]
	}
	return r
}
func (b bitset256) isEmpty() bool { return b == bitset256{} }

// decodeIntervals turns fuzz bytes into intervals over [base, base+255]: each
// pair of bytes is one interval, written in either order.
func decodeIntervals(data []byte, base u128) ([]interval, bitset256) {
	var ivs []interval
	var ref bitset256
	for i := 0; i+1 < len(data); i += 2 {
		lo, hi := int(data[i]), int(data[i+1])
		if lo > hi {
			lo, hi = hi, lo
		}
		ivs = append(ivs, interval{add128(base, uint64(lo)), add128(base, uint64(hi))})
		for v := lo; v <= hi; v++ {
			ref.set(v)
		}
	}
	return ivs, ref
}

// fromBitset builds the set a second way: one interval per maximal run, fed
// in reverse so newIntervalSet has to sort.
func fromBitset(b bitset256, base u128) intervalSet {
	var ivs []interval
	for i := 0; i < 256; {
		if !b.has(i) {
			i++
			continue
		}
		j := i
		for j+1 < 256 && b.has(j+1) {
			j++
		}
		ivs = append(ivs, interval{add128(base, uint64(i)), add128(base, uint64(j))})
		i = j + 1
	}
	slices.Reverse(ivs)
	return newIntervalSet(ivs...)
}

// checkCanonical fails unless s is sorted, disjoint and non-adjacent.
func checkCanonical(t *testing.T, what string, s intervalSet) {
	t.Helper()
	for i, x := range s.iv {
		if x.hi.less(x.lo) {
			t.Fatalf("%s: interval %d is reversed: %v", what, i, x)
		}
		if i > 0 {
			prev := s.iv[i-1]
			// prev.hi < max here, since x lies above it, so inc cannot wrap.
			if !prev.hi.inc().less(x.lo) {
				t.Fatalf("%s: intervals %d and %d overlap or touch: %v %v", what, i-1, i, prev, x)
			}
		}
	}
}

// checkMatches fails unless s holds exactly the values ref holds, and
// nothing just outside the universe.
func checkMatches(t *testing.T, what string, s intervalSet, ref bitset256, base u128) {
	t.Helper()
	checkCanonical(t, what, s)
	for i := range 256 {
		if got, want := s.contains(add128(base, uint64(i))), ref.has(i); got != want {
			t.Fatalf("%s: contains(base+%d) = %v, reference says %v; set %v", what, i, got, want, s.iv)
		}
	}
	if base != (u128{}) && s.contains(base.dec()) {
		t.Fatalf("%s: contains base-1, outside the universe", what)
	}
	if top := add128(base, 255); top != u128Max && s.contains(top.inc()) {
		t.Fatalf("%s: contains base+256, outside the universe", what)
	}
	if want := fromBitset(ref, base); !s.equal(want) {
		t.Fatalf("%s: %v, want canonical %v", what, s.iv, want.iv)
	}
	if s.isEmpty() != ref.isEmpty() {
		t.Fatalf("%s: isEmpty = %v, reference %v", what, s.isEmpty(), ref.isEmpty())
	}
}

func subsetRef(a, b bitset256) bool { return a.andNot(b).isEmpty() }

func checkIntervalAlgebra(t *testing.T, da, db []byte, baseSel uint8) {
	base := universeBases[int(baseSel)%len(universeBases)]
	ivA, refA := decodeIntervals(da, base)
	ivB, refB := decodeIntervals(db, base)
	a, b := newIntervalSet(ivA...), newIntervalSet(ivB...)
	keepA, keepB := slices.Clone(a.iv), slices.Clone(b.iv)

	var full bitset256
	for i := range full {
		full[i] = ^uint64(0)
	}
	u := fromBitset(full, base)

	checkMatches(t, "A", a, refA, base)
	checkMatches(t, "B", b, refB, base)
	checkMatches(t, "A∪B", a.union(b), refA.or(refB), base)
	checkMatches(t, "A∩B", a.intersect(b), refA.and(refB), base)
	checkMatches(t, "A−B", a.subtract(b), refA.andNot(refB), base)
	checkMatches(t, "B−A", b.subtract(a), refB.andNot(refA), base)
	checkMatches(t, "U−A", u.subtract(a), full.andNot(refA), base)

	if got, want := a.subset(b), subsetRef(refA, refB); got != want {
		t.Fatalf("A⊆B = %v, reference %v; A %v B %v", got, want, a.iv, b.iv)
	}
	if got, want := b.subset(a), subsetRef(refB, refA); got != want {
		t.Fatalf("B⊆A = %v, reference %v; A %v B %v", got, want, a.iv, b.iv)
	}
	if got, want := a.equal(b), refA == refB; got != want {
		t.Fatalf("A=B = %v, reference %v", got, want)
	}

	// Laws.
	if !a.subset(a.union(b)) || !b.subset(a.union(b)) {
		t.Fatal("A∪B does not contain A and B")
	}
	if !a.intersect(b).subset(a) || !a.subtract(b).subset(a) {
		t.Fatal("A∩B or A−B is not within A")
	}
	if !a.subtract(b).intersect(b).isEmpty() {
		t.Fatal("(A−B)∩B is not empty")
	}
	if !a.union(a).equal(a) || !a.intersect(a).equal(a) || !a.subtract(a).isEmpty() {
		t.Fatal("union or intersect is not idempotent, or A−A is not empty")
	}
	if !a.union(b).equal(b.union(a)) || !a.intersect(b).equal(b.intersect(a)) {
		t.Fatal("union or intersect is not commutative")
	}
	if !u.subtract(a.union(b)).equal(u.subtract(a).intersect(u.subtract(b))) {
		t.Fatal("De Morgan: U−(A∪B) ≠ (U−A)∩(U−B)")
	}
	if !u.subtract(a.intersect(b)).equal(u.subtract(a).union(u.subtract(b))) {
		t.Fatal("De Morgan: U−(A∩B) ≠ (U−A)∪(U−B)")
	}
	if !a.subtract(b).union(a.intersect(b)).equal(a) {
		t.Fatal("(A−B)∪(A∩B) ≠ A")
	}
	if !u.subtract(u.subtract(a)).equal(a) {
		t.Fatal("U−(U−A) ≠ A")
	}
	if a.subset(b) != a.union(b).equal(b) || a.subset(b) != a.subtract(b).isEmpty() {
		t.Fatal("A⊆B disagrees with A∪B=B or A−B=∅")
	}
	// Equal sets built different ways hash alike.
	if other := fromBitset(refA, base); a.hash(7) != other.hash(7) {
		t.Fatal("equal sets hash differently")
	}
	if ab, ba := a.union(b), b.union(a); ab.hash(1) != ba.hash(1) {
		t.Fatal("A∪B and B∪A hash differently")
	}
	// Operations return new sets and leave their operands alone.
	if !slices.Equal(a.iv, keepA) || !slices.Equal(b.iv, keepB) {
		t.Fatal("an operation modified its operand")
	}
}

func FuzzIntervalSet(f *testing.F) {
	f.Add([]byte{}, []byte{}, uint8(0))
	f.Add([]byte{0, 255}, []byte{}, uint8(0))
	f.Add([]byte{0, 255}, []byte{0, 255}, uint8(4))
	f.Add([]byte{10, 20, 21, 30}, []byte{15, 25}, uint8(0))     // adjacent inputs merge
	f.Add([]byte{0, 127, 128, 255}, []byte{127, 128}, uint8(1)) // runs meet at 2^64
	f.Add([]byte{120, 135}, []byte{127, 127, 129, 129}, uint8(1))
	f.Add([]byte{0, 255}, []byte{128, 128}, uint8(1)) // hole at exactly 2^64
	f.Add([]byte{0, 255}, []byte{127, 127}, uint8(1)) // hole at exactly 2^64-1
	f.Add([]byte{250, 255}, []byte{255, 255}, uint8(4))
	f.Add([]byte{0, 255}, []byte{200, 255}, uint8(4)) // subtract a run ending at the maximum
	f.Add([]byte{255, 255}, []byte{0, 254}, uint8(2))
	f.Add([]byte{0, 0, 2, 2, 4, 4}, []byte{1, 1, 3, 3}, uint8(3))
	f.Add([]byte{5, 1, 9, 7}, []byte{3, 8}, uint8(5))
	f.Fuzz(checkIntervalAlgebra)
}

func TestU128IncDec(t *testing.T) {
	tests := []struct{ a, inc u128 }{
		{u128{}, u128{0, 1}},
		{u128{0, math.MaxUint64}, u128{1, 0}},
		{u128{1, math.MaxUint64}, u128{2, 0}},
		{u128{math.MaxUint64, math.MaxUint64 - 1}, u128Max},
		{u128Max, u128{}}, // wraps, as documented
	}
	for _, tt := range tests {
		if got := tt.a.inc(); got != tt.inc {
			t.Errorf("%v.inc() = %v, want %v", tt.a, got, tt.inc)
		}
		if got := tt.inc.dec(); got != tt.a {
			t.Errorf("%v.dec() = %v, want %v", tt.inc, got, tt.a)
		}
	}
	ordered := []u128{{}, {0, 1}, {0, math.MaxUint64}, {1, 0}, {1, 1}, {math.MaxUint64, 0}, u128Max}
	for i, a := range ordered {
		for j, b := range ordered {
			if got, want := a.cmp(b), compareInts(i, j); got != want {
				t.Errorf("%v.cmp(%v) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func compareInts(i, j int) int {
	switch {
	case i < j:
		return -1
	case i > j:
		return 1
	}
	return 0
}

// TestIntervalSetWholeSpace pins the operations that touch both ends of the
// 128-bit space at once, where a missing guard would wrap around.
func TestIntervalSetWholeSpace(t *testing.T) {
	all := newIntervalSet(interval{u128{}, u128Max})
	zero := newIntervalSet(interval{u128{}, u128{}})
	top := newIntervalSet(interval{u128Max, u128Max})
	mid := newIntervalSet(interval{u128{0, math.MaxUint64}, u128{1, 0}})

	if got := all.subtract(zero).subtract(top); !got.equal(newIntervalSet(interval{u128{0, 1}, u128{math.MaxUint64, math.MaxUint64 - 1}})) {
		t.Errorf("all − {0} − {max} = %v", got.iv)
	}
	if got := all.subtract(mid); !got.equal(newIntervalSet(
		interval{u128{}, u128{0, math.MaxUint64 - 1}},
		interval{u128{1, 1}, u128Max},
	)) {
		t.Errorf("all − {2^64-1, 2^64} = %v", got.iv)
	}
	if got := zero.union(top).union(all.subtract(zero).subtract(top)); !got.equal(all) {
		t.Errorf("pieces do not reassemble the whole space: %v", got.iv)
	}
	if !all.contains(u128Max) || !all.contains(u128{}) || top.contains(u128{}) || zero.contains(u128Max) {
		t.Error("contains is wrong at the ends of the space")
	}
	if got := newIntervalSet(interval{u128{0, 5}, u128Max}, interval{u128Max, u128Max}, interval{u128{}, u128{0, 4}}); !got.equal(all) {
		t.Errorf("merging up to the maximum = %v, want one interval", got.iv)
	}
	if !all.subtract(all).isEmpty() || !top.subset(all) || all.subset(top) {
		t.Error("subset or subtract is wrong on the whole space")
	}
}
