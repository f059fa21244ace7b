package model

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// rangeFromBytes makes a canonical IPRange, the kind Ranges returns, from
// fuzz bytes: 32 or more bytes give an IPv6 range, fewer an IPv4 range.
func rangeFromBytes(b []byte) IPRange {
	var first, last netip.Addr
	if len(b) >= 32 {
		first, last = netip.AddrFrom16([16]byte(b[:16])), netip.AddrFrom16([16]byte(b[16:32]))
	} else {
		var x [8]byte
		copy(x[:], b)
		first, last = netip.AddrFrom4([4]byte(x[:4])), netip.AddrFrom4([4]byte(x[4:]))
	}
	if last.Less(first) {
		first, last = last, first
	}
	return RangeSet(IPRange{first, last}).Ranges()[0]
}

func checkPeerRoundTrip(t *testing.T, p Peer) {
	t.Helper()
	text := p.String()
	got, err := ParsePeer(text)
	if err != nil || got != p {
		t.Fatalf("%#v prints %q, which parses to %#v, %v", p, text, got, err)
	}
	e := Edge{p, IngressController()}
	if got := e.String(); got != text+" => {ingress-controller}" {
		t.Fatalf("edge prints %q", got)
	}
	if !utf8.ValidString(text) {
		return // JSON strings carry only UTF-8; Kubernetes names are ASCII
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON Peer
	if err := json.Unmarshal(b, &fromJSON); err != nil || fromJSON != p {
		t.Fatalf("%#v marshals to %s, which unmarshals to %#v, %v", p, b, fromJSON, err)
	}
}

func FuzzPeerRoundTrip(f *testing.F) {
	f.Add(uint8(0), "payments", "db", "Deployment", []byte{})
	f.Add(uint8(0), "ns", "a/b", "Kind[x]", []byte{})
	f.Add(uint8(0), "ns", "n]x", "K]", []byte{})
	f.Add(uint8(1), "", "", "", []byte{10, 0, 0, 0, 10, 255, 255, 255})
	f.Add(uint8(1), "", "", "", []byte{1, 2, 3, 4})
	f.Add(uint8(1), "", "", "", []byte{255, 255, 255, 255, 0, 0, 0, 0})
	f.Add(uint8(1), "", "", "", append(make([]byte, 16), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	f.Add(uint8(1), "", "", "", append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, slices.Repeat([]byte{0xff}, 16)...))
	f.Add(uint8(1), "", "", "", slices.Repeat([]byte{0xfd}, 32))
	f.Add(uint8(2), "", "", "", []byte{})
	f.Fuzz(func(t *testing.T, kind uint8, ns, name, wk string, addrs []byte) {
		switch kind % 3 {
		case 0:
			// The notation cannot carry a namespace with a slash, a name
			// with a bracket or an empty part; Kubernetes names have none.
			if ns == "" || name == "" || wk == "" || strings.Contains(ns, "/") || strings.Contains(name, "[") {
				t.Skip()
			}
			checkPeerRoundTrip(t, WorkloadPeer(ns, name, wk))
		case 1:
			checkPeerRoundTrip(t, ExternalPeer(rangeFromBytes(addrs)))
		default:
			checkPeerRoundTrip(t, IngressController())
		}
	})
}

// Parsing arbitrary text never panics, and a parsed peer prints in a form
// that parses back to it.
func FuzzParsePeer(f *testing.F) {
	for _, s := range []string{
		"payments/db[Deployment]", "{ingress-controller}", "10.0.0.0-10.255.255.255", "::1", "::ffff:1.2.3.4",
		"/db[Deployment]", "ns/[K]", "ns/db[]", "ns/db", "ns/db[K", "fe80::1%eth0", "::-::ffff:255.255.255.255",
		"1.2.3.4-::1", "{ingress-controller}x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeer(s)
		if err != nil {
			return
		}
		again, err := ParsePeer(p.String())
		if err != nil || again != p {
			t.Fatalf("%q parses to %#v, printed %q, which parses to %#v, %v", s, p, p.String(), again, err)
		}
	})
}

func TestParsePeer(t *testing.T) {
	a := netip.MustParseAddr
	good := []struct {
		in   string
		want Peer
	}{
		{"payments/db[Deployment]", WorkloadPeer("payments", "db", "Deployment")},
		{"{ingress-controller}", IngressController()},
		{"10.0.0.0-10.255.255.255", ExternalPeer(IPRange{a("10.0.0.0"), a("10.255.255.255")})},
		{"::ffff:10.0.0.1", ExternalPeer(IPRange{a("10.0.0.1"), a("10.0.0.1")})},
	}
	for _, tt := range good {
		got, err := ParsePeer(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParsePeer(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "/db[Deployment]", "ns/[Deployment]", "ns/db[]", "ns/db", "db[Deployment]", "{ingress}", "10.0.0.9-10.0.0.1"} {
		if p, err := ParsePeer(in); err == nil {
			t.Errorf("ParsePeer(%q) = %#v, want an error", in, p)
		}
	}
	var p Peer
	if err := json.Unmarshal([]byte(`"ns/db"`), &p); err == nil {
		t.Error(`unmarshaling "ns/db" succeeded`)
	}
	if got := (Peer{Kind: 9}).String(); got != "PeerKind(9)" {
		t.Errorf("unknown peer kind prints %q", got)
	}
}

func TestPeerOrder(t *testing.T) {
	text := []string{
		"10.0.0.0-10.255.255.255", "b/x[Pod]", "::1", "a/y[Deployment]", "{ingress-controller}",
		"a/x[StatefulSet]", "1.2.3.4", "a/x[Deployment]", "10.0.0.0-10.0.0.255",
	}
	want := []string{
		"{ingress-controller}", "a/x[Deployment]", "a/x[StatefulSet]", "a/y[Deployment]", "b/x[Pod]",
		"1.2.3.4", "10.0.0.0-10.0.0.255", "10.0.0.0-10.255.255.255", "::1",
	}
	var peers []Peer
	for _, s := range text {
		p, err := ParsePeer(s)
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, p)
	}
	slices.SortFunc(peers, Peer.Compare)
	var got []string
	for _, p := range peers {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("sorted peers = %q\nwant %q", got, want)
	}
	for _, p := range peers {
		if p.Compare(p) != 0 {
			t.Errorf("%v does not compare equal to itself", p)
		}
	}

	x, y := WorkloadPeer("a", "x", "Pod"), WorkloadPeer("a", "y", "Pod")
	edges := []Edge{{y, x}, {x, y}, {x, x}, {IngressController(), y}}
	slices.SortFunc(edges, Edge.Compare)
	var gotEdges []string
	for _, e := range edges {
		gotEdges = append(gotEdges, e.String())
	}
	wantEdges := []string{"{ingress-controller} => a/y[Pod]", "a/x[Pod] => a/x[Pod]", "a/x[Pod] => a/y[Pod]", "a/y[Pod] => a/x[Pod]"}
	if !slices.Equal(gotEdges, wantEdges) {
		t.Errorf("sorted edges = %q\nwant %q", gotEdges, wantEdges)
	}
}

// TestPeerIsAMapKey pins that peers built separately but equal are one key.
func TestPeerIsAMapKey(t *testing.T) {
	m := map[Edge]int{}
	r1, _ := ParseIPRange("10.0.0.0-10.255.255.255")
	r2 := PrefixSet(netip.MustParsePrefix("10.0.0.0/8")).Ranges()[0]
	m[Edge{ExternalPeer(r1), WorkloadPeer("a", "b", "Pod")}]++
	m[Edge{ExternalPeer(r2), WorkloadPeer("a", "b", "Pod")}]++
	if len(m) != 1 {
		t.Errorf("equal edges are %d map keys", len(m))
	}
}
