package manifest

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/strvals"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/model"
)

// DefaultReleaseName is the Helm release name when HelmOptions.ReleaseName
// is "".
const DefaultReleaseName = "release"

// DefaultKubeVersion is the Kubernetes version Helm templates see in
// .Capabilities.KubeVersion when HelmOptions.KubeVersion is "": the version of
// the Kubernetes API types tightnet is built with (k8s.io/api v0.37).
const DefaultKubeVersion = "v1.37.0"

// HelmOptions controls how Helm charts are rendered.
//
// Charts are rendered in process with helm.sh/helm/v3, as helm template
// would: with the chart's values.yaml, then ValuesFiles, then Set; with the
// charts vendored in its charts/ directory (as directories or archives;
// nothing is downloaded); without a cluster (lookup returns nothing) and
// without DNS or any other network access. Every chart among the inputs is
// rendered with the same options. Hooks, helm test Pods included, are read
// like the other objects, as helm template prints them; the crds/ directory
// and NOTES.txt are not read.
type HelmOptions struct {
	// ReleaseName is .Release.Name; "" means DefaultReleaseName.
	ReleaseName string
	// Namespace is .Release.Namespace; "" means DefaultNamespace. Rendered
	// objects without metadata.namespace are in it, as helm install puts
	// them there.
	Namespace string
	// ValuesFiles are YAML files of values merged, in order, over each
	// chart's own (helm --values).
	ValuesFiles []string
	// Set are values in helm's --set syntax (a.b=c, list={x,y},
	// list[0].name=z), applied in order after ValuesFiles.
	Set []string
	// KubeVersion is .Capabilities.KubeVersion; "" means DefaultKubeVersion.
	KubeVersion string
}

// withDefaults fills in the defaults and checks the options that do not
// depend on a chart.
func (h HelmOptions) withDefaults() (HelmOptions, *chartutil.KubeVersion, error) {
	h.ReleaseName = cmp.Or(h.ReleaseName, DefaultReleaseName)
	h.Namespace = cmp.Or(h.Namespace, DefaultNamespace)
	if err := chartutil.ValidateReleaseName(h.ReleaseName); err != nil {
		return h, nil, fmt.Errorf("helm release name %q: %w; use lowercase letters, digits and -", h.ReleaseName, err)
	}
	kube, err := chartutil.ParseKubeVersion(cmp.Or(h.KubeVersion, DefaultKubeVersion))
	if err != nil {
		return h, nil, fmt.Errorf("kubernetes version %q for helm: %w; write it as v1.36.0", h.KubeVersion, err)
	}
	return h, kube, nil
}

// values merges ValuesFiles and Set as helm does: maps merge key by key,
// anything else is replaced.
func (h HelmOptions) values() (map[string]any, error) {
	vals := map[string]any{}
	for _, name := range h.ValuesFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("values file %s cannot be read: %w", displayName(name), unwrapPath(err))
		}
		var file any
		if err := sigsyaml.Unmarshal(data, &file); err != nil {
			return nil, fmt.Errorf("values file %s is not valid YAML: %s", displayName(name), trimYAMLPrefix(err.Error()))
		}
		switch file := file.(type) {
		case nil: // empty
		case map[string]any:
			vals = mergeValues(vals, file)
		default:
			kind := "a scalar"
			if _, ok := file.([]any); ok {
				kind = "a sequence"
			}
			return nil, fmt.Errorf("values file %s holds %s, not a mapping of values", displayName(name), kind)
		}
	}
	for _, s := range h.Set {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	return vals, nil
}

func mergeValues(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(dv, sv)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// templateError finds the template and line in a rendering error:
// "template: shop/templates/x.yaml:12:3: executing ...", "execution error at
// (shop/templates/x.yaml:12:3): ..." or "parse error at
// (shop/templates/x.yaml:12): ...".
var templateError = regexp.MustCompile(`(?:^template: |error (?:at|in) \()([^\s():]+)(?::(\d+))?`)

// renderChart renders the chart in f and queues its objects for decoding.
// Each object's File is the template it came from, as helm's "# Source:"
// comments name it, below the chart's directory (charts/shop plus
// templates/web.yaml, or charts/redis/templates/redis.yaml for a subchart);
// Line is the line in that template's rendered output, which matches the
// template's own lines only as far as the template adds or removes none.
func (r *reader) renderChart(f inputFile) {
	fail := func(loc model.Location, format string, args ...any) {
		r.finding(CodeHelm, model.Error, loc, "", format, args...)
	}
	at := model.Location{File: f.display}
	ch, err := loader.Load(f.path)
	if err != nil {
		fail(at, "Helm chart in %s cannot be loaded: %s; fix %s and the chart's files",
			f.display, relativize(err.Error(), f.path, f.display), chartFile)
		return
	}
	name := fmt.Sprintf("Helm chart %s in %s", ch.Name(), f.display)
	if ch.Metadata.Type == "library" {
		r.log.Debug("skipping Helm library chart: it renders no objects of its own", "path", f.display)
		return
	}
	if missing := missingDependencies(ch); len(missing) == 1 {
		fail(at, "%s was not rendered: dependency %s is declared in %s but missing from charts/; vendor it with helm dependency build (tightnet downloads nothing)",
			name, missing[0], chartFile)
		return
	} else if len(missing) > 1 {
		fail(at, "%s was not rendered: dependencies %s are declared in %s but missing from charts/; vendor them with helm dependency build (tightnet downloads nothing)",
			name, strings.Join(missing, ", "), chartFile)
		return
	}
	opts, kube, _ := r.opts.Helm.withDefaults() // checked by Read
	vals, err := opts.values()
	if err != nil {
		fail(at, "%s was not rendered: %v; fix the values", name, err)
		return
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		fail(at, "%s was not rendered: dependencies: %v", name, err)
		return
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kube
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, kube.String()) {
		fail(at, "%s was not rendered: it requires Kubernetes %s, and templates are rendered for %s; render it for a version it supports with --kube-version",
			name, c, kube)
		return
	}
	top, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name:      opts.ReleaseName,
		Namespace: opts.Namespace,
		Revision:  1,
		IsInstall: true,
	}, caps)
	if err != nil {
		fail(at, "%s was not rendered: %s; fix the values", name, oneLine(err.Error()))
		return
	}
	// The zero Engine has no cluster: lookup returns nothing, and DNS
	// functions return "".
	out, err := engine.Engine{}.Render(ch, top)
	if err != nil {
		loc := at
		if m := templateError.FindStringSubmatch(err.Error()); m != nil {
			if rel, ok := strings.CutPrefix(m[1], ch.Name()+"/"); ok {
				loc.File = path.Join(f.display, rel)
				loc.Line, _ = strconv.Atoi(m[2])
			}
		}
		fail(loc, "%s was not rendered: %s; fix the template, or give the values it needs with --values or --set",
			name, oneLine(err.Error()))
		return
	}
	for _, tpl := range slices.Sorted(maps.Keys(out)) {
		text := out[tpl]
		if strings.HasSuffix(tpl, "/NOTES.txt") || strings.TrimSpace(text) == "" {
			continue
		}
		file := f.display
		if rel, ok := strings.CutPrefix(tpl, ch.Name()+"/"); ok {
			file = path.Join(f.display, rel)
		}
		first := len(r.jobs)
		r.parse(file, []byte(text))
		for i := first; i < len(r.jobs); i++ {
			r.jobs[i].namespace = opts.Namespace
		}
	}
}

// missingDependencies lists the dependencies in Chart.yaml that are not in
// charts/, as helm install checks before rendering.
func missingDependencies(ch *chart.Chart) []string {
	var missing []string
	for _, dep := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(c *chart.Chart) bool { return c.Name() == dep.Name }) {
			missing = append(missing, dep.Name)
		}
	}
	return missing
}

// oneLine joins the lines of a message from Helm, which lists schema
// violations one a line.
func oneLine(msg string) string { return strings.Join(strings.Fields(msg), " ") }
