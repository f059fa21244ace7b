package model

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestPrefixesCoverExactly: the prefixes of a set cover it exactly, and no
// two of them could be one prefix (the list is the shortest).
func TestPrefixesCoverExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		var s IPSet
		for range 1 + rng.IntN(4) {
			var p netip.Prefix
			if rng.IntN(3) == 0 {
				var b [16]byte
				for j := range b {
					b[j] = byte(rng.IntN(256))
				}
				p = netip.PrefixFrom(netip.AddrFrom16(b), rng.IntN(129))
			} else {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), 0, 0}), rng.IntN(33))
			}
			if rng.IntN(3) == 0 {
				s = s.Subtract(PrefixSet(p))
			} else {
				s = s.Union(PrefixSet(p))
			}
		}
		var back IPSet
		prefixes := s.Prefixes()
		for j, p := range prefixes {
			ps := PrefixSet(p)
			if back.Overlaps(ps) {
				t.Fatalf("case %d: prefix %s overlaps an earlier one", i, p)
			}
			back = back.Union(ps)
			if j > 0 && p.Bits() == prefixes[j-1].Bits() && p.Bits() > 0 {
				parent := netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked()
				if PrefixSet(parent).Equal(PrefixSet(prefixes[j-1]).Union(ps)) {
					t.Fatalf("case %d: %s and %s make one prefix %s", i, prefixes[j-1], p, parent)
				}
			}
		}
		if !back.Equal(s) {
			t.Fatalf("case %d: prefixes %v cover %s, want %s", i, prefixes, back, s)
		}
	}
}

func TestPrefixesExamples(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0.0.0.0-255.255.255.255", "[0.0.0.0/0]"},
		{"10.0.0.0-10.0.0.255", "[10.0.0.0/24]"},
		{"10.0.0.1-10.0.0.6", "[10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32]"},
		{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "[::/0]"},
	} {
		r, err := ParseIPRange(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := RangeSet(r).Prefixes()
		if s := fmtPrefixes(got); s != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, s, tc.want)
		}
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s + "]"
}
