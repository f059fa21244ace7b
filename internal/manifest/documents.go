package manifest

import (
	"context"
	"log/slog"

	"github.com/tightnet/tightnet/internal/model"
)

// Document is YAML or JSON text that did not come from a file: objects read
// from a live cluster, say. Name stands in for the file name in locations.
type Document struct {
	Name string
	Data []byte
}

// ReadDocuments reads objects from in-memory documents exactly as Read reads
// files: the same decoding, the same folding of controllers' Pods and
// ReplicaSets, the same findings. Documents larger than opts.MaxFileSize are
// skipped with a finding. It returns an error only when ctx is cancelled.
func ReadDocuments(ctx context.Context, docs []Document, opts Options) (*Objects, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &reader{ctx: ctx, opts: opts, log: opts.Logger, seenDirs: map[string]bool{}, kustomizations: map[string]*kustomization{}}
	for _, d := range docs {
		if err := r.cancelled(); err != nil {
			return nil, err
		}
		if int64(len(d.Data)) > opts.MaxFileSize {
			r.finding(CodeTooLarge, model.Warning, model.Location{File: d.Name}, "",
				"document is larger than %d bytes and was skipped", opts.MaxFileSize)
			continue
		}
		r.parse(d.Name, d.Data)
	}
	if err := r.decodeAll(); err != nil {
		return nil, err
	}
	return r.assemble(), nil
}
