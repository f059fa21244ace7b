package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tightnet/tightnet/internal/model"
)

// Kustomizations are built in process with sigs.k8s.io/kustomize/api, as
// kustomize build (and kubectl kustomize) would with their default options:
// files are loaded only from within each kustomization's directory, plugins
// and the Helm chart inflator are off, and resources keep their input order.
//
// Nothing is fetched: a kustomization that uses a remote resource, base or
// component (an http(s) URL, a git repository such as
// github.com/org/repo//dir?ref=v1, or any other reference kustomize would
// clone or download) is refused with a finding before kustomize runs, so the
// read neither touches the network nor waits on it.
//
// Locations: kustomize's origin tracking (buildMetadata: [originAnnotations])
// is switched on for every build, whatever the kustomization says, and an
// object's File is the resource file it came from (such as
// overlays/prod/../../base/deployment.yaml, cleaned to base/deployment.yaml),
// or, for a generated object, the kustomization file whose generator made it.
// Kustomize does not say where in the file an object starts; Line is found
// by originLines, best effort. The origin annotation is removed again unless
// the kustomization asked for it.

// kustomization is what a kustomization file refers to, as far as reading
// the inputs needs to know before kustomize runs.
type kustomization struct {
	component bool
	// uses are the resolved directories of the kustomizations it uses
	// directly: its local bases and components (and generator,
	// transformer or validator kustomizations).
	uses []string
	// remote are the references kustomize would fetch or clone.
	remote []string
}

// kustomizationAt reads the kustomization in dir, an absolute resolved
// directory. Problems reading it are left for kustomize to report.
func (r *reader) kustomizationAt(dir string) *kustomization {
	if k, ok := r.kustomizations[dir]; ok {
		return k
	}
	k := &kustomization{}
	r.kustomizations[dir] = k
	var data []byte
	for _, name := range kustomizationFiles {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			data = b
			break
		}
	}
	var kust types.Kustomization
	if data == nil || sigsyaml.Unmarshal(data, &kust) != nil {
		return k
	}
	kust.FixKustomization() // bases into resources, envSource into envs
	k.component = kust.Kind == types.ComponentKind

	// Fields that may name a directory: another kustomization, local or
	// remote. Kustomize loads an entry of resources, generators,
	// transformers or validators as a file first (downloading an http(s)
	// URL), and only when that fails as a directory, or a git repository it
	// clones; components are always directories.
	dirs := slices.Concat(kust.Resources, kust.Generators, kust.Transformers, kust.Validators)
	for i, ref := range slices.Concat(dirs, kust.Components) {
		p := filepath.Join(dir, ref)
		info, err := os.Stat(p)
		isFile := err == nil && !info.IsDir() && i < len(dirs)
		switch {
		case isHTTP(ref) || !isFile && isRemote(ref):
			k.remote = append(k.remote, ref)
		case err != nil || !info.IsDir() || filepath.IsAbs(ref):
			// A file, an inline configuration, or a path kustomize
			// refuses or cannot find.
		default:
			if real := resolvedDir(p); !slices.Contains(k.uses, real) {
				k.uses = append(k.uses, real)
			}
		}
	}
	// Fields that name files, which kustomize downloads when they are
	// http(s) URLs.
	files := slices.Concat(kust.Crds, kust.Configurations, []string{kust.OpenAPI["path"]})
	for _, p := range kust.PatchesStrategicMerge {
		files = append(files, string(p))
	}
	for _, p := range slices.Concat(kust.Patches, kust.PatchesJson6902) {
		files = append(files, p.Path)
	}
	for _, p := range kust.Replacements {
		files = append(files, p.Path)
	}
	for _, g := range kust.ConfigMapGenerator {
		files = append(files, slices.Concat(g.FileSources, g.EnvSources)...)
	}
	for _, g := range kust.SecretGenerator {
		files = append(files, slices.Concat(g.FileSources, g.EnvSources)...)
	}
	for _, f := range files {
		_, value, _ := strings.Cut(f, "=") // a generator's [key=]path
		if isHTTP(f) || isHTTP(value) {
			k.remote = append(k.remote, f)
		}
	}
	return k
}

// kustomizationsUsed lists the kustomizations dir uses, directly or through
// others, in the order met, without dir itself.
func (r *reader) kustomizationsUsed(dir string) []string {
	var out []string
	queue := []string{dir}
	seen := map[string]bool{dir: true}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, u := range r.kustomizationAt(d).uses {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
				queue = append(queue, u)
			}
		}
	}
	return out
}

// remoteScheme matches the references kustomize treats as remote (see
// NewRepoSpecFromURL and IsRemoteFile in kustomize's loader): URLs of the
// schemes it fetches or clones, an scp-like user@host:path, and the
// github.com shorthand. A local directory named like one is cloned by
// kustomize all the same, so it is remote here too.
var remoteScheme = regexp.MustCompile(`(?i)^(?:git::)?(?:https?://|ssh://|file://|github\.com[/:]|[a-z][a-z0-9-]*@)`)

func isRemote(ref string) bool { return remoteScheme.MatchString(strings.TrimSpace(ref)) }

// httpScheme matches the files kustomize downloads (IsRemoteFile).
var httpScheme = regexp.MustCompile(`(?i)^https?://`)

func isHTTP(ref string) bool { return httpScheme.MatchString(strings.TrimSpace(ref)) }

// buildKustomization builds the kustomization in f and queues its objects
// for decoding.
func (r *reader) buildKustomization(f inputFile) {
	fail := func(format string, args ...any) {
		r.finding(CodeKustomize, model.Error, model.Location{File: f.display}, "", format, args...)
	}
	// Kustomize works on absolute paths, and reports them in errors.
	f.path = resolvedDir(f.path)
	k := r.kustomizationAt(f.path)
	if k.component {
		r.log.Debug("skipping kustomize Component that no kustomization among the inputs uses; components are built only as part of a kustomization", "path", f.display)
		return
	}
	for _, dir := range append([]string{f.path}, r.kustomizationsUsed(f.path)...) {
		if remote := r.kustomizationAt(dir).remote; len(remote) > 0 {
			where := ""
			if dir != f.path {
				where = " (through " + relativize(dir, f.path, f.display) + ")"
			}
			fail("kustomization %s was not built: it uses %q%s, which is remote; tightnet fetches nothing over the network: vendor it into the repository and refer to the local copy",
				f.display, remote[0], where)
			return
		}
	}
	fsys := &originFS{FileSystem: filesys.MakeFsOnDisk(), root: f.path}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, f.path)
	if err != nil {
		fail("kustomization %s was not built: %s; fix it (kustomize build %s reports the same)",
			f.display, relativize(strings.TrimSpace(err.Error()), f.path, f.display), f.display)
		return
	}
	locations := make([]model.Location, 0, resources.Size())
	lines := originLines{}
	for _, res := range resources.Resources() {
		loc := model.Location{File: f.display}
		if origin, err := res.GetOrigin(); err == nil && origin != nil && origin.Repo == "" {
			switch {
			case origin.Path != "":
				loc.File = displayName(filepath.Join(f.display, origin.Path))
				loc.Line = lines.object(filepath.Join(f.path, origin.Path), res.GetKind(), res.GetName())
			case origin.ConfiguredIn != "":
				loc.File = displayName(filepath.Join(f.display, origin.ConfiguredIn))
				loc.Line = lines.generator(filepath.Join(f.path, origin.ConfiguredIn), res.GetName())
			}
		}
		locations = append(locations, loc)
	}
	if !fsys.userOrigin {
		if err := resources.RemoveOriginAnnotations(); err != nil {
			fail("kustomization %s was not built: %v", f.display, err)
			return
		}
	}
	for i, res := range resources.Resources() {
		data, err := res.MarshalJSON()
		if err != nil {
			fail("kustomization %s: object %d of the build cannot be encoded: %v", f.display, i+1, err)
			continue
		}
		r.jobs = append(r.jobs, job{file: locations[i].File, text: data, isJSON: true, startLine: locations[i].Line, line: locations[i].Line})
	}
}

// originLines finds where built objects start in the files they came from,
// which kustomize does not say. An object is matched to the document of its
// kind in its file whose name is part of the object's name (a name prefix or
// suffix, or a generated name's hash, keep it whole), the longest such name
// winning; failing that, to the file's only document; else the line is 0.
type originLines map[string][]docHead // by file

type docHead struct {
	kind, name string
	line       int
}

func (c originLines) object(file, kind, name string) int {
	heads, ok := c[file]
	if !ok {
		heads = readHeads(file)
		c[file] = heads
	}
	best := docHead{}
	for _, h := range heads {
		if h.kind == kind && strings.Contains(name, h.name) && len(h.name) > len(best.name) {
			best = h
		}
	}
	if best.line == 0 && len(heads) == 1 {
		return heads[0].line
	}
	return best.line
}

// readHeads reads the kind, name and line of each document in a YAML file.
func readHeads(file string) []docHead {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var split reader // splitYAML only collects jobs
	split.splitYAML(file, data)
	var heads []docHead
	for _, j := range split.jobs {
		if j.longest > maxSafeLineLength {
			continue // see maxSafeLineLength
		}
		var h struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if sigsyaml.Unmarshal(j.text, &h) == nil && h.Metadata.Name != "" {
			heads = append(heads, docHead{kind: h.Kind, name: h.Metadata.Name, line: j.line})
		}
	}
	return heads
}

// generator finds the line of the configMapGenerator or secretGenerator
// entry in a kustomization file that made the object called name.
func (c originLines) generator(file, name string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	var doc yamlv3.Node
	if yamlv3.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yamlv3.MappingNode {
		return 0
	}
	top := doc.Content[0].Content
	best, line := "", 0
	for i := 0; i+1 < len(top); i += 2 {
		if top[i].Value != "configMapGenerator" && top[i].Value != "secretGenerator" {
			continue
		}
		for _, item := range top[i+1].Content {
			for j := 0; item.Kind == yamlv3.MappingNode && j+1 < len(item.Content); j += 2 {
				if n := item.Content[j+1].Value; item.Content[j].Value == "name" && strings.Contains(name, n) && len(n) > len(best) {
					best, line = n, item.Line
				}
			}
		}
	}
	return line
}

// originFS is the file system kustomize reads through. It adds
// originAnnotations to the buildMetadata of the root kustomization, so that
// every object built says which file it came from.
type originFS struct {
	filesys.FileSystem
	root string // the resolved directory being built
	// userOrigin says that the kustomization asked for origin annotations
	// itself, so they stay on the objects.
	userOrigin bool
}

func (o *originFS) ReadFile(name string) ([]byte, error) {
	data, err := o.FileSystem.ReadFile(name)
	if err != nil || filepath.Dir(name) != o.root || !slices.Contains(kustomizationFiles, filepath.Base(name)) {
		return data, err
	}
	var kust map[string]any
	if sigsyaml.Unmarshal(data, &kust) != nil || kust == nil {
		return data, nil // kustomize reports the error
	}
	metadata, ok := kust["buildMetadata"].([]any)
	if !ok && kust["buildMetadata"] != nil {
		return data, nil // kustomize reports the error
	}
	if slices.Contains(metadata, any(types.OriginAnnotations)) {
		o.userOrigin = true
		return data, nil
	}
	kust["buildMetadata"] = append(metadata, types.OriginAnnotations)
	out, err := sigsyaml.Marshal(kust)
	if err != nil {
		return nil, errors.Join(errors.New("enable origin annotations"), err)
	}
	return out, nil
}

// resolvedDir is dir made absolute, with every symlink resolved when it
// can be.
func resolvedDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir
}
