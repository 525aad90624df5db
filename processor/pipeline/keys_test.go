package pipeline

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckKey(t *testing.T) {
	field := "fields/input/" + box + "/fields_2025-06-02"
	for _, tc := range []struct {
		key string
		err string // the whole error; "" for a good key
	}{
		{"boxes/input/bounding_box_" + box + ".jsonl", ""},
		{field + ".jsonl", ""},
		{field + "_late-upload-7.jsonl", ""},
		{field + " copy+1.jsonl", ""},
		{field + `_"quoted" 'too'.jsonl`, ""},
		{field + "_café_畑.jsonl", ""},
		{field + "_a%0Ab.jsonl", ""}, // percent-encoding is text in a key
		{"readme.txt", ""},

		{"", "empty key"},
		{"/" + field + ".jsonl", `key "/` + field + `.jsonl" is absolute: keys are relative to the bucket or folder`},
		{`fields\input\x`, `key "fields\\input\\x" contains a backslash`},
		{field + "_a\nb.jsonl", `key "` + field + `_a\nb.jsonl" contains the control character '\n' at byte 66`},
		{"a\tb.jsonl", `key "a\tb.jsonl" contains the control character '\t' at byte 2`},
		{"a.jsonl\r", `key "a.jsonl\r" contains the control character '\r' at byte 8`},
		{"a\x00b", `key "a\x00b" contains the control character '\x00' at byte 2`},
		{"a\x1fb", `key "a\x1fb" contains the control character '\x1f' at byte 2`},
		{"a\x7fb", `key "a\x7fb" contains the control character '\x7f' at byte 2`},
		{"caf\xe9.jsonl", `key "caf\xe9.jsonl" is not UTF-8: byte 4 is "\xe9"`},
		{"café\xc3", `key "café\xc3" is not UTF-8: byte 6 is "\xc3"`},
		{"a\xed\xa0\x80b", `key "a\xed\xa0\x80b" is not UTF-8: byte 2 is "\xed"`}, // an encoded surrogate
		{"fields/input/../x", `key "fields/input/../x" has a ".." segment`},
		{"fields/./x", `key "fields/./x" has a "." segment`},
		{"fields//x", `key "fields//x" has an empty segment`},
		{"fields/input/", `key "fields/input/" has an empty segment`},
	} {
		t.Run(tc.key, func(t *testing.T) {
			err := CheckKey(tc.key)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err {
				t.Errorf("CheckKey(%q) = %q, want %q", tc.key, got, tc.err)
			}
		})
	}
}

// FuzzParseKey checks Parse on any key with the default pipeline: it never
// panics, every key it takes (as an input, or as well-formed but no input)
// is safe to use as a path and to print, and an input's key can be built back
// from its groups and leads to an output that is no input.
func FuzzParseKey(f *testing.F) {
	p, err := Load(func(string) string { return "" })
	if err != nil {
		f.Fatal(err)
	}
	field := "fields/input/" + box + "/fields_2025-06-02"
	for _, k := range []string{
		"boxes/input/bounding_box_" + box + ".jsonl",
		field + ".jsonl",
		field + "_late-upload-7.jsonl",
		field + " copy+1.jsonl",
		field + "+copy.jsonl",
		field + `_"q'.jsonl`,
		field + "_café.jsonl",
		field + "_a\nb.jsonl",
		field + "\t.jsonl",
		field + "\x7f.jsonl",
		field + "\xff.jsonl",
		field + "_a%2Fb.jsonl",
		"fields/input/" + box + "/../" + box + "/fields_2025-06-02.jsonl",
		"fields/input/./" + box + "/fields_2025-06-02.jsonl",
		"fields/input//fields_2025-06-02.jsonl",
		"/" + field + ".jsonl",
		`fields\input\` + box + `\fields_2025-06-02.jsonl`,
		"fields/output/" + box + "/fields_2025-06-02.jsonl",
		"quarantine/" + field + ".jsonl.error.txt",
		"fields/input/" + box + "/fields_2025-02-30.jsonl",
		"boxes/input/bounding_box_" + strings.ToUpper(box) + ".jsonl",
		"",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		in, err := p.Parse(key)
		if err != nil && !errors.Is(err, ErrNotInput) {
			return // refused
		}
		wellFormed(t, key)
		if err != nil {
			return
		}
		if in.Key != key {
			t.Fatalf("Parse(%q).Key = %q", key, in.Key)
		}
		if _, err := p.Parse(in.OutputKey()); !errors.Is(err, ErrNotInput) {
			t.Fatalf("output %q of %q: Parse error %v, want one wrapping ErrNotInput", in.OutputKey(), key, err)
		}
		back, err := p.InputFor(in.Asset, in.Values)
		if err != nil {
			t.Fatalf("InputFor(%s, %v) of %q: %v", in.Asset.Name, in.Values, key, err)
		}
		if back.Key != key || back.Name != in.Name || back.Box != in.Box || !back.Date.Equal(in.Date) {
			t.Fatalf("InputFor gave %+v, want %+v", back, in)
		}
	})
}

// wellFormed fails t unless key is UTF-8 with no control character and no
// empty, "." or ".." segment.
func wellFormed(t *testing.T, key string) {
	t.Helper()
	if !utf8.ValidString(key) {
		t.Fatalf("%q taken but not UTF-8", key)
	}
	if i := strings.IndexFunc(key, func(r rune) bool { return r < ' ' || r == '\x7f' }); i >= 0 {
		t.Fatalf("%q taken with a control character at byte %d", key, i+1)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			t.Fatalf("%q taken with a %q segment", key, seg)
		}
	}
}
