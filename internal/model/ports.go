package model

import (
	"fmt"
	"strconv"
	"strings"
)

// MinPort and MaxPort bound the port numbers a NetworkPolicy can name.
const (
	MinPort = 1
	MaxPort = 65535
)

// PortSet is an immutable, canonical set of port numbers in [MinPort, MaxPort].
// The zero value is the empty set.
type PortSet struct{ s intervalSet }

// AllPorts is every port, 1-65535.
func AllPorts() PortSet { return PortRange(MinPort, MaxPort) }

// NoPorts is the empty port set.
func NoPorts() PortSet { return PortSet{} }

// PortRange is the set of ports from lo to hi inclusive, clamped to
// [MinPort, MaxPort]; it is empty when lo > hi.
func PortRange(lo, hi int) PortSet {
	lo, hi = max(lo, MinPort), min(hi, MaxPort)
	if lo > hi {
		return PortSet{}
	}
	return PortSet{newIntervalSet(interval{u128From(uint64(lo)), u128From(uint64(hi))})}
}

// Ports is the set of the given port numbers.
func Ports(ports ...int) PortSet {
	ivs := make([]interval, 0, len(ports))
	for _, p := range ports {
		if p >= MinPort && p <= MaxPort {
			ivs = append(ivs, interval{u128From(uint64(p)), u128From(uint64(p))})
		}
	}
	return PortSet{newIntervalSet(ivs...)}
}

func (p PortSet) IsEmpty() bool               { return p.s.isEmpty() }
func (p PortSet) IsAll() bool                 { return p.Equal(AllPorts()) }
func (p PortSet) Equal(q PortSet) bool        { return p.s.equal(q.s) }
func (p PortSet) Subset(q PortSet) bool       { return p.s.subset(q.s) }
func (p PortSet) Contains(port int) bool      { return port >= 0 && p.s.contains(u128From(uint64(port))) }
func (p PortSet) Union(q PortSet) PortSet     { return PortSet{p.s.union(q.s)} }
func (p PortSet) Intersect(q PortSet) PortSet { return PortSet{p.s.intersect(q.s)} }
func (p PortSet) Subtract(q PortSet) PortSet  { return PortSet{p.s.subtract(q.s)} }

// Ranges lists the set as sorted, non-adjacent [lo, hi] pairs.
func (p PortSet) Ranges() [][2]int {
	out := make([][2]int, len(p.s.iv))
	for i, x := range p.s.iv {
		out[i] = [2]int{int(x.lo.lo), int(x.hi.lo)}
	}
	return out
}

// String renders the set as "80,8080-8090"; the empty set renders as "".
func (p PortSet) String() string {
	var b strings.Builder
	for i, r := range p.Ranges() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r[0]))
		if r[1] != r[0] {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(r[1]))
		}
	}
	return b.String()
}

// ParsePortSet reads the notation String writes: comma-separated ports and
// lo-hi ranges.
func ParsePortSet(s string) (PortSet, error) {
	var ivs []interval
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		loS, hiS, isRange := strings.Cut(part, "-")
		lo, err := parsePort(loS)
		if err != nil {
			return PortSet{}, err
		}
		hi := lo
		if isRange {
			if hi, err = parsePort(hiS); err != nil {
				return PortSet{}, err
			}
		}
		if lo > hi {
			return PortSet{}, fmt.Errorf("port range %q: start is above end", part)
		}
		ivs = append(ivs, interval{u128From(uint64(lo)), u128From(uint64(hi))})
	}
	return PortSet{newIntervalSet(ivs...)}, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < MinPort || n > MaxPort {
		return 0, fmt.Errorf("port %q: want a number from %d to %d", s, MinPort, MaxPort)
	}
	return n, nil
}
