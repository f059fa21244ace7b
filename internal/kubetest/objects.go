package kubetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// ReadObjects parses every document of the .yaml, .yml and .json files
// under paths (files or directories), skipping empty documents.
func ReadObjects(t testing.TB, paths ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if ext := filepath.Ext(p); p != root && ext != ".yaml" && ext != ".yml" && ext != ".json" {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			objs, err := decode(data)
			if err != nil {
				return errors.New(p + ": " + err.Error())
			}
			out = append(out, objs...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Parse parses YAML or JSON documents.
func Parse(t testing.TB, text string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decode([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func decode(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// Client is a dynamic client with a REST mapper.
type Client struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
}

// Client returns a client of the server.
func (s *Server) Client(t testing.TB) *Client {
	t.Helper()
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// Resource maps an object to its resource, or reports that the server
// does not serve its kind.
func (c *Client) Resource(u *unstructured.Unstructured) (schema.GroupVersionResource, bool, bool) {
	gvk := u.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, false
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, true
}

// Serves reports whether the server serves every object's kind.
func (c *Client) Serves(objs []*unstructured.Unstructured) (unserved []string) {
	for _, u := range objs {
		if _, _, ok := c.Resource(u); !ok {
			unserved = append(unserved, u.GetAPIVersion()+" "+u.GetKind())
		}
	}
	return unserved
}

// Apply creates or updates the objects with server-side apply, as a test
// fixture (field manager "kubetest"): namespaces first, including those
// the objects are in but do not declare. The objects are deleted when the
// test ends; namespaces stay, as no controller would finalise them.
func (c *Client) Apply(t testing.TB, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	namespaces := map[string]bool{}
	var ordered []*unstructured.Unstructured
	for _, u := range objs {
		_, namespaced, ok := c.Resource(u)
		if !ok {
			t.Fatalf("the server does not serve %s %s", u.GetAPIVersion(), u.GetKind())
		}
		u = u.DeepCopy()
		if namespaced && u.GetNamespace() == "" {
			u.SetNamespace("default")
		}
		if namespaced {
			namespaces[u.GetNamespace()] = true
		}
		ordered = append(ordered, u)
	}
	for _, u := range ordered {
		if u.GetKind() == "Namespace" {
			delete(namespaces, u.GetName())
		}
	}
	// Namespaces the objects only refer to are created when missing, and
	// never applied: that would drop labels an earlier Apply gave them.
	nsResource := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName(ns)
		if _, err := c.Dynamic.Resource(nsResource).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	slices.SortStableFunc(ordered, func(a, b *unstructured.Unstructured) int {
		return boolRank(a.GetKind() != "Namespace") - boolRank(b.GetKind() != "Namespace")
	})
	for _, u := range ordered {
		gvr, _, _ := c.Resource(u)
		if _, err := c.Dynamic.Resource(gvr).Namespace(u.GetNamespace()).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "kubetest", Force: true}); err != nil {
			t.Fatalf("apply %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		if u.GetKind() == "Namespace" {
			continue
		}
		t.Cleanup(func() {
			// Background: orphaning would add a finalizer only the garbage
			// collector, which does not run here, removes.
			background := metav1.DeletePropagationBackground
			err := c.Dynamic.Resource(gvr).Namespace(u.GetNamespace()).Delete(context.Background(), u.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("clean up %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		})
	}
}

// DeleteAll deletes every object of a resource in a namespace ("" for a
// cluster-scoped one), for tests that leave objects an API call created.
func (c *Client) DeleteAll(t testing.TB, gvr schema.GroupVersionResource, namespace string) {
	t.Helper()
	err := c.Dynamic.Resource(gvr).Namespace(namespace).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
