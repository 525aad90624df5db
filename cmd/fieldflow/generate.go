//go:build !pod

// The pod image is built with -tags pod: it processes and serves the
// executor plugin, and leaves out the generator and Argo's API types it
// needs (they would double its size).

package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/fieldflow/fieldflow/generator"
)

func init() { commands = append(commands, generateCmd) }

var generateCmd = command{
	name:    "generate",
	summary: "render the Argo Workflows, Argo Events, kustomize and monitoring manifests into templates/, argo-events/ and kustomize/",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		config := fs.String("config", "generator/fieldflow.yaml", "deployment config (YAML); empty for the defaults")
		out := fs.String("out", ".", "repository root: gets templates/, argo-events/ and kustomize/")
		return func(ctx context.Context) error {
			c, err := generator.LoadConfig(*config)
			if err != nil {
				return usageError(err.Error())
			}
			files, err := generator.Write(*out, c)
			if err != nil {
				return err
			}
			slog.Info("generated", "files", len(files), "into", *out)
			return nil
		}
	},
}
