package imagebuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI label keys set on every image.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelTitle    = "org.opencontainers.image.title"
)

// Users the images run as.
const (
	NonRoot = 65532 // Tekton and Argo steps
	Root    = 0     // GitHub docker actions, which must write $GITHUB_OUTPUT
)

// CABundlePath is where the base layer puts the CA bundle; SSL_CERT_FILE
// points at it.
const CABundlePath = "/etc/ssl/certs/ca-certificates.crt"

// Spec describes one image.
type Spec struct {
	// Name is the image's repository name, e.g. "tightnet-connectivity".
	Name string
	// MainPackage is the Go package to build, relative to Dir, e.g.
	// "./images/connectivity". The binary is named after its last element.
	MainPackage string
	// Dir is the module root go build runs in; "" means the current directory.
	Dir string
	// Platforms to build; empty means linux/amd64 and linux/arm64.
	Platforms []v1.Platform
	// Labels are set on every image's config (source, revision, version).
	Labels map[string]string
	// User is the numeric uid (and gid) to run as: NonRoot or Root.
	User int
	// Created stamps file times and the config; the zero value means the
	// Unix epoch. See [SourceDateEpoch].
	Created time.Time
}

// DefaultPlatforms are the platforms built when a Spec names none.
var DefaultPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// SourceDateEpoch returns the time SOURCE_DATE_EPOCH names, or the zero
// time when it is unset.
func SourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse SOURCE_DATE_EPOCH %q: %w; set it to Unix seconds or unset it", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func (s Spec) created() time.Time {
	if s.Created.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return s.Created.UTC()
}

func (s Spec) platforms() []v1.Platform {
	if len(s.Platforms) == 0 {
		return DefaultPlatforms
	}
	return s.Platforms
}

// Binary is the name of the executable the spec builds.
func (s Spec) Binary() string { return path.Base(filepath.ToSlash(s.MainPackage)) }

// Entrypoint is where the binary lives in the image.
func (s Spec) Entrypoint() string { return "/usr/local/bin/" + s.Binary() }

// Build compiles the spec's main package for each platform and assembles a
// multi-platform image index.
func Build(ctx context.Context, s Spec) (v1.ImageIndex, error) {
	if s.Name == "" || s.MainPackage == "" {
		return nil, fmt.Errorf("build image: spec needs a Name and a MainPackage (got %q, %q)", s.Name, s.MainPackage)
	}
	tmp, err := os.MkdirTemp("", "imagebuild-")
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", s.Name, err)
	}
	defer os.RemoveAll(tmp)

	base, err := BaseLayer(s.created())
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", s.Name, err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range s.platforms() {
		bin := filepath.Join(tmp, p.OS+"-"+p.Architecture, s.Binary())
		if err := compile(ctx, s, p, bin); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("build image %s for %s: %w", s.Name, p, err)
		}
		app, err := layer([]entry{
			{name: "usr/", dir: true, mode: 0o755},
			{name: "usr/local/", dir: true, mode: 0o755},
			{name: "usr/local/bin/", dir: true, mode: 0o755},
			{name: strings.TrimPrefix(s.Entrypoint(), "/"), mode: 0o755, data: data},
		}, s.created())
		if err != nil {
			return nil, fmt.Errorf("build image %s for %s: %w", s.Name, p, err)
		}
		img, err := assemble(s, p, base, app)
		if err != nil {
			return nil, fmt.Errorf("build image %s for %s: %w", s.Name, p, err)
		}
		plat := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &plat},
		})
	}
	return idx, nil
}

// compile builds one static binary with go build.
func compile(ctx context.Context, s Spec, p v1.Platform, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build",
		"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=",
		"-o", out, s.MainPackage)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=readonly")
	if outb, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", s.MainPackage, p, err, outb)
	}
	return nil
}

// assemble stacks the layers on an empty OCI image and writes the config.
func assemble(s Spec, p v1.Platform, base, app v1.Layer) (v1.Image, error) {
	created := v1.Time{Time: s.created()}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "imagebuild: base (passwd, group, /tmp, CA bundle)"}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "imagebuild: go build " + s.MainPackage}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = created
	cf.Config = imageConfig(s)
	return mutate.ConfigFile(img, cf)
}

func imageConfig(s Spec) v1.Config {
	labels := map[string]string{LabelTitle: s.Name}
	for k, v := range s.Labels {
		labels[k] = v
	}
	c := v1.Config{
		Entrypoint: []string{s.Entrypoint()},
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"HOME=/home/nonroot",
			"SSL_CERT_FILE=" + CABundlePath,
		},
		WorkingDir: "/home/nonroot",
		Labels:     labels,
	}
	setUser(&c, s.User)
	return c
}

// setUser sets the uid:gid to run as and the matching HOME.
func setUser(c *v1.Config, uid int) {
	c.User = fmt.Sprintf("%d:%d", uid, uid)
	home := "/home/nonroot"
	if uid == Root {
		home = "/root"
	}
	for i, e := range c.Env {
		if strings.HasPrefix(e, "HOME=") {
			c.Env[i] = "HOME=" + home
		}
	}
}

// WithUser returns idx with every image's config set to run as uid (and
// gid); the layers are shared, so only configs and manifests change.
func WithUser(idx v1.ImageIndex, uid int) (v1.ImageIndex, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		setUser(&cf.Config, uid)
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			return nil, err
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	return out, nil
}
