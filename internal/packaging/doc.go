// Package packaging is tightnet's CI/CD packaging: the Tekton Tasks under
// tasks/, the Tekton Pipelines under pipelines/tekton and the Argo
// WorkflowTemplates under pipelines/argo.
//
// Input: those YAML files. Output: Bundle, the Tekton bundle of the tasks (an
// OCI image over go-containerregistry, one annotated layer per task, as the
// Tekton bundle contract asks). The package's tests validate every
// definition with its project's own types (tektoncd/pipeline v1 SetDefaults
// and Validate, argo-workflows/v3's workflow/validate), cross-check pipelines
// against the tasks they call, resolve the bundle with Tekton's own resolver,
// and run every tightnet step against binaries built from this repository —
// with only the env its YAML declares, secretKeyRef resolved from the test's
// Secrets and Secret-backed workspaces and volumes mounted as directories,
// the comment steps against a fake GitHub API, the apply steps against a
// real kube-apiserver (internal/kubetest) — so a renamed flag, param or
// result fails a test. Steps on third-party images (git, curl) are
// checked — their inputs, Secrets and scripts' variables — and the
// synthesis flows' run, with this machine's sh, git and curl, against a Git
// server (git http-backend) and the fake GitHub API on 127.0.0.1.
//
// It must not depend on other tightnet packages (its tests use
// internal/kubetest, which is for tests only), and tektoncd/pipeline and
// argo-workflows are imported by its tests only: they stay out of every
// binary (TestHeavyModulesAreTestOnly).
package packaging
