package packaging

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pipelines are the Tekton Pipelines, with the param values their run in
// TestPipelinesRun uses (github-api-url is the fake GitHub API's), the
// directory the clone tasks would fill, whether the run comments its
// report on pull request 42 of acme/shop, and for a pipeline that changes a
// cluster, what sets the cluster up.
var pipelines = []struct {
	file    string
	params  map[string]string
	clones  map[string]string // workspace dir → checkout (old or new in workspace())
	comment bool
	live    func(t *testing.T, ws string) liveRun
}{
	{"review-pipeline.yaml", map[string]string{"path": "manifests", "baseline": "rules/baseline.yaml",
		"repo-full-name": "acme/shop", "pull-request-number": "42",
		"github-token-secret-name": "review-bot", "github-token-secret-key": "pat"}, nil, true, nil},
	{"synthesize-pipeline.yaml", map[string]string{"path": "manifests", "policies-dir": "networkpolicies/tightnet"}, map[string]string{"repo": "new"}, false, nil},
	{"apply-pipeline.yaml", map[string]string{"repo-url": "https://example.com/app.git", "owner": "apply-tekton"}, map[string]string{"repo": "new"}, false,
		func(t *testing.T, ws string) liveRun {
			// The main branch (new/, cloned into repo/) holds the approved
			// policies; the PipelineRun's identity is the ServiceAccount of
			// tasks/apply/samples/rbac.yaml, so the run proves it is enough.
			f := newApplyFixture(t, filepath.Join(ws, "new"), "apply-tekton", "apply-tekton")
			return liveRun{kubeconfig: serviceAccountKubeconfig(t, f, "apply-tekton-ci"), check: func(t *testing.T, results map[string]map[string]string) {
				f.checkApplied(t, results["apply"])
			}}
		}},
}

// liveRun is a run against the test's kube-apiserver: the kubeconfig the
// run is given (the Tekton kubeconfig workspace, bound to a Secret; the Argo
// kubeconfig Secret) and the check of what it did, given each task's
// results.
type liveRun struct {
	kubeconfig string
	check      func(t *testing.T, results map[string]map[string]string)
}

// kubeconfigSecret is the Secret a live run's kubeconfig is in, by the
// name the samples and the Argo templates use.
const kubeconfigSecret = "tightnet-kubeconfig"

// runSecrets are the Secrets in the namespace of the pipeline and workflow
// runs: the one their params name, not the tasks' default (github), so a
// run proves the params reach the secretKeyRef.
var runSecrets = secrets{"review-bot": {"pat": githubToken}}

func loadPipeline(t *testing.T, file string) *v1.Pipeline {
	t.Helper()
	var p v1.Pipeline
	readYAML(t, filepath.Join(repoRoot, "pipelines", "tekton", file), &p)
	return &p
}

// localTask is the task under tasks/ a pipeline task refers to by name, nil
// for a catalog task resolved remotely.
func localTask(t *testing.T, pt v1.PipelineTask) *v1.Task {
	t.Helper()
	if pt.TaskRef == nil || pt.TaskRef.Name == "" {
		return nil
	}
	stage, ok := strings.CutPrefix(pt.TaskRef.Name, "tightnet-")
	if !ok {
		t.Fatalf("task %s refers to %s, not a tightnet task", pt.Name, pt.TaskRef.Name)
	}
	return loadTask(t, stage)
}

// embeddedTask is the task a pipeline task embeds (taskSpec), named after
// the pipeline task; nil for one that refers to a task.
func embeddedTask(pt v1.PipelineTask) *v1.Task {
	if pt.TaskSpec == nil {
		return nil
	}
	return &v1.Task{ObjectMeta: metav1.ObjectMeta{Name: pt.Name}, Spec: pt.TaskSpec.TaskSpec}
}

func TestPipelinesValidate(t *testing.T) {
	for _, tc := range pipelines {
		t.Run(tc.file, func(t *testing.T) {
			p := loadPipeline(t, tc.file)
			ctx := validationContext()
			p.SetDefaults(ctx)
			if err := p.Validate(ctx); err != nil {
				t.Fatal(err)
			}
			if p.Labels["app.kubernetes.io/version"] == "" {
				t.Error("no app.kubernetes.io/version label")
			}
		})
	}
}

var taskResultRef = regexp.MustCompile(`\$\(tasks\.([a-z0-9-]+)\.results\.([a-z0-9-]+)\)`)

// TestPipelinesMatchTasks cross-checks every tightnet task a pipeline calls,
// and every task it embeds (Tekton checks an embedded task's params only when
// it runs): the params it passes are declared with the same type, every
// param without a default is passed, workspaces bind, and results referred
// to exist.
func TestPipelinesMatchTasks(t *testing.T) {
	for _, tc := range pipelines {
		t.Run(tc.file, func(t *testing.T) {
			p := loadPipeline(t, tc.file)
			results := map[string][]v1.TaskResult{}
			for _, pt := range p.Spec.Tasks {
				task := localTask(t, pt)
				if task == nil {
					task = embeddedTask(pt)
				}
				if task == nil {
					continue
				}
				results[pt.Name] = task.Spec.Results
				declared := map[string]v1.ParamSpec{}
				for _, ps := range task.Spec.Params {
					declared[ps.Name] = ps
				}
				passed := map[string]bool{}
				for _, param := range pt.Params {
					passed[param.Name] = true
					ps, ok := declared[param.Name]
					if !ok {
						t.Errorf("%s passes %s a param %q it does not declare", pt.Name, task.Name, param.Name)
						continue
					}
					if ps.Type != "" && ps.Type != param.Value.Type {
						t.Errorf("%s passes %s param %q as %s, declared %s", pt.Name, task.Name, param.Name, param.Value.Type, ps.Type)
					}
				}
				for _, ps := range task.Spec.Params {
					if ps.Default == nil && !passed[ps.Name] {
						t.Errorf("%s does not pass %s's required param %q", pt.Name, task.Name, ps.Name)
					}
				}
				bound := map[string]bool{}
				for _, w := range pt.Workspaces {
					bound[w.Name] = true
				}
				for _, w := range task.Spec.Workspaces {
					if !w.Optional && !bound[w.Name] {
						t.Errorf("%s does not bind %s's workspace %q", pt.Name, task.Name, w.Name)
					}
					delete(bound, w.Name)
				}
				for w := range bound {
					t.Errorf("%s binds workspace %q %s does not declare", pt.Name, w, task.Name)
				}
			}
			var refs []string
			for _, pt := range p.Spec.Tasks {
				for _, param := range pt.Params {
					refs = append(refs, param.Value.StringVal)
					refs = append(refs, param.Value.ArrayVal...)
				}
			}
			for _, r := range p.Spec.Results {
				refs = append(refs, r.Value.StringVal)
			}
			for _, ref := range refs {
				for _, m := range taskResultRef.FindAllStringSubmatch(ref, -1) {
					declared, ok := results[m[1]]
					if !ok {
						t.Errorf("%s: no tightnet or embedded task %s", m[0], m[1])
						continue
					}
					if !hasResult(declared, m[2]) {
						t.Errorf("%s: task %s has no result %s", m[0], m[1], m[2])
					}
				}
			}
		})
	}
}

func hasResult(results []v1.TaskResult, name string) bool {
	for _, r := range results {
		if r.Name == name {
			return true
		}
	}
	return false
}

var pipelineParamRef = regexp.MustCompile(`\$\(params\.([a-z0-9-]+)\)`)

// TestPipelinesRun runs every tightnet task of each pipeline, in order, on
// one workspace, with the pipeline's params and earlier tasks' results
// substituted and the Secrets of runSecrets: the catalog's clone tasks are
// stood in for by copies of examples/review; the review's comment goes to a
// fake GitHub API, and the pull request must carry the report. The apply
// pipeline applies to the test's kube-apiserver, its kubeconfig workspace
// bound to a Secret holding a ServiceAccount's kubeconfig. The catalog
// tasks and the embedded ones (the synthesis's open-pull-request, on curl)
// are not run here; TestPipelineSynthesisProposes runs the synthesis's.
func TestPipelinesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	for _, tc := range pipelines {
		t.Run(tc.file, func(t *testing.T) {
			ws := workspace(t)
			gh := newFakeGitHub(t)
			params := maps.Clone(tc.params)
			params["github-api-url"] = gh.URL
			bound := map[string]string{"source": ws} // the PipelineRun's workspaces
			var live liveRun
			if tc.live != nil {
				live = tc.live(t, ws)
				sec := secrets{kubeconfigSecret: {"kubeconfig": live.kubeconfig}}
				bound["kubeconfig"] = secretVolume(t, sec, kubeconfigSecret, false)
			}
			for dir, from := range tc.clones {
				copyDir(t, filepath.Join(ws, from), filepath.Join(ws, dir))
			}
			results := pipelineRun{p: loadPipeline(t, tc.file), params: params, bound: bound, sec: runSecrets}.run(t)
			if live.check != nil {
				live.check(t, results)
			}
			for _, f := range expectedFiles[tc.file] {
				if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
					t.Errorf("pipeline did not write %s: %v", f, err)
				}
			}
			if tc.comment {
				checkReportComment(t, gh, "acme/shop", 42, readFile(t, filepath.Join(ws, "tightnet", "report.md")))
			} else if n := len(gh.Comments("acme/shop", 42)); n > 0 {
				t.Errorf("%d comments, want none", n)
			}
		})
	}
}

// pipelineRun is a run of a Pipeline as the controller would run it: its
// tasks in the order listed (the order runAfter and results allow), each
// with the params and earlier tasks' results substituted and its when
// expressions evaluated, on the PipelineRun's workspaces.
type pipelineRun struct {
	p      *v1.Pipeline
	params map[string]string // the PipelineRun's params; the Pipeline's defaults fill in the rest
	bound  map[string]string // the PipelineRun's workspaces: name → directory
	sec    secrets
	// catalog runs a catalog task (one resolved remotely) with its params
	// and workspaces, and returns its results. With it the embedded tasks
	// run too (runScriptTask); without it both are left out (and the test
	// stands in for the clones).
	catalog func(t *testing.T, pt v1.PipelineTask, params, bound map[string]string) map[string]string
	// fails is the embedded task whose step must fail: the run stops there,
	// as the PipelineRun fails, and fails the test if the step succeeds or
	// does not run. "" when every step must succeed.
	fails string
}

// run runs the pipeline and returns the results of every task that ran; a
// task its when expressions skip has no entry.
func (r pipelineRun) run(t *testing.T) map[string]map[string]string {
	t.Helper()
	params := maps.Clone(r.params)
	for _, ps := range r.p.Spec.Params {
		if _, ok := params[ps.Name]; !ok && ps.Default != nil {
			params[ps.Name] = ps.Default.StringVal
		}
	}
	results := map[string]map[string]string{}
	resolve := func(s string) string {
		s = pipelineParamRef.ReplaceAllStringFunc(s, func(v string) string {
			name := pipelineParamRef.FindStringSubmatch(v)[1]
			value, ok := params[name]
			if !ok {
				t.Fatalf("no value for pipeline param %s", name)
			}
			return value
		})
		return taskResultRef.ReplaceAllStringFunc(s, func(v string) string {
			m := taskResultRef.FindStringSubmatch(v)
			value, ok := results[m[1]][m[2]]
			if !ok {
				t.Fatalf("%s: not produced (yet)", v)
			}
			return value
		})
	}
	for _, pt := range r.p.Spec.Tasks {
		task, embedded := localTask(t, pt), embeddedTask(pt)
		if task == nil && r.catalog == nil {
			continue
		}
		var when v1.WhenExpressions
		for _, we := range pt.When {
			if we.CEL != "" {
				t.Fatalf("%s: CEL when expressions are not emulated", pt.Name)
			}
			values := make([]string, len(we.Values))
			for i, v := range we.Values {
				values[i] = resolve(v)
			}
			when = append(when, v1.WhenExpression{Input: resolve(we.Input), Operator: we.Operator, Values: values})
		}
		if !when.AllowsExecution(nil) {
			t.Logf("%s: skipped (when %+v)", pt.Name, when)
			continue
		}
		taskBound := map[string]string{}
		for _, w := range pt.Workspaces {
			if dir, ok := r.bound[w.Workspace]; ok {
				taskBound[w.Name] = dir
			}
		}
		if task == nil && embedded == nil {
			given := map[string]string{}
			for _, param := range pt.Params {
				if param.Value.Type != v1.ParamTypeString {
					t.Fatalf("%s: param %s is not a string; the catalog tasks' emulations take strings", pt.Name, param.Name)
				}
				given[param.Name] = resolve(param.Value.StringVal)
			}
			results[pt.Name] = r.catalog(t, pt, given, taskBound)
			t.Logf("%s: %v", pt.Name, results[pt.Name])
			continue
		}
		var given v1.Params
		for _, param := range pt.Params {
			v := param.Value
			v.StringVal = resolve(v.StringVal)
			arr := make([]string, len(v.ArrayVal))
			for i, a := range v.ArrayVal {
				arr[i] = resolve(a)
			}
			v.ArrayVal = arr
			given = append(given, v1.Param{Name: param.Name, Value: v})
		}
		if embedded == nil {
			results[pt.Name] = runStepBound(t, task, given, taskBound, r.sec)
			t.Logf("%s: %v", pt.Name, results[pt.Name])
			continue
		}
		got, err := runScriptTask(t, embedded, given, taskBound, r.sec)
		switch {
		case pt.Name == r.fails && err != nil:
			t.Logf("%s failed, as it should: %v", pt.Name, err)
			return results
		case pt.Name == r.fails:
			t.Fatalf("%s succeeded; it should fail", pt.Name)
		case err != nil:
			t.Fatal(err)
		}
		results[pt.Name] = got
		t.Logf("%s: %v", pt.Name, got)
	}
	if r.fails != "" {
		t.Fatalf("%s did not run; it should fail", r.fails)
	}
	return results
}

// runScriptTask runs an embedded task's one step, a script on a third-party
// image, with this machine's sh and tools (imageEnv), as a TaskRun with the
// given params would: params, workspaces and results substituted in its env
// and script (Tekton substitutes them in a script's text too; the
// pipelines' scripts hold none, TestPipelinesScripts checks), the env
// resolved with sec, the script run as Tekton runs it — one without a
// shebang under /bin/sh with set -e first — in its workingDir, else a
// directory of its own. It returns the results the task declares, or the
// step's error when it fails.
func runScriptTask(t *testing.T, task *v1.Task, given v1.Params, bound map[string]string, sec secrets) (map[string]string, error) {
	t.Helper()
	if len(task.Spec.Steps) != 1 || task.Spec.Steps[0].Script == "" {
		t.Fatalf("%s: only one script step is emulated", task.Name)
	}
	s := prepareStep(t, task, given, bound, sec)
	script := s.script
	switch {
	case strings.HasPrefix(script, "#!/bin/sh\n"):
	case strings.HasPrefix(script, "#!"):
		t.Fatalf("%s: %s: only sh scripts are emulated", task.Name, strings.SplitN(script, "\n", 2)[0])
	default:
		script = "#!/bin/sh\nset -e\n" + script // Tekton's default preamble
	}
	cmd := shCommand(t, script)
	cmd.Dir, cmd.Env = cmp.Or(s.dir, t.TempDir()), imageEnv(t, s.env)
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", task.Name, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", task.Name, err, out)
	}
	got := map[string]string{}
	for _, name := range s.names {
		got[name] = readFile(t, filepath.Join(s.results, name))
	}
	return got, nil
}

var (
	// tektonVariable is anything Tekton substitutes; paramRef a param.
	tektonVariable = regexp.MustCompile(`\$\((params|tasks|context|workspaces|results|steps)[.\[][^)]*\)`)
	paramRef       = regexp.MustCompile(`^\$\(params\.([a-z0-9-]+)\)$`)
)

// TestPipelinesCatalogScripts keeps the scripts handed to catalog tasks (the
// synthesis's git-cli GIT_SCRIPT) fixed texts: no param, result or context
// variable is substituted into a shell script.
func TestPipelinesCatalogScripts(t *testing.T) {
	scripts := 0
	for _, tc := range pipelines {
		p := loadPipeline(t, tc.file)
		for _, pt := range p.Spec.Tasks {
			if localTask(t, pt) != nil {
				continue
			}
			for _, param := range pt.Params {
				if !strings.Contains(strings.ToUpper(param.Name), "SCRIPT") {
					continue
				}
				scripts++
				if v := tektonVariable.FindString(param.Value.StringVal); v != "" {
					t.Errorf("%s: task %s substitutes %s into its param %s", tc.file, pt.Name, v, param.Name)
				}
			}
		}
	}
	if scripts == 0 {
		t.Error("no catalog script found; the synthesis pipeline commits with git-cli's GIT_SCRIPT")
	}
}

// TestPipelinesScripts checks the pipelines' own steps on third-party images,
// their embedded tasks' (the synthesis's open-pull-request, on curl;
// TestPipelineSynthesisProposes runs it), as TestArgoScripts checks Argo's
// (checkScriptStep), and as every container tightnet ships (checkHardened).
func TestPipelinesScripts(t *testing.T) {
	found := 0
	for _, tc := range pipelines {
		for _, pt := range loadPipeline(t, tc.file).Spec.Tasks {
			task := embeddedTask(pt)
			if task == nil {
				continue
			}
			found++
			t.Run(tc.file+"/"+pt.Name, func(t *testing.T) {
				if len(task.Spec.Steps) != 1 {
					t.Fatalf("%d steps, want one", len(task.Spec.Steps))
				}
				step := task.Spec.Steps[0]
				if step.Script == "" || len(step.Command) > 0 || len(step.Args) > 0 {
					t.Errorf("an embedded step runs a script, with no command or args")
				}
				var inputs []string
				for _, ps := range task.Spec.Params {
					inputs = append(inputs, ps.Name)
				}
				checkScriptStep(t, scriptStep{image: step.Image, source: step.Script, env: step.Env, inputs: inputs,
					anyVar: tektonVariable, inputRef: paramRef})
				checkHardened(t, "step "+step.Name, step.SecurityContext, step.Env)
			})
		}
	}
	if found == 0 {
		t.Error("no embedded task; the synthesis pipeline opens its pull request with one")
	}
}

// TestSynthesisOpensPullRequestsAlike keeps the synthesis pipeline's
// open-pull-request the Argo flow's template of that name, so both engines
// open the pull request alike: the same image, script (the Tekton one's
// after its #!/bin/sh), params and their defaults, env — parameters
// compared by name — and security context.
func TestSynthesisOpensPullRequestsAlike(t *testing.T) {
	// step is what the two must share; a parameter reference (standing
	// alone, as checkScriptStep wants it) is <name>.
	type step struct {
		Image, Script   string
		Params          map[string]string // name → default, "" when required
		Env             []corev1.EnvVar
		SecurityContext *corev1.SecurityContext
	}
	normalize := func(env []corev1.EnvVar, ref *regexp.Regexp) []corev1.EnvVar {
		out := make([]corev1.EnvVar, len(env))
		for i, e := range env {
			e = *e.DeepCopy()
			e.Value = ref.ReplaceAllString(e.Value, "<$1>")
			if k := e.ValueFrom; k != nil && k.SecretKeyRef != nil {
				k.SecretKeyRef.Name = ref.ReplaceAllString(k.SecretKeyRef.Name, "<$1>")
				k.SecretKeyRef.Key = ref.ReplaceAllString(k.SecretKeyRef.Key, "<$1>")
			}
			out[i] = e
		}
		return out
	}
	var tekton step
	for _, pt := range loadPipeline(t, "synthesize-pipeline.yaml").Spec.Tasks {
		if task := embeddedTask(pt); pt.Name == "open-pull-request" && task != nil && len(task.Spec.Steps) == 1 {
			s := task.Spec.Steps[0]
			script, ok := strings.CutPrefix(s.Script, "#!/bin/sh\n")
			if !ok {
				t.Errorf("the Tekton script does not start with #!/bin/sh")
			}
			tekton = step{Image: s.Image, Script: script, Params: map[string]string{},
				Env: normalize(s.Env, paramRef), SecurityContext: s.SecurityContext}
			for _, ps := range task.Spec.Params {
				if tekton.Params[ps.Name] = ""; ps.Default != nil {
					tekton.Params[ps.Name] = ps.Default.StringVal
				}
			}
		}
	}
	ns, _, _ := loadArgo(t)
	tmpl := ns["tightnet-synthesize-policies"].GetTemplateByName("open-pull-request")
	if tekton.Params == nil || tmpl == nil || tmpl.Script == nil {
		t.Fatal("no open-pull-request script step in the Tekton pipeline or the Argo flow")
	}
	argo := step{Image: tmpl.Script.Image, Script: tmpl.Script.Source, Params: map[string]string{},
		Env: normalize(tmpl.Script.Env, inputRef), SecurityContext: tmpl.Script.SecurityContext}
	for _, p := range tmpl.Inputs.Parameters {
		if argo.Params[p.Name] = ""; p.Default != nil {
			argo.Params[p.Name] = p.Default.String()
		}
	}
	if diff := gocmp.Diff(argo, tekton); diff != "" {
		t.Errorf("open-pull-request differs (-argo +tekton):\n%s", diff)
	}
}

var expectedFiles = map[string][]string{
	"apply-pipeline.yaml":      {"tightnet/apply.json"},
	"review-pipeline.yaml":     {"tightnet/report.md", "tightnet/diff.json", "tightnet/verification.json", "tightnet/synthesis/policies.yaml"},
	"synthesize-pipeline.yaml": {"repo/networkpolicies/tightnet/policies.yaml", "tightnet/topology.json"},
}
