package podimage

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// fakeBuild writes a stand-in binary per platform and returns the options.
func fakeBuild(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, p := range []string{"linux/amd64", "linux/arm64", runtime.GOOS + "/" + runtime.GOARCH} {
		path := filepath.Join(dir, strings.ReplaceAll(p, "/", "-"))
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho fieldflow "+p+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		bins[p] = path
	}
	certs := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Options{Binaries: bins, CACerts: certs, Labels: map[string]string{"org.opencontainers.image.revision": "c0ffee"}}
}

// TestReproducible: two builds of the same files give the same digest and
// byte-identical layouts and tarballs.
func TestReproducible(t *testing.T) {
	o := fakeBuild(t)
	var trees []map[string]string
	for range 2 {
		idx, err := Index(o)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := Write(dir, "fieldflow:0.1.0", idx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // a second build a second later
		trees = append(trees, tree(t, dir))
	}
	if len(trees[0]) == 0 {
		t.Fatal("nothing written")
	}
	for p, sum := range trees[0] {
		if trees[1][p] != sum {
			t.Errorf("%s differs between two builds", p)
		}
	}
	if len(trees[0]) != len(trees[1]) {
		t.Errorf("%d files, then %d", len(trees[0]), len(trees[1]))
	}
}

// TestImageConfig: each platform's image runs fieldflow as the non-root
// user, from one layer holding exactly the binary, the CA bundle and
// their folders, owned by root and dated at the epoch: no shell, nothing else.
func TestImageConfig(t *testing.T) {
	idx, err := Index(fakeBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != Entrypoint || len(c.Cmd) != 0 {
			t.Errorf("%s: user %q entrypoint %q cmd %q", d.Platform, c.User, c.Entrypoint, c.Cmd)
		}
		if cf.OS+"/"+cf.Architecture != d.Platform.String() || !cf.Created.Time.Equal(epoch) {
			t.Errorf("%s: config for %s/%s created %s", d.Platform, cf.OS, cf.Architecture, cf.Created)
		}
		if c.Labels["org.opencontainers.image.revision"] != "c0ffee" {
			t.Errorf("%s: labels %v", d.Platform, c.Labels)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers (%v), want 1", d.Platform, len(layers), err)
		}
		var got []string
		tr := tar.NewReader(mutate.Extract(img))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
				t.Errorf("%s: %s owned %d:%d, dated %s", d.Platform, h.Name, h.Uid, h.Gid, h.ModTime)
			}
			got = append(got, h.Name)
		}
		want := "etc etc/ssl etc/ssl/certs etc/ssl/certs/ca-certificates.crt usr usr/local usr/local/bin usr/local/bin/fieldflow"
		if strings.Join(got, " ") != want {
			t.Errorf("%s: layer holds %q, want %q", d.Platform, got, want)
		}
	}
}

// TestStore: the engine finds the image by its tag, unpacks this
// platform's once, resolves a container's command on the image's PATH,
// and says how to build an image it does not hold.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	idx, err := Index(fakeBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, "fieldflow:0.1.0", idx); err != nil {
		t.Fatal(err)
	}
	s := &Store{Dir: dir}
	u, err := s.Unpack("docker.io/library/fieldflow:0.1.0") // the same reference, spelt out
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"fieldflow", Entrypoint} {
		p, err := u.Program(cmd)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if !strings.Contains(string(b), runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%s resolves to %s, holding %q: not this platform's binary", cmd, p, b)
		}
	}
	if _, err := u.Program("sh"); err == nil {
		t.Error("sh resolved in an image that has no shell")
	}
	again, err := (&Store{Dir: dir}).Unpack("fieldflow:0.1.0") // a restarted engine
	if err != nil || again.Rootfs != u.Rootfs {
		t.Errorf("second unpack: %v, %v; want the same folder %s", again, err, u.Rootfs)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "rootfs"))
	if len(entries) != 1 {
		t.Errorf("rootfs holds %d entries, want one unpacked image", len(entries))
	}
	for _, ref := range []string{"fieldflow:0.2.0", "other:0.1.0"} {
		_, err := s.Unpack(ref)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "make image") {
			t.Errorf("Unpack(%s): %v, want ErrNotFound saying how to build it", ref, err)
		}
	}
	if _, err := (&Store{Dir: t.TempDir()}).Unpack("fieldflow:0.1.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty store: %v, want ErrNotFound", err)
	}
}

// TestExtractRefusesEscape: a layer entry may not land outside the image.
func TestExtractRefusesEscape(t *testing.T) {
	for _, name := range []string{"../escape", "usr/../../escape"} {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: 1})
			tw.Write([]byte("x"))
			tw.Close()
			pw.Close()
		}()
		dir := t.TempDir()
		if err := extract(filepath.Join(dir, "root"), pr); err == nil {
			t.Errorf("%s: extracted", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
			t.Errorf("%s: written outside", name)
		}
	}
}

// tree maps every file under dir to its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
