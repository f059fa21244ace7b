package packaging

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// argoFiles are the WorkflowTemplates under pipelines/argo; each has its
// ClusterWorkflowTemplate variant in pipelines/argo/cluster.
var argoFiles = []string{"stages.yaml", "review-workflow.yaml", "synthesize-workflow.yaml", "apply-workflow.yaml"}

type templates map[string]*wfv1.WorkflowTemplate

func (ts templates) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if wt, ok := ts[name]; ok {
		return wt, nil
	}
	return nil, fmt.Errorf("no WorkflowTemplate %s", name)
}

type clusterTemplates map[string]*wfv1.ClusterWorkflowTemplate

func (ts clusterTemplates) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	if wt, ok := ts[name]; ok {
		return wt, nil
	}
	return nil, fmt.Errorf("no ClusterWorkflowTemplate %s", name)
}

func loadArgo(t *testing.T) (templates, clusterTemplates, map[string]string) {
	t.Helper()
	ns, cl, files := templates{}, clusterTemplates{}, map[string]string{}
	for _, f := range argoFiles {
		var wt wfv1.WorkflowTemplate
		readYAML(t, filepath.Join(repoRoot, "pipelines", "argo", f), &wt)
		ns[wt.Name] = &wt
		files[f] = wt.Name
		var cwt wfv1.ClusterWorkflowTemplate
		readYAML(t, filepath.Join(repoRoot, "pipelines", "argo", "cluster", f), &cwt)
		if cwt.Name != wt.Name {
			t.Errorf("cluster/%s is %s, want %s", f, cwt.Name, wt.Name)
		}
		cl[cwt.Name] = &cwt
	}
	return ns, cl, files
}

func TestArgoValidate(t *testing.T) {
	ns, cl, files := loadArgo(t)
	for f, name := range files {
		t.Run(f, func(t *testing.T) {
			if err := validate.ValidateWorkflowTemplate(ns, cl, ns[name], nil, validate.ValidateOpts{}); err != nil {
				t.Errorf("WorkflowTemplate: %v", err)
			}
			if err := validate.ValidateClusterWorkflowTemplate(ns, cl, cl[name], nil, validate.ValidateOpts{}); err != nil {
				t.Errorf("ClusterWorkflowTemplate: %v", err)
			}
			for _, labels := range []map[string]string{ns[name].Labels, cl[name].Labels} {
				if labels["app.kubernetes.io/version"] == "" {
					t.Error("no app.kubernetes.io/version label")
				}
			}
		})
	}
}

// TestArgoClusterVariants keeps each ClusterWorkflowTemplate the same as its
// WorkflowTemplate but for its templateRefs' clusterScope.
func TestArgoClusterVariants(t *testing.T) {
	ns, cl, _ := loadArgo(t)
	for name, wt := range ns {
		want := wt.Spec.DeepCopy()
		for _, tmpl := range want.Templates {
			if tmpl.DAG == nil {
				continue
			}
			for _, task := range tmpl.DAG.Tasks {
				if task.TemplateRef != nil {
					task.TemplateRef.ClusterScope = true
				}
			}
		}
		if diff := cmp.Diff(*want, cl[name].Spec); diff != "" {
			t.Errorf("cluster variant of %s differs (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(wt.ObjectMeta, cl[name].ObjectMeta); diff != "" {
			t.Errorf("cluster variant of %s has other metadata (-want +got):\n%s", name, diff)
		}
	}
}

// TestArgoContainers pins the stage templates to the stage images, and
// every container and script to non-root 65532; containers take arguments
// only (a script's command is its interpreter).
func TestArgoContainers(t *testing.T) {
	ns, _, _ := loadArgo(t)
	for name, wt := range ns {
		for _, tmpl := range wt.Spec.Templates {
			c := tmpl.Container
			switch {
			case tmpl.Script != nil:
				c = &tmpl.Script.Container
			case c == nil:
				continue
			case len(c.Command) > 0:
				t.Errorf("%s/%s sets command %v", name, tmpl.Name, c.Command)
			}
			checkHardened(t, name+"/"+tmpl.Name, c.SecurityContext, c.Env)
			if name == "tightnet-stages" && imageName(c.Image) == "" {
				t.Errorf("%s/%s runs %s, not a tightnet image", name, tmpl.Name, c.Image)
			}
		}
	}
}

var (
	argoVar = regexp.MustCompile(`\{\{(inputs\.parameters|workflow\.parameters|tasks\.[a-z0-9-]+\.outputs\.parameters)\.([a-z0-9-]+)\}\}`)
	// anyArgoVar is anything Argo substitutes; inputRef an input parameter.
	anyArgoVar = regexp.MustCompile(`\{\{[^}]*\}\}`)
	inputRef   = regexp.MustCompile(`^\{\{inputs\.parameters\.([a-z0-9-]+)\}\}$`)
)

// TestArgoScripts checks the flows' script steps — commit and open the pull
// request, on third-party images (git, curl; TestArgoSynthesisProposes runs
// them) — as STYLE.md asks of any shell (checkScriptStep), and that every
// output is a file the script writes.
func TestArgoScripts(t *testing.T) {
	ns, _, _ := loadArgo(t)
	found := 0
	for name, wt := range ns {
		for _, tmpl := range wt.Spec.Templates {
			script := tmpl.Script
			if script == nil {
				continue
			}
			found++
			t.Run(name+"/"+tmpl.Name, func(t *testing.T) {
				var inputs []string
				for _, p := range tmpl.Inputs.Parameters {
					inputs = append(inputs, p.Name)
				}
				checkScriptStep(t, scriptStep{image: script.Image, source: script.Source, env: script.Env, inputs: inputs,
					anyVar: anyArgoVar, inputRef: inputRef})
				for _, p := range tmpl.Outputs.Parameters {
					if p.ValueFrom == nil || p.ValueFrom.Path == "" || !strings.Contains(script.Source, ">"+p.ValueFrom.Path) {
						t.Errorf("output %s is not read from a file the script writes", p.Name)
					}
				}
			})
		}
	}
	if found == 0 {
		t.Error("no script steps; the synthesis flow commits and opens its pull request with two")
	}
}

// TestArgoWorkflowsRun runs each flow's DAG, in order, on one workspace,
// with the Secrets of runSecrets: the checkouts are stood in for by copies
// of examples/review, every tightnet step runs against binaries built from
// this repository — the review's comment against a fake GitHub API, and the
// pull request must carry the report; the apply flow's step against the
// test's kube-apiserver, its kubeconfig Secret mounted as Kubernetes would.
// The flows' own steps on third-party images (checkout, commit,
// open-pull-request) are not run here: their arguments must match their
// inputs and their env must resolve. TestArgoSynthesisProposes runs them.
func TestArgoWorkflowsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	ns, _, _ := loadArgo(t)
	github := map[string]string{"repo-full-name": "acme/shop", "github-token-secret-name": "review-bot", "github-token-secret-key": "pat"}
	flows := []struct {
		name    string
		params  map[string]string
		comment bool // the flow comments tightnet/report.md on acme/shop#42
		live    func(t *testing.T, ws string) liveRun
	}{
		{"tightnet-pull-request-review", map[string]string{"repo-url": "https://example.com/app.git", "base-revision": "main", "head-revision": "pr", "path": "manifests", "baseline": "rules/baseline.yaml", "pull-request-number": "42"}, true, nil},
		{"tightnet-synthesize-policies", map[string]string{"repo-url": "https://example.com/app.git", "path": "manifests"}, false, nil},
		{"tightnet-apply-approved-policies", map[string]string{"repo-url": "https://example.com/app.git", "owner": "apply-argo"}, false,
			func(t *testing.T, ws string) liveRun {
				// The main branch (new/, checked out into repo/) holds the
				// approved policies; the kubeconfig is the administrator's.
				f := newApplyFixture(t, filepath.Join(ws, "new"), "apply-argo", "apply-argo")
				return liveRun{kubeconfig: f.adminKubeconfig(t), check: func(t *testing.T, results map[string]map[string]string) {
					f.checkApplied(t, results["apply"])
				}}
			}},
	}
	for _, flow := range flows {
		t.Run(flow.name, func(t *testing.T) {
			gh := newFakeGitHub(t)
			params := maps.Clone(flow.params)
			maps.Copy(params, github)
			params["github-api-url"] = gh.URL
			ws := workspace(t)
			sec := runSecrets
			var live liveRun
			if flow.live != nil {
				live = flow.live(t, ws)
				sec = maps.Clone(runSecrets)
				sec[kubeconfigSecret] = map[string]string{"kubeconfig": live.kubeconfig}
			}
			outputs := argoRun{templates: ns, flow: flow.name, params: params, ws: ws, sec: sec}.run(t)
			if flow.comment {
				checkReportComment(t, gh, "acme/shop", 42, readFile(t, filepath.Join(ws, "tightnet", "report.md")))
			} else if n := len(gh.Comments("acme/shop", 42)); n > 0 {
				t.Errorf("%d comments, want none", n)
			}
			if live.check != nil {
				live.check(t, outputs)
			}
		})
	}
}

// TestArgoSynthesisProposes runs tightnet-synthesize-policies whole, its
// own steps too, with this machine's sh, git and curl in place of their
// images (runThirdParty): checkout clones the application's main branch
// from a Git server on 127.0.0.1 (gitRemote), extract and synthesize write
// the proposal into the checkout, commit pushes it to the branch
// tightnet/proposed-policies with the token of the Secret the parameters
// name, and open-pull-request opens the pull request on the fake GitHub
// API. Run again while the pull request is open, the flow pushes nothing
// and opens no other; after a commit to main, it pushes the proposal onto
// the new main and still opens no other; once the pull request is merged,
// commit finds nothing to propose and open-pull-request does not run.
func TestArgoSynthesisProposes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	requireTools(t)
	ns, _, _ := loadArgo(t)
	const flow, repo, branch = "tightnet-synthesize-policies", "acme/shop", "tightnet/proposed-policies"
	policies := path.Join(ns[flow].Spec.Arguments.GetParameterByName("policies-dir").Value.String(), "policies.yaml")
	remote := newGitRemote(t, repo, map[string]string{"main": filepath.Join(workspace(t), "new")})
	gh := newFakeGitHub(t)
	gh.Remote(repo, remote)
	params := map[string]string{"repo-url": remote.URL, "path": "manifests", "repo-full-name": repo, "github-api-url": gh.URL,
		"github-token-secret-name": "review-bot", "github-token-secret-key": "pat"}
	// run runs the flow on a fresh workspace and returns its tasks' outputs
	// and the policies it synthesized.
	run := func(t *testing.T) (map[string]map[string]string, string) {
		t.Helper()
		ws := t.TempDir()
		outputs := argoRun{templates: ns, flow: flow, params: params, ws: ws, sec: runSecrets, thirdParty: true}.run(t)
		return outputs, readFile(t, filepath.Join(ws, "repo", policies))
	}
	var proposal string // the commit the branch points at
	if !t.Run("proposes", func(t *testing.T) {
		outputs, synthesized := run(t)
		if got := outputs["commit"]["changed"]; got != "true" {
			t.Errorf("commit's changed = %q, want true", got)
		}
		if proposal = remote.Branch(t, branch); proposal == "" {
			t.Fatalf("no branch %s on the remote", branch)
		}
		if _, ok := remote.File(t, "main", policies); ok {
			t.Errorf("main holds %s before the pull request is merged", policies)
		}
		if p := expectProposed(t, remote, gh, repo, branch, policies, synthesized); p.Body == "" {
			t.Errorf("pull request %+v has no body", p)
		}
	}) {
		return
	}
	if !t.Run("rerun with the pull request open", func(t *testing.T) {
		nextSecond()
		outputs, _ := run(t)
		if got := outputs["commit"]["changed"]; got != "true" {
			t.Errorf("commit's changed = %q, want true: the branch still proposes the policies", got)
		}
		if _, ok := outputs["open-pull-request"]; !ok {
			t.Error("open-pull-request did not run")
		}
		expectSettled(t, remote, gh, repo, branch, proposal, 1)
	}) {
		return
	}
	if !t.Run("rerun after main moved", func(t *testing.T) {
		remote.Commit(t, "main", "CONTRIBUTING.md", "Pull requests welcome.\n")
		outputs, _ := run(t)
		if got := outputs["commit"]["changed"]; got != "true" {
			t.Errorf("commit's changed = %q, want true", got)
		}
		if _, ok := outputs["open-pull-request"]; !ok {
			t.Error("open-pull-request did not run")
		}
		proposal = expectRebased(t, remote, gh, repo, branch, proposal, 2)
	}) {
		return
	}
	t.Run("rerun after the merge", func(t *testing.T) {
		remote.Merge(t, branch, "main")
		gh.Close(t, repo, gh.Pulls(repo)[0].Number)
		outputs, _ := run(t)
		if got := outputs["commit"]["changed"]; got != "false" {
			t.Errorf("commit's changed = %q, want false: main holds the policies", got)
		}
		if _, ok := outputs["open-pull-request"]; ok {
			t.Error("open-pull-request ran; its when should skip it")
		}
		expectSettled(t, remote, gh, repo, branch, proposal, 2)
	})
}

// argoRun is a run of a flow's DAG as the controller would run it: every
// task in the order listed (the order its depends allow), each step's
// parameters substituted, its when evaluated, its env resolved with the
// namespace's Secrets, and its volumes emulated by directories.
type argoRun struct {
	templates templates         // the WorkflowTemplates; templateRefs name tightnet-stages
	flow      string            // the flow's WorkflowTemplate
	params    map[string]string // the workflow's arguments; its defaults fill in the rest
	ws        string            // the workspace volume
	sec       secrets
	// thirdParty runs the flow's own steps on third-party images with this
	// machine's tools (runThirdParty). Without it they are stood in for:
	// their env must resolve, a checkout into other than old/ or new/ is a
	// copy of new/, and they have no outputs (nor is a when on them
	// evaluated).
	thirdParty bool
}

// run runs the DAG and returns the outputs of every task that ran; a task
// its when skips has no entry.
func (r argoRun) run(t *testing.T) map[string]map[string]string {
	t.Helper()
	wf, stagesTemplate := r.templates[r.flow], r.templates["tightnet-stages"]
	params := maps.Clone(r.params)
	for _, p := range wf.Spec.Arguments.Parameters {
		if _, ok := params[p.Name]; !ok && p.Value != nil {
			params[p.Name] = p.Value.String()
		}
	}
	outputs := map[string]map[string]string{}
	stoodIn := map[string]bool{}
	subst := func(s string, inputs map[string]string) string {
		return argoVar.ReplaceAllStringFunc(s, func(v string) string {
			m := argoVar.FindStringSubmatch(v)
			var value string
			var ok bool
			switch {
			case m[1] == "inputs.parameters":
				value, ok = inputs[m[2]]
			case m[1] == "workflow.parameters":
				value, ok = params[m[2]]
			default:
				value, ok = outputs[strings.Split(m[1], ".")[1]][m[2]]
			}
			if !ok {
				t.Fatalf("%s: no value", v)
			}
			return value
		})
	}
	entry := wf.GetTemplateByName(wf.Spec.Entrypoint)
	for _, task := range entry.DAG.Tasks {
		owner, tmplName := wf, task.Template
		if task.TemplateRef != nil {
			owner, tmplName = stagesTemplate, task.TemplateRef.Template
		}
		tmpl := owner.GetTemplateByName(tmplName)
		if tmpl == nil {
			t.Fatalf("%s: no template %s in %s", task.Name, tmplName, owner.Name)
		}
		inputs := map[string]string{}
		for _, p := range tmpl.Inputs.Parameters {
			if p.Default != nil {
				inputs[p.Name] = p.Default.String()
			}
		}
		for _, p := range task.Arguments.Parameters {
			if tmpl.Inputs.GetParameterByName(p.Name) == nil {
				t.Errorf("%s passes %s an argument %q it does not take", task.Name, tmpl.Name, p.Name)
			}
			inputs[p.Name] = subst(p.Value.String(), nil)
		}
		for _, p := range tmpl.Inputs.Parameters {
			if _, ok := inputs[p.Name]; !ok {
				t.Errorf("%s does not pass %s's input %q, which has no default", task.Name, tmpl.Name, p.Name)
			}
		}
		if task.When != "" && !refersTo(task.When, stoodIn) {
			when := subst(task.When, nil)
			ok, err := argoWhen(when)
			if err != nil {
				t.Fatalf("%s: when %q: %v", task.Name, task.When, err)
			}
			if !ok {
				t.Logf("%s: skipped (when %s)", task.Name, when)
				continue
			}
		}
		expand := func(s string) string { return subst(s, inputs) }
		if task.TemplateRef == nil {
			// the flow's own step on a third-party image
			if r.thirdParty {
				outputs[task.Name] = runThirdParty(t, tmpl, expand, r.ws, r.sec)
				t.Logf("%s: %v", task.Name, outputs[task.Name])
				continue
			}
			// stood in for: its env must resolve as the controller would,
			// with the Secret it names
			c := tmpl.Container
			if tmpl.Script != nil {
				c = &tmpl.Script.Container
			}
			containerEnv(t, c.Env, expand, r.sec)
			if dir := inputs["dir"]; tmpl.Name == "checkout" && dir != "old" && dir != "new" {
				copyDir(t, filepath.Join(r.ws, "new"), filepath.Join(r.ws, dir))
			}
			stoodIn[task.Name] = true
			continue
		}
		results := t.TempDir()
		mounts := secretMounts(t, tmpl, expand, r.sec)
		local := func(s string) string {
			s = expand(s)
			for mount, dir := range mounts {
				s = strings.ReplaceAll(s, mount, dir)
			}
			s = strings.ReplaceAll(s, "/tightnet/results", results)
			return strings.ReplaceAll(s, "/workspace", r.ws)
		}
		var cargs []string
		for _, a := range tmpl.Container.Args {
			cargs = append(cargs, local(a))
		}
		var names []string
		if tmpl.Outputs.Parameters != nil {
			for _, p := range tmpl.Outputs.Parameters {
				if want := "/tightnet/results/" + p.Name; p.ValueFrom == nil || p.ValueFrom.Path != want {
					t.Errorf("%s output %s not read from %s", tmpl.Name, p.Name, want)
				}
				names = append(names, p.Name)
			}
		}
		env := containerEnv(t, tmpl.Container.Env, local, r.sec)
		outputs[task.Name] = runImage(t, tmpl.Container.Image, cargs, local(tmpl.Container.WorkingDir), env, results, names)
		t.Logf("%s: %v", task.Name, outputs[task.Name])
	}
	return outputs
}

// refersTo reports whether s refers to the outputs of one of tasks.
func refersTo(s string, tasks map[string]bool) bool {
	for _, m := range argoVar.FindAllStringSubmatch(s, -1) {
		if name, ok := strings.CutPrefix(m[1], "tasks."); ok && tasks[strings.Split(name, ".")[0]] {
			return true
		}
	}
	return false
}

// argoWhen evaluates a task's when, its variables substituted, as the
// controller's govaluate does the forms the flows use: A == B and A != B,
// bare words compared as strings.
func argoWhen(when string) (bool, error) {
	f := strings.Fields(when)
	if len(f) != 3 || (f[1] != "==" && f[1] != "!=") {
		return false, fmt.Errorf("only A == B and A != B are emulated")
	}
	return (f[0] == f[2]) == (f[1] == "=="), nil
}

// entrypoints are the entrypoints of the third-party images the flows run
// with arguments, by repository.
var entrypoints = map[string]string{"alpine/git": "git"}

// gitCloneRevision reports whether this machine's git clone takes
// --revision, as git 2.49 and later (the flows' alpine/git:v2.49.1) do.
var gitCloneRevision = sync.OnceValue(func() bool {
	out, _ := exec.Command("git", "clone", "-h").CombinedOutput()
	return strings.Contains(string(out), "--revision")
})

// runThirdParty runs a flow's own step on a third-party image with this
// machine's tools, as its container would: a script template's source,
// written to a file, with its command (sh), as Argo runs a script; a
// container's arguments with the image's entrypoint. The env is the one
// the template declares (containerEnv) in the image's (imageEnv); the
// workspace volume is ws and each emptyDir volume a directory of the
// test's, their mount paths mapped in the env, arguments and script text
// alike (no other volume is emulated); the step runs in its workingDir,
// else a directory of its own. It returns the output parameters, read from
// the files they name as Argo reads them (one trailing newline dropped),
// and fails the test when the step fails.
func runThirdParty(t *testing.T, tmpl *wfv1.Template, expand func(string) string, ws string, sec secrets) map[string]string {
	t.Helper()
	c := tmpl.Container
	if tmpl.Script != nil {
		c = &tmpl.Script.Container
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		switch {
		case m.Name == "workspace":
			mounts[m.MountPath] = ws
		case slices.ContainsFunc(tmpl.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name && v.EmptyDir != nil }):
			mounts[m.MountPath] = t.TempDir()
		default:
			t.Fatalf("%s: volume %s is not emulated", tmpl.Name, m.Name)
		}
	}
	local := func(s string) string {
		for mount, dir := range mounts {
			s = strings.ReplaceAll(s, mount, dir)
		}
		return s
	}
	env := imageEnv(t, containerEnv(t, c.Env, func(s string) string { return local(expand(s)) }, sec))
	dir := local(expand(c.WorkingDir))
	if dir == "" {
		dir = t.TempDir()
	}
	var cmd *exec.Cmd
	if tmpl.Script != nil {
		if !slices.Equal(c.Command, []string{"sh"}) {
			t.Fatalf("%s runs %v; only sh scripts are emulated", tmpl.Name, c.Command)
		}
		cmd = shCommand(t, local(tmpl.Script.Source))
	} else {
		repo, _, _ := strings.Cut(c.Image, ":")
		entry, ok := entrypoints[repo]
		if !ok {
			t.Fatalf("%s runs %s, whose entrypoint is not known", tmpl.Name, c.Image)
		}
		var args []string
		for _, a := range c.Args {
			a = local(expand(a))
			if rev, ok := strings.CutPrefix(a, "--revision="); ok && entry == "git" && !gitCloneRevision() {
				// git before 2.49 has no clone --revision; for a branch,
				// --branch checks out the same commit
				a = "--branch=" + rev
			}
			args = append(args, a)
		}
		cmd = exec.Command(entry, args...)
	}
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tmpl.Name, err, out)
	}
	t.Logf("%s:\n%s", tmpl.Name, out)
	got := map[string]string{}
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom == nil || p.ValueFrom.Path == "" {
			t.Fatalf("%s: output %s is not read from a file", tmpl.Name, p.Name)
		}
		data, err := os.ReadFile(local(p.ValueFrom.Path))
		if err != nil {
			t.Fatalf("%s: output %s: %v", tmpl.Name, p.Name, err)
		}
		got[p.Name] = strings.TrimSuffix(string(data), "\n")
	}
	return got
}

// secretMounts maps the mount path of each of a template's volumes that is
// a Secret to a directory holding that Secret of sec, its name expanded as
// the controller would (see secretVolume). Mount paths must not nest.
func secretMounts(t *testing.T, tmpl *wfv1.Template, expand func(string) string, sec secrets) map[string]string {
	t.Helper()
	out := map[string]string{}
	if tmpl.Container == nil {
		return out
	}
	for _, m := range tmpl.Container.VolumeMounts {
		for _, v := range tmpl.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			out[m.MountPath] = secretVolume(t, sec, expand(v.Secret.SecretName), v.Secret.Optional != nil && *v.Secret.Optional)
		}
	}
	return out
}
