// Package baseline reads baseline rules: the connectivity requirements a
// security team writes once and every proposed or hand-edited configuration
// is checked against, in np-guard's baseline-rules format
// (github.com/np-guard/baseline-rules).
//
// Input: YAML files, each a list of rules. Output: validated, typed rules
// ([]Rule) in file order, each with the file and line it was read from.
// Validation is strict: an unknown key, a malformed selector, a bad CIDR, a
// CIDR combined with a namespace selector or a port out of range is an
// error naming the file, the rule's position and name, and what to do. The
// verify stage checks configurations against the rules; the synthesizer is
// to read the same rules through the same loader.
//
// Dependencies: of tightnet's packages only internal/model; of Kubernetes
// only apimachinery's label selectors and name validation. It must not know
// how rules are checked.
//
// # The format
//
//	# rules.yaml: a YAML list of rules
//	- name: only-checkout-calls-payment          # required, a DNS subdomain name, unique
//	  description: Only checkout may call the payment API.
//	  action: deny                               # required: allow or deny
//	  from: app!=checkout                        # source: label selector or CIDR
//	  from_ns: kubernetes.io/metadata.name=shop  # source namespaces: label selector
//	  to: app=payment                            # destination: label selector or CIDR
//	  to_ns: kubernetes.io/metadata.name=shop    # destination namespaces: label selector
//	  protocol: TCP                              # TCP, UDP or SCTP
//	  port_min: 50051                            # destination ports, 1-65535
//	  port_max: 50051
//
// Each key, as this package reads it:
//
//   - name: how outputs, SARIF rule ids and result files name the rule. A
//     DNS subdomain name (lower-case letters, digits, "-" and "."), unique
//     across every file loaded together. Required (np-guard defaults it;
//     here two unnamed rules could not be told apart in a report).
//   - description: free text shown beside the verdict. Optional.
//   - action: "allow" — every connection the rule describes must be
//     permitted; "deny" — none of them may be. Required (np-guard defaults
//     it to allow, which silently turns a deny rule whose action was
//     forgotten into an allow rule).
//   - from, to: the source and the destination. Either a Kubernetes
//     set-based label selector in kubectl -l notation
//     ("app in (a,b), tier!=dev, !legacy": requirements joined by commas,
//     all of which must hold; operators =, ==, !=, in, notin, exists and
//     !exists), selecting pods by their labels; or a CIDR ("10.0.0.0/8",
//     "fd00::/8", or a bare address for one host), selecting addresses
//     outside the cluster. A CIDR is masked as Kubernetes masks ipBlocks
//     (10.1.2.3/8 is 10.0.0.0/8).
//   - from_ns, to_ns: a label selector over namespace labels, restricting
//     from or to to pods of the namespaces it selects. Every namespace
//     carries kubernetes.io/metadata.name set to its name, so
//     "kubernetes.io/metadata.name in (shop,payments)" names namespaces.
//     Not allowed together with a CIDR on the same side.
//   - protocol: TCP, UDP or SCTP, upper case as in Kubernetes. Absent: all
//     three (and, when no port is given either, every other IP protocol,
//     which tightnet counts as part of All Connections).
//   - port_min, port_max: the destination ports, inclusive. Absent
//     port_min means 1, absent port_max means 65535; with neither, every
//     port.
//
// What one side selects, from the keys given for it (as np-guard's
// documentation has it, an absent from means "all sources" and an absent to
// "all destinations"):
//
//   - neither from nor from_ns: everything — every pod of every namespace,
//     every external address, and the ingress controller (traffic arriving
//     through Ingress objects and routes; label selectors select it only
//     where its namespace and labels are known);
//   - from_ns only: every pod of the namespaces it selects, no address;
//   - a selector from: the pods it selects, in the namespaces from_ns
//     selects (in every namespace without from_ns), no address;
//   - a CIDR from: the external addresses inside it, no pod.
//
// So "every pod, but no external address" is written
// from_ns: kubernetes.io/metadata.name (every namespace has that label).
// A rule whose from and to are both CIDRs is rejected: no connection
// between two external addresses is a question about the cluster.
package baseline
