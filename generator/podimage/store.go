package podimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// ErrNotFound is returned for an image the store does not hold.
var ErrNotFound = errors.New("image not found")

// Store is the engine's local image store: the OCI layout `make image`
// writes in Dir, each image unpacked once per digest under Dir/rootfs.
type Store struct {
	Dir string

	mu       sync.Mutex
	unpacked map[string]*Unpacked // by image reference
}

// Unpacked is an image of this machine's platform, unpacked.
type Unpacked struct {
	Ref    string
	Digest v1.Hash // of the platform's image manifest
	Rootfs string  // its filesystem
	Config v1.Config
}

// Unpack returns the image ref names for this machine's platform,
// unpacking it the first time. An image the layout does not hold gives
// ErrNotFound, with how to build it.
func (s *Store) Unpack(ref string) (*Unpacked, error) {
	want, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.unpacked[want.Name()]; ok {
		return u, nil
	}
	img, err := s.find(want)
	if err != nil {
		return nil, err
	}
	u, err := unpack(filepath.Join(s.Dir, "rootfs"), img)
	if err != nil {
		return nil, fmt.Errorf("unpack %s: %w", ref, err)
	}
	u.Ref = ref
	if s.unpacked == nil {
		s.unpacked = map[string]*Unpacked{}
	}
	s.unpacked[want.Name()] = u
	return u, nil
}

// find is the image of this platform in the index whose tag names want.
func (s *Store) find(want name.Reference) (v1.Image, error) {
	idx, err := Read(s.Dir, want.String())
	if err != nil {
		return nil, fmt.Errorf("%w; `make image` builds it", err)
	}
	return platformImage(idx, want)
}

// platformImage is idx's image for this machine.
func platformImage(idx v1.ImageIndex, ref name.Reference) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == runtime.GOOS && d.Platform.Architecture == runtime.GOARCH {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%w: %s has no image for %s/%s; `make image` builds it", ErrNotFound, ref, runtime.GOOS, runtime.GOARCH)
}

// unpack extracts img into root/<digest> unless it is there, atomically:
// into a temporary folder renamed when whole.
func unpack(root string, img v1.Image) (*Unpacked, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	u := &Unpacked{Digest: digest, Rootfs: filepath.Join(root, digest.Hex), Config: cfg.Config}
	if _, err := os.Stat(u.Rootfs); err == nil {
		return u, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(root, "unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rc := mutate.Extract(img)
	defer rc.Close()
	if err := extract(tmp, rc); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, u.Rootfs); err != nil {
		return nil, err
	}
	return u, nil
}

// extract writes the folders and regular files of a tar under dir, and
// refuses any entry that would land outside it.
func extract(dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if p != dir && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return fmt.Errorf("layer entry %q leaves the image's filesystem", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(p, tr, os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("layer entry %q: type %q is not a folder or a file", h.Name, h.Typeflag)
		}
	}
}

func writeFile(p string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Program is the file in the image's filesystem that command names: an
// absolute path as is, a bare name looked up on the image's PATH, as a
// container runtime resolves a container's command.
func (u *Unpacked) Program(command string) (string, error) {
	if filepath.IsAbs(command) {
		return u.existing(command)
	}
	for _, e := range u.Config.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			for _, dir := range filepath.SplitList(v) {
				if p, err := u.existing(filepath.Join(dir, command)); err == nil {
					return p, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%q not found on the PATH of image %s", command, u.Ref)
}

func (u *Unpacked) existing(inImage string) (string, error) {
	p := filepath.Join(u.Rootfs, filepath.Clean("/"+inImage))
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is no executable file in image %s", inImage, u.Ref)
	}
	return p, nil
}
