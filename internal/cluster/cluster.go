// Package cluster connects to a live Kubernetes cluster: it reads what is
// deployed (namespaces, workloads, services, routes, NetworkPolicies and the
// admin tiers where their CRDs are served) into the same objects manifests
// are read into, so every stage evaluates a running cluster as it evaluates
// files.
//
// Input: a kubeconfig (or the in-cluster service account). Output:
// manifest.Objects. Secrets and ConfigMaps are never read. It depends on
// manifest and model only: evaluating what it reads is the callers' job.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
)

// Keyword is the input name that stands for the live cluster, as in
// "tightnet diff --base cluster proposed/".
const Keyword = "cluster"

// CodeUnreadable: a kind the cluster serves could not be listed (no
// permission, say); the analysis goes on without it. Warning.
const CodeUnreadable = "cluster-unreadable"

// Config says which cluster to talk to. Empty fields follow kubectl: the
// KUBECONFIG variable, then ~/.kube/config, then the in-cluster service
// account when running in a pod.
type Config struct {
	Kubeconfig string
	Context    string
	// Timeout bounds each request; 0 means 30 seconds.
	Timeout time.Duration
}

// Client talks to one cluster.
type Client struct {
	// Name is how locations name the cluster: "cluster:CONTEXT".
	Name      string
	REST      *rest.Config
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
}

// Connect builds a client from the configuration. It does not contact the
// cluster.
func Connect(cfg Config) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = cfg.Kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cfg.Context})
	restCfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no cluster configured: give --kubeconfig, set KUBECONFIG, or run in a pod with a service account")
		}
		return nil, fmt.Errorf("cluster configuration: %w", err)
	}
	name := cfg.Context
	if name == "" {
		if raw, err := loader.RawConfig(); err == nil && raw.CurrentContext != "" {
			name = raw.CurrentContext
		} else {
			name = "in-cluster"
		}
	}
	return NewClient("cluster:"+name, restCfg, cfg.Timeout)
}

// NewClient builds a client for a REST configuration.
func NewClient(name string, restCfg *rest.Config, timeout time.Duration) (*Client, error) {
	restCfg = rest.CopyConfig(restCfg)
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	restCfg.Timeout = timeout
	restCfg.UserAgent = "tightnet"
	// A plan keeps a few requests in flight; the server's priority and
	// fairness, not a client-side trickle, is what protects it.
	restCfg.QPS, restCfg.Burst = 200, 400
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster client: %w", err)
	}
	return &Client{Name: name, REST: restCfg, Dynamic: dyn, Discovery: disc}, nil
}

// resource is a kind Read lists.
type resource struct {
	gvr schema.GroupVersionResource
	// optional kinds are served by CRDs or by some distributions only;
	// they are skipped when the cluster does not serve them, and a
	// forbidden list is a warning rather than an error.
	optional bool
	// alternative names another version of the same kind listed in its
	// place when this one is served (ClusterNetworkPolicy v1beta1 over
	// v1alpha2).
	preferredOver string
	// skip drops objects that hold no traffic.
	skip func(*unstructured.Unstructured) bool
}

func gvr(group, version, res string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: res}
}

const policyGroup = "policy.networking.k8s.io"

// resources are what Read lists, in order.
var resources = []resource{
	{gvr: gvr("", "v1", "namespaces")},
	{gvr: gvr("", "v1", "pods"), skip: finishedPod},
	{gvr: gvr("", "v1", "replicationcontrollers")},
	{gvr: gvr("apps", "v1", "deployments")},
	{gvr: gvr("apps", "v1", "replicasets")},
	{gvr: gvr("apps", "v1", "statefulsets")},
	{gvr: gvr("apps", "v1", "daemonsets")},
	{gvr: gvr("batch", "v1", "jobs")},
	{gvr: gvr("batch", "v1", "cronjobs")},
	{gvr: gvr("", "v1", "services")},
	{gvr: gvr("networking.k8s.io", "v1", "networkpolicies")},
	{gvr: gvr("networking.k8s.io", "v1", "ingresses"), optional: true},
	{gvr: gvr("route.openshift.io", "v1", "routes"), optional: true},
	{gvr: gvr("gateway.networking.k8s.io", "v1", "httproutes"), optional: true},
	{gvr: gvr("gateway.networking.k8s.io", "v1", "grpcroutes"), optional: true},
	{gvr: gvr(policyGroup, "v1alpha1", "adminnetworkpolicies"), optional: true},
	{gvr: gvr(policyGroup, "v1alpha1", "baselineadminnetworkpolicies"), optional: true},
	{gvr: gvr(policyGroup, "v1beta1", "clusternetworkpolicies"), optional: true},
	{gvr: gvr(policyGroup, "v1alpha2", "clusternetworkpolicies"), optional: true, preferredOver: "v1beta1"},
}

// finishedPod reports a pod that has run to completion: it holds no
// address and takes no traffic.
func finishedPod(u *unstructured.Unstructured) bool {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	return phase == "Succeeded" || phase == "Failed"
}

// pageSize is how many objects one list request asks for.
const pageSize = 500

// Read lists the cluster's objects and decodes them as manifest.Read
// decodes files. Each object's location is "cluster:CONTEXT/RESOURCE/NAMESPACE/NAME".
func (c *Client) Read(ctx context.Context, opts manifest.Options) (*manifest.Objects, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	served, err := c.served()
	if err != nil {
		return nil, err
	}
	var todo []resource
	for _, r := range resources {
		if !served[r.gvr] {
			if !r.optional {
				return nil, fmt.Errorf("%s does not serve %s; is it a Kubernetes API server?", c.Name, describe(r.gvr))
			}
			continue
		}
		if r.preferredOver != "" && served[schema.GroupVersionResource{Group: r.gvr.Group, Version: r.preferredOver, Resource: r.gvr.Resource}] {
			continue
		}
		todo = append(todo, r)
	}
	// The kinds are listed at once, a few at a time; documents keep the
	// order of resources, so the read is deterministic.
	perKind := make([][]manifest.Document, len(todo))
	errs := make([]error, len(todo))
	sem := make(chan struct{}, listWorkers)
	var wg sync.WaitGroup
	for i, r := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = c.list(ctx, r, &perKind[i])
		})
	}
	wg.Wait()
	var docs []manifest.Document
	var findings []model.Finding
	for i, r := range todo {
		switch err := errs[i]; {
		case err == nil:
			docs = append(docs, perKind[i]...)
			log.Debug("cluster objects listed", "resource", describe(r.gvr), "count", len(perKind[i]))
		case r.optional && (apierrors.IsForbidden(err) || apierrors.IsNotFound(err)):
			findings = append(findings, model.Finding{
				Code:     CodeUnreadable,
				Severity: model.Warning,
				Message:  fmt.Sprintf("%s could not be listed (%v); the analysis goes on without them. Grant list on them to include them", describe(r.gvr), apierrors.ReasonForError(err)),
				Location: model.Location{File: c.Name},
			})
		default:
			return nil, c.explain("list "+describe(r.gvr), err)
		}
	}
	objs, err := manifest.ReadDocuments(ctx, docs, opts)
	if err != nil {
		return nil, err
	}
	objs.Findings = append(objs.Findings, findings...)
	slices.SortFunc(objs.Findings, model.CompareFindings)
	log.Info("cluster read", "cluster", c.Name, "objects", len(docs), "namespaces", len(objs.Namespaces),
		"workloads", len(objs.Workloads), "services", len(objs.Services), "policies", len(objs.Policies))
	return objs, nil
}

// listWorkers is how many kinds Read lists at once.
const listWorkers = 4

// list appends one document per object of r, page by page.
func (c *Client) list(ctx context.Context, r resource, docs *[]manifest.Document) error {
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		page, err := c.Dynamic.Resource(r.gvr).List(ctx, opts)
		if err != nil {
			return err
		}
		for i := range page.Items {
			u := &page.Items[i]
			if r.skip != nil && r.skip(u) {
				continue
			}
			// Large and irrelevant: who wrote which field, and the status.
			unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
			if r.gvr.Resource != "pods" {
				unstructured.RemoveNestedField(u.Object, "status")
			}
			data, err := json.Marshal(u.Object)
			if err != nil {
				return fmt.Errorf("encode %s %s: %w", describe(r.gvr), u.GetName(), err)
			}
			*docs = append(*docs, manifest.Document{Name: c.location(r.gvr, u.GetNamespace(), u.GetName()), Data: data})
		}
		if page.GetContinue() == "" {
			return nil
		}
		opts.Continue = page.GetContinue()
	}
}

func (c *Client) location(g schema.GroupVersionResource, namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("%s/%s/%s", c.Name, g.Resource, name)
	}
	return fmt.Sprintf("%s/%s/%s/%s", c.Name, g.Resource, namespace, name)
}

// served lists the resources the cluster serves.
func (c *Client) served() (map[schema.GroupVersionResource]bool, error) {
	_, lists, err := c.Discovery.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, c.explain("discover the served kinds", err)
	}
	out := map[schema.GroupVersionResource]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			out[gv.WithResource(r.Name)] = true
		}
	}
	return out, nil
}

// Serves reports whether the cluster serves a resource.
func (c *Client) Serves(g schema.GroupVersionResource) (bool, error) {
	served, err := c.served()
	return served[g], err
}

// explain turns a client error into a message that says what to do.
func (c *Client) explain(what string, err error) error {
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: %s: the credentials were refused (%v); check the kubeconfig's user", c.Name, what, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: %s: forbidden (%v); tightnet needs get and list on it", c.Name, what, err)
	}
	return fmt.Errorf("%s: %s: %w", c.Name, what, err)
}

func describe(g schema.GroupVersionResource) string {
	if g.Group == "" {
		return g.Resource
	}
	return g.Resource + "." + g.Group + "/" + g.Version
}
