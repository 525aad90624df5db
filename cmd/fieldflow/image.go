//go:build !pod

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/generator/podimage"
)

func init() { commands = append(commands, imageCmd) }

var imageCmd = command{
	name:    "image",
	summary: "build the pod image without Docker (an OCI layout and docker-save tarballs), and push it",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		dir := fs.String("dir", filepath.Join(".cache", "image"), "folder of the OCI layout (oci/) and the tarballs")
		config := fs.String("config", "generator/fieldflow.yaml", "deployment config naming the image (its tag in the layout and the tarballs): what the templates run")
		// Debian's bundle sits where the image puts it.
		certs := fs.String("certs", podimage.CACerts, "CA certificates copied into the image")
		binaries := mapFlag(fs, "binary", "OS/ARCH=PATH: the static pod build of fieldflow for a platform (repeat per platform); builds the image")
		labels := mapFlag(fs, "label", "KEY=VALUE: an OCI label beside the image's own (repeat)")
		push := fs.String("push", "", "REGISTRY/REPO[:TAG]: push the layout's image there, with the Docker config's credentials")
		return func(ctx context.Context) error {
			if len(binaries) == 0 && *push == "" {
				return usageError("nothing to do: --binary OS/ARCH=PATH builds, --push REF pushes")
			}
			c, err := generator.LoadConfig(*config)
			if err != nil {
				return usageError(err.Error())
			}
			tag := c.Image
			ref, err := name.NewTag(c.Image)
			if err != nil {
				return usageError(fmt.Sprintf("image %q in %s: %v", c.Image, *config, err))
			}
			all := podimage.Labels(ref.TagStr())
			maps.Copy(all, labels)
			if len(binaries) > 0 {
				idx, err := podimage.Index(podimage.Options{Binaries: binaries, CACerts: *certs, Labels: all})
				if err != nil {
					return err
				}
				digest, err := podimage.Write(*dir, tag, idx)
				if err != nil {
					return err
				}
				slog.Info("image built", "tag", tag, "layout", podimage.Layout(*dir), "platforms", len(binaries))
				fmt.Printf("%s@%s\n", tag, digest)
			}
			if *push != "" {
				return pushImage(ctx, *dir, tag, *push)
			}
			return nil
		}
	},
}

// mapFlag is a repeatable flag of KEY=VALUE pairs.
func mapFlag(fs *flag.FlagSet, name, usage string) map[string]string {
	m := map[string]string{}
	fs.Func(name, usage, func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want %s, got %q", strings.Fields(usage)[0], v)
		}
		m[k] = val
		return nil
	})
	return m
}

// pushImage sends the layout's index to ref as `crane push` does, with the
// credentials of the Docker config (docker login, credential helpers).
func pushImage(ctx context.Context, dir, tag, to string) error {
	idx, err := podimage.Read(dir, tag)
	if err != nil {
		return fmt.Errorf("%w: `make image` builds it", err)
	}
	ref, err := name.ParseReference(to)
	if err != nil {
		return usageError(fmt.Sprintf("--push %q: %v", to, err))
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s@%s\n", ref.Context(), digest)
	return nil
}
