package baseline_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/baseline"
	"github.com/tightnet/tightnet/internal/model"
)

func parse(t *testing.T, yaml string) []baseline.Rule {
	t.Helper()
	rules, err := baseline.Parse("rules.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// TestParseValidationErrors feeds one broken rule file per case and checks
// the error: the sentinel it wraps, and that it names the file, the rule's
// position and name, and the key concerned.
func TestParseValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want error
		// For errors about one rule: its position, name and key; index 0
		// for errors about the file.
		index     int
		rule, key string
		line      int
	}{
		{"unknown key", "- name: r\n  action: deny\n  prot: TCP\n", baseline.ErrUnknownKey, 1, "r", "", 1},
		{"non-scalar key", "- name: r\n  action: deny\n  [a]: b\n", baseline.ErrUnknownKey, 1, "r", "", 1},
		{"key twice", "- name: r\n  action: deny\n  action: allow\n", baseline.ErrValue, 1, "r", "action", 1},
		{"missing name", "- action: deny\n", baseline.ErrMissingKey, 1, "", "name", 1},
		{"name not a DNS subdomain", "- name: Deny_Telnet\n  action: deny\n", baseline.ErrName, 1, "Deny_Telnet", "name", 1},
		{"missing action", "- name: r\n", baseline.ErrMissingKey, 1, "r", "action", 1},
		{"unknown action", "- name: r\n  action: block\n", baseline.ErrAction, 1, "r", "action", 1},
		{"malformed selector", "- name: r\n  action: deny\n  from: app in (a,b\n", baseline.ErrSelector, 1, "r", "from", 1},
		{"malformed namespace selector", "- name: r\n  action: deny\n  to_ns: a=b=c\n", baseline.ErrSelector, 1, "r", "to_ns", 1},
		{"greater-than is not set-based", "- name: r\n  action: deny\n  to: replicas>3\n", baseline.ErrSelector, 1, "r", "to", 1},
		{"invalid label value", "- name: r\n  action: deny\n  from: app=-bad-\n", baseline.ErrSelector, 1, "r", "from", 1},
		{"prefix length out of range", "- name: r\n  action: deny\n  to: 10.0.0.0/33\n", baseline.ErrCIDR, 1, "r", "to", 1},
		{"malformed address", "- name: r\n  action: deny\n  to: 10.0.0.256/8\n", baseline.ErrCIDR, 1, "r", "to", 1},
		{"CIDR with namespace selector", "- name: r\n  action: deny\n  from: 10.0.0.0/8\n  from_ns: env=prod\n", baseline.ErrCIDR, 1, "r", "from_ns", 1},
		{"CIDR on both sides", "- name: r\n  action: deny\n  from: 10.0.0.0/8\n  to: 0.0.0.0/0\n", baseline.ErrCIDR, 1, "r", "", 1},
		{"lower-case protocol", "- name: r\n  action: deny\n  protocol: tcp\n", baseline.ErrProtocol, 1, "r", "protocol", 1},
		{"unknown protocol", "- name: r\n  action: deny\n  protocol: ICMP\n", baseline.ErrProtocol, 1, "r", "protocol", 1},
		{"port zero", "- name: r\n  action: deny\n  port_min: 0\n", baseline.ErrPort, 1, "r", "port_min", 1},
		{"port above 65535", "- name: r\n  action: deny\n  port_max: 70000\n", baseline.ErrPort, 1, "r", "port_max", 1},
		{"port as a string", "- name: r\n  action: deny\n  port_min: \"80\"\n", baseline.ErrPort, 1, "r", "port_min", 1},
		{"named port", "- name: r\n  action: deny\n  port_min: http\n", baseline.ErrPort, 1, "r", "port_min", 1},
		{"reversed range", "- name: r\n  action: deny\n  port_min: 90\n  port_max: 80\n", baseline.ErrPort, 1, "r", "port_min", 1},
		{"list where a string belongs", "- name: r\n  action: deny\n  from: [a, b]\n", baseline.ErrValue, 1, "r", "from", 1},
		{"second rule broken", "- name: ok\n  action: deny\n- name: bad\n  action: deny\n  port_max: 0\n", baseline.ErrPort, 2, "bad", "port_max", 3},
		{"item not a mapping", "- name: ok\n  action: deny\n- just a string\n", baseline.ErrFormat, 2, "", "", 3},
		{"not a list", "name: r\naction: deny\n", baseline.ErrFormat, 0, "", "", 0},
		{"empty list", "[]\n", baseline.ErrFormat, 0, "", "", 0},
		{"empty file", "", baseline.ErrFormat, 0, "", "", 0},
		{"only comments", "# nothing yet\n", baseline.ErrFormat, 0, "", "", 0},
		{"two documents", "- name: a\n  action: deny\n---\n- name: b\n  action: deny\n", baseline.ErrFormat, 0, "", "", 0},
		{"invalid YAML", "- name: [\n", baseline.ErrFormat, 0, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := baseline.Parse("rules.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %q", err, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, "rules.yaml") {
				t.Errorf("error %q does not name the file", msg)
			}
			if tc.index == 0 {
				if re, ok := errors.AsType[*baseline.RuleError](err); ok {
					t.Errorf("a file-level problem reported as a rule error: %+v", re)
				}
				return
			}
			re, ok := errors.AsType[*baseline.RuleError](err)
			if !ok {
				t.Fatalf("error %q is not a *baseline.RuleError", msg)
			}
			if re.File != "rules.yaml" || re.Index != tc.index || re.Name != tc.rule || re.Key != tc.key || re.Line != tc.line {
				t.Errorf("rule error %+v, want index %d, name %q, key %q, line %d", re, tc.index, tc.rule, tc.key, tc.line)
			}
			if !strings.Contains(msg, "rule "+string(rune('0'+tc.index))) || tc.rule != "" && !strings.Contains(msg, "("+tc.rule+")") {
				t.Errorf("error %q does not name rule %d (%s)", msg, tc.index, tc.rule)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := baseline.Parse("rules.yaml", []byte(`
- name: a
  action: maybe
  port_min: 0
- name: b
  action: deny
  to: 300.0.0.0/8
`))
	var count int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if _, ok := errors.AsType[*baseline.RuleError](e); ok {
			count++
		}
	}
	if count != 3 {
		t.Errorf("%d rule errors, want 3 (action and port of a, CIDR of b):\n%v", count, err)
	}
}

// TestConnections pins how protocol, port_min and port_max become the
// connections a rule describes.
func TestConnections(t *testing.T) {
	for _, tc := range []struct{ keys, want string }{
		{"", "All Connections"},
		{"protocol: UDP", "UDP 1-65535"},
		{"protocol: TCP\n  port_min: 443\n  port_max: 443", "TCP 443"},
		{"port_min: 1\n  port_max: 65535", "All Connections"},
		{"port_min: 54", "SCTP 54-65535,TCP 54-65535,UDP 54-65535"},
		{"port_max: 52", "SCTP 1-52,TCP 1-52,UDP 1-52"},
		{"protocol: SCTP\n  port_min: 5060\n  port_max: 5061", "SCTP 5060-5061"},
		{"port_min: 0x50\n  port_max: 0x50", "SCTP 80,TCP 80,UDP 80"},
		{"port_min: null", "All Connections"},
	} {
		rules := parse(t, "- name: r\n  action: deny\n  "+tc.keys+"\n")
		if got := rules[0].Conns.String(); got != tc.want {
			t.Errorf("%q: connections %q, want %q", tc.keys, got, tc.want)
		}
	}
}

// TestSides pins what each combination of from and from_ns selects.
func TestSides(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "frontend"}
	db := map[string]string{"app": "db"}
	prod := map[string]string{baseline.NamespaceNameLabel: "shop", "env": "prod"}
	dev := map[string]string{baseline.NamespaceNameLabel: "lab", "env": "dev"}
	for _, tc := range []struct {
		keys        string
		kind        baseline.EndKind
		text        string
		needsLabels bool
		// which of (web, prod), (db, prod), (web, dev) the side selects
		matches [3]bool
	}{
		{"", baseline.Anything, "anything", false, [3]bool{true, true, true}},
		{"from: \"\"", baseline.Anything, "anything", false, [3]bool{true, true, true}},
		{"from: app=web", baseline.Pods, "pods app=web", true, [3]bool{true, false, true}},
		{"from: app in (web, db), !legacy", baseline.Pods, "pods app in (db,web),!legacy", true, [3]bool{true, true, true}},
		{"from: tier!=frontend", baseline.Pods, "pods tier!=frontend", true, [3]bool{false, true, false}},
		{"from_ns: env=prod", baseline.Pods, "every pod in namespaces env=prod", true, [3]bool{true, true, false}},
		{"from_ns: kubernetes.io/metadata.name in (lab)", baseline.Pods, "every pod in namespaces kubernetes.io/metadata.name in (lab)", false, [3]bool{false, false, true}},
		{"from_ns: kubernetes.io/metadata.name", baseline.Pods, "every pod in namespaces kubernetes.io/metadata.name", false, [3]bool{true, true, true}},
		{"from: app=web\n  from_ns: env=dev", baseline.Pods, "pods app=web in namespaces env=dev", true, [3]bool{false, false, true}},
		{"from: 10.0.0.0/8", baseline.Addresses, "10.0.0.0/8", false, [3]bool{}},
		{"from: 10.1.2.3", baseline.Addresses, "10.1.2.3", false, [3]bool{}},
		{"from: fd00::/8", baseline.Addresses, "fd00::/8", false, [3]bool{}},
	} {
		r := parse(t, "- name: r\n  action: deny\n  "+tc.keys+"\n")[0]
		e := r.From
		if e.Kind != tc.kind || e.String() != tc.text || e.NeedsLabels() != tc.needsLabels {
			t.Errorf("%q: kind %v, text %q, needs labels %v; want %v, %q, %v", tc.keys, e.Kind, e, e.NeedsLabels(), tc.kind, tc.text, tc.needsLabels)
		}
		got := [3]bool{e.MatchesPod(web, prod), e.MatchesPod(db, prod), e.MatchesPod(web, dev)}
		if got != tc.matches {
			t.Errorf("%q: selects %v, want %v", tc.keys, got, tc.matches)
		}
		if r.To.Kind != baseline.Anything {
			t.Errorf("%q: to is %v, want Anything", tc.keys, r.To.Kind)
		}
	}
}

func TestCIDRIsMaskedAsKubernetesMasksIPBlocks(t *testing.T) {
	r := parse(t, "- name: r\n  action: deny\n  to: 10.1.2.3/8\n")[0]
	want, _ := model.ParseCIDR("10.0.0.0/8")
	if !r.To.Addresses.Equal(want) {
		t.Errorf("addresses %s, want %s", r.To.Addresses, want)
	}
}

func TestRuleFieldsAndLocation(t *testing.T) {
	rules := parse(t, `# corporate rules
- name: deny-telnet
  description: No telnet.
  action: deny
  protocol: TCP
  port_min: 23
  port_max: 23

- name: allow-web
  action: allow
  from: app=web
  to: 0.0.0.0/0
`)
	if len(rules) != 2 {
		t.Fatalf("%d rules, want 2", len(rules))
	}
	if got := rules[0].String(); got != "deny-telnet: deny anything => anything : TCP 23" {
		t.Errorf("rule 1 %q", got)
	}
	if rules[0].Description != "No telnet." || rules[0].Source != (model.Location{File: "rules.yaml", Line: 2}) {
		t.Errorf("rule 1 description %q at %s", rules[0].Description, rules[0].Source)
	}
	if got := rules[1].String(); got != "allow-web: allow pods app=web => 0.0.0.0/0 : All Connections" {
		t.Errorf("rule 2 %q", got)
	}
	if rules[1].Action != baseline.Allow || rules[1].Source.Line != 9 {
		t.Errorf("rule 2 action %v at line %d", rules[1].Action, rules[1].Source.Line)
	}
}

func TestActionText(t *testing.T) {
	for _, a := range []baseline.Action{baseline.Allow, baseline.Deny} {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back baseline.Action
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("%v: round trip gave %v, %v", a, back, err)
		}
	}
	if _, err := baseline.Action(7).MarshalText(); err == nil {
		t.Error("marshalled an unknown action")
	}
	var a baseline.Action
	if err := a.UnmarshalText([]byte("Allow")); !errors.Is(err, baseline.ErrAction) {
		t.Errorf("Allow (capitalised): %v, want ErrAction", err)
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b.yaml", "- name: b\n  action: deny\n")
	write(t, dir, "a.yml", "- name: a\n  action: deny\n")
	write(t, dir, "README.md", "not rules")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub"), "c.yaml", "- name: c\n  action: deny\n")
	extra := write(t, t.TempDir(), "extra.txt", "- name: d\n  action: allow\n")
	rules, err := baseline.Load(dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,d" {
		t.Errorf("rules %s, want a,b,d: a directory's .yaml and .yml files in name order, not its subdirectories, then the file named", got)
	}
}

func TestLoadRejectsDuplicateNamesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	first := write(t, dir, "one.yaml", "- name: same\n  action: deny\n")
	second := write(t, dir, "two.yaml", "- name: other\n  action: deny\n- name: same\n  action: allow\n")
	rules, err := baseline.Load(first, second)
	if !errors.Is(err, baseline.ErrName) {
		t.Fatalf("error %v, want ErrName", err)
	}
	if !strings.Contains(err.Error(), second+":3") || !strings.Contains(err.Error(), first+":1") {
		t.Errorf("error %q does not name both places", err)
	}
	if len(rules) != 2 {
		t.Errorf("%d valid rules returned, want 2", len(rules))
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := baseline.Load(); err == nil {
		t.Error("no path: no error")
	}
	if _, err := baseline.Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := baseline.Load(t.TempDir()); !errors.Is(err, baseline.ErrFormat) {
		t.Errorf("empty directory: %v", err)
	}
	dir := t.TempDir()
	bad := write(t, dir, "bad.yaml", "- name: x\n  action: deny\n  port_min: 0\n")
	good := write(t, dir, "good.yaml", "- name: y\n  action: deny\n")
	rules, err := baseline.Load(bad, good)
	if !errors.Is(err, baseline.ErrPort) || len(rules) != 1 || rules[0].Name != "y" {
		t.Errorf("a bad file among good ones: rules %v, error %v", rules, err)
	}
}
