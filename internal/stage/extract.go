package stage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/extract"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

type extractFlags struct {
	inputs              inputFlags
	output              outputFlags
	traffic             []string
	clusterDomain       string
	monitoringNamespace string
	failOn              string
}

func extractFormats() []report.Format { return []report.Format{report.JSON, report.Text} }

func extractCommand(g *globals) *cobra.Command {
	var fl extractFlags
	cmd := &cobra.Command{
		Use:   "extract [PATH...]",
		Short: "Infer the connections an application needs from its manifests and observed traffic",
		Long: `Read manifests (directories are searched recursively for .yaml, .yml and
.json files; "-" reads standard input) and write the Topology: workloads,
Services, the connections workloads need between them, the ways into them
(LoadBalancer and NodePort Services, ingress routes, Prometheus scrapes),
external destinations and the policies already in the inputs.

Connections are inferred from the addresses in env values, envFrom and
mounted ConfigMaps and Secrets (Secret values are never printed), command
and args, resolved as cluster DNS resolves Service names; --traffic merges
flows observed in a cluster. Every connection says why it is needed: the
file, line and path of the value, or the traffic record.

-o txt lists SRC => DST : CONNS, each followed by its reasons.`,
		Example: `  tightnet extract examples/configmap-app -o txt
  tightnet extract manifests/ --traffic flows.jsonl --out topology.json
  tightnet extract examples/traffic-app --traffic examples/traffic-app/traffic/flows.csv -o txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExtract(cmd, g, &fl, args)
		},
	}
	fl.inputs.register(cmd)
	fl.output.register(cmd, extractFormats(), report.JSON)
	cmd.Flags().StringArrayVar(&fl.traffic, "traffic", nil,
		"a file of observed flows to merge: Hubble flows (hubble observe -o jsonpb), or CSV or JSON records src,dst,protocol,port (repeatable)")
	cmd.Flags().StringVar(&fl.clusterDomain, "cluster-domain", extract.DefaultClusterDomain,
		"the cluster's DNS domain, as in name.namespace.svc.<domain>")
	cmd.Flags().StringVar(&fl.monitoringNamespace, "monitoring-namespace", extract.DefaultMonitoringNamespace,
		"the namespace Prometheus scrapes from (pods annotated prometheus.io/scrape are exposed to it)")
	cmd.Flags().StringVar(&fl.failOn, "fail-on", "error",
		"exit 1 when a finding of at least this severity is reported: error, warning or never")
	return cmd
}

func runExtract(cmd *cobra.Command, g *globals, fl *extractFlags, args []string) error {
	format, err := fl.output.format(extractFormats())
	if err != nil {
		return err
	}
	threshold, err := parseFailOn(fl.failOn)
	if err != nil {
		return err
	}
	if d := strings.Trim(fl.clusterDomain, "."); d == "" || strings.ContainsAny(d, "/ :") {
		return usagef("--cluster-domain %q: want a DNS domain such as cluster.local", fl.clusterDomain)
	}
	if ns := fl.monitoringNamespace; ns == "" || strings.ContainsAny(ns, "/ .:") {
		return usagef("--monitoring-namespace %q: want a namespace name", ns)
	}
	if slices.Contains(fl.traffic, "-") && (slices.Contains(args, "-") || slices.Contains(fl.inputs.files, "-")) {
		return usagef(`standard input ("-") given both as manifests and as --traffic; it can be read only once`)
	}
	log := g.logger()
	objs, err := fl.inputs.read(cmd.Context(), g, args, log)
	if err != nil {
		return err
	}
	var flows []extract.Flow
	var trafficFindings []model.Finding
	for _, path := range fl.traffic {
		fs, found, err := readTraffic(g, path)
		if err != nil {
			return err
		}
		flows = append(flows, fs...)
		trafficFindings = append(trafficFindings, found...)
	}
	topo, err := extract.Topology(cmd.Context(), objs, extract.Options{
		ClusterDomain:       strings.Trim(fl.clusterDomain, "."),
		MonitoringNamespace: fl.monitoringNamespace,
		Traffic:             flows,
	})
	if err != nil {
		return err
	}
	topo.AddFindings(trafficFindings...)
	var buf bytes.Buffer
	if format == report.JSON {
		b, err := topo.Marshal()
		if err != nil {
			return fmt.Errorf("encode topology: %w", err)
		}
		buf.Write(b)
	} else if err := extract.WriteText(&buf, topo); err != nil {
		return err
	}
	if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	if format != report.JSON || fl.output.path != "" {
		if err := report.Findings(g.streams.Err, topo.Findings); err != nil {
			return err
		}
	}
	results := map[string]string{
		"workloads":   strconv.Itoa(len(topo.Workloads)),
		"connections": strconv.Itoa(len(topo.Connections)),
		"exposures":   strconv.Itoa(len(topo.Exposures)),
		"external":    strconv.Itoa(len(topo.External)),
		"findings":    strconv.Itoa(len(topo.Findings)),
		"output":      fl.output.path,
	}
	if err := writeResults(g.resultsDir, results); err != nil {
		return err
	}
	log.Info("topology extracted", "workloads", len(topo.Workloads), "connections", len(topo.Connections),
		"exposures", len(topo.Exposures), "external", len(topo.External), "flows", len(flows), "findings", len(topo.Findings))
	if countAtLeast(topo.Findings, threshold) > 0 {
		return errFindings
	}
	return nil
}

// readTraffic reads one --traffic file ("-" for standard input). A file
// that cannot be opened is an input error; records that cannot be read are
// findings.
func readTraffic(g *globals, path string) ([]extract.Flow, []model.Finding, error) {
	if path == "-" {
		return extract.ReadTraffic(g.streams.In, manifest.StdinName)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--traffic: %w; check the path", err)
	}
	defer f.Close()
	return extract.ReadTraffic(f, filepath.ToSlash(filepath.Clean(path)))
}
