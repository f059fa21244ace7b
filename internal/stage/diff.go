package stage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/diff"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

type diffFlags struct {
	base         string
	cluster      clusterFlags
	output       outputFlags
	failOnChange bool
	failOn       string
}

func diffCommand(g *globals) *cobra.Command {
	var fl diffFlags
	cmd := &cobra.Command{
		Use:   "diff OLD NEW | diff --base OLD NEW",
		Short: "Compare the connectivity two configurations allow: connections added, removed and changed",
		Long: `Compute the connectivity of two configurations and print every difference.
Each of OLD and NEW is a directory or file of manifests ("-" reads standard
input), evaluated as the connectivity stage does, a ConnectivityMap file
written by "tightnet connectivity -o json", or "cluster": what the live
cluster runs (--kubeconfig, --context). OLD may also be given as --base.

With OLD the live cluster and NEW manifests, NEW is laid over the cluster
first, as a sync with pruning would lay it: the namespaces NEW holds
objects in are replaced by NEW's content, every other namespace stays as
it runs. The diff then shows what merging the change would do to the
running cluster, its other applications included.

Every pair of peers whose connections differ is one line:

  diff-type: changed, source: SRC, destination: DST, old: CONNS, new: CONNS

diff-type is added (No Connections before), removed (No Connections after)
or changed. Peers only one side has are marked, "[added workload]" or
"[removed workload]", and listed at the end. External address ranges are
compared on the common refinement of both sides' ranges; adjacent ranges
that differ alike are merged. Unchanged connections are not listed.`,
		Example: `  tightnet diff deployed/ proposed/
  tightnet diff --base cluster proposed/ --context prod -o md
  tightnet diff old-conn.json proposed/ -o md --out diff.md --fail-on-change
  tightnet diff deployed/ proposed/ -o json --out diff.json --results-dir /tekton/results`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, g, &fl, args)
		},
	}
	fl.output.register(cmd, report.DiffFormats(), report.Text)
	fl.cluster.register(cmd)
	cmd.Flags().StringVar(&fl.base, "base", "", `the old configuration, in place of OLD: as OLD, or "cluster" for what the live cluster runs`)
	cmd.Flags().BoolVar(&fl.failOnChange, "fail-on-change", false,
		"exit 1 when the configurations differ: a connection added, removed or changed, or a peer on one side only")
	cmd.Flags().StringVar(&fl.failOn, "fail-on", "error",
		"exit 1 when reading or evaluating a configuration reports a finding of at least this severity: error, warning or never")
	return cmd
}

func runDiff(cmd *cobra.Command, g *globals, fl *diffFlags, args []string) error {
	if fl.base != "" {
		if len(args) != 1 {
			return usagef("with --base, diff takes one configuration, NEW, got %d", len(args))
		}
		args = []string{fl.base, args[0]}
	}
	if len(args) != 2 {
		return usagef("diff takes two configurations, OLD and NEW, got %d: give two directories or files of manifests, or ConnectivityMap files", len(args))
	}
	if args[0] == "-" && args[1] == "-" {
		return usagef(`standard input ("-") given twice: at most one of OLD and NEW can be read from it`)
	}
	format, err := fl.output.format(report.DiffFormats())
	if err != nil {
		return err
	}
	threshold, err := parseFailOn(fl.failOn)
	if err != nil {
		return err
	}
	log := g.logger()

	// The two sides are independent: read them at once.
	var sides [2]configuration
	var errs [2]error
	var wg sync.WaitGroup
	for i, role := range []string{"old", "new"} {
		wg.Go(func() { sides[i], errs[i] = readConfiguration(cmd.Context(), g, &fl.cluster, role, args[i], log) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	// Against the live cluster, the files say what a change makes of it:
	// they are laid over it, replacing the namespaces they hold.
	if sides[0].live && sides[1].objs != nil {
		sides[1].objs = manifest.Overlay(sides[0].objs, sides[1].objs)
		log.Info("new configuration laid over the live cluster", "workloads", len(sides[1].objs.Workloads))
	}
	for i, role := range []string{"old", "new"} {
		wg.Go(func() { errs[i] = sides[i].evaluate(cmd.Context(), role, log) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	res, err := diff.Matrices(sides[0].matrix, sides[1].matrix)
	if err != nil {
		return err
	}

	view := report.DiffView{AddedPeers: res.AddedPeers(), RemovedPeers: res.RemovedPeers(), Changes: res.Changes()}
	var buf bytes.Buffer
	if format == report.JSON {
		b, err := model.Marshal(res.Artifact())
		if err != nil {
			return fmt.Errorf("encode connectivity diff: %w", err)
		}
		buf.Write(b)
	} else if err := report.Diff(&buf, format, view); err != nil {
		return err
	}
	if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	findings := slices.Concat(sides[0].findings, sides[1].findings)
	if err := report.Findings(g.streams.Err, findings); err != nil {
		return err
	}

	counts := res.Counts()
	results := map[string]string{
		"added":         strconv.Itoa(counts.Added),
		"removed":       strconv.Itoa(counts.Removed),
		"changed":       strconv.Itoa(counts.Changed),
		"added-peers":   strconv.Itoa(len(view.AddedPeers)),
		"removed-peers": strconv.Itoa(len(view.RemovedPeers)),
		"findings":      strconv.Itoa(len(findings)),
		"output":        fl.output.path,
	}
	if err := writeResults(g.resultsDir, results); err != nil {
		return err
	}
	log.Info("diff: "+report.DiffSummary(view), "added", counts.Added, "removed", counts.Removed, "changed", counts.Changed,
		"addedPeers", len(view.AddedPeers), "removedPeers", len(view.RemovedPeers), "findings", len(findings))
	if countAtLeast(findings, threshold) > 0 || (fl.failOnChange && !res.Empty()) {
		return errFindings
	}
	return nil
}

// configuration is one side of a diff: manifests (objs) until evaluated,
// then its connectivity and the findings of reading and evaluating it. A
// ConnectivityMap brings its matrix and no findings: the connectivity stage
// that wrote it reported them.
type configuration struct {
	objs     *manifest.Objects
	live     bool // objs were read from the live cluster
	matrix   model.Matrix
	findings []model.Finding
}

// readConfiguration reads one side of a diff, role "old" or "new": a
// ConnectivityMap file, manifests, or the live cluster.
func readConfiguration(ctx context.Context, g *globals, cf *clusterFlags, role, path string, log *slog.Logger) (configuration, error) {
	opts := manifest.Options{Stdin: g.streams.In, Logger: log}
	name := path
	var data []byte
	switch {
	case path == "-":
		b, err := io.ReadAll(g.streams.In)
		if err != nil {
			return configuration{}, fmt.Errorf("%s configuration: read standard input: %w", role, err)
		}
		data, name, opts.Stdin = b, manifest.StdinName, bytes.NewReader(b)
	case isJSONObjectFile(path):
		b, err := os.ReadFile(path)
		if err != nil {
			return configuration{}, fmt.Errorf("%s configuration: %w", role, err)
		}
		data = b
	}
	if data != nil && isArtifact(data) {
		var cm model.ConnectivityMap
		if err := model.Decode(data, model.KindConnectivityMap, &cm); err != nil {
			return configuration{}, fmt.Errorf("%s configuration %s: %w; diff reads directories or files of manifests, ConnectivityMap files written by tightnet connectivity -o json, or cluster",
				role, name, err)
		}
		log.Info("configuration read", "side", role, "path", name, "from", model.KindConnectivityMap, "peers", len(cm.Peers))
		return configuration{matrix: cm.Matrix()}, nil
	}
	live, err := isCluster([]string{path})
	if err != nil {
		return configuration{}, fmt.Errorf("%s configuration: %w", role, err)
	}
	var objs *manifest.Objects
	if live {
		objs, err = cf.read(ctx, log)
	} else {
		objs, err = manifest.Read(ctx, []string{path}, opts)
	}
	if err != nil {
		return configuration{}, fmt.Errorf("%s configuration: %w", role, err)
	}
	log.Info("configuration read", "side", role, "path", name, "workloads", len(objs.Workloads), "policies", len(objs.Policies))
	return configuration{objs: objs, live: live}, nil
}

// evaluate computes the connectivity of manifests read; a ConnectivityMap
// has it already.
func (c *configuration) evaluate(ctx context.Context, role string, log *slog.Logger) error {
	if c.objs == nil {
		return nil
	}
	res, err := analyze.Connectivity(ctx, c.objs)
	if err != nil {
		return fmt.Errorf("%s configuration: %w", role, err)
	}
	c.matrix = res.Matrix
	c.findings = slices.Concat(c.objs.Findings, res.Findings)
	slices.SortFunc(c.findings, model.CompareFindings)
	log.Info("configuration evaluated", "side", role, "findings", len(c.findings))
	return nil
}

// isJSONObjectFile reports whether path is a regular file whose first
// non-blank character opens a JSON object, so that it may be an artifact.
func isJSONObjectFile(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		c, _, err := r.ReadRune()
		if err != nil {
			return false
		}
		if !strings.ContainsRune(" \t\r\n\uFEFF", c) {
			return c == '{'
		}
	}
}

// isArtifact reports whether data is a JSON object that names a tightnet
// artifact: kind ConnectivityMap, or a tightnet.dev apiVersion. Anything
// else, Kubernetes objects in JSON included, is read as manifests.
func isArtifact(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n\uFEFF")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	var h struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if json.Unmarshal(trimmed, &h) != nil {
		return false
	}
	return h.Kind == model.KindConnectivityMap || strings.HasPrefix(h.APIVersion, "tightnet.dev/")
}
