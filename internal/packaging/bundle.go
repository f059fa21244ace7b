package packaging

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"
)

// The Tekton bundle contract: an OCI image whose every layer is a tar of one
// file, a Tekton resource, annotated with the resource's apiVersion, kind
// (lowercase, singular) and name; at most maxBundleObjects layers.
const (
	annotationAPIVersion = "dev.tekton.image.apiVersion"
	annotationKind       = "dev.tekton.image.kind"
	annotationName       = "dev.tekton.image.name"
	maxBundleObjects     = 20
)

// Resource is one Tekton resource for a bundle: its YAML and identity.
type Resource struct {
	APIVersion string
	Kind       string
	Name       string
	YAML       []byte
}

// Tasks reads the Tasks of a catalog directory laid out as
// <dir>/<name>/<name>.yaml, sorted by directory name.
func Tasks(dir string) ([]Resource, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("tasks in %s: %w", dir, err)
	}
	var out []Resource
	for _, f := range files {
		if strings.TrimSuffix(filepath.Base(f), ".yaml") != filepath.Base(filepath.Dir(f)) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read task: %w", err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("read task %s: %w", f, err)
		}
		if head.Kind != "Task" || head.Metadata.Name == "" {
			return nil, fmt.Errorf("read task %s: kind %q name %q; want a named Task", f, head.Kind, head.Metadata.Name)
		}
		out = append(out, Resource{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, YAML: data})
	}
	return out, nil
}

// Bundle builds the Tekton bundle of resources, one layer each in order. Its
// digest depends only on the resources: timestamps are zero.
func Bundle(resources []Resource) (v1.Image, error) {
	if len(resources) > maxBundleObjects {
		return nil, fmt.Errorf("bundle: %d resources, more than Tekton's %d per bundle; split them", len(resources), maxBundleObjects)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, r := range resources {
		data, err := tarOf(strings.ToLower(r.Kind)+"-"+r.Name+".yaml", r.YAML)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", r.Name, err)
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", r.Name, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer: layer,
			Annotations: map[string]string{
				annotationAPIVersion: r.APIVersion,
				annotationKind:       strings.ToLower(r.Kind),
				annotationName:       r.Name,
			},
		})
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", r.Name, err)
		}
	}
	return img, nil
}

// tarOf is a tar holding one file, with fixed owner, mode and time.
func tarOf(name string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
