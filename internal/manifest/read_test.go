package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tightnet/tightnet/internal/model"
)

// readString reads data as the only file, named name, of a fresh directory.
func readString(t *testing.T, name, data string, opts Options) *Objects {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	objs, err := Read(context.Background(), []string{name}, opts)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	checkInvariants(t, objs)
	return objs
}

// codes lists the findings as "code@line".
func codes(o *Objects) []string {
	var out []string
	for _, f := range o.Findings {
		out = append(out, fmt.Sprintf("%s@%d", f.Code, f.Location.Line))
	}
	return out
}

func wantFindings(t *testing.T, o *Objects, want ...string) {
	t.Helper()
	got := codes(o)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings = %v, want %v\n%v", got, want, o.Findings)
	}
}

const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\n"

func TestReadBinaryAndNotUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line       int
	}{
		{"binary.yaml", "apiVersion: v1\nkind: Pod\n\x00\x01\x02\xff", 3},
		{"latin1.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: caf\xe9}\n", 3},
		{"utf16.yaml", "\xff\xfea\x00p\x00i\x00", 1},
		{"latin1.json", "{\"apiVersion\": \"v1\",\n\"kind\": \"caf\xe9\"}", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readString(t, tc.name, tc.data, Options{})
			wantFindings(t, o, fmt.Sprintf("%s@%d", CodeMalformed, tc.line))
			if len(o.Workloads) != 0 {
				t.Errorf("workloads read from a broken file: %v", o.Workloads)
			}
		})
	}
}

func TestReadUTF8BOM(t *testing.T) {
	o := readString(t, "bom.yaml", "\uFEFF"+fmt.Sprintf(pod, "bom"), Options{})
	wantFindings(t, o)
	if len(o.Workloads) != 1 || o.Workloads[0].Source.Line != 1 {
		t.Errorf("workloads = %+v, want bom at line 1", o.Workloads)
	}
}

// withinBudget fails when f takes longer than d or allocates more than
// maxAlloc bytes in total.
// withinMemory runs f and fails when it allocates more than maxAlloc bytes:
// an expansion bomb shows as allocation, which unlike time does not depend
// on how loaded the machine is. Speed is measured by BenchmarkRead.
func withinMemory(t *testing.T, maxAlloc uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Errorf("allocated %d MiB, want at most %d MiB", alloc>>20, maxAlloc>>20)
	}
}

// TestReadAliasBombs checks that YAML alias expansion is bounded: the
// decoder's alias ratio limit (yaml.v2 and yaml.v3 both have one) turns
// each of these into a finding, quickly and in bounded memory.
func TestReadAliasBombs(t *testing.T) {
	laughs := func(levels int) string {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  l0: &l0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n")
		for i := 1; i < levels; i++ {
			fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 10), ","))
		}
		return b.String()
	}
	wide := func(n int) string {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\nbig: &big [")
		b.WriteString(strings.TrimSuffix(strings.Repeat("x,", n), ","))
		b.WriteString("]\nrefs:\n")
		for range n {
			b.WriteString("- *big\n")
		}
		return b.String()
	}
	for name, data := range map[string]string{
		"billion-laughs":        laughs(9),
		"deeper-laughs":         laughs(30),
		"quadratic-blowup":      wide(3000),
		"list-of-laughs":        "apiVersion: v1\nkind: List\n" + strings.Replace(laughs(9), "data:\n", "items:\n- ", 1),
		"bomb-in-long-line-doc": laughs(9) + "  long: " + strings.Repeat("x", 2*maxSafeLineLength) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			withinMemory(t, 512<<20, func() {
				o := readString(t, "bomb.yaml", data+"---\n"+fmt.Sprintf(pod, "after"), Options{})
				if len(o.Findings) != 1 || o.Findings[0].Code != CodeMalformed {
					t.Errorf("findings = %v, want one %s", o.Findings, CodeMalformed)
				}
				if len(o.Workloads) != 1 {
					t.Errorf("the document after the bomb was not read: %v", o.Workloads)
				}
			})
		})
	}
}

// TestReadDeepNesting checks that deeply nested documents are findings, not
// a stack overflow (which no recover catches).
func TestReadDeepNesting(t *testing.T) {
	const depth = 100_000
	blockStairs := func(levels int) string {
		// data:\n- a:\n  - a:\n    - ... alternates sequences and
		// mappings, two levels for every two columns of indentation.
		var b strings.Builder
		b.WriteString("apiVersion: example.com/v1\nkind: Stairs\nmetadata: {name: stairs}\ndata:\n")
		for i := range levels / 2 {
			b.WriteString(strings.Repeat("  ", i))
			b.WriteString("- a:\n")
		}
		b.WriteString(strings.Repeat("  ", levels/2) + "- end\n")
		return b.String()
	}
	for _, tc := range []struct {
		name, file, data string
		finding          bool
	}{
		{"compact-sequences", "deep.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: " + strings.Repeat("- ", depth) + "x\n", true},
		{"flow-sequences", "deep.yaml", "a: " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n", true},
		{"flow-mappings", "deep.yaml", "a: " + strings.Repeat("{a: ", depth) + "1" + strings.Repeat("}", depth) + "\n", true},
		{"json", "deep.json", `{"a": ` + strings.Repeat(`{"a": `, depth) + "1" + strings.Repeat("}", depth+1), true},
		{"json-arrays", "deep.json", `{"a": ` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}", true},
		// Just below the line length that sends documents through yaml.v3
		// first: yaml.v2 alone must cope.
		{"indented-stairs", "stairs.yaml", blockStairs(maxSafeLineLength - 8), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withinMemory(t, 1<<30, func() {
				o := readString(t, tc.file, tc.data+"\n---\n"+fmt.Sprintf(pod, "after"), Options{})
				if tc.file == "deep.json" {
					// JSON stream: the next document is never reached after a
					// syntax error, and the YAML separator is one.
					if len(o.Findings) == 0 || o.Findings[0].Code != CodeMalformed {
						t.Errorf("findings = %v, want %s", o.Findings, CodeMalformed)
					}
					return
				}
				if tc.finding && (len(o.Findings) != 1 || o.Findings[0].Code != CodeMalformed) {
					t.Errorf("findings = %v, want one %s", o.Findings, CodeMalformed)
				}
				if !tc.finding && len(o.Findings) != 0 {
					t.Errorf("findings = %v, want none", o.Findings)
				}
				if len(o.Workloads) != 1 || o.Workloads[0].Name != "after" {
					t.Errorf("the document after the deep one was not read: %v", o.Workloads)
				}
			})
		})
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("ok.yaml", []byte(fmt.Sprintf(pod, "ok")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err := Read(ctx, []string{"ok.yaml", "no/such/dir"}, Options{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no/such/dir") {
		t.Errorf("missing path: err = %v, want fs.ErrNotExist naming the path", err)
	}
	if _, err := Read(ctx, nil, Options{}); err == nil {
		t.Error("no paths: err = nil, want an error")
	}
	if _, err := Read(ctx, []string{"-"}, Options{}); err == nil {
		t.Error("- without Options.Stdin: err = nil, want an error")
	}
	if _, err := Read(ctx, []string{"-", "-"}, Options{Stdin: strings.NewReader("")}); err == nil {
		t.Error("- twice: err = nil, want an error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Read(cancelled, []string{"."}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

// TestReadCancelledBetweenFiles cancels the context while standard input,
// the first of many files, is read, and checks that Read stops there.
func TestReadCancelledBetweenFiles(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.yaml", i)), []byte(fmt.Sprintf(pod, fmt.Sprint("p", i))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdin := readerFunc(func(p []byte) (int, error) {
		cancel()
		return 0, io.EOF
	})
	if _, err := Read(ctx, []string{"-", dir}, Options{Stdin: stdin}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestReadExplicitTooLarge checks the size limit on a file named directly
// and on standard input.
func TestReadExplicitTooLarge(t *testing.T) {
	data := fmt.Sprintf(pod, "big")
	o := readString(t, "big.txt", data, Options{MaxFileSize: int64(len(data) - 1)})
	wantFindings(t, o, CodeTooLarge+"@0")
	o, err := Read(context.Background(), []string{"-"}, Options{Stdin: strings.NewReader(data), MaxFileSize: int64(len(data) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	wantFindings(t, o, CodeTooLarge+"@0")
	if o.Findings[0].Location.File != StdinName {
		t.Errorf("stdin finding at %v, want %s", o.Findings[0].Location, StdinName)
	}
	o, err = Read(context.Background(), []string{"-"}, Options{Stdin: strings.NewReader(data), MaxFileSize: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	wantFindings(t, o)
}

// TestReadScale reads 5,000 workloads and 10,000 policies, as YAML streams
// and as a kubectl-style List, and checks that nothing is lost and memory
// stays bounded; BenchmarkRead measures the time.
func TestReadScale(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := t.TempDir()
	writeScaleInputs(t, dir, 5000, 10000)
	var o *Objects
	withinMemory(t, 4<<30, func() {
		var err error
		o, err = Read(context.Background(), []string{dir}, Options{})
		if err != nil {
			t.Fatal(err)
		}
	})
	if len(o.Workloads) != 5000 || len(o.Policies) != 10000 || len(o.Findings) != 0 {
		t.Errorf("read %d workloads, %d policies, %d findings; want 5000, 10000, 0", len(o.Workloads), len(o.Policies), len(o.Findings))
	}
	checkInvariants(t, o)
}

func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	writeScaleInputs(b, dir, 5000, 10000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Read(context.Background(), []string{dir}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// writeScaleInputs writes workloads as YAML streams of Deployments, and
// policies half as YAML streams and half as a JSON-free v1 List, spread over
// 100 namespaces.
func writeScaleInputs(tb testing.TB, dir string, workloads, policies int) {
	tb.Helper()
	const perFile = 500
	write := func(name string, b *bytes.Buffer) {
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		b.Reset()
	}
	var b bytes.Buffer
	for i := range workloads {
		fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  namespace: ns-%d
  labels: {app: app-%d}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%d}
  template:
    metadata:
      labels: {app: app-%d, tier: backend}
    spec:
      containers:
      - name: main
        image: registry.example.com/app:1.2.3
        ports:
        - {name: http, containerPort: 8080}
        - {name: metrics, containerPort: 9090}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
        env:
        - {name: MODE, value: production}
`, i, i%100, i, i, i)
		if (i+1)%perFile == 0 || i == workloads-1 {
			write(fmt.Sprintf("workloads-%04d.yaml", i/perFile), &b)
		}
	}
	policy := func(i int, indent string) string {
		return strings.ReplaceAll(fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-%d
  namespace: ns-%d
spec:
  podSelector:
    matchLabels: {app: app-%d}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: ns-%d}
      podSelector:
        matchLabels: {app: app-%d}
    ports:
    - {protocol: TCP, port: http}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - {protocol: TCP, port: 443}
`, i, i%100, i%workloads, (i+1)%100, (i+1)%workloads), "\n", "\n"+indent)
	}
	half := policies / 2
	for i := range half {
		b.WriteString("---\n" + policy(i, ""))
		if (i+1)%perFile == 0 || i == half-1 {
			write(fmt.Sprintf("policies-%04d.yaml", i/perFile), &b)
		}
	}
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := half; i < policies; i++ {
		b.WriteString("- " + strings.TrimRight(policy(i, "  "), " ") + "")
	}
	write("policy-list.yaml", &b)
}

// FuzzRead feeds arbitrary bytes to Read as a file and as standard input:
// it must never panic, and the result must keep its invariants.
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txtar"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(fmt.Sprintf(pod, "x")))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}]}`))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: [{apiVersion: v1, kind: Pod, metadata: {name: x}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "in.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := Read(context.Background(), []string{file, "-"}, Options{Stdin: bytes.NewReader(data)})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		checkInvariants(t, o)
		for _, f := range o.Findings {
			if f.Location.File != StdinName && f.Location.File != filepath.ToSlash(file) {
				t.Errorf("finding in %q, want %s or %s", f.Location.File, StdinName, file)
			}
			if f.Severity > model.Error {
				t.Errorf("finding with severity %v", f.Severity)
			}
		}
	})
}
