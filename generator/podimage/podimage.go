// Package podimage assembles the image every workflow pod runs without a
// Docker engine, as ko does: one layer holding the static pod build of
// fieldflow and the CA certificates, on nothing (scratch), run as a
// non-root user, one image per platform under an OCI index. Everything in
// it is fixed (timestamps at the epoch, owners root, entries sorted), so
// the same binaries give the same digest.
//
// The engine reads the same layout back (Store) to run the image's own
// binary in the pods that name it.
package podimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image holds and how it runs; the Dockerfile says the same
// (a test holds them to each other).
const (
	Entrypoint = "/usr/local/bin/fieldflow"
	CACerts    = "/etc/ssl/certs/ca-certificates.crt"
	// UID is the user (and group) the image runs as: the templates'
	// securityContext requires it.
	UID = 65532
	// Path is the image's PATH: a container's command `fieldflow` is
	// resolved on it, as a container runtime does.
	Path = "/usr/local/bin"
)

// Labels are the image's OCI labels, the Dockerfile's: version is the
// image tag's.
func Labels(version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "fieldflow",
		"org.opencontainers.image.description": "Validates and processes irrigation data files; one run per Argo workflow step",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.source":      "https://github.com/fieldflow/fieldflow",
	}
}

// epoch is every timestamp in the image: a build does not depend on when
// it ran.
var epoch = time.Unix(0, 0).UTC()

// Options are what an image is made of.
type Options struct {
	// Binaries are the static pod builds of fieldflow by platform
	// ("linux/amd64").
	Binaries map[string]string
	CACerts  string            // the CA bundle to copy into the image
	Labels   map[string]string // OCI labels: Labels and the revision
}

// Index builds one image per platform and the OCI index over them.
func Index(o Options) (v1.ImageIndex, error) {
	if len(o.Binaries) == 0 {
		return nil, fmt.Errorf("no binaries to build an image of")
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range slices.Sorted(maps.Keys(o.Binaries)) {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return nil, err
		}
		bin, err := os.ReadFile(o.Binaries[platform])
		if err != nil {
			return nil, fmt.Errorf("binary for %s: %w", platform, err)
		}
		img, err := image(*p, bin, certs, o.Labels)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", platform, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return idx, nil
}

// image is the image of one platform.
func image(p v1.Platform, bin, certs []byte, labels map[string]string) (v1.Image, error) {
	layerTar, err := layerTar(map[string]file{
		Entrypoint: {data: bin, mode: 0o755},
		CACerts:    {data: certs, mode: 0o644},
	})
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: epoch}, CreatedBy: "fieldflow image build", Comment: "fieldflow and CA certificates",
	}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS, cfg.Variant = p.Architecture, p.OS, p.Variant
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint: []string{Entrypoint},
		Env:        []string{"PATH=" + Path},
		WorkingDir: "/",
		Labels:     labels,
	}
	return mutate.ConfigFile(img, cfg)
}

type file struct {
	data []byte
	mode int64
}

// layerTar is a tar of files and their parent folders, sorted, owned by
// root, dated at the epoch.
func layerTar(files map[string]file) ([]byte, error) {
	entries := map[string]*tar.Header{}
	for name, f := range files {
		rel := strings.TrimPrefix(name, "/")
		for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
			entries[dir+"/"] = &tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}
		}
		entries[rel] = &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: f.mode, Size: int64(len(f.data))}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		h := entries[name]
		h.ModTime, h.Format = epoch, tar.FormatUSTAR
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(files["/"+name].data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
