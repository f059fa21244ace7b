// Package depcheck holds only a test: it keeps the dependency arrows of the
// architecture (images → stage → stage packages → {manifest, model}) from
// being broken, the way go-containerregistry's depcheck does.
package depcheck
