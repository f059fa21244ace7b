package model

import (
	"fmt"
	"strings"
)

// Protocol is a transport protocol a NetworkPolicy can name.
type Protocol uint8

// The protocols, in the order they print (alphabetical).
const (
	SCTP Protocol = iota
	TCP
	UDP
	numProtocols
)

// Protocols lists every protocol in print order.
func Protocols() []Protocol { return []Protocol{SCTP, TCP, UDP} }

var protocolNames = [numProtocols]string{SCTP: "SCTP", TCP: "TCP", UDP: "UDP"}

func (p Protocol) String() string {
	if p < numProtocols {
		return protocolNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// ParseProtocol reads "TCP", "UDP" or "SCTP", in any case.
func ParseProtocol(s string) (Protocol, error) {
	for p, name := range protocolNames {
		if strings.EqualFold(s, name) {
			return Protocol(p), nil
		}
	}
	return 0, fmt.Errorf("unknown protocol %q: want TCP, UDP or SCTP", s)
}

func (p Protocol) MarshalText() ([]byte, error) {
	if p >= numProtocols {
		return nil, fmt.Errorf("cannot marshal %v", p)
	}
	return []byte(p.String()), nil
}

func (p *Protocol) UnmarshalText(b []byte) error {
	v, err := ParseProtocol(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ConnectionSet is an immutable, canonical set of (protocol, port) pairs.
// "All Connections" is every port of every protocol. The zero value is the
// empty set, "No Connections".
//
// The algebra covers TCP, UDP and SCTP; a NetworkPolicy rule without ports
// also admits other IP protocols such as ICMP, which this model does not
// distinguish from "every port of every protocol".
type ConnectionSet struct{ p [numProtocols]PortSet }

// AllConnections is every port of every protocol.
func AllConnections() ConnectionSet {
	var c ConnectionSet
	for i := range c.p {
		c.p[i] = AllPorts()
	}
	return c
}

// NoConnections is the empty set.
func NoConnections() ConnectionSet { return ConnectionSet{} }

// Connections is the set of the given ports of one protocol.
func Connections(proto Protocol, ports PortSet) ConnectionSet {
	var c ConnectionSet
	c.p[proto] = ports
	return c
}

// Ports is the set's ports for one protocol.
func (c ConnectionSet) Ports(proto Protocol) PortSet { return c.p[proto] }

// Contains reports whether the set holds the port of the protocol.
func (c ConnectionSet) Contains(proto Protocol, port int) bool { return c.p[proto].Contains(port) }

func (c ConnectionSet) IsEmpty() bool {
	for _, p := range c.p {
		if !p.IsEmpty() {
			return false
		}
	}
	return true
}

func (c ConnectionSet) IsAll() bool {
	for _, p := range c.p {
		if !p.IsAll() {
			return false
		}
	}
	return true
}

func (c ConnectionSet) Equal(d ConnectionSet) bool {
	for i := range c.p {
		if !c.p[i].Equal(d.p[i]) {
			return false
		}
	}
	return true
}

func (c ConnectionSet) Subset(d ConnectionSet) bool {
	for i := range c.p {
		if !c.p[i].Subset(d.p[i]) {
			return false
		}
	}
	return true
}

func (c ConnectionSet) Union(d ConnectionSet) ConnectionSet {
	return c.combine(d, PortSet.Union)
}

func (c ConnectionSet) Intersect(d ConnectionSet) ConnectionSet {
	return c.combine(d, PortSet.Intersect)
}

func (c ConnectionSet) Subtract(d ConnectionSet) ConnectionSet {
	return c.combine(d, PortSet.Subtract)
}

func (c ConnectionSet) combine(d ConnectionSet, op func(PortSet, PortSet) PortSet) ConnectionSet {
	var out ConnectionSet
	for i := range c.p {
		out.p[i] = op(c.p[i], d.p[i])
	}
	return out
}

// Hash is equal for equal sets; use it with Equal to intern sets.
func (c ConnectionSet) Hash() uint64 {
	h := uint64(0xcbf29ce484222325)
	for i, p := range c.p {
		h = p.s.hash(h ^ uint64(i+1)*0x9e3779b97f4a7c15)
	}
	return h
}

// String renders the conventional notation: "All Connections",
// "No Connections", or protocols in order with merged port ranges,
// "TCP 80,8080-8090,UDP 53".
func (c ConnectionSet) String() string {
	switch {
	case c.IsAll():
		return "All Connections"
	case c.IsEmpty():
		return "No Connections"
	}
	var parts []string
	for _, proto := range Protocols() {
		if ports := c.p[proto]; !ports.IsEmpty() {
			parts = append(parts, proto.String()+" "+ports.String())
		}
	}
	return strings.Join(parts, ",")
}

// ParseConnectionSet reads the notation String writes. A protocol named
// without ports means all of its ports.
func ParseConnectionSet(s string) (ConnectionSet, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "All Connections":
		return AllConnections(), nil
	case "No Connections", "":
		return NoConnections(), nil
	}
	var c ConnectionSet
	var cur Protocol
	have := false
	for tok := range strings.SplitSeq(s, ",") {
		tok = strings.TrimSpace(tok)
		name, rest, hasSpace := strings.Cut(tok, " ")
		if p, err := ParseProtocol(name); err == nil {
			cur, have = p, true
			if !hasSpace {
				c.p[cur] = AllPorts()
				continue
			}
			tok = rest
		} else if !have {
			return ConnectionSet{}, fmt.Errorf("connections %q: expected a protocol before %q", s, tok)
		}
		ports, err := ParsePortSet(tok)
		if err != nil {
			return ConnectionSet{}, fmt.Errorf("connections %q: %w", s, err)
		}
		c.p[cur] = c.p[cur].Union(ports)
	}
	return c, nil
}

func (c ConnectionSet) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

func (c *ConnectionSet) UnmarshalText(b []byte) error {
	v, err := ParseConnectionSet(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
