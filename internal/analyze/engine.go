package analyze

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// IngressController says where the ingress controller runs. Without it the
// controller is an arbitrary pod: admitted only by rules whose peers select
// every namespace and every pod.
type IngressController struct {
	Namespace string
	PodLabels map[string]string
}

// Option adjusts an analysis.
type Option func(*config)

type config struct {
	ingressController *IngressController
}

// WithIngressController places the ingress controller in a namespace with
// pod labels, so that policies admitting it by selector are honoured.
func WithIngressController(ic IngressController) Option {
	return func(c *config) { c.ingressController = &ic }
}

// Result is the connectivity of a configuration and what the engine noticed
// about it.
type Result struct {
	Matrix model.Matrix
	// Exposure says, per workload in peer order, how open it is to the
	// whole cluster and to every external address.
	Exposure []model.Exposure
	Findings []model.Finding
}

// Connectivity evaluates the NetworkPolicies of objs into the connections
// allowed between every pair of workloads, and between workloads and the
// external address ranges the policies distinguish.
//
// It groups workloads into classes, compiles every policy once into
// selector matches over classes, fills one allowed-connections row per
// isolated class and direction, and intersects egress with ingress per pair
// of classes. Cost grows with classes × policy matches, not with pod pairs.
func Connectivity(ctx context.Context, objs *manifest.Objects, opts ...Option) (Result, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c := newCluster(objs, cfg.ingressController)
	k := &compiler{c: c, sets: newSetTable(), peerMemo: map[string]bitset{}}
	policies := make([]*policy, 0, len(objs.Policies))
	for i := range objs.Policies {
		if i%512 == 0 && ctx.Err() != nil {
			return Result{}, fmt.Errorf("compile policies: %w", ctx.Err())
		}
		policies = append(policies, k.compile(&objs.Policies[i]))
	}
	tiered := k.tierPolicies(objs)
	all := allRules(policies, tiered)
	atoms := splitAddresses(all)
	for _, r := range all {
		r.atoms = atomsIn(atoms, r.ips)
	}
	e := &evaluation{k: k, nc: len(c.classes), na: len(atoms)}
	var err error
	if e.egress, err = e.direction(ctx, policies, egress); err != nil {
		return Result{}, err
	}
	if e.ingress, err = e.direction(ctx, policies, ingress); err != nil {
		return Result{}, err
	}
	e.isolated = map[direction][]bool{ingress: isolatedRows(e.ingress), egress: isolatedRows(e.egress)}
	if len(tiered) > 0 {
		for _, d := range []direction{egress, ingress} {
			admin, baseline := e.evaluateTier(tiered, adminTier, d), e.evaluateTier(tiered, baselineTier, d)
			if d == egress {
				e.egress = e.precedence(e.egress, admin, baseline)
			} else {
				e.ingress = e.precedence(e.ingress, admin, baseline)
			}
		}
	}
	targets := k.routeTargets(objs)
	m, err := e.matrix(atoms, targets)
	if err != nil {
		return Result{}, err
	}
	findings := append(k.findings, e.unresolved(policies)...)
	findings = append(findings, e.blockedRoutes(targets)...)
	exposure := e.exposure()
	findings = append(findings, e.blockedServices(exposure)...)
	slices.SortFunc(findings, model.CompareFindings)
	return Result{Matrix: m, Exposure: exposure, Findings: findings}, nil
}

// allRules lists every compiled rule of every tier.
func allRules(policies []*policy, tiered []*tierPolicy) []*rule {
	var out []*rule
	for _, p := range policies {
		for _, d := range []direction{ingress, egress} {
			out = append(out, p.rules[d]...)
		}
	}
	for _, p := range tiered {
		for _, d := range []direction{ingress, egress} {
			for _, r := range p.rules[d] {
				out = append(out, &r.rule)
			}
		}
	}
	return out
}

// splitAddresses cuts the external address space into the coarsest ranges
// that every ipBlock and network either contains wholly or not at all. The
// space is IPv4, plus IPv6 when some policy names an IPv6 block.
func splitAddresses(rules []*rule) []model.IPRange {
	var blocks []model.IPSet
	seen := map[string]bool{}
	universe := model.AllIPv4()
	for _, r := range rules {
		if r.ips.IsEmpty() {
			continue
		}
		if r.ipv6 {
			universe = model.AllIPs()
		}
		if key := r.ips.String(); !seen[key] {
			seen[key] = true
			blocks = append(blocks, r.ips)
		}
	}
	return model.Boundaries(universe, blocks)
}

func atomsIn(atoms []model.IPRange, ips model.IPSet) bitset {
	b := newBitset(len(atoms))
	if ips.IsEmpty() {
		return b
	}
	for i, a := range atoms {
		if ips.Contains(a.First) {
			b.set(i)
		}
	}
	return b
}

// evaluation holds the per-direction allowed-connection rows. Index space of
// a row: classes 0..nc-1, then address atoms nc..nc+na-1.
//
// egress[a][x] is what class a's egress policies allow towards x;
// ingress[b][x] is what class b's ingress policies allow from x. A nil row
// means the class is not isolated in that direction: everything is allowed.
type evaluation struct {
	k       *compiler
	nc, na  int
	egress  [][]connID
	ingress [][]connID
	// isolated says per class whether a NetworkPolicy selects it for the
	// direction, whatever the admin tiers do.
	isolated map[direction][]bool
}

func isolatedRows(rows [][]connID) []bool {
	out := make([]bool, len(rows))
	for i, r := range rows {
		out[i] = r != nil
	}
	return out
}

// exposure computes, for every workload, what the arbitrary pod may open
// to it and it to the arbitrary pod, and what every external address may
// open to it and it to every external address (the intersection over all
// address atoms: "the whole internet", not "some address").
// Pinned by TestExposure.
func (e *evaluation) exposure() []model.Exposure {
	sets := e.k.sets
	c := e.k.c
	var out []model.Exposure
	for x, cl := range c.classes {
		if len(cl.workloads) == 0 {
			continue // the arbitrary pod and the ingress controller
		}
		fromExt, toExt := allConns, allConns
		for t := range e.na {
			fromExt = sets.intersection(fromExt, e.ingressCell(x, e.nc+t))
			toExt = sets.intersection(toExt, e.egressCell(x, e.nc+t))
		}
		fromCluster := sets.intersection(e.egressCell(c.anyPod, x), e.ingressCell(x, c.anyPod))
		toCluster := sets.intersection(e.egressCell(x, c.anyPod), e.ingressCell(c.anyPod, x))
		for _, wi := range cl.workloads {
			out = append(out, model.Exposure{
				Peer:            c.objs.Workloads[wi].Peer(),
				IngressIsolated: e.isolated[ingress][x],
				EgressIsolated:  e.isolated[egress][x],
				FromCluster:     sets.Set(fromCluster),
				ToCluster:       sets.Set(toCluster),
				FromExternal:    sets.Set(fromExt),
				ToExternal:      sets.Set(toExt),
			})
		}
	}
	slices.SortFunc(out, func(a, b model.Exposure) int { return a.Peer.Compare(b.Peer) })
	return out
}

// direction fills the rows of one direction. A class is isolated in a
// direction as soon as one policy of that type selects it, even with no
// rules; its row is then the union of what every such policy's rules allow.
// Pinned by TestIsolationPerDirection and TestPoliciesAreAdditive.
func (e *evaluation) direction(ctx context.Context, policies []*policy, d direction) ([][]connID, error) {
	rows := make([][]connID, e.nc)
	width := e.nc + e.na
	scratch := make([]connID, width)
	var touched []int
	sets := e.k.sets
	add := func(x int, id connID) {
		if id == noConns {
			return
		}
		if scratch[x] == noConns {
			touched = append(touched, x)
		}
		scratch[x] = sets.union(scratch[x], id)
	}
	for pi, p := range policies {
		if pi%512 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("evaluate %s: %w", d, ctx.Err())
		}
		rules, ok := p.rules[d]
		if !ok {
			continue
		}
		for _, group := range e.subjectGroups(p, rules, d) {
			for _, r := range rules {
				switch d {
				case egress:
					// Named ports resolve on each destination pod; towards
					// addresses only numbered ports apply.
					r.classes.each(func(b int) { add(b, e.k.portsOn(r, b)) })
					r.atoms.each(func(t int) { add(e.nc+t, r.numeric) })
				case ingress:
					// Named ports resolve on the policy's own pods, the
					// destination, whoever the source is.
					id := e.k.portsOn(r, group[0])
					r.classes.each(func(a int) { add(a, id) })
					r.atoms.each(func(t int) { add(e.nc+t, id) })
				}
			}
			for _, a := range group {
				row := rows[a]
				if row == nil {
					row = make([]connID, width)
					rows[a] = row
				}
				for _, x := range touched {
					row[x] = sets.union(row[x], scratch[x])
				}
			}
			for _, x := range touched {
				scratch[x] = noConns
			}
			touched = touched[:0]
		}
	}
	return rows, nil
}

// subjectGroups splits a policy's subject classes into groups that its rules
// treat alike. Only ingress rules with named ports tell subjects apart, by
// what the names resolve to on each.
func (e *evaluation) subjectGroups(p *policy, rules []*rule, d direction) [][]int {
	var subjects []int
	p.subjects.each(func(a int) { subjects = append(subjects, a) })
	named := false
	for _, r := range rules {
		named = named || len(r.named) > 0
	}
	if d == egress || !named || len(subjects) <= 1 {
		if len(subjects) == 0 {
			return nil
		}
		return [][]int{subjects}
	}
	var groups [][]int
	keys := map[string]int{}
	for _, a := range subjects {
		var key strings.Builder
		for _, r := range rules {
			fmt.Fprintf(&key, "%d,", e.k.portsOn(r, a))
		}
		gi, ok := keys[key.String()]
		if !ok {
			gi = len(groups)
			keys[key.String()] = gi
			groups = append(groups, nil)
		}
		groups[gi] = append(groups[gi], a)
	}
	return groups
}

func (e *evaluation) egressCell(a, x int) connID {
	if e.egress[a] == nil {
		return allConns
	}
	return e.egress[a][x]
}

func (e *evaluation) ingressCell(b, x int) connID {
	if e.ingress[b] == nil {
		return allConns
	}
	return e.ingress[b][x]
}

// matrix intersects the directions into the final matrix. A connection
// between pods needs both the source's egress and the destination's
// ingress; towards an address only egress applies, from an address only
// ingress. Adjacent address atoms that behave alike are merged into one peer.
func (e *evaluation) matrix(atoms []model.IPRange, targets []routeTarget) (model.Matrix, error) {
	sets := e.k.sets
	c := e.k.c
	// Merge atoms: group index per atom.
	atomGroup := make([]int, e.na)
	var ranges []model.IPRange
	for t := range e.na {
		if t > 0 && atoms[t-1].Adjacent(atoms[t]) && e.sameAtom(t-1, t) {
			atomGroup[t] = atomGroup[t-1]
			ranges[len(ranges)-1].Last = atoms[t].Last
			continue
		}
		atomGroup[t] = len(ranges)
		ranges = append(ranges, atoms[t])
	}
	// A representative atom per merged group.
	rep := make([]int, len(ranges))
	for t := e.na - 1; t >= 0; t-- {
		rep[atomGroup[t]] = t
	}
	ng := e.nc + len(ranges)
	cells := make([]uint32, ng*ng)
	// Pod pairs, in tiles: ingress rows are read down a column, and tiles
	// keep those reads in cache.
	const tile = 64
	for a0 := 0; a0 < e.nc; a0 += tile {
		for b0 := 0; b0 < e.nc; b0 += tile {
			for a := a0; a < min(a0+tile, e.nc); a++ {
				row, eg := cells[a*ng:], e.egress[a]
				for b := b0; b < min(b0+tile, e.nc); b++ {
					in := e.ingress[b]
					switch {
					case eg == nil && in == nil:
						row[b] = allConns
					case eg == nil:
						row[b] = in[a]
					case in == nil:
						row[b] = eg[b]
					default:
						row[b] = sets.intersection(eg[b], in[a])
					}
				}
			}
		}
	}
	for a := range e.nc {
		row := cells[a*ng:]
		for g, t := range rep {
			row[e.nc+g] = e.egressCell(a, e.nc+t)
		}
	}
	for g, t := range rep {
		row := cells[(e.nc+g)*ng:]
		for b := range e.nc {
			row[b] = e.ingressCell(b, e.nc+t)
		}
	}
	var peers []model.Peer
	var groupOf []int
	for ci, cl := range c.classes {
		for _, wi := range cl.workloads {
			peers = append(peers, c.objs.Workloads[wi].Peer())
			groupOf = append(groupOf, ci)
		}
	}
	for g, r := range ranges {
		peers = append(peers, model.ExternalPeer(r))
		groupOf = append(groupOf, e.nc+g)
	}
	if len(targets) == 0 {
		return model.GroupedMatrix(peers, groupOf, sets.Sets(), cells)
	}
	return e.withIngressController(peers, groupOf, cells, ng, targets)
}

// withIngressController adds the {ingress-controller} peer: it reaches a
// route's backend workloads on the route's ports, as far as the policies
// admit the controller. Workloads of one class that routes treat
// differently get groups of their own.
func (e *evaluation) withIngressController(peers []model.Peer, groupOf []int, base []uint32, ng int, targets []routeTarget) (model.Matrix, error) {
	sets := e.k.sets
	c := e.k.c
	routed := map[int]connID{} // workload → ports routes open on it
	for _, t := range targets {
		routed[t.workload] = sets.union(routed[t.workload], sets.ID(t.conns))
	}
	// class of each group; extra groups for routed workloads.
	classOfGroup := make([]int, ng)
	for g := range ng {
		classOfGroup[g] = g
	}
	type key struct {
		class int
		ports connID
	}
	extra := map[key]int{}
	groupPorts := make([]connID, ng)
	workloadGroup := map[model.Peer]int{}
	for wi, ports := range routed {
		k := key{c.classOf[wi], ports}
		g, ok := extra[k]
		if !ok {
			g = len(classOfGroup)
			extra[k] = g
			classOfGroup = append(classOfGroup, k.class)
			groupPorts = append(groupPorts, ports)
		}
		workloadGroup[c.objs.Workloads[wi].Peer()] = g
	}
	for i, p := range peers {
		if g, ok := workloadGroup[p]; ok {
			groupOf[i] = g
		}
	}
	ctl := len(classOfGroup)
	total := ctl + 1
	cells := make([]uint32, total*total)
	for g := range ctl {
		row, from := cells[g*total:], base[classOfGroup[g]*ng:]
		for h := range ctl {
			row[h] = from[classOfGroup[h]]
		}
	}
	row := cells[ctl*total:]
	for g := ng; g < ctl; g++ {
		row[g] = sets.intersection(groupPorts[g], e.pairCell(c.ingressCtl, classOfGroup[g]))
	}
	peers = append(peers, model.IngressController())
	groupOf = append(groupOf, ctl)
	return model.GroupedMatrix(peers, groupOf, sets.Sets(), cells)
}

// pairCell is what class a may open to class b: a's egress and b's ingress.
func (e *evaluation) pairCell(a, b int) connID {
	return e.k.sets.intersection(e.egressCell(a, b), e.ingressCell(b, a))
}

func (e *evaluation) sameAtom(t, u int) bool {
	for a := range e.nc {
		if len(e.k.c.classes[a].workloads) == 0 {
			continue // the arbitrary pod and the ingress controller print no edges to addresses
		}
		if e.egressCell(a, e.nc+t) != e.egressCell(a, e.nc+u) || e.ingressCell(a, e.nc+t) != e.ingressCell(a, e.nc+u) {
			return false
		}
	}
	return true
}

// unresolved reports named ports that resolve nowhere they should: on an
// ingress rule, a subject pod that does not declare the name opens nothing
// for it; on an egress rule, a name that no destination declares opens
// nothing at all. Pinned by TestNamedPortPerDestination.
func (e *evaluation) unresolved(policies []*policy) []model.Finding {
	var out []model.Finding
	for _, p := range policies {
		for _, d := range []direction{ingress, egress} {
			for _, r := range p.rules[d] {
				for _, n := range r.named {
					var missing []string
					count := 0
					check := func(ci int) {
						if !e.k.c.classes[ci].named[n].IsEmpty() {
							return
						}
						for _, wi := range e.k.c.classes[ci].workloads {
							count++
							if len(missing) < 3 {
								missing = append(missing, e.k.c.objs.Workloads[wi].Peer().String())
							}
						}
					}
					total := 0
					switch d {
					case ingress:
						p.subjects.each(func(ci int) { total += len(e.k.c.classes[ci].workloads); check(ci) })
					case egress:
						r.classes.each(func(ci int) { total += len(e.k.c.classes[ci].workloads); check(ci) })
						if count < total {
							continue // some destination declares it
						}
					}
					if count == 0 {
						continue
					}
					where := strings.Join(missing, ", ")
					if count > len(missing) {
						where += fmt.Sprintf(" and %d more", count-len(missing))
					}
					out = append(out, model.Finding{
						Code:     CodeUnresolvedNamedPort,
						Severity: model.Warning,
						Message: fmt.Sprintf("spec.%s[%d]: named port %q (%s) not found on %s; the rule opens nothing for it there: declare it in the container's ports or use a number",
							d, r.index, n.name, n.proto, where),
						Location: p.src.Source,
						Object:   "NetworkPolicy " + p.src.Object.Namespace + "/" + p.src.Object.Name,
					})
				}
			}
		}
	}
	return out
}
