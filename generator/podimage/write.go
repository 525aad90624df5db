package podimage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// refName is the OCI layout annotation naming an index by its tag.
const refName = "org.opencontainers.image.ref.name"

// Layout is the OCI layout in an image folder, and Tarball the
// docker-save tarball of one architecture beside it (for `docker load`
// and `minikube image load`).
func Layout(dir string) string { return filepath.Join(dir, "oci") }

func Tarball(dir, arch string) string { return filepath.Join(dir, "fieldflow-"+arch+".tar") }

// Write replaces dir's OCI layout with idx, named tag, and writes one
// docker-save tarball per architecture tagged tag. It returns the index's
// digest.
func Write(dir, tag string, idx v1.ImageIndex) (v1.Hash, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("tag %q: %w", tag, err)
	}
	if err := os.RemoveAll(Layout(dir)); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(Layout(dir), empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("OCI layout: %w", err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refName: tag})); err != nil {
		return v1.Hash{}, fmt.Errorf("OCI layout: %w", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return v1.Hash{}, err
		}
		if err := tarball.WriteToFile(Tarball(dir, d.Platform.Architecture), ref, img); err != nil {
			return v1.Hash{}, fmt.Errorf("tarball for %s: %w", d.Platform, err)
		}
	}
	return idx.Digest()
}

// layoutIndex is the root index of dir's OCI layout.
func layoutIndex(dir string) (v1.ImageIndex, error) { return layout.ImageIndexFromPath(Layout(dir)) }

// Read is the index named tag in dir's OCI layout.
func Read(dir, tag string) (v1.ImageIndex, error) {
	want, err := name.ParseReference(tag)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", tag, err)
	}
	root, err := layoutIndex(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no image store (%v)", ErrNotFound, want, err)
	}
	return indexNamed(root, want, Layout(dir))
}

// indexNamed is the index in root whose tag names want (tags compare as
// references: fieldflow:0.1.0 is docker.io/library/fieldflow:0.1.0).
func indexNamed(root v1.ImageIndex, want name.Reference, where string) (v1.ImageIndex, error) {
	m, err := root.IndexManifest()
	if err != nil {
		return nil, err
	}
	var have []string
	for _, d := range m.Manifests {
		tag, err := name.ParseReference(d.Annotations[refName])
		if err == nil && tag.Name() == want.Name() {
			return root.ImageIndex(d.Digest)
		}
		have = append(have, d.Annotations[refName])
	}
	return nil, fmt.Errorf("%w: %s is not in %s (it holds %s)", ErrNotFound, want, where, strings.Join(have, ", "))
}
