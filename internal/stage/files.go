package stage

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/report"
)

// inputFlags are the inputs of a stage that reads manifests: positional
// paths plus kubectl-style -f flags, and how Helm charts among them are
// rendered (helm template's flags).
type inputFlags struct {
	files   []string
	helm    manifest.HelmOptions
	cluster clusterFlags
}

func (f *inputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil,
		`a manifest file or directory to read, "-" for standard input, or "cluster" for the live cluster (repeatable; adds to the positional paths)`)
	cmd.Flags().StringArrayVar(&f.helm.ValuesFiles, "values", nil,
		"a Helm values file for the charts among the inputs (repeatable; later files win)")
	cmd.Flags().StringArrayVar(&f.helm.Set, "set", nil,
		"a Helm value for the charts among the inputs, as key=value in helm's --set syntax (repeatable; applied after --values)")
	cmd.Flags().StringVar(&f.helm.ReleaseName, "release-name", manifest.DefaultReleaseName,
		"the Helm release name charts are rendered with")
	cmd.Flags().StringVar(&f.helm.Namespace, "namespace", manifest.DefaultNamespace,
		"the Helm release namespace: charts are rendered for it, and their objects without a namespace go there")
	cmd.Flags().StringVar(&f.helm.KubeVersion, "kube-version", manifest.DefaultKubeVersion,
		"the Kubernetes version Helm charts are rendered for (.Capabilities.KubeVersion)")
	f.cluster.register(cmd)
}

func (f *inputFlags) read(ctx context.Context, g *globals, args []string, log *slog.Logger) (*manifest.Objects, error) {
	paths := append(slices.Clone(args), f.files...)
	if len(paths) == 0 {
		return nil, usagef("no input: give one or more manifest files or directories, or - for standard input")
	}
	if n := slices.Index(paths, "-"); n >= 0 && slices.Index(paths[n+1:], "-") >= 0 {
		return nil, usagef(`standard input ("-") given twice`)
	}
	live, err := isCluster(paths)
	if err != nil {
		return nil, err
	}
	var objs *manifest.Objects
	if live {
		objs, err = f.cluster.read(ctx, log)
	} else {
		objs, err = manifest.Read(ctx, paths, manifest.Options{Stdin: g.streams.In, Logger: log, Helm: f.helm})
	}
	if err != nil {
		return nil, err
	}
	log.Info("inputs read", "paths", len(paths), "namespaces", len(objs.Namespaces), "workloads", len(objs.Workloads),
		"services", len(objs.Services), "policies", len(objs.Policies))
	return objs, nil
}

// outputFlags pick the output format and destination.
type outputFlags struct {
	formatName string
	path       string
}

func (f *outputFlags) register(cmd *cobra.Command, formats []report.Format, def report.Format) {
	names := ""
	for i, x := range formats {
		if i > 0 {
			names += "|"
		}
		names += string(x)
	}
	cmd.Flags().StringVarP(&f.formatName, "output", "o", string(def), "output format: "+names)
	cmd.Flags().StringVar(&f.path, "out", "", "write the output to this file (atomically) instead of standard output")
}

func (f *outputFlags) format(allowed []report.Format) (report.Format, error) {
	format, err := report.ParseFormat(f.formatName, allowed)
	if err != nil {
		return "", usageError{fmt.Errorf("-o: %w", err)}
	}
	return format, nil
}

func (f *outputFlags) write(g *globals, data []byte) error {
	if f.path == "" {
		_, err := g.streams.Out.Write(data)
		return err
	}
	return writeFileAtomic(f.path, data)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so readers see the old file or the complete new one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeResults writes one small file per result into dir, as Tekton results
// and Argo output parameters expect. Nothing is written when dir is "".
func writeResults(dir string, results map[string]string) error {
	if dir == "" {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(results)) {
		if err := writeFileAtomic(filepath.Join(dir, name), []byte(results[name])); err != nil {
			return fmt.Errorf("results: %w", err)
		}
	}
	return nil
}
