package model

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// IPSet is an immutable, canonical set of IPv4 and IPv6 addresses. The two
// families are separate spaces: ::/0 does not contain IPv4 addresses, and an
// IPv4-mapped IPv6 address is treated as the IPv4 address it maps.
// The zero value is the empty set.
type IPSet struct{ v4, v6 intervalSet }

// IPRange is the closed range of addresses [First, Last] of one family.
type IPRange struct{ First, Last netip.Addr }

// AllIPv4 is 0.0.0.0-255.255.255.255.
func AllIPv4() IPSet {
	return IPSet{v4: newIntervalSet(interval{u128{}, u128From(1<<32 - 1)})}
}

// AllIPv6 is ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff.
func AllIPv6() IPSet {
	return IPSet{v6: newIntervalSet(interval{u128{}, u128{^uint64(0), ^uint64(0)}})}
}

// AllIPs is every address of both families.
func AllIPs() IPSet { return AllIPv4().Union(AllIPv6()) }

// PrefixSet is the set of addresses in the prefix. The prefix is masked
// first, so 10.1.2.3/8 is 10.0.0.0/8 as Kubernetes treats it.
func PrefixSet(p netip.Prefix) IPSet {
	if !p.IsValid() {
		return IPSet{}
	}
	p = p.Masked()
	first, prefixLen := p.Addr(), p.Bits()
	if first.Is4In6() {
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8. A masked prefix keeps the
		// ::ffff: marker only when it is /96 or longer.
		first, prefixLen = first.Unmap(), prefixLen-96
	}
	bitsLen := first.BitLen()
	lo := addrValue(first)
	host := bitsLen - prefixLen
	hi := lo
	if host > 0 {
		mask := u128{}
		if host >= 64 {
			mask = u128{hi: 1<<(host-64) - 1, lo: ^uint64(0)}
			if host == 128 {
				mask.hi = ^uint64(0)
			}
		} else {
			mask = u128{lo: 1<<host - 1}
		}
		hi = u128{hi: lo.hi | mask.hi, lo: lo.lo | mask.lo}
	}
	iv := newIntervalSet(interval{lo, hi})
	if first.Is4() {
		return IPSet{v4: iv}
	}
	return IPSet{v6: iv}
}

// ParseCIDR reads a CIDR such as "10.0.0.0/8" or "fd00::/8"; a bare address
// is a single-address prefix.
func ParseCIDR(s string) (IPSet, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return IPSet{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
		}
		return PrefixSet(netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return IPSet{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
	}
	return PrefixSet(p), nil
}

// RangeSet is the set of addresses in r.
func RangeSet(r IPRange) IPSet {
	first, last, ok := rangeFamily(r.First, r.Last)
	if !ok {
		return IPSet{}
	}
	iv := newIntervalSet(interval{addrValue(first), addrValue(last)})
	if first.Is4() {
		return IPSet{v4: iv}
	}
	return IPSet{v6: iv}
}

// rangeFamily settles the family of the range [first, last]: IPv4 when both
// ends are IPv4 or IPv4-mapped, else IPv6, where an IPv4-mapped end is a
// plain IPv6 value: ::/80 is the IPv6 range ::-::ffff:255.255.255.255.
// ok is false for an invalid end, mixed families or a reversed range.
func rangeFamily(first, last netip.Addr) (_, _ netip.Addr, ok bool) {
	if first.Unmap().Is4() && last.Unmap().Is4() {
		first, last = first.Unmap(), last.Unmap()
	}
	ok = first.IsValid() && last.IsValid() && first.Is4() == last.Is4() && !last.Less(first)
	return first, last, ok
}

func addrValue(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128From(uint64(binary.BigEndian.Uint32(b[:])))
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

func addrFrom(v u128, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

func (s IPSet) IsEmpty() bool           { return s.v4.isEmpty() && s.v6.isEmpty() }
func (s IPSet) Equal(t IPSet) bool      { return s.v4.equal(t.v4) && s.v6.equal(t.v6) }
func (s IPSet) Subset(t IPSet) bool     { return s.v4.subset(t.v4) && s.v6.subset(t.v6) }
func (s IPSet) Union(t IPSet) IPSet     { return IPSet{s.v4.union(t.v4), s.v6.union(t.v6)} }
func (s IPSet) Intersect(t IPSet) IPSet { return IPSet{s.v4.intersect(t.v4), s.v6.intersect(t.v6)} }
func (s IPSet) Subtract(t IPSet) IPSet  { return IPSet{s.v4.subtract(t.v4), s.v6.subtract(t.v6)} }
func (s IPSet) Overlaps(t IPSet) bool   { return !s.Intersect(t).IsEmpty() }

// Contains reports whether the address is in the set.
func (s IPSet) Contains(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case a.Is4():
		return s.v4.contains(addrValue(a))
	case a.Is6():
		return s.v6.contains(addrValue(a))
	}
	return false
}

// Ranges lists the set as sorted, non-adjacent ranges, IPv4 first.
func (s IPSet) Ranges() []IPRange {
	out := make([]IPRange, 0, len(s.v4.iv)+len(s.v6.iv))
	for _, x := range s.v4.iv {
		out = append(out, IPRange{addrFrom(x.lo, true), addrFrom(x.hi, true)})
	}
	for _, x := range s.v6.iv {
		out = append(out, IPRange{addrFrom(x.lo, false), addrFrom(x.hi, false)})
	}
	return out
}

// String renders the set as comma-separated ranges, "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255".
func (s IPSet) String() string {
	rs := s.Ranges()
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// String renders "first-last", or a single address alone.
func (r IPRange) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// ParseIPRange reads the notation IPRange.String writes.
func ParseIPRange(s string) (IPRange, error) {
	firstS, lastS, isRange := strings.Cut(s, "-")
	first, err := netip.ParseAddr(firstS)
	if err != nil {
		return IPRange{}, fmt.Errorf("ip range %q: %w", s, err)
	}
	last := first
	if isRange {
		if last, err = netip.ParseAddr(lastS); err != nil {
			return IPRange{}, fmt.Errorf("ip range %q: %w", s, err)
		}
	}
	first, last, ok := rangeFamily(first, last)
	if !ok {
		return IPRange{}, fmt.Errorf("ip range %q: want two addresses of one family, first not above last", s)
	}
	return IPRange{first, last}, nil
}

// Adjacent reports whether next starts right after r ends.
func (r IPRange) Adjacent(next IPRange) bool {
	n := r.Last.Next()
	return n.IsValid() && n == next.First
}

// Compare orders ranges IPv4 before IPv6, then by first and last address.
func (r IPRange) Compare(o IPRange) int {
	if c := r.First.Compare(o.First); c != 0 {
		return c
	}
	return r.Last.Compare(o.Last)
}

// Boundaries splits the address space of each family present in sets into
// the coarsest ranges such that every range lies wholly inside or wholly
// outside each set. Callers use it to turn the ipBlocks of many policies into
// disjoint peers that behave alike. universe bounds the result.
func Boundaries(universe IPSet, sets []IPSet) []IPRange {
	cut := func(u intervalSet, pick func(IPSet) intervalSet) []interval {
		if u.isEmpty() {
			return nil
		}
		// Collect the start points of new pieces: every set's interval starts
		// and the points just after each interval ends.
		starts := map[u128]bool{}
		for _, s := range sets {
			for _, x := range pick(s).iv {
				starts[x.lo] = true
				if x.hi != (u128{^uint64(0), ^uint64(0)}) {
					starts[x.hi.inc()] = true
				}
			}
		}
		var out []interval
		for _, x := range u.iv {
			lo := x.lo
			var cuts []u128
			for p := range starts {
				if x.lo.less(p) && !x.hi.less(p) {
					cuts = append(cuts, p)
				}
			}
			slices.SortFunc(cuts, u128.cmp)
			for _, c := range cuts {
				out = append(out, interval{lo, c.dec()})
				lo = c
			}
			out = append(out, interval{lo, x.hi})
		}
		return out
	}
	var out []IPRange
	for _, x := range cut(universe.v4, func(s IPSet) intervalSet { return s.v4 }) {
		out = append(out, IPRange{addrFrom(x.lo, true), addrFrom(x.hi, true)})
	}
	for _, x := range cut(universe.v6, func(s IPSet) intervalSet { return s.v6 }) {
		out = append(out, IPRange{addrFrom(x.lo, false), addrFrom(x.hi, false)})
	}
	return out
}

// Prefixes lists the set as the fewest CIDR prefixes that cover it exactly,
// IPv4 first, in address order.
func (s IPSet) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, fam := range []struct {
		iv   intervalSet
		is4  bool
		bits int
	}{{s.v4, true, 32}, {s.v6, false, 128}} {
		for _, x := range fam.iv.iv {
			lo := x.lo
			for {
				// The largest block starting at lo that stays within x.
				size := 0
				for size < fam.bits {
					next := size + 1
					if trailingZeros(lo) < next {
						break
					}
					if x.hi.less(blockEnd(lo, next)) {
						break
					}
					size = next
				}
				out = append(out, netip.PrefixFrom(addrFrom(lo, fam.is4), fam.bits-size))
				end := blockEnd(lo, size)
				if !end.less(x.hi) {
					break
				}
				lo = end.inc()
			}
		}
	}
	return out
}

// trailingZeros counts the zero bits at the low end of v (128 for zero).
func trailingZeros(v u128) int {
	if v.lo != 0 {
		return bits.TrailingZeros64(v.lo)
	}
	if v.hi != 0 {
		return 64 + bits.TrailingZeros64(v.hi)
	}
	return 128
}

// blockEnd is the last value of the block of 2^size values starting at lo.
func blockEnd(lo u128, size int) u128 {
	switch {
	case size == 0:
		return lo
	case size >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case size >= 64:
		return u128{hi: lo.hi | (1<<(size-64) - 1), lo: ^uint64(0)}
	}
	return u128{hi: lo.hi, lo: lo.lo | (1<<size - 1)}
}
