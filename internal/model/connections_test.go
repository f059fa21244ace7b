package model

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// Port and connection sets are checked against a brute-force reference over
// 129 "atoms" of the port space: ports 1-64 one atom each, atom 64 standing
// for the whole gap 65-65471, and ports 65472-65535 one atom each. Every set
// the fuzz targets build is a union of atoms, so the edge ports 1 and 65535
// and ranges that jump the gap are exercised without a 65535-bit reference.

const (
	numAtoms  = 129
	gapAtom   = 64
	gapFirst  = 65
	gapLast   = 65471
	highFirst = 65472
)

// atomPorts is the port range an atom stands for.
func atomPorts(a int) (lo, hi int) {
	switch {
	case a < gapAtom:
		return a + 1, a + 1
	case a == gapAtom:
		return gapFirst, gapLast
	}
	return highFirst + a - gapAtom - 1, highFirst + a - gapAtom - 1
}

// probePorts are the ports checked for an atom: both ends and, for the gap,
// a port in the middle.
func probePorts(a int) []int {
	lo, hi := atomPorts(a)
	if lo == hi {
		return []int{lo}
	}
	return []int{lo, 8080, hi}
}

// atomSet is the reference for one protocol's ports.
type atomSet [3]uint64

func (s *atomSet) set(a int, on bool) {
	if on {
		s[a/64] |= 1 << (a % 64)
	} else {
		s[a/64] &^= 1 << (a % 64)
	}
}
func (s atomSet) has(a int) bool { return s[a/64]&(1<<(a%64)) != 0 }
func (s atomSet) isFull() bool {
	for a := range numAtoms {
		if !s.has(a) {
			return false
		}
	}
	return true
}

// connRef is the reference for a connection set.
type connRef [numProtocols]atomSet

func (r connRef) combine(o connRef, op func(x, y bool) bool) connRef {
	var out connRef
	for p := range out {
		for a := range numAtoms {
			out[p].set(a, op(r[p].has(a), o[p].has(a)))
		}
	}
	return out
}

func (r connRef) isEmpty() bool { return r == connRef{} }

func (r connRef) subset(o connRef) bool {
	return r.combine(o, func(x, y bool) bool { return x && !y }).isEmpty()
}

// runs lists the maximal runs of atoms as port ranges.
func (s atomSet) runs() [][2]int {
	var out [][2]int
	for a := 0; a < numAtoms; {
		if !s.has(a) {
			a++
			continue
		}
		b := a
		for b+1 < numAtoms && s.has(b+1) {
			b++
		}
		lo, _ := atomPorts(a)
		_, hi := atomPorts(b)
		out = append(out, [2]int{lo, hi})
		a = b + 1
	}
	return out
}

// portsNotation renders the reference the way the notation is documented:
// "80,8080-8090".
func (s atomSet) portsNotation() string {
	var parts []string
	for _, r := range s.runs() {
		if r[0] == r[1] {
			parts = append(parts, strconv.Itoa(r[0]))
		} else {
			parts = append(parts, strconv.Itoa(r[0])+"-"+strconv.Itoa(r[1]))
		}
	}
	return strings.Join(parts, ",")
}

// notation renders the reference as documented: "All Connections",
// "No Connections", or "SCTP ...,TCP ...,UDP ..." with empty protocols left out.
func (r connRef) notation() string {
	full := true
	for p := range r {
		full = full && r[p].isFull()
	}
	switch {
	case full:
		return "All Connections"
	case r.isEmpty():
		return "No Connections"
	}
	var parts []string
	for _, name := range []string{"SCTP", "TCP", "UDP"} { // documented print order
		proto, _ := ParseProtocol(name)
		if ports := r[proto].portsNotation(); ports != "" {
			parts = append(parts, name+" "+ports)
		}
	}
	return strings.Join(parts, ",")
}

// decodeConnections turns fuzz bytes into a connection set and its reference:
// each triple (op, a, b) adds or, with op's top bit, removes the atoms a..b of
// protocol op%4, where 3 means every protocol.
func decodeConnections(data []byte) (ConnectionSet, connRef) {
	var c ConnectionSet
	var ref connRef
	for i := 0; i+2 < len(data); i += 3 {
		op, a, b := data[i], int(data[i+1])%numAtoms, int(data[i+2])%numAtoms
		if a > b {
			a, b = b, a
		}
		lo, _ := atomPorts(a)
		_, hi := atomPorts(b)
		remove := op&0x80 != 0
		var piece ConnectionSet
		protos := []Protocol{Protocol(op % 4)}
		if op%4 == 3 {
			protos = Protocols()
			for _, p := range protos {
				piece = piece.Union(Connections(p, PortRange(lo, hi)))
			}
		} else {
			piece = Connections(protos[0], PortRange(lo, hi))
		}
		if remove {
			c = c.Subtract(piece)
		} else {
			c = c.Union(piece)
		}
		for _, p := range protos {
			for x := a; x <= b; x++ {
				ref[p].set(x, !remove)
			}
		}
	}
	return c, ref
}

// fromConnRef builds the set a second way, by carving the complement's runs
// out of All Connections.
func fromConnRef(r connRef) ConnectionSet {
	c := AllConnections()
	for _, p := range Protocols() {
		var missing atomSet
		for a := range numAtoms {
			missing.set(a, !r[p].has(a))
		}
		for _, run := range missing.runs() {
			c = c.Subtract(Connections(p, PortRange(run[0], run[1])))
		}
	}
	return c
}

func checkConnMatches(t *testing.T, what string, c ConnectionSet, ref connRef) {
	t.Helper()
	for _, p := range Protocols() {
		ports := c.Ports(p)
		checkCanonical(t, what+" "+p.String(), ports.s)
		for a := range numAtoms {
			for _, port := range probePorts(a) {
				if got, want := c.Contains(p, port), ref[p].has(a); got != want {
					t.Fatalf("%s: Contains(%v, %d) = %v, reference %v; set %v", what, p, port, got, want, c)
				}
			}
		}
		for _, port := range []int{-1, 0, MaxPort + 1} {
			if c.Contains(p, port) {
				t.Fatalf("%s: Contains(%v, %d), a port outside 1-65535", what, p, port)
			}
		}
		if got, want := ports.String(), ref[p].portsNotation(); got != want {
			t.Fatalf("%s: %v ports print %q, want %q", what, p, got, want)
		}
		runs := ref[p].runs()
		if got := ports.Ranges(); len(got) != len(runs) || (len(runs) > 0 && !equalRuns(got, runs)) {
			t.Fatalf("%s: %v Ranges() = %v, want %v", what, p, got, runs)
		}
		if ports.IsEmpty() != (len(runs) == 0) || ports.IsAll() != ref[p].isFull() {
			t.Fatalf("%s: %v IsEmpty/IsAll disagree with the reference", what, p)
		}
	}
	if got, want := c.String(), ref.notation(); got != want {
		t.Fatalf("%s: String() = %q, want %q", what, got, want)
	}
	if c.IsEmpty() != ref.isEmpty() {
		t.Fatalf("%s: IsEmpty = %v, reference %v", what, c.IsEmpty(), ref.isEmpty())
	}
	if c.IsAll() != (ref.notation() == "All Connections") {
		t.Fatalf("%s: IsAll = %v", what, c.IsAll())
	}
	// Canonical: the same set built another way is equal, prints, marshals
	// and hashes the same.
	other := fromConnRef(ref)
	if !c.Equal(other) || !other.Equal(c) {
		t.Fatalf("%s: %v is not Equal to the same set built by subtraction, %v", what, c, other)
	}
	if c.String() != other.String() || c.Hash() != other.Hash() {
		t.Fatalf("%s: equal sets print or hash differently: %q %q", what, c, other)
	}
	j1, err1 := json.Marshal(c)
	j2, err2 := json.Marshal(other)
	if err1 != nil || err2 != nil || !bytes.Equal(j1, j2) {
		t.Fatalf("%s: equal sets marshal differently: %s %s (%v, %v)", what, j1, j2, err1, err2)
	}
	// Round trips through the notation, text and JSON.
	parsed, err := ParseConnectionSet(c.String())
	if err != nil || !parsed.Equal(c) {
		t.Fatalf("%s: ParseConnectionSet(%q) = %v, %v", what, c.String(), parsed, err)
	}
	var fromJSON ConnectionSet
	if err := json.Unmarshal(j1, &fromJSON); err != nil || !fromJSON.Equal(c) {
		t.Fatalf("%s: JSON %s decodes to %v, %v", what, j1, fromJSON, err)
	}
	for _, p := range Protocols() {
		ps, err := ParsePortSet(c.Ports(p).String())
		if err != nil || !ps.Equal(c.Ports(p)) {
			t.Fatalf("%s: ParsePortSet(%q) = %v, %v", what, c.Ports(p), ps, err)
		}
	}
}

func equalRuns(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkConnectionAlgebra(t *testing.T, da, db []byte) {
	a, refA := decodeConnections(da)
	b, refB := decodeConnections(db)
	aText, bText := a.String(), b.String()

	or := func(x, y bool) bool { return x || y }
	and := func(x, y bool) bool { return x && y }
	andNot := func(x, y bool) bool { return x && !y }

	checkConnMatches(t, "A", a, refA)
	checkConnMatches(t, "B", b, refB)
	checkConnMatches(t, "A∪B", a.Union(b), refA.combine(refB, or))
	checkConnMatches(t, "A∩B", a.Intersect(b), refA.combine(refB, and))
	checkConnMatches(t, "A−B", a.Subtract(b), refA.combine(refB, andNot))

	if got, want := a.Subset(b), refA.subset(refB); got != want {
		t.Fatalf("A⊆B = %v, reference %v; A %v B %v", got, want, a, b)
	}
	if got, want := a.Equal(b), refA == refB; got != want {
		t.Fatalf("A=B = %v, reference %v; A %v B %v", got, want, a, b)
	}
	for _, p := range Protocols() {
		if got, want := a.Ports(p).Subset(b.Ports(p)), refA[p] == (refA[p].and(refB[p])); got != want {
			t.Fatalf("%v ports A⊆B = %v, reference %v", p, got, want)
		}
	}

	all := AllConnections()
	if !all.Subtract(a.Union(b)).Equal(all.Subtract(a).Intersect(all.Subtract(b))) {
		t.Fatal("De Morgan: All−(A∪B) ≠ (All−A)∩(All−B)")
	}
	if !all.Subtract(a.Intersect(b)).Equal(all.Subtract(a).Union(all.Subtract(b))) {
		t.Fatal("De Morgan: All−(A∩B) ≠ (All−A)∪(All−B)")
	}
	if !a.Subset(a.Union(b)) || !a.Subtract(b).Intersect(b).IsEmpty() {
		t.Fatal("A ⊄ A∪B or (A−B)∩B ≠ ∅")
	}
	if !a.Union(a).Equal(a) || !a.Intersect(a).Equal(a) || !a.Union(b).Equal(b.Union(a)) || !a.Intersect(b).Equal(b.Intersect(a)) {
		t.Fatal("idempotence or commutativity fails")
	}
	if a.Union(b).Hash() != b.Union(a).Hash() {
		t.Fatal("A∪B and B∪A hash differently")
	}
	if !a.Subset(all) || !NoConnections().Subset(a) {
		t.Fatal("A ⊄ All Connections or ∅ ⊄ A")
	}
	if a.String() != aText || b.String() != bText {
		t.Fatal("an operation modified its operand")
	}
}

func (s atomSet) and(o atomSet) atomSet {
	for i := range s {
		s[i] &= o[i]
	}
	return s
}

func FuzzConnectionSet(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{3, 0, 128}, []byte{})                     // All Connections
	f.Add([]byte{1, 0, 0, 1, 128, 128}, []byte{1, 0, 128}) // TCP 1,65535
	f.Add([]byte{1, 79, 79, 2, 52, 52}, []byte{3, 0, 128, 0x83, 79, 79})
	f.Add([]byte{0, 60, 70}, []byte{0, 64, 64})           // ranges across the gap
	f.Add([]byte{1, 0, 63}, []byte{1, 65, 128})           // 1-64 and 65472-65535
	f.Add([]byte{3, 0, 128, 0x81, 64, 64}, []byte{})      // every port but the gap's, TCP
	f.Add([]byte{3, 0, 128, 0x80, 0, 0}, []byte{3, 0, 0}) // SCTP without port 1
	f.Add([]byte{2, 10, 20, 2, 21, 30}, []byte{2, 15, 25, 0x82, 18, 18})
	f.Fuzz(checkConnectionAlgebra)
}

// Parsing arbitrary text never panics, and whatever parses prints in a form
// that parses back to the same set and prints identically.
func FuzzParseConnectionSet(f *testing.F) {
	for _, s := range []string{
		"", "All Connections", "No Connections", "TCP", "tcp 80", "TCP 80,8080-8090,UDP 53",
		"SCTP 1-65535,TCP 80,8080-8090,UDP 53", "TCP 80, 443 ,UDP", "UDP 53,TCP 1-65535,SCTP 1-65535",
		"TCP 90-80", "TCP 0", "TCP 65536", "80", "TCP 80 UDP 53", "TCP 1-2-3", "TCP +80", "TCP 80,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConnectionSet(s)
		if err != nil {
			return
		}
		checkCanonical(t, "TCP", c.Ports(TCP).s)
		text := c.String()
		again, err := ParseConnectionSet(text)
		if err != nil {
			t.Fatalf("%q parses to %q, which does not parse: %v", s, text, err)
		}
		if !again.Equal(c) || again.String() != text || again.Hash() != c.Hash() {
			t.Fatalf("%q parses to %q, which parses to %q", s, text, again)
		}
	})
}

func FuzzParsePortSet(f *testing.F) {
	for _, s := range []string{"", "1", "65535", "1-65535", "80,8080-8090", "90-80", "0", "65536", "80-", "-80", " 1 - 2 , 3", "4,3,2,1", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePortSet(s)
		if err != nil {
			return
		}
		checkCanonical(t, "ports", p.s)
		for _, r := range p.Ranges() {
			if r[0] < MinPort || r[1] > MaxPort {
				t.Fatalf("%q parses to %v, outside 1-65535", s, p.Ranges())
			}
		}
		again, err := ParsePortSet(p.String())
		if err != nil || !again.Equal(p) || again.String() != p.String() {
			t.Fatalf("%q parses to %q, which parses to %q, %v", s, p, again, err)
		}
	})
}

func TestPortRangeClamps(t *testing.T) {
	tests := []struct {
		lo, hi int
		want   string
	}{
		{1, 65535, "1-65535"},
		{-5, 3, "1-3"},
		{0, 0, ""},
		{65535, 70000, "65535"},
		{70000, 80000, ""},
		{90, 80, ""},
		{80, 80, "80"},
	}
	for _, tt := range tests {
		if got := PortRange(tt.lo, tt.hi).String(); got != tt.want {
			t.Errorf("PortRange(%d, %d) = %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
	if got := Ports(0, 1, 2, 3, 5, 65535, 65536, 3).String(); got != "1-3,5,65535" {
		t.Errorf("Ports(...) = %q, want 1-3,5,65535", got)
	}
	if !AllPorts().IsAll() || AllPorts().IsEmpty() || !NoPorts().IsEmpty() || !(PortSet{}).Equal(NoPorts()) {
		t.Error("AllPorts or NoPorts is wrong")
	}
	if !Ports().Equal(NoPorts()) || !Ports(0).Equal(NoPorts()) {
		t.Error("Ports of nothing valid is not the empty set")
	}
}

func TestParsePortSetErrors(t *testing.T) {
	for _, s := range []string{"0", "65536", "-1", "80-", "-80", "90-80", "http", "1-2-3", "80 90"} {
		if p, err := ParsePortSet(s); err == nil {
			t.Errorf("ParsePortSet(%q) = %v, want an error", s, p)
		}
	}
}

func TestParseConnectionSet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "No Connections"},
		{"  All Connections ", "All Connections"},
		{"TCP", "TCP 1-65535"},
		{"tcp 80,udp", "TCP 80,UDP 1-65535"},
		{"UDP 53,TCP 8080-8090,80", "TCP 80,8080-8090,UDP 53"},
		{"TCP 80,TCP 81", "TCP 80-81"},
		{"SCTP,TCP,UDP", "All Connections"},
		{"SCTP 1-65535,TCP 1-65535,UDP 1-65534,UDP 65535", "All Connections"},
		{"TCP 80, 443", "TCP 80,443"},
	}
	for _, tt := range tests {
		c, err := ParseConnectionSet(tt.in)
		if err != nil {
			t.Errorf("ParseConnectionSet(%q): %v", tt.in, err)
			continue
		}
		if got := c.String(); got != tt.want {
			t.Errorf("ParseConnectionSet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, s := range []string{"80", "ICMP 1", "TCP 0", "TCP 80-70", "TCP 80 UDP 53", "All connections,TCP"} {
		if c, err := ParseConnectionSet(s); err == nil {
			t.Errorf("ParseConnectionSet(%q) = %v, want an error", s, c)
		}
	}
	var c ConnectionSet
	if err := json.Unmarshal([]byte(`"TCP 0"`), &c); err == nil {
		t.Error(`unmarshaling "TCP 0" succeeded`)
	}
}

func TestProtocolText(t *testing.T) {
	if got := Protocols(); len(got) != int(numProtocols) || got[0] != SCTP || got[1] != TCP || got[2] != UDP {
		t.Errorf("Protocols() = %v, want SCTP, TCP, UDP", got)
	}
	for _, p := range Protocols() {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var q Protocol
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("%v round trips to %v, %v", p, q, err)
		}
		if q, err := ParseProtocol(strings.ToLower(p.String())); err != nil || q != p {
			t.Errorf("ParseProtocol(lower %v) = %v, %v", p, q, err)
		}
	}
	if _, err := Protocol(7).MarshalText(); err == nil {
		t.Error("Protocol(7).MarshalText succeeded")
	}
	if got := Protocol(7).String(); got != "Protocol(7)" {
		t.Errorf("Protocol(7).String() = %q", got)
	}
	var q Protocol
	if err := q.UnmarshalText([]byte("ICMP")); err == nil {
		t.Error("unmarshaling ICMP succeeded")
	}
	if _, err := json.Marshal(map[string]Protocol{"p": Protocol(9)}); err == nil {
		t.Error("marshaling an unknown protocol to JSON succeeded")
	}
}

// TestConnectionSetZeroValues pins that every way of spelling the empty set
// is one canonical value.
func TestConnectionSetZeroValues(t *testing.T) {
	empties := []ConnectionSet{
		{},
		NoConnections(),
		Connections(TCP, NoPorts()),
		Connections(UDP, PortRange(10, 1)),
		AllConnections().Subtract(AllConnections()),
		Connections(TCP, Ports(80)).Intersect(Connections(UDP, Ports(80))),
	}
	for i, c := range empties {
		if !c.IsEmpty() || !c.Equal(NoConnections()) || c.String() != "No Connections" || c.Hash() != NoConnections().Hash() {
			t.Errorf("empty set %d: %v, hash %x", i, c, c.Hash())
		}
	}
}

// TestConnectionSetHashSpreads checks that Hash tells apart the sets the
// interner meets most, so that interning stays a map lookup: single ports
// and ranges of each protocol, and their combinations.
func TestConnectionSetHashSpreads(t *testing.T) {
	seen := map[uint64]string{}
	add := func(c ConnectionSet) {
		h, s := c.Hash(), c.String()
		if other, ok := seen[h]; ok && other != s {
			t.Fatalf("%q and %q share hash %x", other, s, h)
		}
		seen[h] = s
	}
	add(NoConnections())
	add(AllConnections())
	for _, p := range Protocols() {
		for port := 1; port <= 300; port++ {
			add(Connections(p, Ports(port)))
			add(Connections(p, PortRange(1, port)))
			add(AllConnections().Subtract(Connections(p, Ports(port))))
		}
	}
	if len(seen) != 2+3*900-3 { // PortRange(1, 1) is Ports(1)
		t.Errorf("%d distinct hashes, want %d", len(seen), 2+3*900-3)
	}
}
