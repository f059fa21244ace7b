package manifest

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// renderer says how a directory is read: file by file, or as a whole by
// rendering a Helm chart or building a kustomization.
type renderer int

const (
	renderNone renderer = iota
	renderHelm
	renderKustomize
)

// chartFile marks a Helm chart's directory; helm requires this exact name.
const chartFile = "Chart.yaml"

// kustomizationFiles mark a kustomization's directory, as
// konfig.RecognizedKustomizationFileNames lists them.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// rendererOf says how to read the directory holding entries. A directory
// with both a kustomization and a Chart.yaml is a kustomization: the
// kustomization says how the directory is built.
func rendererOf(entries []fs.DirEntry) renderer {
	found := renderNone
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch rendererOfFile(e.Name()) {
		case renderKustomize:
			return renderKustomize
		case renderHelm:
			found = renderHelm
		}
	}
	return found
}

// rendererOfFile says which kind of directory a file named name marks.
func rendererOfFile(name string) renderer {
	switch {
	case slices.Contains(kustomizationFiles, name):
		return renderKustomize
	case name == chartFile:
		return renderHelm
	}
	return renderNone
}

// dropBases removes from files the kustomizations that another
// kustomization among them uses, directly or through others (its bases and
// components), so that each is built once, through the overlays that use it,
// rather than also on its own into the default namespace. Kustomizations the
// user named as paths are kept. Kustomizations that use each other in a
// cycle with no other way in are kept, so that building them reports the
// cycle.
func (r *reader) dropBases(files []inputFile) []inputFile {
	var dirs []string
	for _, f := range files {
		if f.render == renderKustomize {
			dirs = append(dirs, resolvedDir(f.real))
		}
	}
	if len(dirs) < 2 {
		return files
	}
	usedBy := map[string]string{} // input → an input using it
	for _, dir := range dirs {
		for _, u := range r.kustomizationsUsed(dir) {
			if _, ok := usedBy[u]; !ok && slices.Contains(dirs, u) {
				usedBy[u] = dir
			}
		}
	}
	// Inputs in a cycle use each other but are reached from no root.
	reached := map[string]bool{}
	for _, dir := range dirs {
		if _, used := usedBy[dir]; !used {
			for _, u := range r.kustomizationsUsed(dir) {
				reached[u] = true
			}
		}
	}
	out := files[:0:0]
	for _, f := range files {
		dir := resolvedDir(f.real)
		if user, used := usedBy[dir]; used && reached[dir] && !f.explicit {
			r.log.Debug("skipping kustomization used by another one among the inputs; it is built through that one",
				"path", f.display, "usedBy", relativize(user, dir, f.display))
			continue
		}
		out = append(out, f)
	}
	return out
}

// relativize replaces, in a message from Helm or kustomize, the absolute
// paths below dir's ancestors (dir is resolved) by the same paths relative to
// display, the name of dir in locations, so that messages do not depend on
// where the inputs lie on the machine.
func relativize(msg, dir, display string) string {
	for a, d := dir, display; ; a, d = filepath.Dir(a), path.Join(d, "..") {
		if filepath.Dir(a) == a {
			return msg // the file system root: leave the rest absolute
		}
		prefix := d + "/"
		if d == "." {
			prefix = ""
		}
		msg = strings.ReplaceAll(msg, a+string(filepath.Separator), prefix)
		msg = replaceWord(msg, a, d)
	}
}

// replaceWord replaces old by new in s where old is not followed by more of
// a path name.
func replaceWord(s, old, new string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		b.WriteString(s[:i])
		if end < len(s) && !strings.ContainsRune(` '":,;)]}`+"\n\t", rune(s[end])) {
			b.WriteString(old)
		} else {
			b.WriteString(new)
		}
		s = s[end:]
	}
}
