package stage

import (
	"context"
	"log/slog"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/cluster"
	"github.com/tightnet/tightnet/internal/manifest"
)

// clusterFlags say which live cluster the input "cluster" means.
type clusterFlags struct {
	kubeconfig string
	context    string
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "",
		`the kubeconfig for the input "cluster" (default: $KUBECONFIG, ~/.kube/config, or the pod's service account)`)
	cmd.Flags().StringVar(&f.context, "context", "", `the kubeconfig context for the input "cluster" (default: its current context)`)
}

func (f *clusterFlags) connect() (*cluster.Client, error) {
	return cluster.Connect(cluster.Config{Kubeconfig: f.kubeconfig, Context: f.context})
}

// read reads what the live cluster runs.
func (f *clusterFlags) read(ctx context.Context, log *slog.Logger) (*manifest.Objects, error) {
	c, err := f.connect()
	if err != nil {
		return nil, err
	}
	return c.Read(ctx, manifest.Options{Logger: log})
}

// isCluster reports whether paths name the live cluster: the one input
// "cluster". It must stand alone, and must not also name a local file.
func isCluster(paths []string) (bool, error) {
	if !slices.Contains(paths, cluster.Keyword) {
		return false, nil
	}
	if len(paths) > 1 {
		return false, usagef(`"cluster" stands for the live cluster and cannot be mixed with other inputs; write ./cluster for a local directory of that name`)
	}
	if _, err := os.Lstat(cluster.Keyword); err == nil {
		return false, usagef(`"cluster" names both the live cluster and ./cluster here; write ./cluster for the local one, or run elsewhere for the live cluster`)
	}
	return true, nil
}
