package packaging

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/kubetest"
)

// repoRoot is the repository, two levels above this package.
const repoRoot = "../.."

// resultsLimit is the size of a container's termination message, which
// carries all of a TaskRun's results.
const resultsLimit = 4096

// stages are the stages (and the comment command) that ship a task, one
// tasks/<stage>/<stage>.yaml each.
var stages = []string{"apply", "comment", "connectivity", "diff", "explain", "extract", "report", "review", "synthesize", "verify"}

// validationContext is the context Tekton's webhook validates in: the default
// config (feature flags, defaults) stored where SetDefaults and Validate look.
func validationContext() context.Context {
	return config.ToContext(context.Background(), config.FromContextOrDefaults(context.Background()))
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadTask(t *testing.T, stage string) *v1.Task {
	t.Helper()
	var task v1.Task
	readYAML(t, filepath.Join(repoRoot, "tasks", stage, stage+".yaml"), &task)
	return &task
}

func TestTaskFilesAreTheStages(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot, "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if !slices.Equal(dirs, stages) {
		t.Errorf("tasks/ holds %v, want one directory per stage %v", dirs, stages)
	}
}

func TestTasksValidate(t *testing.T) {
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			task := loadTask(t, stage)
			ctx := validationContext()
			task.SetDefaults(ctx)
			if err := task.Validate(ctx); err != nil {
				t.Fatalf("tasks/%s: %v", stage, err)
			}
		})
	}
}

// TestTaskConventions pins the catalog conventions and the rules of
// STYLE.md: one step running the stage image, params as args (no script, no
// shell), non-root, results within the termination message.
func TestTaskConventions(t *testing.T) {
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			task := loadTask(t, stage)
			if want := "tightnet-" + stage; task.Name != want {
				t.Errorf("name %q, want %q", task.Name, want)
			}
			if task.Labels["app.kubernetes.io/version"] == "" {
				t.Error("no app.kubernetes.io/version label")
			}
			for _, a := range []string{"tekton.dev/pipelines.minVersion", "tekton.dev/categories", "tekton.dev/tags",
				"tekton.dev/displayName", "tekton.dev/platforms", "artifacthub.io/category", "artifacthub.io/provider"} {
				if task.Annotations[a] == "" {
					t.Errorf("no %s annotation", a)
				}
			}
			for _, f := range []string{"README.md", filepath.Join("samples", stage+"-run.yaml")} {
				if _, err := os.Stat(filepath.Join(repoRoot, "tasks", stage, f)); err != nil {
					t.Errorf("catalog layout: %v", err)
				}
			}
			if len(task.Spec.Steps) != 1 {
				t.Fatalf("%d steps, want one", len(task.Spec.Steps))
			}
			step := task.Spec.Steps[0]
			checkStep(t, step)
			if img := imageName(step.Image); img != "tightnet-"+stage && img != "tightnet" {
				t.Errorf("image %s is not the %s stage's", step.Image, stage)
			}
			if err := resultsBudget(task.Spec.Results); err != nil {
				t.Error(err)
			}
		})
	}
}

// imageRef is a reference to a tightnet image: the placeholder form
// (ghcr.io/tightnet/tightnet-diff:v0.1.0) or the digest form `make push`
// rewrites it to (REGISTRY/tightnet-diff@sha256:...).
var imageRef = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*(?::[0-9]+)?(?:/[a-z0-9._-]+)*/(tightnet(?:-[a-z]+)?)(:v\d+\.\d+\.\d+|(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?@sha256:[0-9a-f]{64})$`)

// imageName is the repository name of a tightnet image reference, "" when
// ref is not one.
func imageName(ref string) string {
	m := imageRef.FindStringSubmatch(ref)
	if m == nil {
		return ""
	}
	return m[1]
}

func checkStep(t *testing.T, step v1.Step) {
	t.Helper()
	if step.Script != "" {
		t.Error("step has a script; pass params as args")
	}
	if len(step.Command) > 0 {
		t.Errorf("step sets command %v; the image's entrypoint is the stage", step.Command)
	}
	for _, a := range step.Args {
		if strings.ContainsAny(a, ";|&`\n") || strings.HasPrefix(a, "-c") {
			t.Errorf("arg %q looks like shell", a)
		}
	}
	checkHardened(t, "step", step.SecurityContext, step.Env)
}

// checkHardened checks what, a step or a template's container, as every
// container tightnet ships: it runs as non-root 65532 without privilege
// escalation, and a token reaches it only from a Secret.
func checkHardened(t *testing.T, what string, sc *corev1.SecurityContext, env []corev1.EnvVar) {
	t.Helper()
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("%s must run as non-root 65532", what)
	}
	if sc != nil && (sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation) {
		t.Errorf("%s must set allowPrivilegeEscalation: false", what)
	}
	for _, e := range env {
		if strings.Contains(e.Name, "TOKEN") && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s: env %s must come from a Secret (valueFrom.secretKeyRef)", what, e.Name)
		}
	}
}

// resultBound is the largest value a result can hold: counts and booleans
// are short; paths are bounded by what a user passes, budgeted at 256 bytes.
func resultBound(name string) int {
	switch name {
	case "output", "out-dir", "report":
		return 256
	default:
		return 20
	}
}

// resultsBudget checks that the results fit the termination message, each
// encoded as {"key":NAME,"value":VALUE,"type":1}.
func resultsBudget(results []v1.TaskResult) error {
	total := 2
	for _, r := range results {
		total += len(`{"key":"","value":"","type":1},`) + len(r.Name) + resultBound(r.Name)
	}
	if total > resultsLimit {
		return fmt.Errorf("results may take %d bytes, more than the %d-byte termination message", total, resultsLimit)
	}
	return nil
}

// binaries builds every image's binary once per test run, into
// binariesDir.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tightnet-packaging-")
	if err != nil {
		return "", err
	}
	binariesDir = dir
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./images/...")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	kubetest.Stop()
	if binariesDir != "" { // built by a test; a filtered run may build none
		os.RemoveAll(binariesDir)
	}
	os.Exit(code)
}

// binariesDir is where binaries built, "" until a test asks for them.
var binariesDir string

// binaryFor is the binary built from images/<name without "tightnet-">, the
// image's entrypoint.
func binaryFor(t *testing.T, image string) string {
	t.Helper()
	name := imageName(image)
	if name == "" {
		t.Fatalf("image %q is not a tightnet image reference", image)
	}
	dir, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.TrimPrefix(name, "tightnet-")
	if _, err := os.Stat(filepath.Join(repoRoot, "images", bin, "main.go")); err != nil {
		t.Fatalf("image %s: no images/%s/main.go", image, bin)
	}
	return filepath.Join(dir, bin)
}

// workspace makes the directory every sample runs in: a base checkout in
// old/, a head checkout in new/ (examples/review's, in manifests/ of each)
// and the base's baseline rules in old/rules/.
func workspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	copyDir(t, filepath.Join(repoRoot, "examples", "review", "base"), filepath.Join(ws, "old", "manifests"))
	copyDir(t, filepath.Join(repoRoot, "examples", "review", "head"), filepath.Join(ws, "new", "manifests"))
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "review", "baseline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "old", "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "old", "rules", "baseline.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return ws
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// paramValues are a task's param values: the defaults, overridden by given.
func paramValues(t *testing.T, task *v1.Task, given v1.Params) map[string]v1.ParamValue {
	t.Helper()
	values := map[string]v1.ParamValue{}
	for _, p := range task.Spec.Params {
		if p.Default != nil {
			values[p.Name] = *p.Default
		}
	}
	for _, p := range given {
		if !slices.ContainsFunc(task.Spec.Params, func(s v1.ParamSpec) bool { return s.Name == p.Name }) {
			t.Errorf("param %q is not declared by %s", p.Name, task.Name)
		}
		values[p.Name] = p.Value
	}
	for _, p := range task.Spec.Params {
		if _, ok := values[p.Name]; !ok {
			t.Fatalf("param %q of %s has no value and no default", p.Name, task.Name)
		}
	}
	return values
}

var variable = regexp.MustCompile(`\$\((params|workspaces|results)\.([a-z0-9-]+)(\[\*\]|\.path)?\)`)

// substitute replaces Tekton variables in s as the controller would; an
// array param must stand alone (as Tekton requires) and expands to many.
// ws holds the path of every workspace the task declares: "" for an
// optional one the run does not bind, as Tekton's ApplyWorkspaces
// substitutes it.
func substitute(t *testing.T, s string, params map[string]v1.ParamValue, ws map[string]string, results string) []string {
	t.Helper()
	if m := variable.FindStringSubmatch(s); m != nil && m[0] == s && m[3] == "[*]" {
		v, ok := params[m[2]]
		if !ok || v.Type != v1.ParamTypeArray {
			t.Fatalf("%s: no array param %s", s, m[2])
		}
		return v.ArrayVal
	}
	out := variable.ReplaceAllStringFunc(s, func(v string) string {
		m := variable.FindStringSubmatch(v)
		switch m[1] {
		case "params":
			p, ok := params[m[2]]
			if !ok || p.Type != v1.ParamTypeString || m[3] != "" {
				t.Fatalf("%s: no string param %s", s, m[2])
			}
			return p.StringVal
		case "workspaces":
			p, ok := ws[m[2]]
			if !ok || m[3] != ".path" {
				t.Fatalf("%s: no workspace %s", s, m[2])
			}
			return p
		default:
			return filepath.Join(results, m[2])
		}
	})
	return []string{strings.ReplaceAll(out, "/tekton/results", results)}
}

// runStep runs a task's one step as a TaskRun with the given params would,
// in workspace ws, with the Secrets sec in its namespace, and returns the
// results it wrote.
func runStep(t *testing.T, task *v1.Task, given v1.Params, ws string, sec secrets) map[string]string {
	t.Helper()
	return runStepBound(t, task, given, map[string]string{"source": ws}, sec)
}

// runStepBound is runStep with the workspaces bound to directories by name;
// an optional workspace left out is unbound.
func runStepBound(t *testing.T, task *v1.Task, given v1.Params, bound map[string]string, sec secrets) map[string]string {
	t.Helper()
	s := prepareStep(t, task, given, bound, sec)
	return runImage(t, s.image, s.args, s.dir, s.env, s.results, s.names)
}

// preparedStep is a task's one step as the controller starts it for a
// TaskRun: every variable substituted, results going to a directory of the
// test's.
type preparedStep struct {
	image, dir string
	script     string // substituted as Tekton substitutes a script's text
	args, env  []string
	results    string
	names      []string // the results the task declares
}

func prepareStep(t *testing.T, task *v1.Task, given v1.Params, bound map[string]string, sec secrets) preparedStep {
	t.Helper()
	params := paramValues(t, task, given)
	ws := workspacePaths(t, task, bound)
	results := t.TempDir()
	step := task.Spec.Steps[0]
	expand := func(s string) string { return substitute(t, s, params, ws, results)[0] }
	var args []string
	for _, a := range step.Args {
		args = append(args, substitute(t, a, params, ws, results)...)
	}
	var names []string
	for _, r := range task.Spec.Results {
		names = append(names, r.Name)
	}
	return preparedStep{image: step.Image, dir: expand(step.WorkingDir), args: args, script: expand(step.Script),
		env: containerEnv(t, step.Env, expand, sec), results: results, names: names}
}

// workspacePaths is the path of each workspace task declares: its bound
// directory, or "" for an optional workspace left unbound (Tekton's
// ApplyWorkspaces, pkg/reconciler/taskrun/resources/apply.go, substitutes
// "" for the path of an unbound optional workspace). A required workspace
// left unbound, or a binding the task does not declare, fails the test:
// Tekton would refuse the TaskRun.
func workspacePaths(t *testing.T, task *v1.Task, bound map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, w := range task.Spec.Workspaces {
		dir, ok := bound[w.Name]
		if !ok && !w.Optional {
			t.Fatalf("%s's workspace %s is not bound", task.Name, w.Name)
		}
		out[w.Name] = dir
	}
	for name := range bound {
		if _, ok := out[name]; !ok {
			t.Fatalf("%s declares no workspace %s", task.Name, name)
		}
	}
	return out
}

// secretVolume is a directory holding the Secret name of sec as Kubernetes
// mounts it (a Tekton workspace or an Argo volume bound to a Secret): one
// file per key. A missing Secret stops the pod from starting unless the
// volume is optional, when the directory is empty.
func secretVolume(t *testing.T, sec secrets, name string, optional bool) string {
	t.Helper()
	keys, ok := sec[name]
	if !ok && !optional {
		t.Fatalf("no Secret %q; the pod would not start (Secrets: %v)", name, secretNames(sec))
	}
	dir := t.TempDir()
	for key, value := range keys {
		if err := os.WriteFile(filepath.Join(dir, key), []byte(value), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runImage runs the binary built for image with args in dir and the
// environment env (see containerEnv), as the image's entrypoint would run in
// a step, and returns the results it wrote into resultsDir, checking that
// every named one was written, that they fit the termination message, and
// that exit code 1 came with findings.
func runImage(t *testing.T, image string, args []string, dir string, env []string, resultsDir string, names []string) map[string]string {
	t.Helper()
	cmd := exec.Command(binaryFor(t, image), args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		t.Logf("%s exited 1 (findings): %s", image, out)
	case err != nil:
		t.Fatalf("%s %q in %s: %v\n%s", image, args, dir, err, out)
	}
	failed := err != nil
	got := map[string]string{}
	size := 2
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(resultsDir, name))
		if err != nil {
			t.Errorf("result %s not written: %v", name, err)
			continue
		}
		got[name] = string(data)
		size += len(`{"key":"","value":"","type":1},`) + len(name) + len(data)
	}
	if size > resultsLimit {
		t.Errorf("results take %d bytes, more than %d", size, resultsLimit)
	}
	if failed && !slices.ContainsFunc([]string{"findings", "violated", "unchecked", "sanity"}, func(n string) bool {
		return got[n] != "" && got[n] != "0"
	}) {
		t.Errorf("%s exited 1 with no findings, violations or unchecked rules in its results %v", image, got)
	}
	for _, name := range []string{"output", "out-dir", "report"} {
		if p, ok := got[name]; ok && p != "" {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				t.Errorf("result %s names %s, not written: %v", name, p, err)
			}
		}
	}
	return got
}

// TestTaskSamplesRun runs each task's sample TaskRun's step against the
// binaries built from this repository. The comment sample runs twice,
// against a fake GitHub API, with the token from the Secret its params name:
// the pull request must carry the report, once.
func TestTaskSamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			task := loadTask(t, stage)
			var run v1.TaskRun
			readYAML(t, filepath.Join(repoRoot, "tasks", stage, "samples", stage+"-run.yaml"), &run)
			if run.Spec.TaskRef == nil || run.Spec.TaskRef.Name != task.Name {
				t.Fatalf("sample does not run %s", task.Name)
			}
			if run.Name == "" { // the API server names a generateName object
				run.Name = run.GenerateName + "sample"
			}
			ctx := validationContext()
			run.SetDefaults(ctx)
			if err := run.Validate(ctx); err != nil {
				t.Fatalf("sample: %v", err)
			}
			ws := workspace(t)
			switch stage {
			case "apply":
				runApplySample(t, task, &run, ws)
				return
			case "report":
				prepareReportInputs(t, ws)
			case "comment":
				runCommentSample(t, task, run.Spec.Params, ws)
				return
			}
			got := runStep(t, task, run.Spec.Params, ws, nil)
			t.Logf("results: %v", got)
		})
	}
}

// runCommentSample runs the comment sample's step twice on a workspace
// holding a report, against a fake GitHub API, with the Secret the task
// names by default; the pull request must then carry the report once.
func runCommentSample(t *testing.T, task *v1.Task, given v1.Params, ws string) {
	t.Helper()
	prepareReportInputs(t, ws)
	runStep(t, loadTask(t, "report"), v1.Params{
		{Name: "artifacts", Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{"tightnet/diff.json", "tightnet/verification.json"}}},
	}, ws, nil)
	gh := newFakeGitHub(t)
	params := append(slices.Clone(given), v1.Param{Name: "api-url", Value: *v1.NewStructuredValues(gh.URL)})
	sec := secrets{"github": {"token": githubToken}}
	for range 2 {
		runStep(t, task, params, ws, sec)
	}
	values := paramValues(t, task, params)
	pr, err := strconv.Atoi(values["pr"].StringVal)
	if err != nil {
		t.Fatalf("sample param pr: %v", err)
	}
	checkReportComment(t, gh, values["repo"].StringVal, pr, readFile(t, filepath.Join(ws, values["body-file"].StringVal)))
}

// prepareReportInputs writes the artifacts the report sample renders, by
// running the diff and verify tasks first.
func prepareReportInputs(t *testing.T, ws string) {
	t.Helper()
	runStep(t, loadTask(t, "diff"), v1.Params{
		{Name: "old", Value: *v1.NewStructuredValues("old/manifests")},
		{Name: "new", Value: *v1.NewStructuredValues("new/manifests")},
	}, ws, nil)
	runStep(t, loadTask(t, "verify"), v1.Params{
		{Name: "subdirectory", Value: *v1.NewStructuredValues("new")},
		{Name: "paths", Value: v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{"manifests"}}},
		{Name: "baseline", Value: *v1.NewStructuredValues("../old/rules/baseline.yaml")},
		{Name: "out", Value: *v1.NewStructuredValues("../tightnet/verification.json")},
	}, ws, nil)
}

// TestHeavyModulesAreTestOnly keeps tektoncd/pipeline and argo-workflows, in
// go.mod for these tests, out of every binary.
func TestHeavyModulesAreTestOnly(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./...")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/tektoncd/") || strings.HasPrefix(pkg, "github.com/argoproj/") {
			t.Errorf("non-test code depends on %s", pkg)
		}
	}
}

func TestImageName(t *testing.T) {
	for ref, want := range map[string]string{
		"ghcr.io/tightnet/tightnet-diff:v0.1.0":                                     "tightnet-diff",
		"ghcr.io/tightnet/tightnet:v0.1.0":                                          "tightnet",
		"127.0.0.1:5000/x/tightnet-verify@sha256:" + strings.Repeat("a", 64):        "tightnet-verify",
		"127.0.0.1:5000/x/tightnet-verify:v0.1.0@sha256:" + strings.Repeat("a", 64): "tightnet-verify",
		"ghcr.io/tightnet/tightnet-diff":                                            "",
		"alpine/git:v2.49.1":                                                        "",
	} {
		if got := imageName(ref); got != want {
			t.Errorf("imageName(%q) = %q, want %q", ref, got, want)
		}
	}
}
