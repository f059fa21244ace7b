package imagebuild

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Images lists the images built from a module root: one per directory under
// images/ except the builder itself. images/tightnet is "tightnet", every
// other is "tightnet-<dir>"; the action image runs as root.
func Images(root string) ([]Spec, error) {
	ents, err := os.ReadDir(filepath.Join(root, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w; run from the module root or pass --dir", err)
	}
	var specs []Spec
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "builder" {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "images", e.Name(), "main.go")); err != nil {
			continue
		}
		s := Spec{Name: "tightnet-" + e.Name(), MainPackage: "./images/" + e.Name(), Dir: root, User: NonRoot}
		if e.Name() == "tightnet" {
			s.Name = "tightnet"
		}
		if e.Name() == "action" {
			s.User = Root
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// Main is the builder command: it builds every image under images/, writes
// them to --out, and with --push pushes them and, with --rewrite, points the
// YAML under tasks/, pipelines/ and actions/ at the pushed digests. It
// returns the process exit code.
//
// bundle, when not nil, builds the Tekton bundle of the tasks under the
// module root; it is built after the references are rewritten, so that it
// carries the pushed digests, written to --out as tightnet-tasks.tar and
// pushed as REGISTRY/tightnet-tasks:VERSION.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, bundle func(root string) (v1.Image, error)) int {
	fs := flag.NewFlagSet("builder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "dist/images", "directory for the OCI layout and tarballs")
	dir := fs.String("dir", ".", "module root")
	push := fs.String("push", "", "registry to push to, host[:port]/path (empty: do not push)")
	rewrite := fs.Bool("rewrite", false, "with --push, rewrite image references in tasks/, pipelines/ and actions/ to the pushed digests")
	version := fs.String("version", "v0.0.0-dev", "org.opencontainers.image.version label and tag")
	revision := fs.String("revision", "", "org.opencontainers.image.revision label (a commit)")
	source := fs.String("source", "https://github.com/tightnet/tightnet", "org.opencontainers.image.source label")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms")
	only := fs.String("only", "", "comma-separated image names to build (default: all)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *rewrite && *push == "" {
		fmt.Fprintln(stderr, "builder: --rewrite needs --push REGISTRY")
		return 2
	}
	if err := run(ctx, stdout, options{
		out: *out, dir: *dir, push: *push, rewrite: *rewrite, version: *version,
		labels:    map[string]string{LabelSource: *source, LabelRevision: *revision, LabelVersion: *version},
		platforms: *platforms, only: *only, bundle: bundle,
	}); err != nil {
		fmt.Fprintln(stderr, "builder:", err)
		return 2
	}
	return 0
}

type options struct {
	out, dir, push  string
	rewrite         bool
	version         string
	labels          map[string]string
	platforms, only string
	bundle          func(root string) (v1.Image, error)
}

func run(ctx context.Context, stdout io.Writer, o options) error {
	var plats []v1.Platform
	for _, s := range strings.Split(o.platforms, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("parse --platforms %q: %w", s, err)
		}
		plats = append(plats, *p)
	}
	created, err := SourceDateEpoch()
	if err != nil {
		return err
	}
	specs, err := Images(o.dir)
	if err != nil {
		return err
	}
	var names []string
	if o.only != "" {
		names = strings.Split(o.only, ",")
	}
	var built []Named
	for _, s := range specs {
		if names != nil && !slices.Contains(names, s.Name) {
			continue
		}
		s.Platforms, s.Labels, s.Created = plats, o.labels, created
		start := time.Now()
		idx, err := Build(ctx, s)
		if err != nil {
			return err
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "built %s:%s %s (%s)\n", s.Name, o.version, d, time.Since(start).Round(time.Second))
		built = append(built, Named{Name: s.Name, Tag: o.version, Index: idx})
	}
	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	if err := Write(o.out, built); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.out)
	if o.push == "" {
		return writeBundle(ctx, stdout, o)
	}
	pushed, err := Push(ctx, o.push, built)
	if err != nil {
		return err
	}
	refs := make(map[string]string, len(pushed))
	for _, n := range built {
		refs[n.Name] = pushed[n.Name].String()
		fmt.Fprintf(stdout, "pushed %s\n", pushed[n.Name])
	}
	if !o.rewrite {
		return writeBundle(ctx, stdout, o)
	}
	var dirs []string
	for _, d := range []string{"tasks", "pipelines", "actions"} {
		dirs = append(dirs, filepath.Join(o.dir, d))
	}
	changed, err := RewriteTree(dirs, refs)
	for _, f := range changed {
		fmt.Fprintf(stdout, "rewrote %s\n", f)
	}
	if err != nil {
		return err
	}
	return writeBundle(ctx, stdout, o)
}

// writeBundle builds the Tekton bundle, writes it beside the images and,
// when pushing, pushes it.
func writeBundle(ctx context.Context, stdout io.Writer, o options) error {
	if o.bundle == nil {
		return nil
	}
	img, err := o.bundle(o.dir)
	if err != nil {
		return fmt.Errorf("tekton bundle: %w", err)
	}
	tag, err := name.NewTag("tightnet-tasks:" + o.version)
	if err != nil {
		return fmt.Errorf("tekton bundle: %w", err)
	}
	if err := tarball.WriteToFile(filepath.Join(o.out, "tightnet-tasks.tar"), tag, img); err != nil {
		return fmt.Errorf("tekton bundle: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(o.out, "tightnet-tasks.tar"))
	if o.push == "" {
		return nil
	}
	ref, err := name.NewTag(strings.TrimSuffix(o.push, "/") + "/tightnet-tasks:" + o.version)
	if err != nil {
		return fmt.Errorf("tekton bundle: %w", err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push tekton bundle %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed %s@%s\n", ref.Context(), d)
	return nil
}
