package kubelet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// volumes maps the container's mount paths to folders of the pod's
// folder, relative to it.
type volumes map[string]string

// local is where a container path lies in the pod's folder, relative to
// it, and whether it lies in a volume at all. The deepest mount wins.
// Nothing is cleaned: a ".." stays for os.Root to judge.
func (v volumes) local(path string) (string, bool) {
	best, rel := "", ""
	for mount, folder := range v {
		if (path == mount || strings.HasPrefix(path, mount+"/")) && len(mount) > len(best) {
			best, rel = mount, folder+strings.TrimPrefix(path, mount)
		}
	}
	return rel, best != ""
}

// remap points an argument inside a volume at the pod's folder, dir.
func (v volumes) remap(dir, arg string) string {
	if rel, ok := v.local(arg); ok {
		return dir + "/" + rel
	}
	return arg
}

// parameters reads the template's output parameters from their files in
// the pod's folder, dir, with their defaults where a file is missing, as
// Argo's executor does. A file is read only inside dir: a path in no
// volume is in the container's own filesystem, which a process pod does
// not have (an error, unless there is a default), and neither ".." nor a
// symbolic link leads out of dir (always an error).
func parameters(tmpl *wfv1.Template, dir string, mounts volumes) ([]wfv1.Parameter, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("pod folder: %w", err)
	}
	defer root.Close()
	var out []wfv1.Parameter
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom == nil || p.ValueFrom.Path == "" {
			continue
		}
		b, err := readOutput(root, p.ValueFrom.Path, mounts)
		switch {
		case err == nil:
			p.Value = wfv1.AnyStringPtr(strings.TrimSuffix(string(b), "\n"))
		case errors.Is(err, fs.ErrNotExist) && p.ValueFrom.Default != nil:
			p.Value = p.ValueFrom.Default
		default:
			return out, fmt.Errorf("output parameter %s: %w", p.Name, err)
		}
		p.ValueFrom = nil
		out = append(out, p)
	}
	return out, nil
}

// errNoVolume marks a path outside every volume; it counts as missing, so
// that a default applies.
var errNoVolume = fmt.Errorf("fieldflow-local reads outputs only from the pod's volumes: %w", fs.ErrNotExist)

func readOutput(root *os.Root, path string, mounts volumes) ([]byte, error) {
	rel, ok := mounts.local(path)
	if !ok {
		return nil, fmt.Errorf("%s is in no volume of the pod; %w", path, errNoVolume)
	}
	b, err := root.ReadFile(rel)
	if err != nil {
		return nil, fmt.Errorf("read %s in the pod's folder: %w", path, err)
	}
	return b, nil
}
