// Package manifest reads Kubernetes manifests into typed objects with source
// positions.
//
// Input: paths given by the user — directories (walked recursively), single
// files, or "-" for standard input — holding YAML streams (documents
// separated by "---" lines) or JSON streams, as kubectl reads them. Values are
// decoded the way kubectl and the API server decode them: YAML is turned into
// JSON by sigs.k8s.io/yaml (YAML 1.1, so an unquoted yes is a boolean), and
// the JSON is decoded case-sensitively into the k8s.io/api types. A
// directory holding a Helm chart is rendered (helm.go) and one holding a
// kustomization is built (kustomize.go), in process and without network
// access; their output goes through the same decoding as plain files.
//
// Output: Objects — namespaces, workloads (with pods folded into the
// controllers present in the inputs), services and network policies, each
// with the model.Location it was read from, every slice sorted — and findings
// about inputs that could not be used. A problem with one document or file is
// a finding and the rest is still read, and so is a Helm chart or
// kustomization that cannot be rendered; only an unusable path, unusable
// Helm options or a cancelled context is an error.
//
// Namespaces: objects without metadata.namespace are in DefaultNamespace,
// and Service and NetworkPolicy objects carry it in their Object.Namespace
// too. No other API server defaulting is applied (an empty protocol stays
// empty, policyTypes stay as written): that is the analysis' business.
//
// Locations: File is the path as the user gave it, joined with the path
// below it for files found in a directory, cleaned and with forward slashes;
// it is never made absolute, so outputs are stable across machines. Standard
// input is named StdinName. Line is the line where the object starts: the
// first line of its document holding content (not a comment), or the first
// line of its item in a List. A Helm chart's objects are located at their
// template below the chart's path, with the line in the template's rendered
// output; a kustomization's at the resource file they came from, or at the
// generator that made them, with the line of their document there.
//
// Dependencies: this package may use Kubernetes API types, YAML/JSON
// libraries, Helm's chart loader and template engine (helm.sh/helm/v3, not
// its action or cluster packages) and kustomize's API (krusty), and of
// tightnet's own packages only internal/model.
package manifest
