package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/tightnet/tightnet/internal/model"
)

// StdinName is the file name of objects read from standard input ("-").
const StdinName = "<stdin>"

// DefaultMaxFileSize is the size limit Read applies when Options.MaxFileSize
// is 0.
const DefaultMaxFileSize = 64 << 20

// Finding codes of problems with the inputs. They are stable: pipelines and
// suppressions rely on them.
const (
	// CodeMalformed: a file or document is not valid YAML or JSON (syntax
	// error, not UTF-8 text, excessive aliasing, nesting too deep). Error.
	CodeMalformed = "input-malformed"
	// CodeInvalidObject: a document is valid YAML but not a Kubernetes object
	// tightnet can use: not a mapping, no apiVersion, kind or metadata.name,
	// or a field of the wrong type. Error.
	CodeInvalidObject = "input-invalid-object"
	// CodeUnsupportedVersion: a kind tightnet reads, in an API version it does
	// not read. The object is skipped. Warning.
	CodeUnsupportedVersion = "input-unsupported-version"
	// CodeDuplicate: a second object with the same kind, namespace and name;
	// the first one read is kept. Warning.
	CodeDuplicate = "input-duplicate"
	// CodeTooLarge: a file larger than Options.MaxFileSize is skipped. Warning.
	CodeTooLarge = "input-too-large"
	// CodeSymlinkEscape: a symlink inside a walked directory points outside
	// that directory and is skipped. Warning.
	CodeSymlinkEscape = "input-symlink-escape"
	// CodeSymlinkLoop: a symlink inside a walked directory leads back to a
	// directory being walked, or through a chain of links that never ends,
	// and is skipped. Warning.
	CodeSymlinkLoop = "input-symlink-loop"
	// CodeUnreadable: a file or directory found while walking a directory
	// cannot be read (permissions, dangling symlink). Error.
	CodeUnreadable = "input-unreadable"
	// CodeHelm: a Helm chart cannot be rendered (chart load error, missing
	// dependency, bad values file or --set, template error, missing required
	// value, values against the chart's schema); nothing of the chart is
	// read. Error.
	CodeHelm = "input-helm-error"
	// CodeKustomize: a kustomization cannot be built (broken kustomization,
	// missing resource, remote base, load outside its root); nothing of it
	// is read. Error.
	CodeKustomize = "input-kustomize-error"
)

// Options controls Read.
type Options struct {
	// Stdin is read when a path is "-".
	Stdin io.Reader
	// MaxFileSize is the largest file read, in bytes; 0 means
	// DefaultMaxFileSize. Larger files are skipped with a finding.
	MaxFileSize int64
	// Logger receives debug messages, such as objects of kinds tightnet does
	// not read; nil discards them.
	Logger *slog.Logger
	// Helm controls how Helm charts are rendered.
	Helm HelmOptions
}

// Read reads Kubernetes objects from paths: directories (walked recursively
// in name order, reading files ending .yaml, .yml or .json and skipping
// directories whose name starts with "."), single files (read whatever their
// extension), or "-" for opts.Stdin.
//
// A directory holding Chart.yaml is a Helm chart and is rendered (see
// HelmOptions); one holding kustomization.yaml, kustomization.yml or
// Kustomization is a kustomization and is built as kustomize build would.
// Either is read as a whole, in place of its files: nothing below it is read
// as plain YAML, and a chart or kustomization below it is part of it, not an
// input of its own. When a directory holds both, the kustomization wins. A
// kustomization that another kustomization found in the same inputs uses (a
// base or a component) is built only through it, unless it was named as a
// path itself.
//
// Symlinks below a directory are followed when they resolve inside that
// directory. A file reached by several paths (through symlinks, or named
// twice) is read once, under the path that involves no symlink if there is
// one, else under the first path met.
//
// Problems with the contents of the inputs are findings in the result. Read
// returns an error only when a path given cannot be read (it does not exist,
// say), when no path is given, or when ctx is cancelled; ctx is checked
// between files.
func Read(ctx context.Context, paths []string, opts Options) (*Objects, error) {
	if len(paths) == 0 {
		return nil, errors.New("read manifests: no path given; pass directories, files, or - for standard input")
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if _, _, err := opts.Helm.withDefaults(); err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	r := &reader{ctx: ctx, opts: opts, log: opts.Logger, seenDirs: map[string]bool{}, kustomizations: map[string]*kustomization{}}
	var files []inputFile
	for _, p := range paths {
		found, err := r.find(p)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	for _, f := range chooseFiles(r.dropBases(files)) {
		if err := r.cancelled(); err != nil {
			return nil, err
		}
		if err := r.readInput(f); err != nil {
			return nil, err
		}
	}
	if err := r.decodeAll(); err != nil {
		return nil, err
	}
	return r.assemble(), nil
}

// reader holds the state of one Read call.
type reader struct {
	ctx  context.Context
	opts Options
	log  *slog.Logger

	jobs     []job    // documents read, to decode
	objects  []object // decoded, in input order
	findings []model.Finding

	// seenDirs holds the resolved directories walked, so a symlink to a
	// directory already walked is not followed again.
	seenDirs  map[string]bool
	stdinSeen bool

	// kustomizations caches what each kustomization directory uses, by
	// resolved path.
	kustomizations map[string]*kustomization
}

// inputFile is a file to read.
type inputFile struct {
	display  string // the name in locations
	path     string // the name to open: as given, or resolved when found in a directory
	real     string // path with every symlink resolved; "" for stdin
	stdin    bool
	explicit bool // named by the user rather than found in a directory
	viaLink  bool // reached through a symlink below the root
	// render says that this is a directory to render rather than a file.
	render renderer
}

// chooseFiles keeps one inputFile per resolved path: the first one reached
// without a symlink, else the first one. Order is kept.
func chooseFiles(files []inputFile) []inputFile {
	best := make(map[string]int, len(files))
	for i, f := range files {
		if f.stdin {
			continue
		}
		if j, ok := best[f.real]; !ok || (files[j].viaLink && !f.viaLink) {
			best[f.real] = i
		}
	}
	out := make([]inputFile, 0, len(best)+1)
	for i, f := range files {
		if f.stdin || best[f.real] == i {
			out = append(out, f)
		}
	}
	return out
}

func (r *reader) finding(code string, sev model.Severity, loc model.Location, object, format string, args ...any) {
	r.findings = append(r.findings, model.Finding{
		Code:     code,
		Severity: sev,
		Message:  fmt.Sprintf(format, args...),
		Location: loc,
		Object:   object,
	})
}

func (r *reader) cancelled() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("read manifests: %w", err)
	}
	return nil
}

// find lists the files to read for one path the user gave.
func (r *reader) find(p string) ([]inputFile, error) {
	if err := r.cancelled(); err != nil {
		return nil, err
	}
	if p == "-" {
		if r.opts.Stdin == nil {
			return nil, errors.New("read manifests: path - names standard input, but there is none to read")
		}
		if r.stdinSeen {
			return nil, errors.New("read manifests: path - given more than once; standard input can be read only once")
		}
		r.stdinSeen = true
		return []inputFile{{display: StdinName, stdin: true, explicit: true}}, nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w; check the path, or pass - to read standard input", err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		// Absolute, so that the same file named in different ways is read
		// once, and symlinks below "." are seen to stay inside it.
		real, err = filepath.Abs(real)
	}
	if !info.IsDir() {
		if err != nil {
			// Such as /dev/fd/63 from a shell's process substitution, a
			// link to a pipe: open it by the name given.
			real = p
			if abs, absErr := filepath.Abs(p); absErr == nil {
				real = abs
			}
		}
		if render := rendererOfFile(filepath.Base(p)); render != renderNone && err == nil {
			// Chart.yaml or kustomization.yaml named on its own stands
			// for its directory, as helm and kustomize take it.
			dir := resolvedDir(filepath.Dir(p))
			return []inputFile{{display: displayName(filepath.Dir(p)), path: dir, real: dir, explicit: true, render: render}}, nil
		}
		return []inputFile{{display: displayName(p), path: p, real: real, explicit: true}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifests: resolve %s: %w", p, err)
	}
	r.seenDirs[real] = true
	var files []inputFile
	if err := r.walk(&files, real, p, real, false); err != nil {
		return nil, err
	}
	return files, nil
}

// walk lists the manifests below dir into files. dir is the path as the
// user sees it (the root as given, joined with the names below it); realDir
// is dir with every symlink resolved; root is the resolved root of the walk,
// outside which symlinks are not followed; viaLink says that dir was reached
// through a symlink.
func (r *reader) walk(files *[]inputFile, root, dir, realDir string, viaLink bool) error {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		if realDir == root {
			return fmt.Errorf("read manifests: %w; check the directory's permissions", err)
		}
		r.finding(CodeUnreadable, model.Error, model.Location{File: displayName(dir)}, "",
			"directory cannot be read and was skipped: %v; check its permissions", unwrapPath(err))
		// Entries read before the error are still walked.
	}
	if render := rendererOf(entries); render != renderNone {
		// A chart or kustomization is read whole; nothing below it is
		// walked.
		*files = append(*files, inputFile{display: displayName(dir), path: realDir, real: realDir,
			explicit: realDir == root, viaLink: viaLink, render: render})
		return nil
	}
	for _, e := range entries {
		if err := r.cancelled(); err != nil {
			return err
		}
		name := e.Name()
		p := filepath.Join(dir, name)
		display := displayName(p)
		realPath := filepath.Join(realDir, name)
		isDir, regular, link := e.IsDir(), e.Type().IsRegular(), e.Type()&fs.ModeSymlink != 0
		if link {
			var ok bool
			if realPath, isDir, regular, ok = r.followLink(root, p, display, name); !ok {
				continue
			}
		}
		switch {
		case isDir && strings.HasPrefix(name, "."):
			r.log.Debug("skipping hidden directory", "path", display)
		case isDir && link && within(realDir, realPath):
			r.finding(CodeSymlinkLoop, model.Warning, model.Location{File: display}, "",
				"symlink leads back to a directory being read and was not followed; remove the link or point it elsewhere")
		case isDir && link && r.seenDirs[realPath]:
			// Its files are read under another name.
			r.log.Debug("skipping symlink to a directory read already", "path", display)
		case isDir:
			// A directory reached without a symlink is always walked, even if
			// a symlink led to it before, so that its files get the names
			// without symlinks. There are no loops without symlinks, so
			// every directory is walked at most twice per root.
			r.seenDirs[realPath] = true
			if err := r.walk(files, root, p, realPath, viaLink || link); err != nil {
				return err
			}
		case regular && isManifestName(name):
			// Opened by its resolved name, checked above to lie below root.
			*files = append(*files, inputFile{display: display, path: realPath, real: realPath, viaLink: viaLink || link})
		default:
			r.log.Debug("skipping file", "path", display)
		}
	}
	return nil
}

// followLink resolves a symlink met while walking below root. ok is false
// when the link is not to be followed; a finding says why when the link
// looks like a manifest or leads to a directory.
func (r *reader) followLink(root, p, display, name string) (realPath string, isDir, regular, ok bool) {
	target, err := filepath.EvalSymlinks(p)
	if err == nil {
		target, err = filepath.Abs(target) // as root is
	}
	if err != nil {
		if !isManifestName(name) {
			r.log.Debug("skipping unresolvable symlink", "path", display, "err", err)
			return "", false, false, false
		}
		if _, statErr := os.Stat(p); errors.Is(statErr, syscall.ELOOP) {
			r.finding(CodeSymlinkLoop, model.Warning, model.Location{File: display}, "",
				"symlink chain never ends in a file and was skipped; fix or remove the link")
		} else {
			r.unreadable(display, err)
		}
		return "", false, false, false
	}
	info, err := os.Stat(target)
	if err != nil {
		r.unreadable(display, err)
		return "", false, false, false
	}
	isDir, regular = info.IsDir(), info.Mode().IsRegular()
	if !isDir && !isManifestName(name) {
		return "", false, false, false
	}
	if !within(target, root) {
		r.finding(CodeSymlinkEscape, model.Warning, model.Location{File: display}, "",
			"symlink points outside the directory being read and was skipped; pass its target as an input of its own if it should be read")
		return "", false, false, false
	}
	return target, isDir, regular, true
}

// readInput reads and parses one file. Only a file the user named can fail
// the read; problems with files found in directories are findings.
func (r *reader) readInput(f inputFile) error {
	switch f.render {
	case renderHelm:
		r.renderChart(f)
		return nil
	case renderKustomize:
		r.buildKustomization(f)
		return nil
	}
	var (
		data     []byte
		tooLarge bool
		err      error
	)
	if f.stdin {
		data, tooLarge, err = r.readLimited(r.opts.Stdin)
		if err != nil {
			return fmt.Errorf("read manifests: standard input: %w", err)
		}
	} else {
		data, tooLarge, err = r.readFile(f.path)
		if err != nil && f.explicit {
			return fmt.Errorf("read manifests: %w; check the file's permissions", err)
		}
		if err != nil {
			r.unreadable(f.display, err)
			return nil
		}
	}
	if tooLarge {
		r.finding(CodeTooLarge, model.Warning, model.Location{File: f.display}, "",
			"file is larger than %d bytes and was skipped; split it, or raise the size limit if it really is one manifest", r.opts.MaxFileSize)
		return nil
	}
	r.parse(f.display, data)
	return nil
}

// readFile reads a file of at most MaxFileSize bytes; tooLarge reports a
// larger one, which is not read.
func (r *reader) readFile(path string) (data []byte, tooLarge bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() && info.Size() > r.opts.MaxFileSize {
		return nil, true, nil
	}
	return r.readLimited(f)
}

// readLimited reads at most MaxFileSize bytes. Not every file has a size
// (pipes, /dev/stdin), so the limit is enforced while reading.
func (r *reader) readLimited(in io.Reader) (data []byte, tooLarge bool, err error) {
	data, err = io.ReadAll(io.LimitReader(in, r.opts.MaxFileSize+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > r.opts.MaxFileSize {
		return nil, true, nil
	}
	return data, false, nil
}

func (r *reader) unreadable(display string, err error) {
	r.finding(CodeUnreadable, model.Error, model.Location{File: display}, "",
		"file cannot be read and was skipped: %v; check that it exists and its permissions", unwrapPath(err))
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// finding's location already names.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// within reports whether path is dir or below it; both are resolved paths.
func within(path, dir string) bool {
	if path == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(path, dir)
}

func isManifestName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// displayName is how a path appears in locations: cleaned, with forward
// slashes, never made absolute.
func displayName(p string) string { return filepath.ToSlash(filepath.Clean(p)) }
