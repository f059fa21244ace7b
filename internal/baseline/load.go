package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tightnet/tightnet/internal/model"
)

// Errors a RuleError or a file error wraps, for callers to branch on with
// errors.Is.
var (
	// ErrFormat: the file is not a YAML list of mappings.
	ErrFormat = errors.New("not a baseline rules file")
	// ErrUnknownKey: a rule has a key the format does not define.
	ErrUnknownKey = errors.New("unknown key")
	// ErrMissingKey: a rule lacks name or action.
	ErrMissingKey = errors.New("missing key")
	// ErrValue: a key's value has the wrong YAML type (a list where a
	// string belongs, say).
	ErrValue = errors.New("wrong value type")
	// ErrName: the name is not a DNS subdomain name, or another rule has it.
	ErrName = errors.New("invalid rule name")
	// ErrAction: the action is not allow or deny.
	ErrAction = errors.New("invalid action")
	// ErrSelector: a label selector is malformed or uses an operator that
	// is not a set-based requirement.
	ErrSelector = errors.New("invalid label selector")
	// ErrCIDR: a CIDR is malformed, combined with a namespace selector, or
	// on both sides of the rule.
	ErrCIDR = errors.New("invalid CIDR")
	// ErrProtocol: the protocol is not TCP, UDP or SCTP.
	ErrProtocol = errors.New("invalid protocol")
	// ErrPort: a port is not a number from 1 to 65535, or port_min is above
	// port_max.
	ErrPort = errors.New("invalid port")
)

// RuleError is a problem with one rule of a baseline file.
type RuleError struct {
	File string
	Line int
	// Index is the rule's position in the file's list, from 1.
	Index int
	// Name is the rule's name, "" when it has none.
	Name string
	// Key is the key concerned, "" for the rule as a whole.
	Key string
	Err error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "baseline %s: rule %d", model.Location{File: e.File, Line: e.Line}, e.Index)
	if e.Name != "" {
		fmt.Fprintf(&b, " (%s)", e.Name)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// The keys of a rule, in the order error messages list them.
var keys = []string{"name", "description", "action", "from", "to", "from_ns", "to_ns", "protocol", "port_min", "port_max"}

// Load reads and validates the rules of every file given, in order: a
// path is a file, or a directory whose .yaml and .yml files (not those of
// its subdirectories) are read in name order. Rule names must be unique
// across all of them.
//
// Every problem found is reported, joined into one error; the rules
// returned are then the valid ones, for callers that want to show them, but
// a caller should not check a configuration against a partial rule set.
func Load(paths ...string) ([]Rule, error) {
	if len(paths) == 0 {
		return nil, errors.New("load baseline rules: no file given; pass one or more baseline rule files or directories")
	}
	var files []string
	for _, p := range paths {
		found, err := ruleFiles(p)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	var rules []Rule
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("baseline %s: %w", f, err))
			continue
		}
		rs, err := Parse(f, data)
		if err != nil {
			errs = append(errs, err)
		}
		rules = append(rules, rs...)
	}
	rules, err := unique(rules)
	errs = append(errs, err)
	return rules, errors.Join(errs...)
}

// ruleFiles lists the files a path names: itself, or a directory's .yaml
// and .yml files.
func ruleFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("baseline %w; pass a baseline rule file or a directory of them", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	var out []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("baseline %s: %w: the directory holds no .yaml or .yml file", path, ErrFormat)
	}
	return out, nil
}

// unique drops the second and later rules of a name, with an error for each.
func unique(rules []Rule) ([]Rule, error) {
	seen := map[string]model.Location{}
	var errs []error
	out := rules[:0]
	for _, r := range rules {
		if first, ok := seen[r.Name]; ok {
			errs = append(errs, fmt.Errorf("baseline %s: rule %s: %w: the rule at %s has the same name; give each rule a unique name",
				r.Source, r.Name, ErrName, first))
			continue
		}
		seen[r.Name] = r.Source
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Parse reads the rules of one file's contents; file names it in locations
// and errors. Every problem is reported, joined into one error, and the
// valid rules are returned.
func Parse(file string, data []byte) ([]Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("baseline %s: %w: the file is empty; a baseline file is a YAML list of rules", file, ErrFormat)
		}
		return nil, fmt.Errorf("baseline %s: %w: not valid YAML: %v", file, ErrFormat, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("baseline %s: %w: more than one YAML document; put every rule in one list", file, ErrFormat)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("baseline %s: %w: the file holds no rules; a baseline file is a YAML list of rules", file, ErrFormat)
	}
	list := resolve(doc.Content[0])
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("baseline %s: %w: want a YAML list of rules (\"- name: ...\"), found %s",
			model.Location{File: file, Line: list.Line}, ErrFormat, describe(list))
	}
	if len(list.Content) == 0 {
		return nil, fmt.Errorf("baseline %s: %w: the list holds no rules", model.Location{File: file, Line: list.Line}, ErrFormat)
	}
	var rules []Rule
	var errs []error
	for i, item := range list.Content {
		r, err := parseRule(file, i+1, resolve(item))
		if err != nil {
			errs = append(errs, err...)
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// ruleParser collects one rule's fields and problems.
type ruleParser struct {
	file  string
	index int
	line  int
	errs  []*RuleError
}

func (p *ruleParser) fail(key string, err error) {
	p.errs = append(p.errs, &RuleError{File: p.file, Line: p.line, Index: p.index, Key: key, Err: err})
}

// parseRule validates one list item. Every problem is reported.
func parseRule(file string, index int, n *yaml.Node) (Rule, []error) {
	p := &ruleParser{file: file, index: index, line: n.Line}
	if n.Kind != yaml.MappingNode {
		return Rule{}, []error{&RuleError{File: file, Line: n.Line, Index: index,
			Err: fmt.Errorf("%w: want a mapping with keys such as name, action, from and to, found %s", ErrFormat, describe(n))}}
	}
	values := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			p.fail("", fmt.Errorf("%w: a key is %s; keys are %s", ErrUnknownKey, describe(k), strings.Join(keys, ", ")))
		case !slices.Contains(keys, k.Value):
			p.fail("", fmt.Errorf("%w %q: want one of %s", ErrUnknownKey, k.Value, strings.Join(keys, ", ")))
		case values[k.Value] != nil:
			p.fail(k.Value, fmt.Errorf("%w: the key is given twice; keep one", ErrValue))
		default:
			values[k.Value] = v
		}
	}
	str := func(key string) string {
		v := values[key]
		if v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			return ""
		}
		if v.Kind != yaml.ScalarNode {
			p.fail(key, fmt.Errorf("%w: want a string, found %s", ErrValue, describe(v)))
			return ""
		}
		return strings.TrimSpace(v.Value)
	}
	r := Rule{Source: model.Location{File: file, Line: n.Line}}
	r.Name = str("name")
	switch {
	case r.Name == "":
		p.fail("name", fmt.Errorf("%w: name is required; give the rule a unique DNS subdomain name such as deny-telnet", ErrMissingKey))
	case len(validation.IsDNS1123Subdomain(r.Name)) > 0:
		p.fail("name", fmt.Errorf("%w: %q is not a DNS subdomain name; use lower-case letters, digits, \"-\" and \".\", starting and ending with a letter or digit",
			ErrName, r.Name))
	}
	r.Description = str("description")
	switch action := str("action"); action {
	case "":
		p.fail("action", fmt.Errorf("%w: action is required: allow (the connections must be permitted) or deny (they must not be)", ErrMissingKey))
	default:
		a, err := ParseAction(action)
		if err != nil {
			p.fail("action", err)
		}
		r.Action = a
	}
	r.From = p.end("from", str("from"), "from_ns", str("from_ns"))
	r.To = p.end("to", str("to"), "to_ns", str("to_ns"))
	if r.From.Kind == Addresses && r.To.Kind == Addresses {
		p.fail("", fmt.Errorf("%w: from and to are both CIDRs; a connection between two external addresses is not a question about the cluster, so make one side a label selector", ErrCIDR))
	}
	r.Conns = p.conns(str("protocol"), values["port_min"], values["port_max"])
	if len(p.errs) == 0 {
		return r, nil
	}
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		e.Name = r.Name
		errs[i] = e
	}
	return Rule{}, errs
}

// end reads one side of a rule from its selector-or-CIDR key and its
// namespace selector key.
func (p *ruleParser) end(key, value, nsKey, nsValue string) End {
	e := End{Selector: value, NamespaceSelector: nsValue, Pods: labels.Everything(), Namespaces: labels.Everything()}
	if looksLikeCIDR(value) {
		set, err := model.ParseCIDR(value)
		if err != nil {
			p.fail(key, fmt.Errorf("%w %q: %v; write an address block such as 10.0.0.0/8 or fd00::/8", ErrCIDR, value, unwrapCIDR(err)))
			return e
		}
		if nsValue != "" {
			p.fail(nsKey, fmt.Errorf("%w: %s is a CIDR, %s, and addresses outside the cluster have no namespace; drop %s, or make %s a label selector",
				ErrCIDR, key, value, nsKey, key))
		}
		e.Kind, e.Addresses = Addresses, set
		return e
	}
	if value == "" && nsValue == "" {
		e.Kind = Anything
		return e
	}
	e.Kind = Pods
	e.Pods = p.selector(key, value)
	e.Namespaces = p.selector(nsKey, nsValue)
	return e
}

// looksLikeCIDR tells a CIDR or address from a label selector: its address
// part holds only hexadecimal digits, dots and colons, with a dot or a
// colon. A label key such as "10.0.0.1" (a valid one) is read as an
// address, as np-guard reads it.
func looksLikeCIDR(s string) bool {
	addr, _, _ := strings.Cut(s, "/")
	if addr == "" || !strings.ContainsAny(addr, ".:") {
		return false
	}
	for _, c := range strings.ToLower(addr) {
		if !strings.ContainsRune("0123456789abcdef.:", c) {
			return false
		}
	}
	return true
}

// unwrapCIDR drops model.ParseCIDR's repetition of the input.
func unwrapCIDR(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// selector parses a set-based label selector; "" selects everything.
func (p *ruleParser) selector(key, value string) labels.Selector {
	if value == "" {
		return labels.Everything()
	}
	sel, err := labels.Parse(value)
	if err != nil {
		p.fail(key, fmt.Errorf("%w %q: %v; write requirements joined by commas, such as app in (a,b), tier!=dev, !legacy",
			ErrSelector, value, err))
		return labels.Nothing()
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if op := r.Operator(); op == selection.GreaterThan || op == selection.LessThan {
			p.fail(key, fmt.Errorf("%w %q: the %s operator on %s is not a set-based requirement; use =, !=, in, notin, exists or !exists",
				ErrSelector, value, op, r.Key()))
			return labels.Nothing()
		}
	}
	return sel
}

// conns reads protocol, port_min and port_max into the connections the
// rule describes.
func (p *ruleParser) conns(protocol string, minNode, maxNode *yaml.Node) model.ConnectionSet {
	protos := model.Protocols()
	if protocol != "" {
		proto, err := model.ParseProtocol(protocol)
		if err != nil || proto.String() != protocol {
			p.fail("protocol", fmt.Errorf("%w %q: want TCP, UDP or SCTP, upper case as in Kubernetes", ErrProtocol, protocol))
			return model.NoConnections()
		}
		protos = []model.Protocol{proto}
	}
	lo, okLo := p.port("port_min", minNode, model.MinPort)
	hi, okHi := p.port("port_max", maxNode, model.MaxPort)
	if !okLo || !okHi {
		return model.NoConnections()
	}
	if lo > hi {
		p.fail("port_min", fmt.Errorf("%w: port_min %d is above port_max %d; swap them", ErrPort, lo, hi))
		return model.NoConnections()
	}
	if protocol == "" && lo == model.MinPort && hi == model.MaxPort {
		return model.AllConnections()
	}
	out := model.NoConnections()
	for _, proto := range protos {
		out = out.Union(model.Connections(proto, model.PortRange(lo, hi)))
	}
	return out
}

// port reads a port number; an absent key gives def.
func (p *ruleParser) port(key string, n *yaml.Node, def int) (int, bool) {
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return def, true
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.fail(key, fmt.Errorf("%w: %s is not a port number; want a number from %d to %d (named ports cannot be checked)",
			ErrPort, describe(n), model.MinPort, model.MaxPort))
		return 0, false
	}
	if v < model.MinPort || v > model.MaxPort {
		p.fail(key, fmt.Errorf("%w: %d is out of range; want a port from %d to %d", ErrPort, v, model.MinPort, model.MaxPort))
		return 0, false
	}
	return v, true
}
