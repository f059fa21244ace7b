package stage

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tightnet/tightnet/internal/analyze"
	"github.com/tightnet/tightnet/internal/manifest"
	"github.com/tightnet/tightnet/internal/model"
	"github.com/tightnet/tightnet/internal/report"
)

type explainFlags struct {
	inputs   inputFlags
	output   outputFlags
	ingress  ingressControllerFlags
	src, dst string
	port     int
	protocol string
}

func explainCommand(g *globals) *cobra.Command {
	var fl explainFlags
	cmd := &cobra.Command{
		Use:   "explain [PATH...] --src PEER --dst PEER",
		Short: "Explain which policy and rule allow or deny the connections between two peers",
		Long: `Explain, in plain sentences, why the connections from --src to --dst are what
they are: for egress at the source and ingress at the destination, which tier,
policy and rule allows or denies each part, which policies select a pod when
none of their rules admits the other end, the Pass chain across the admin
tiers, and what is allowed by default because nothing selects the pod.

Peers are workloads (namespace/name), external addresses (an IP), or
{ingress-controller}. --port (with --protocol, default TCP) narrows the
explanation to one connection.`,
		Example: `  tightnet explain examples/shop --src shop/frontend --dst shop/cart
  tightnet explain examples/network-edges --src 203.0.113.7 --dst rtc/sip-gateway --port 5060 --protocol UDP`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(cmd, g, &fl, args)
		},
	}
	fl.inputs.register(cmd)
	fl.output.register(cmd, []report.Format{report.Text}, report.Text)
	fl.ingress.register(cmd)
	cmd.Flags().StringVar(&fl.src, "src", "", "the source: namespace/name, an IP address or {ingress-controller} (required)")
	cmd.Flags().StringVar(&fl.dst, "dst", "", "the destination: namespace/name, an IP address or {ingress-controller} (required)")
	cmd.Flags().IntVar(&fl.port, "port", 0, "explain only this port")
	cmd.Flags().StringVar(&fl.protocol, "protocol", "TCP", "protocol of --port: TCP, UDP or SCTP")
	return cmd
}

func runExplain(cmd *cobra.Command, g *globals, fl *explainFlags, args []string) error {
	if fl.src == "" || fl.dst == "" {
		return usagef("explain needs both --src and --dst")
	}
	if _, err := fl.output.format([]report.Format{report.Text}); err != nil {
		return err
	}
	var only *model.ConnectionSet
	if cmd.Flags().Changed("port") || cmd.Flags().Changed("protocol") {
		proto, err := model.ParseProtocol(fl.protocol)
		if err != nil {
			return usagef("--protocol: %v", err)
		}
		if fl.port < model.MinPort || fl.port > model.MaxPort {
			return usagef("--port %d: want a number from %d to %d", fl.port, model.MinPort, model.MaxPort)
		}
		c := model.Connections(proto, model.Ports(fl.port))
		only = &c
	}
	opts, err := fl.ingress.options()
	if err != nil {
		return err
	}
	objs, err := fl.inputs.read(cmd.Context(), g, args, g.logger())
	if err != nil {
		return err
	}
	ex, err := explainPair(cmd, objs, fl.src, fl.dst, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Explain(&buf, []report.Explanation{ex}, only); err != nil {
		return err
	}
	if err := fl.output.write(g, buf.Bytes()); err != nil {
		return err
	}
	allowed := ex.Conns
	if only != nil {
		allowed = allowed.Intersect(*only)
	}
	return writeResults(g.resultsDir, map[string]string{
		"allowed": strconv.FormatBool(!allowed.IsEmpty()),
		"conns":   allowed.String(),
		"output":  fl.output.path,
	})
}

func explainPair(cmd *cobra.Command, objs *manifest.Objects, src, dst string, opts []analyze.Option) (report.Explanation, error) {
	ex, err := analyze.Explain(cmd.Context(), objs, src, dst, opts...)
	if errors.Is(err, analyze.ErrNoSuchPeer) {
		return report.Explanation{}, usageError{err}
	}
	if err != nil {
		return report.Explanation{}, err
	}
	return toReport(ex), nil
}

// toReport converts an analysis explanation into the report's shape.
func toReport(ex analyze.Explanation) report.Explanation {
	out := report.Explanation{Src: ex.Src, Dst: ex.Dst, Conns: ex.Conns}
	for _, d := range ex.Directions {
		rd := report.ExplainedDirection{Direction: d.Direction, Pod: d.Pod, Other: d.Other, Allowed: d.Allowed}
		for _, s := range d.Steps {
			rd.Steps = append(rd.Steps, report.ExplainedStep{
				Conns: s.Conns, Verdict: s.Verdict, Tier: s.Tier, Policy: s.Policy, Rule: s.Rule, Location: s.Location, Reason: s.Reason,
			})
		}
		out.Directions = append(out.Directions, rd)
	}
	return out
}
