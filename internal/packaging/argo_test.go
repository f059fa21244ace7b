package packaging

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"github.com/google/go-cmp/cmp"
)

// argoFiles are the WorkflowTemplates under pipelines/argo; each has its
// ClusterWorkflowTemplate variant in pipelines/argo/cluster.
var argoFiles = []string{"stages.yaml", "review-workflow.yaml", "synthesize-workflow.yaml"}

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

// TestArgoContainers pins the stage templates to the stage images, run as
// non-root 65532, with arguments only.
func TestArgoContainers(t *testing.T) {
	ns, _, _ := loadArgo(t)
	for name, wt := range ns {
		for _, tmpl := range wt.Spec.Templates {
			c := tmpl.Container
			if c == nil {
				continue
			}
			if len(c.Command) > 0 {
				t.Errorf("%s/%s sets command %v", name, tmpl.Name, c.Command)
			}
			sc := c.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
				t.Errorf("%s/%s must run as non-root 65532", name, tmpl.Name)
			}
			if name == "tightnet-stages" && imageName(c.Image) == "" {
				t.Errorf("%s/%s runs %s, not a tightnet image", name, tmpl.Name, c.Image)
			}
		}
	}
}

var argoVar = regexp.MustCompile(`\{\{(inputs\.parameters|workflow\.parameters|tasks\.[a-z0-9-]+\.outputs\.parameters)\.([a-z0-9-]+)\}\}`)

// TestArgoWorkflowsRun runs each flow's DAG, in order, on one workspace: the
// checkouts are stood in for by copies of examples/review, every tightnet
// step runs against binaries built from this repository.
func TestArgoWorkflowsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage binaries")
	}
	ns, _, _ := loadArgo(t)
	stagesTemplate := ns["tightnet-stages"]
	flows := map[string]map[string]string{
		"tightnet-pull-request-review": {"repo-url": "https://example.com/app.git", "base-revision": "main", "head-revision": "pr", "path": "manifests", "baseline": "rules/baseline.yaml"},
		"tightnet-synthesize-policies": {"repo-url": "https://example.com/app.git", "path": "manifests"},
	}
	for name, params := range flows {
		t.Run(name, func(t *testing.T) {
			wf := ns[name]
			for _, p := range wf.Spec.Arguments.Parameters {
				if _, ok := params[p.Name]; !ok && p.Value != nil {
					params[p.Name] = p.Value.String()
				}
			}
			ws := workspace(t)
			outputs := map[string]map[string]string{}
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
				args := map[string]string{}
				for _, p := range task.Arguments.Parameters {
					args[p.Name] = subst(p.Value.String(), nil)
				}
				if task.TemplateRef == nil {
					// a checkout: the DAG's git clone, stood in for here
					if dir := args["dir"]; dir != "old" && dir != "new" {
						copyDir(t, filepath.Join(ws, "new"), filepath.Join(ws, dir))
					}
					continue
				}
				tmpl := stagesTemplate.GetTemplateByName(task.TemplateRef.Template)
				if tmpl == nil {
					t.Fatalf("%s: no template %s in tightnet-stages", task.Name, task.TemplateRef.Template)
				}
				inputs := map[string]string{}
				for _, p := range tmpl.Inputs.Parameters {
					if p.Default != nil {
						inputs[p.Name] = p.Default.String()
					}
				}
				for k, v := range args {
					if tmpl.Inputs.GetParameterByName(k) == nil {
						t.Errorf("%s passes %s an argument %q it does not take", task.Name, tmpl.Name, k)
					}
					inputs[k] = v
				}
				results := t.TempDir()
				local := func(s string) string {
					s = subst(s, inputs)
					s = strings.ReplaceAll(s, "/tightnet/results", results)
					return strings.ReplaceAll(s, "/workspace", ws)
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
				outputs[task.Name] = runImage(t, tmpl.Container.Image, cargs, local(tmpl.Container.WorkingDir), results, names)
				t.Logf("%s: %v", task.Name, outputs[task.Name])
			}
		})
	}
}
