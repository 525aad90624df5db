package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// outputsFlag adds --outputs: a folder that gets one file per result
// field, which is how Argo reads output parameters (valueFrom.path).
func outputsFlag(fs *flag.FlagSet) *string {
	return fs.String("outputs", "", "also write each result field to a file of its name in this folder (for Argo output parameters)")
}

// writeOutputs writes the top-level scalar fields of v's JSON form, one
// file each, without a trailing newline.
func writeOutputs(dir string, v any) error {
	if dir == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	for name, raw := range fields {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw) // numbers and booleans as JSON writes them
		}
		if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			return fmt.Errorf("outputs: %w", err)
		}
	}
	return nil
}
