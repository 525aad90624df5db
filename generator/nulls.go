package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/types"
)

// checkNulls refuses a null in a generated YAML file. In a patch (a file
// some kustomization names under patches) a null deletes the field from
// the object patched: a Deployment patch marshalled from appsv1.Deployment
// carried `selector: null` and took the release's selector away, which
// the API server then rejected. In any other object a null is noise, and
// becomes a deletion the day the object is used as a patch; only an
// object's or a pod template's metadata.creationTimestamp may be null
// there, since every upstream ObjectMeta marshals its zero time so and the
// API server sets it itself. Argo's CRDs declare no creationTimestamp in
// workflowMetadata: a server-side apply of a null there is rejected.
func checkNulls(files []File) error {
	patches := patchPaths(files)
	var errs []error
	for _, f := range files {
		if filepath.Ext(f.Path) == ".json" {
			continue // Grafana's dashboard, not a Kubernetes object
		}
		b, err := f.Bytes()
		if err != nil {
			return err
		}
		allowed := metadataCreationTimestamp
		if patches[f.Path] {
			allowed = nothing
		}
		found, err := nulls(b, allowed)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		for _, where := range found {
			errs = append(errs, fmt.Errorf("%s: null at %s", f.Path, where))
		}
	}
	return errors.Join(errs...)
}

// patchPaths are the files the generated kustomizations name as patches,
// by path from the repository root.
func patchPaths(files []File) map[string]bool {
	out := map[string]bool{}
	for _, f := range files {
		for _, o := range f.Objects {
			if k, ok := o.(*types.Kustomization); ok {
				for _, p := range k.Patches {
					out[path.Join(path.Dir(f.Path), p.Path)] = true
				}
			}
		}
	}
	return out
}

// A nullAllowed says whether a null may stand at a path (a.b[2].c).
type nullAllowed func(at string) bool

func nothing(string) bool { return false }

func metadataCreationTimestamp(at string) bool {
	const field = "metadata.creationTimestamp"
	return at == field || strings.HasSuffix(at, "."+field)
}

// nulls decodes a YAML stream and lists, sorted, where its documents hold
// a null that allowed does not permit, as "document N: a.b[2].c".
func nulls(stream []byte, allowed nullAllowed) ([]string, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var out []string
	for n := 0; ; n++ {
		var doc any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			sort.Strings(out)
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		for _, at := range walkNulls(doc, "", allowed) {
			out = append(out, fmt.Sprintf("document %d: %s", n, at))
		}
	}
}

// walkNulls lists the nulls in v, a decoded document, below path.
func walkNulls(v any, path string, allowed nullAllowed) []string {
	var out []string
	visit := func(at string, e any) {
		if e == nil && !allowed(at) {
			out = append(out, at)
		}
		out = append(out, walkNulls(e, at, allowed)...)
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			at := k
			if path != "" {
				at = path + "." + k
			}
			visit(at, e)
		}
	case []any:
		for i, e := range v {
			visit(path+"["+strconv.Itoa(i)+"]", e)
		}
	}
	return out
}
