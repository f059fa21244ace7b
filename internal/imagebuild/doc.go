// Package imagebuild builds tightnet's container images without a Docker
// daemon, over go-containerregistry.
//
// Input: a [Spec] naming a main package of this module, the platforms to
// build for, the OCI labels and the user to run as. Output: a
// [v1.ImageIndex] with one image per platform, each made of two layers — a
// base layer made here (/etc/passwd and /etc/group with root and nonroot
// 65532, /tmp with mode 1777, /home/nonroot, and a CA bundle at
// /etc/ssl/certs/ca-certificates.crt) and the static binary at
// /usr/local/bin/<binary>. [Write] stores indexes as an OCI layout plus one
// tarball per platform; [Push] sends them to a registry; [RewriteReferences]
// points YAML at the pushed digests.
//
// Images are reproducible: binaries are built with CGO off, -trimpath,
// -buildvcs=false and an empty build ID; layer entries are sorted, owned by
// fixed uids and stamped with one fixed time (zero, or SOURCE_DATE_EPOCH);
// the config's Created is that same time. Same source, same digests.
//
// The CA bundle is PEM-encoded from golang.org/x/crypto/x509roots/fallback's
// bundle (the Mozilla NSS roots, pinned by go.sum), so it needs no network
// and does not depend on the build machine. Roots that NSS constrains with a
// distrust-after date are left out, because a PEM file cannot carry the
// constraint.
//
// The user is a config setting only: the layers do not depend on it, so the
// GitHub docker action's image (user 0, which GitHub requires) shares every
// layer with the non-root (65532) images Tekton and Argo run.
//
// This package is build tooling: no stage package may import it, and it
// imports no tightnet package.
package imagebuild
