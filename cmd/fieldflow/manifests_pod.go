//go:build pod

package main

import (
	"errors"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// manifestsPipeline: the pod build carries no manifests and runs no engine.
func manifestsPipeline(string) (*pipeline.Pipeline, error) {
	return nil, errors.New("the pod build runs no Argo engine: use --engine direct")
}
