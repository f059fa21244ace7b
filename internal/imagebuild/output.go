package imagebuild

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Named is a built index and the name and tag it is stored and pushed under.
type Named struct {
	Name  string // repository name, e.g. "tightnet-connectivity"
	Tag   string // e.g. "v0.1.0"
	Index v1.ImageIndex
}

// Write stores images under dir: one OCI layout at dir/oci holding every
// index (annotated with its name:tag), and one docker-loadable tarball per
// image and platform at dir/<name>-<os>-<arch>.tar.
func Write(dir string, images []Named) error {
	p, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		return fmt.Errorf("write OCI layout in %s: %w", dir, err)
	}
	for _, n := range images {
		err := p.AppendIndex(n.Index, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": n.Name + ":" + n.Tag,
		}))
		if err != nil {
			return fmt.Errorf("write %s to OCI layout: %w", n.Name, err)
		}
		tag, err := name.NewTag(n.Name + ":" + n.Tag)
		if err != nil {
			return fmt.Errorf("write %s tarballs: %w", n.Name, err)
		}
		im, err := n.Index.IndexManifest()
		if err != nil {
			return fmt.Errorf("write %s tarballs: %w", n.Name, err)
		}
		for _, d := range im.Manifests {
			img, err := n.Index.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("write %s tarballs: %w", n.Name, err)
			}
			file := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.tar", n.Name, d.Platform.OS, d.Platform.Architecture))
			if err := tarball.WriteToFile(file, tag, img); err != nil {
				return fmt.Errorf("write %s: %w", file, err)
			}
		}
	}
	return nil
}

// Push writes each index to registry/<name>:<tag> and returns, by name, the
// digest reference it can be pulled by.
func Push(ctx context.Context, registry string, images []Named, opts ...remote.Option) (map[string]name.Digest, error) {
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	out := make(map[string]name.Digest, len(images))
	for _, n := range images {
		repo := strings.TrimSuffix(registry, "/") + "/" + n.Name
		tag, err := name.NewTag(repo + ":" + n.Tag)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w; REGISTRY should look like host[:port]/path", n.Name, err)
		}
		if err := remote.WriteIndex(tag, n.Index, opts...); err != nil {
			return nil, fmt.Errorf("push %s: %w", tag, err)
		}
		h, err := n.Index.Digest()
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", tag, err)
		}
		d, err := name.NewDigest(repo + "@" + h.String())
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", tag, err)
		}
		out[n.Name] = d
	}
	return out, nil
}

// imageRef matches an image reference whose last path element is tightnet or
// tightnet-<name>, with a tag, a digest or both, e.g.
// ghcr.io/tightnet/tightnet-action:v0.1.0 or
// 127.0.0.1:5000/x/tightnet-diff@sha256:<hex>.
var imageRef = regexp.MustCompile(`\b[a-z0-9][a-z0-9.-]*(?::[0-9]+)?(?:/[a-z0-9._-]+)*/(tightnet(?:-[a-z]+)?)((?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[0-9a-f]{64})?)\b`)

// RewriteReferences replaces every reference in data to an image named in
// refs (by repository name) with the reference refs gives.
func RewriteReferences(data []byte, refs map[string]string) []byte {
	return imageRef.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := imageRef.FindSubmatch(m)
		if len(sub[2]) == 0 {
			return m // a bare repository, not an image reference
		}
		if r, ok := refs[string(sub[1])]; ok {
			return []byte(r)
		}
		return m
	})
}

// RewriteTree applies RewriteReferences to every .yaml and .yml file under
// each of dirs and returns the files it changed, sorted.
func RewriteTree(dirs []string, refs map[string]string) ([]string, error) {
	var changed []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out := RewriteReferences(data, refs)
			if bytes.Equal(out, data) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			changed = append(changed, path)
			return os.WriteFile(path, out, info.Mode().Perm())
		})
		if err != nil && !os.IsNotExist(err) {
			return changed, fmt.Errorf("rewrite image references under %s: %w", dir, err)
		}
	}
	slices.Sort(changed)
	return changed, nil
}
