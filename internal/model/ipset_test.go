package model

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustPrefixSet(t testing.TB, cidrs ...string) IPSet {
	t.Helper()
	var s IPSet
	for _, c := range cidrs {
		x, err := ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		s = s.Union(x)
	}
	return s
}

func TestPrefixSet(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
	}{
		{"0.0.0.0/0", "0.0.0.0-255.255.255.255"},
		{"0.0.0.0/1", "0.0.0.0-127.255.255.255"},
		{"200.1.2.3/1", "128.0.0.0-255.255.255.255"},
		{"10.1.2.3/8", "10.0.0.0-10.255.255.255"},
		{"10.1.2.3/31", "10.1.2.2-10.1.2.3"},
		{"10.1.2.3/32", "10.1.2.3"},
		{"255.255.255.255/32", "255.255.255.255"},
		{"::/0", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"8000::/1", "8000::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"7fff::/1", "::-7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::1/63", "2001:db8::-2001:db8:0:1:ffff:ffff:ffff:ffff"},
		{"2001:db8::1/64", "2001:db8::-2001:db8::ffff:ffff:ffff:ffff"},
		{"2001:db8::1/65", "2001:db8::-2001:db8::7fff:ffff:ffff:ffff"},
		{"2001:db8::1/127", "2001:db8::-2001:db8::1"},
		{"2001:db8::1/128", "2001:db8::1"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		// IPv4-mapped IPv6 prefixes are the IPv4 prefixes they map.
		{"::ffff:10.1.2.3/104", "10.0.0.0-10.255.255.255"},
		{"::ffff:0.0.0.0/96", "0.0.0.0-255.255.255.255"},
		{"::ffff:10.1.2.3/127", "10.1.2.2-10.1.2.3"},
		{"::ffff:10.1.2.3/128", "10.1.2.3"},
		// Shorter than /96, masking leaves no mapped address: an IPv6 range
		// that ends inside ::ffff:0:0/96.
		{"::ffff:0:0/95", "::fffe:0:0-::ffff:255.255.255.255"},
		{"::/80", "::-::ffff:255.255.255.255"},
	}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.prefix)
		s := PrefixSet(p)
		if got := s.String(); got != tt.want {
			t.Errorf("PrefixSet(%s) = %s, want %s", tt.prefix, got, tt.want)
		}
		if c, err := ParseCIDR(tt.prefix); err != nil || !c.Equal(s) {
			t.Errorf("ParseCIDR(%s) = %v, %v; want %v", tt.prefix, c, err, s)
		}
		// The set is exactly the prefix: netip agrees on its first and last
		// address and on the neighbours just outside.
		m := p.Masked()
		rs := s.Ranges()
		if len(rs) != 1 {
			t.Errorf("PrefixSet(%s) has ranges %v, want one", tt.prefix, rs)
			continue
		}
		inPrefixFamily := func(a netip.Addr) netip.Addr {
			if m.Addr().Is6() {
				return netip.AddrFrom16(a.As16())
			}
			return a
		}
		first, last := inPrefixFamily(rs[0].First), inPrefixFamily(rs[0].Last)
		if first != m.Addr() || !m.Contains(last) {
			t.Errorf("PrefixSet(%s) = %v, which netip does not see as the prefix %v", tt.prefix, rs[0], m)
		}
		if next := last.Next(); next.IsValid() && m.Contains(next) {
			t.Errorf("PrefixSet(%s) stops at %v, before the end of the prefix", tt.prefix, last)
		}
		if !s.Contains(rs[0].First) || s.Contains(netip.MustParseAddr("::ffff:0.0.0.0")) != (rs[0].First.Is4() && rs[0].First.IsUnspecified()) {
			t.Errorf("PrefixSet(%s).Contains is wrong at its first address or at ::ffff:0.0.0.0", tt.prefix)
		}
	}
	if got := PrefixSet(netip.Prefix{}); !got.IsEmpty() {
		t.Errorf("PrefixSet of the invalid prefix = %v, want the empty set", got)
	}
}

func TestPrefixSetMasksHostBits(t *testing.T) {
	pairs := [][2]string{
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"192.168.1.77/24", "192.168.1.0/24"},
		{"1.2.3.4/0", "0.0.0.0/0"},
		{"2001:db8::dead:beef/64", "2001:db8::/64"},
		{"::1/0", "::/0"},
		{"::ffff:10.1.2.3/104", "10.0.0.0/8"},
		{"::ffff:192.168.1.77/120", "192.168.1.0/24"},
	}
	for _, p := range pairs {
		a, b := mustPrefixSet(t, p[0]), mustPrefixSet(t, p[1])
		if !a.Equal(b) || a.String() != b.String() {
			t.Errorf("%s = %v, want it equal to %s = %v", p[0], a, p[1], b)
		}
	}
}

func TestIPFamiliesAreSeparate(t *testing.T) {
	all6, all4 := mustPrefixSet(t, "::/0"), mustPrefixSet(t, "0.0.0.0/0")
	for _, a := range []string{"0.0.0.0", "10.1.2.3", "255.255.255.255", "::ffff:10.1.2.3"} {
		addr := netip.MustParseAddr(a)
		if all6.Contains(addr) {
			t.Errorf("::/0 contains %s", a)
		}
		if !all4.Contains(addr) {
			t.Errorf("0.0.0.0/0 does not contain %s", a)
		}
	}
	if all4.Contains(netip.MustParseAddr("::1")) || !all6.Contains(netip.MustParseAddr("::1")) {
		t.Error("::1 is in the wrong family")
	}
	if !all4.Intersect(all6).IsEmpty() || all4.Overlaps(all6) || all4.Subset(all6) || all6.Subset(all4) {
		t.Error("the IPv4 and IPv6 spaces overlap")
	}
	if !AllIPs().Equal(all4.Union(all6)) || !AllIPv4().Equal(all4) || !AllIPv6().Equal(all6) {
		t.Error("AllIPs, AllIPv4 or AllIPv6 is wrong")
	}
	if !AllIPs().Subtract(all6).Equal(all4) {
		t.Error("AllIPs − ::/0 is not 0.0.0.0/0")
	}
	mapped := mustPrefixSet(t, "::ffff:10.0.0.0/104")
	if !mapped.Equal(mustPrefixSet(t, "10.0.0.0/8")) || !mapped.Contains(netip.MustParseAddr("10.9.9.9")) {
		t.Errorf("::ffff:10.0.0.0/104 = %v, want 10.0.0.0/8", mapped)
	}
	if (IPSet{}).Contains(netip.Addr{}) || AllIPs().Contains(netip.Addr{}) {
		t.Error("a set contains the invalid address")
	}
}

func TestParseCIDR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.1.2.3", "10.1.2.3"},
		{"::ffff:10.1.2.3", "10.1.2.3"},
		{"2001:db8::1", "2001:db8::1"},
		{"10.0.0.0/8", "10.0.0.0-10.255.255.255"},
	}
	for _, tt := range tests {
		s, err := ParseCIDR(tt.in)
		if err != nil || s.String() != tt.want {
			t.Errorf("ParseCIDR(%q) = %v, %v; want %s", tt.in, s, err, tt.want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0/8", "nope", "10.0.0.0/8/8"} {
		if s, err := ParseCIDR(in); err == nil {
			t.Errorf("ParseCIDR(%q) = %v, want an error", in, s)
		}
	}
}

func TestRangeSet(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		r    IPRange
		want string
	}{
		{IPRange{a("10.0.0.5"), a("10.0.1.7")}, "10.0.0.5-10.0.1.7"},
		{IPRange{a("10.0.0.5"), a("10.0.0.5")}, "10.0.0.5"},
		{IPRange{a("::ffff:10.0.0.5"), a("10.0.0.9")}, "10.0.0.5-10.0.0.9"},
		{IPRange{a("::1"), a("::ffff:1.2.3.4")}, "::1-::ffff:1.2.3.4"},
		{IPRange{a("::ffff:0.0.0.0"), a("ffff::")}, "::ffff:0.0.0.0-ffff::"},
		{IPRange{a("10.0.0.9"), a("10.0.0.5")}, ""}, // reversed
		{IPRange{a("10.0.0.1"), a("::1")}, ""},      // mixed families
		{IPRange{a("::1"), a("10.0.0.1")}, ""},
		{IPRange{}, ""},
		{IPRange{a("::1"), netip.Addr{}}, ""},
		{IPRange{a("10.0.0.1"), netip.Addr{}}, ""},
	}
	for _, tt := range tests {
		if got := RangeSet(tt.r).String(); got != tt.want {
			t.Errorf("RangeSet(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestParseIPRange(t *testing.T) {
	a := netip.MustParseAddr
	good := []struct {
		in   string
		want IPRange
	}{
		{"10.0.0.1", IPRange{a("10.0.0.1"), a("10.0.0.1")}},
		{"10.0.0.1-10.0.0.9", IPRange{a("10.0.0.1"), a("10.0.0.9")}},
		{"::ffff:10.0.0.1-10.0.0.9", IPRange{a("10.0.0.1"), a("10.0.0.9")}},
		{"::ffff:10.0.0.1", IPRange{a("10.0.0.1"), a("10.0.0.1")}},
		{"::-::ffff:255.255.255.255", IPRange{a("::"), a("::ffff:255.255.255.255")}},
		{"::ffff:0.0.0.0-ffff::", IPRange{a("::ffff:0.0.0.0"), a("ffff::")}},
	}
	for _, tt := range good {
		got, err := ParseIPRange(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseIPRange(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "-", "10.0.0.1-", "-10.0.0.1", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "::1-10.0.0.1", "10.0.0.0/8", "a-b"} {
		if r, err := ParseIPRange(in); err == nil {
			t.Errorf("ParseIPRange(%q) = %v, want an error", in, r)
		}
	}
}

func TestIPRangeCompare(t *testing.T) {
	rs := []IPRange{}
	for _, s := range []string{"::1", "10.0.0.1-10.0.0.2", "10.0.0.1", "9.0.0.0-255.255.255.255", "::-ffff::"} {
		r, err := ParseIPRange(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, IPRange.Compare)
	var got []string
	for _, r := range rs {
		got = append(got, r.String())
	}
	want := "9.0.0.0-255.255.255.255 10.0.0.1 10.0.0.1-10.0.0.2 ::-ffff:: ::1"
	if strings.Join(got, " ") != want {
		t.Errorf("sorted ranges = %v, want %s", got, want)
	}
}

// randomPrefix draws a prefix near a handful of anchors, so that random
// prefixes nest and overlap often, including the IPv4-mapped block and the
// top and bottom of each space.
func randomPrefix(r *rand.Rand) netip.Prefix {
	anchors := []string{
		"0.0.0.0", "10.0.0.0", "10.1.0.0", "192.168.1.0", "255.255.255.255",
		"::", "fd00::", "2001:db8::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"::ffff:10.0.0.0", "::fffe:0:0", "::1:0:0:0",
	}
	a := netip.MustParseAddr(anchors[r.IntN(len(anchors))])
	b := a.AsSlice()
	// Flip a few low-order bits so prefixes differ but stay close.
	for range r.IntN(4) {
		bit := len(b)*8 - 1 - r.IntN(len(b)*8/2)
		b[bit/8] ^= 1 << (7 - bit%8)
	}
	a, _ = netip.AddrFromSlice(b)
	var bitsN int
	switch r.IntN(4) {
	case 0:
		bitsN = r.IntN(a.BitLen() + 1)
	default: // mostly long prefixes, which nest inside the short ones
		bitsN = a.BitLen() - r.IntN(min(a.BitLen(), 40)+1)
	}
	if a.Is4In6() && r.IntN(2) == 0 {
		bitsN = 96 + r.IntN(33)
	}
	return netip.PrefixFrom(a, bitsN)
}

func randomIPSet(r *rand.Rand) IPSet {
	var s IPSet
	for range 1 + r.IntN(3) {
		s = s.Union(PrefixSet(randomPrefix(r)))
	}
	if r.IntN(3) == 0 { // an ipBlock with an except
		s = s.Subtract(PrefixSet(randomPrefix(r)))
	}
	return s
}

// exactSet is the set of the addresses in a range of the family of its
// first address, without RangeSet's reading of IPv4-mapped addresses, so
// that pieces of the IPv6 space inside ::ffff:0:0/96 stay IPv6.
func exactSet(r IPRange) IPSet {
	iv := newIntervalSet(interval{addrValue(r.First), addrValue(r.Last)})
	if r.First.Is4() {
		return IPSet{v4: iv}
	}
	return IPSet{v6: iv}
}

// member reports membership of an address of the exact family.
func member(s IPSet, a netip.Addr) bool {
	if a.Is4() {
		return s.v4.contains(addrValue(a))
	}
	return s.v6.contains(addrValue(a))
}

func checkBoundaries(t *testing.T, universe IPSet, sets []IPSet) []IPRange {
	t.Helper()
	got := Boundaries(universe, sets)
	var covered IPSet
	for i, r := range got {
		if r.First.Is4() != r.Last.Is4() || r.Last.Less(r.First) {
			t.Fatalf("range %d, %v, is reversed or mixes families", i, r)
		}
		piece := exactSet(r)
		for j, s := range sets {
			if !piece.Subset(s) && !piece.Intersect(s).IsEmpty() {
				t.Fatalf("range %v is partly inside set %d, %v", r, j, s)
			}
		}
		if i > 0 {
			prev := got[i-1]
			if prev.Last.Is4() == r.First.Is4() && !prev.Last.Less(r.First) {
				t.Fatalf("ranges %v and %v overlap or are out of order", prev, r)
			}
			if prev.First.Is6() && r.First.Is4() {
				t.Fatalf("IPv6 range %v comes before IPv4 range %v", prev, r)
			}
			if prev.Last.Next() == r.First && prev.Last.Is4() == r.First.Is4() {
				differ := false
				for _, s := range sets {
					differ = differ || member(s, prev.Last) != member(s, r.First)
				}
				if !differ {
					t.Fatalf("adjacent ranges %v and %v lie in the same sets; the split is not the coarsest", prev, r)
				}
			}
		}
		covered = covered.Union(piece)
	}
	if !covered.Equal(universe) {
		t.Fatalf("the ranges cover %v, want the universe %v", covered, universe)
	}
	return got
}

func TestBoundariesProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	universes := []func() IPSet{
		AllIPs, AllIPv4, AllIPv6,
		func() IPSet { return randomIPSet(r) },
		func() IPSet { return AllIPs().Subtract(randomIPSet(r)) },
	}
	for i := range 2000 {
		universe := universes[r.IntN(len(universes))]()
		sets := make([]IPSet, r.IntN(6))
		for j := range sets {
			sets[j] = randomIPSet(r)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkBoundaries(t, universe, sets)
		})
		if t.Failed() {
			t.Logf("universe %v\nsets %v", universe, sets)
			return
		}
	}
}

// TestBoundariesBruteForce compares Boundaries inside one /24 with a split
// computed address by address.
func TestBoundariesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		base := netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), 0})
		universe := PrefixSet(netip.PrefixFrom(base, 24))
		if r.IntN(2) == 0 { // a universe with holes
			universe = universe.Subtract(PrefixSet(netip.PrefixFrom(addrAt(base, r.IntN(256)), 26+r.IntN(7))))
		}
		sets := make([]IPSet, 1+r.IntN(4))
		for j := range sets {
			for range 1 + r.IntN(3) {
				sets[j] = sets[j].Union(PrefixSet(netip.PrefixFrom(addrAt(base, r.IntN(256)), 22+r.IntN(11))))
			}
		}
		var want []string
		for i := 0; i < 256; {
			if !universe.Contains(addrAt(base, i)) {
				i++
				continue
			}
			j := i
			for j+1 < 256 && universe.Contains(addrAt(base, j+1)) && sameSets(sets, addrAt(base, i), addrAt(base, j+1)) {
				j++
			}
			want = append(want, IPRange{addrAt(base, i), addrAt(base, j)}.String())
			i = j + 1
		}
		var got []string
		for _, x := range checkBoundaries(t, universe, sets) {
			got = append(got, x.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Boundaries(%v, %v)\n got %v\nwant %v", universe, sets, got, want)
		}
	}
}

func addrAt(base netip.Addr, i int) netip.Addr {
	b := base.As4()
	b[3] = byte(i)
	return netip.AddrFrom4(b)
}

func sameSets(sets []IPSet, a, b netip.Addr) bool {
	for _, s := range sets {
		if s.Contains(a) != s.Contains(b) {
			return false
		}
	}
	return true
}

func TestBoundariesEdges(t *testing.T) {
	top6 := mustPrefixSet(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")
	bottom4 := mustPrefixSet(t, "0.0.0.0/32")
	tests := []struct {
		name     string
		universe IPSet
		sets     []IPSet
		want     string
	}{
		{"no sets", AllIPs(), nil, "0.0.0.0-255.255.255.255 ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"empty universe", IPSet{}, []IPSet{AllIPs()}, ""},
		{"ends of the spaces", AllIPs(), []IPSet{top6, bottom4},
			"0.0.0.0 0.0.0.1-255.255.255.255 ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"except", AllIPv4(), []IPSet{mustPrefixSet(t, "10.0.0.0/8").Subtract(mustPrefixSet(t, "10.1.0.0/16"))},
			"0.0.0.0-9.255.255.255 10.0.0.0-10.0.255.255 10.1.0.0-10.1.255.255 10.2.0.0-10.255.255.255 11.0.0.0-255.255.255.255"},
		{"sets outside the universe", mustPrefixSet(t, "10.0.0.0/8"), []IPSet{mustPrefixSet(t, "192.168.0.0/16", "::/0")}, "10.0.0.0-10.255.255.255"},
		{"universe bounds the cut", mustPrefixSet(t, "10.0.0.0/16"), []IPSet{mustPrefixSet(t, "10.0.0.0/8"), mustPrefixSet(t, "10.0.1.0/24")},
			"10.0.0.0-10.0.0.255 10.0.1.0-10.0.1.255 10.0.2.0-10.0.255.255"},
		{"cut at the IPv4-mapped block", AllIPv6(), []IPSet{mustPrefixSet(t, "::/80")},
			"::-::ffff:255.255.255.255 ::1:0:0:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range checkBoundaries(t, tt.universe, tt.sets) {
				got = append(got, r.String())
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("Boundaries = %s\nwant %s", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// TestRangesRoundTrip rebuilds random sets from their ranges, both as values
// and through the notation.
func TestRangesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		s := randomIPSet(r)
		var rebuilt, reparsed IPSet
		for _, x := range s.Ranges() {
			rebuilt = rebuilt.Union(RangeSet(x))
			p, err := ParseIPRange(x.String())
			if err != nil {
				t.Fatalf("range %v of %v does not parse: %v", x, s, err)
			}
			if p != x {
				t.Fatalf("range %v of %v parses to %v", x, s, p)
			}
			reparsed = reparsed.Union(RangeSet(p))
		}
		if !rebuilt.Equal(s) || !reparsed.Equal(s) {
			t.Fatalf("%v rebuilt from its ranges is %v, through notation %v", s, rebuilt, reparsed)
		}
		parts := strings.Split(s.String(), ",")
		if s.IsEmpty() {
			parts = nil
		}
		if len(parts) != len(s.Ranges()) {
			t.Fatalf("%v prints %d ranges, has %d", s, len(parts), len(s.Ranges()))
		}
	}
}

func TestIPSetString(t *testing.T) {
	s := AllIPv4().Subtract(mustPrefixSet(t, "10.0.0.0/8")).Union(mustPrefixSet(t, "fd00::/8", "::1"))
	want := "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255,::1,fd00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	if got := s.String(); got != want {
		t.Errorf("String() = %s\nwant %s", got, want)
	}
	if got := (IPSet{}).String(); got != "" {
		t.Errorf("empty set prints %q", got)
	}
}
