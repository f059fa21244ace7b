package extract

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tightnet/tightnet/internal/model"
)

// Finding codes of observed traffic.
const (
	// CodeTrafficMalformed: a traffic record cannot be read (not JSON, a
	// missing column, an endpoint that is neither namespace/name nor an
	// address). The record is skipped. Error.
	CodeTrafficMalformed = "traffic-malformed"
	// CodeTrafficUnmatched: an endpoint of observed flows matches no
	// workload of the inputs, by name, pod-name prefix or labels. Warning.
	CodeTrafficUnmatched = "traffic-unmatched"
	// CodeTrafficIgnored: flows not taken as required connections: dropped
	// or failed verdicts, and endpoints that are nodes or other reserved
	// identities rather than workloads or external addresses. Info.
	CodeTrafficIgnored = "traffic-ignored"
)

// Flow is one observed connection: from an endpoint to an endpoint's port.
type Flow struct {
	Src, Dst Endpoint
	Protocol model.Protocol
	// Port is the destination port, the port the destination pod listens
	// on (after any Service translation).
	Port int
	// Verdict is Hubble's verdict ("FORWARDED"); "" for CSV and JSON records.
	Verdict string
	// Source is the record: file and line.
	Source model.Location
}

// Endpoint is one end of an observed flow, with what the record tells of
// it. A flow endpoint is matched to a workload by Workload (and Kind), else
// by Namespace and the Pod name's prefix, else by Labels; one without a
// namespace and with an IP is an address outside the cluster.
type Endpoint struct {
	Namespace string
	Workload  string
	Kind      string
	Pod       string
	Labels    map[string]string
	IP        netip.Addr
	// Reserved is Cilium's reserved identity ("world", "host",
	// "kube-apiserver", ...), "" for pods.
	Reserved string
}

func (e Endpoint) String() string {
	var s string
	switch {
	case e.Namespace != "" && e.Pod != "":
		s = e.Namespace + "/" + e.Pod
	case e.Namespace != "" && e.Workload != "":
		s = e.Namespace + "/" + e.Workload
	case e.Namespace != "" && len(e.Labels) > 0:
		s = e.Namespace + "/{" + labelText(e.Labels) + "}"
	case e.Reserved != "":
		s = "reserved:" + e.Reserved
	}
	if e.IP.IsValid() {
		if s == "" {
			return e.IP.String()
		}
		return s + " (" + e.IP.String() + ")"
	}
	if s == "" {
		return "an unknown endpoint"
	}
	return s
}

func labelText(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// maxTrafficLine bounds one line of a Hubble flow file.
const maxTrafficLine = 16 << 20

// ReadTraffic reads observed flows from r, named name in locations. Three
// forms are recognised by their first character:
//
//   - "{": Hubble flows, one JSON object per line, as `hubble observe -o
//     jsonpb` prints them ({"flow": {...}}, or the bare flow). Replies
//     (is_reply) and flows without a TCP, UDP or SCTP destination port are
//     skipped; DROPPED and ERROR verdicts are counted in a finding.
//   - "[": a JSON array of {"src": ..., "dst": ..., "protocol": "TCP",
//     "port": 7070} records.
//   - anything else: CSV with a header naming the columns src, dst, port and
//     optionally protocol (TCP when absent or empty); other columns are
//     ignored and lines starting with # are comments.
//
// In the JSON array and CSV forms an endpoint is namespace/name (a
// workload's name, or a pod's), namespace/name[Kind], or an IP address.
//
// Records that cannot be read are findings with their line; the error is
// only for a reader that fails.
func ReadTraffic(r io.Reader, name string) ([]Flow, []model.Finding, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstByte(br)
	if err == io.EOF {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read traffic %s: %w", name, err)
	}
	t := &trafficReader{name: name}
	switch first {
	case '{':
		err = t.hubble(br)
	case '[':
		err = t.jsonArray(br)
	default:
		err = t.csv(br)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read traffic %s: %w", name, err)
	}
	t.summarise()
	return t.flows, t.findings, nil
}

// firstByte is the first byte that is not space or a byte order mark.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF:
			continue
		}
		return b, br.UnreadByte()
	}
}

type trafficReader struct {
	name     string
	flows    []Flow
	findings []model.Finding
	// ignored counts flows skipped for a reason, with the first line.
	ignored map[string]*counted
}

type counted struct{ n, line int }

func (t *trafficReader) malformed(line int, format string, args ...any) {
	t.findings = append(t.findings, model.Finding{
		Code: CodeTrafficMalformed, Severity: model.Error, Location: model.Location{File: t.name, Line: line},
		Message: fmt.Sprintf(format, args...),
	})
}

func (t *trafficReader) ignore(line int, why string) {
	if t.ignored == nil {
		t.ignored = map[string]*counted{}
	}
	c := t.ignored[why]
	if c == nil {
		c = &counted{line: line}
		t.ignored[why] = c
	}
	c.n++
}

func (t *trafficReader) summarise() {
	for _, why := range slices.Sorted(maps.Keys(t.ignored)) {
		c := t.ignored[why]
		t.findings = append(t.findings, model.Finding{
			Code: CodeTrafficIgnored, Severity: model.Info, Location: model.Location{File: t.name, Line: c.line},
			Message: fmt.Sprintf("%s: %s not taken as required connections (the first at this line)", why, plural(c.n, "flow was", "flows were")),
		})
	}
	slices.SortStableFunc(t.findings, model.CompareFindings)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// hubbleFlow is the part of a Hubble flow tightnet reads. Hubble prints
// proto field names (pod_name, destination_port, is_reply); the JSON
// names protojson uses by default (podName, destinationPort, isReply) are
// read too.
type hubbleFlow struct {
	Verdict string `json:"verdict"`
	IP      *struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"IP"`
	L4 *struct {
		TCP  *hubblePorts `json:"TCP"`
		UDP  *hubblePorts `json:"UDP"`
		SCTP *hubblePorts `json:"SCTP"`
	} `json:"l4"`
	Source       *hubbleEndpoint `json:"source"`
	Destination  *hubbleEndpoint `json:"destination"`
	IsReply      *bool           `json:"is_reply"`
	IsReplyCamel *bool           `json:"isReply"`
}

type hubblePorts struct {
	DestinationPort      int `json:"destination_port"`
	DestinationPortCamel int `json:"destinationPort"`
}

type hubbleEndpoint struct {
	Namespace    string   `json:"namespace"`
	Labels       []string `json:"labels"`
	PodName      string   `json:"pod_name"`
	PodNameCamel string   `json:"podName"`
	Workloads    []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"workloads"`
}

func (t *trafficReader) hubble(br *bufio.Reader) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64<<10), maxTrafficLine)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var wrapped struct {
			Flow *hubbleFlow `json:"flow"`
		}
		if err := json.Unmarshal(text, &wrapped); err != nil {
			t.malformed(line, "not a Hubble flow: %v; give `hubble observe -o jsonpb` output, one flow per line", err)
			continue
		}
		f := wrapped.Flow
		if f == nil {
			var bare hubbleFlow
			if json.Unmarshal(text, &bare) != nil || bare.Source == nil && bare.Destination == nil {
				continue // node status, lost events and other non-flow lines
			}
			f = &bare
		}
		t.hubbleFlow(f, line)
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("a line is longer than %d bytes; is this hubble observe -o jsonpb output?", maxTrafficLine)
	}
	return sc.Err()
}

func (t *trafficReader) hubbleFlow(f *hubbleFlow, line int) {
	if f.IsReply != nil && *f.IsReply || f.IsReplyCamel != nil && *f.IsReplyCamel {
		return // the answer of a connection read in its own direction
	}
	if f.L4 == nil {
		return // ICMP, or no layer 4
	}
	var proto model.Protocol
	var ports *hubblePorts
	switch {
	case f.L4.TCP != nil:
		proto, ports = model.TCP, f.L4.TCP
	case f.L4.UDP != nil:
		proto, ports = model.UDP, f.L4.UDP
	case f.L4.SCTP != nil:
		proto, ports = model.SCTP, f.L4.SCTP
	default:
		return
	}
	port := cmp.Or(ports.DestinationPort, ports.DestinationPortCamel)
	if port < model.MinPort || port > model.MaxPort {
		t.malformed(line, "flow has no destination port")
		return
	}
	switch f.Verdict {
	case "DROPPED", "ERROR":
		t.ignore(line, "verdict "+f.Verdict)
		return
	}
	var srcIP, dstIP string
	if f.IP != nil {
		srcIP, dstIP = f.IP.Source, f.IP.Destination
	}
	t.flows = append(t.flows, Flow{
		Src: hubbleEndpointOf(f.Source, srcIP), Dst: hubbleEndpointOf(f.Destination, dstIP),
		Protocol: proto, Port: port, Verdict: f.Verdict,
		Source: model.Location{File: t.name, Line: line},
	})
}

func hubbleEndpointOf(e *hubbleEndpoint, ip string) Endpoint {
	var out Endpoint
	if a, err := netip.ParseAddr(ip); err == nil {
		out.IP = a
	}
	if e == nil {
		return out
	}
	out.Namespace = e.Namespace
	out.Pod = cmp.Or(e.PodName, e.PodNameCamel)
	if len(e.Workloads) == 1 {
		out.Workload, out.Kind = e.Workloads[0].Name, e.Workloads[0].Kind
	}
	for _, l := range e.Labels {
		source, kv, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch source {
		case "k8s":
			k, v, _ := strings.Cut(kv, "=")
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = v
		case "reserved":
			if out.Reserved == "" {
				out.Reserved = kv
			}
		}
	}
	return out
}

// record is one flow of the JSON array form.
type record struct {
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

func (t *trafficReader) jsonArray(br *bufio.Reader) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.malformed(1, "not a JSON array of flows: %v", err)
		return nil
	}
	lines := newLineIndex(data)
	for dec.More() {
		start := skipSeparators(data, int(dec.InputOffset()))
		var rec record
		if err := dec.Decode(&rec); err != nil {
			t.malformed(lines.at(start), "flow record cannot be read: %v; want {\"src\": ..., \"dst\": ..., \"protocol\": \"TCP\", \"port\": 7070} (the rest of the file was not read)", err)
			return nil
		}
		t.record(lines.at(start), rec.Src, rec.Dst, rec.Protocol, strconv.Itoa(rec.Port))
	}
	return nil
}

func skipSeparators(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n' || data[i] == ',') {
		i++
	}
	return i
}

// lineIndex turns offsets into lines.
type lineIndex []int // offsets of line starts

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) at(offset int) int {
	n, found := slices.BinarySearch(l, offset)
	if found {
		return n + 1
	}
	return n
}

func (t *trafficReader) csv(br *bufio.Reader) error {
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			t.malformed(pe.Line, "CSV header cannot be read: %v", pe.Err)
			return nil
		}
		return err
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	headerLine, _ := cr.FieldPos(0)
	for _, need := range []string{"src", "dst", "port"} {
		if _, ok := col[need]; !ok {
			t.malformed(headerLine, "the first line must be a header naming the columns src, dst, protocol and port; %q has no %s column", strings.Join(header, ","), need)
			return nil
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			t.malformed(pe.Line, "CSV record cannot be read: %v", pe.Err)
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		t.record(line, field(rec, "src"), field(rec, "dst"), field(rec, "protocol"), field(rec, "port"))
	}
}

// record adds one flow of the CSV or JSON array form.
func (t *trafficReader) record(line int, src, dst, protocol, port string) {
	s, err := parseEndpoint(src)
	if err != nil {
		t.malformed(line, "src: %v", err)
		return
	}
	d, err := parseEndpoint(dst)
	if err != nil {
		t.malformed(line, "dst: %v", err)
		return
	}
	proto := model.TCP
	if protocol != "" {
		if proto, err = model.ParseProtocol(strings.ToUpper(protocol)); err != nil {
			t.malformed(line, "protocol: %v", err)
			return
		}
	}
	p, ok := parsePort(port)
	if !ok {
		t.malformed(line, "port %q: want a number from 1 to 65535", port)
		return
	}
	t.flows = append(t.flows, Flow{Src: s, Dst: d, Protocol: proto, Port: p, Source: model.Location{File: t.name, Line: line}})
}

// parseEndpoint reads namespace/name, namespace/name[Kind] or an IP
// address.
func parseEndpoint(s string) (Endpoint, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return Endpoint{IP: a}, nil
	}
	ns, name, ok := strings.Cut(s, "/")
	kind := ""
	if ok && strings.HasSuffix(name, "]") {
		if n, k, found := strings.Cut(strings.TrimSuffix(name, "]"), "["); found {
			name, kind = n, k
		}
	}
	if !ok || ns == "" || name == "" || strings.ContainsAny(name, "/[] ") {
		return Endpoint{}, fmt.Errorf("%q: want namespace/name (of a workload or a pod), namespace/name[Kind], or an IP address", s)
	}
	return Endpoint{Namespace: ns, Workload: name, Kind: kind, Pod: name}, nil
}

// match is what a flow endpoint is in the inputs.
type match struct {
	workload int // index, or -1
	external netip.Addr
	ignored  string // why the endpoint is not taken, for reserved identities
}

// matchEndpoint finds the workload a flow endpoint belongs to: by workload
// name (and kind), else by pod name — a Deployment's pods are named
// name-<replicaset hash>-<pod hash>, a StatefulSet's name-<ordinal>, a
// DaemonSet's, Job's or ReplicaSet's name-<hash>, so the longest prefix
// that names a workload wins — else by labels (the workload whose pod
// labels the endpoint carries, when exactly one does).
func (x *extractor) matchEndpoint(e Endpoint) match {
	none := match{workload: -1}
	switch e.Reserved {
	case "", "world":
	case "kube-apiserver":
		if e.IP.IsValid() && e.Namespace == "" {
			return match{workload: -1, external: e.IP}
		}
	default:
		if e.Namespace == "" {
			return match{workload: -1, ignored: "reserved:" + e.Reserved}
		}
	}
	if e.Namespace == "" {
		if e.IP.IsValid() {
			return match{workload: -1, external: e.IP}
		}
		return none
	}
	if e.Workload != "" {
		cands := x.ix.byName[objKey{e.Namespace, e.Workload}]
		for _, wi := range cands {
			if e.Kind == "" || x.ix.workloads[wi].Kind == e.Kind {
				return match{workload: wi}
			}
		}
		if len(cands) > 0 {
			return match{workload: cands[0]}
		}
	}
	if e.Pod != "" {
		name := e.Pod
		for range 3 {
			if cands := x.ix.byName[objKey{e.Namespace, name}]; len(cands) > 0 {
				return match{workload: cands[0]}
			}
			i := strings.LastIndexByte(name, '-')
			if i <= 0 {
				break
			}
			name = name[:i]
		}
	}
	if len(e.Labels) > 0 {
		return x.matchLabels(e)
	}
	return none
}

// matchLabels finds the one workload of the endpoint's namespace whose pod
// labels the endpoint carries (the one with most labels, if several do).
// Answers are remembered per namespace and label set: every flow of an
// unknown pod would otherwise scan its namespace again.
func (x *extractor) matchLabels(e Endpoint) match {
	key := e.Namespace + "\x00" + labelText(e.Labels)
	if m, ok := x.byLabels[key]; ok {
		return m
	}
	m := match{workload: -1}
	best, ambiguous := 0, false
	for _, wi := range x.ix.byNS[e.Namespace] {
		pl := x.ix.workloads[wi].PodLabels
		if len(pl) == 0 || !matches(pl, e.Labels) {
			continue
		}
		switch {
		case len(pl) > best:
			m.workload, best, ambiguous = wi, len(pl), false
		case len(pl) == best:
			ambiguous = true
		}
	}
	if ambiguous {
		m.workload = -1
	}
	if x.byLabels == nil {
		x.byLabels = map[string]match{}
	}
	x.byLabels[key] = m
	return m
}

// flowKey aggregates the flows that show the same need, so that a file of
// many records of one connection gives one reason.
type flowKey struct {
	src, dst match
	file     string
	proto    model.Protocol
	port     int
}

type flowSeen struct {
	first    Flow
	n        int
	verdicts map[string]bool
}

// traffic merges observed flows: between workloads as connections, from
// outside addresses as exposures, to outside addresses as external
// destinations. Endpoints that match nothing are findings, one per
// endpoint and file.
func (x *extractor) traffic(ctx context.Context, flows []Flow) error {
	seen := map[flowKey]*flowSeen{}
	var order []flowKey
	type missKey struct{ file, endpoint string }
	missed := map[missKey]*counted{}
	var missOrder []missKey
	for i, f := range flows {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("extract topology: %w", err)
			}
		}
		src, dst := x.matchEndpoint(f.Src), x.matchEndpoint(f.Dst)
		bad := false
		for _, m := range []struct {
			m  match
			ep Endpoint
		}{{src, f.Src}, {dst, f.Dst}} {
			if m.m.workload >= 0 || m.m.external.IsValid() {
				continue
			}
			bad = true
			k := missKey{f.Source.File, unmatchedGroup(m.ep)}
			if m.m.ignored != "" {
				k.endpoint = m.m.ignored
			}
			if missed[k] == nil {
				missed[k] = &counted{line: f.Source.Line}
				missOrder = append(missOrder, k)
			}
			missed[k].n++
		}
		if bad || src.workload < 0 && dst.workload < 0 {
			continue
		}
		k := flowKey{src, dst, f.Source.File, f.Protocol, f.Port}
		s := seen[k]
		if s == nil {
			s = &flowSeen{first: f, verdicts: map[string]bool{}}
			seen[k] = s
			order = append(order, k)
		}
		s.n++
		if f.Verdict != "" {
			s.verdicts[f.Verdict] = true
		}
	}
	for _, k := range order {
		x.observed(k, seen[k])
	}
	for _, k := range missOrder {
		c := missed[k]
		f := model.Finding{Code: CodeTrafficUnmatched, Severity: model.Warning, Location: model.Location{File: k.file, Line: c.line},
			Message: fmt.Sprintf("flow endpoint %s matches no workload of the inputs (by name, pod-name prefix or labels), so %s not used (the first at this line); add the workload's manifest to the inputs",
				k.endpoint, plural(c.n, "flow was", "flows were"))}
		if strings.HasPrefix(k.endpoint, "reserved:") {
			f.Code, f.Severity = CodeTrafficIgnored, model.Info
			f.Message = fmt.Sprintf("flow endpoint %s is not a workload or an external address: %s not taken as required connections (the first at this line)",
				k.endpoint, plural(c.n, "flow was", "flows were"))
		}
		x.report(f)
	}
	return nil
}

// unmatchedGroup names the endpoints one finding covers: the pods of one
// ReplicaSet or StatefulSet (namespace/prefix-*, the name without its last
// segment), else the endpoint.
func unmatchedGroup(e Endpoint) string {
	if e.Namespace != "" && e.Pod != "" {
		if i := strings.LastIndexByte(e.Pod, '-'); i > 0 {
			return e.Namespace + "/" + e.Pod[:i] + "-*"
		}
		return e.Namespace + "/" + e.Pod
	}
	return e.String()
}

// observed adds one aggregated flow to the topology.
func (x *extractor) observed(k flowKey, s *flowSeen) {
	f := s.first
	reason := fmt.Sprintf("observed flow %s => %s %s %d", f.Src, f.Dst, f.Protocol, f.Port)
	if len(s.verdicts) > 0 {
		reason += " (" + strings.Join(slices.Sorted(maps.Keys(s.verdicts)), ", ") + ")"
	}
	if s.n > 1 {
		reason += fmt.Sprintf(", %d records", s.n)
	}
	prov := Provenance{File: f.Source.File, Line: f.Source.Line, Reason: reason}
	conns := model.Connections(f.Protocol, model.Ports(f.Port))
	switch {
	case k.src.workload >= 0 && k.dst.workload >= 0:
		edge := model.Edge{Src: x.ix.workloads[k.src.workload].Peer(), Dst: x.ix.workloads[k.dst.workload].Peer()}
		addTo(x.connections, edge, conns, prov)
	case k.dst.workload >= 0:
		src := PeerSource(model.ExternalPeer(model.IPRange{First: k.src.external, Last: k.src.external}))
		addTo(x.exposed, exposureKey{src, x.ix.workloads[k.dst.workload].Peer()}, conns, prov)
	default:
		addTo(x.external, externalKey{x.ix.workloads[k.src.workload].Peer(), k.dst.external.String()}, conns, prov)
	}
}
