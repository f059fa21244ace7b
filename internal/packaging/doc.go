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
// and run every step against binaries built from this repository, so a
// renamed flag, param or result fails a test.
//
// It must not depend on other tightnet packages, and tektoncd/pipeline and
// argo-workflows are imported by its tests only: they stay out of every
// binary (TestHeavyModulesAreTestOnly).
package packaging
