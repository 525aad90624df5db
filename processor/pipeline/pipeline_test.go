package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const box = "01976dbcbdb77dc4b9b61ba545503b77"

func defaultPipeline(t *testing.T) *Pipeline {
	t.Helper()
	p, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	p := defaultPipeline(t)
	for _, tc := range []struct {
		key    string
		asset  string
		date   string
		suffix string
		err    string // part of the error; "" for success
		ignore bool   // the error wraps ErrNotInput
	}{
		{key: "boxes/input/bounding_box_" + box + ".jsonl", asset: "box"},
		{key: "fields/input/" + box + "/fields_2025-06-02.jsonl", asset: "field", date: "2025-06-02"},
		{key: "fields/input/" + box + "/fields_2025-06-02_late-upload-7.jsonl", asset: "field", date: "2025-06-02", suffix: "_late-upload-7"},
		{key: "fields/input/" + box + "/fields_2025-06-02 copy+1.jsonl", asset: "field", date: "2025-06-02", suffix: " copy+1"},
		{key: "fields/input/readme.txt", err: "not an input", ignore: true},
		{key: "fields/input/" + box + "/fields_2025-06-02.json", err: "not an input", ignore: true},
		{key: "fields/input/" + box + "/sub/fields_2025-06-02.jsonl", err: "not an input", ignore: true},
		{key: "fields/input/" + strings.ToUpper(box) + "/fields_2025-06-02.jsonl", err: "not an input", ignore: true},
		{key: "boxes/input/bounding_box_123.jsonl", err: "not an input", ignore: true},
		{key: "boxes/output/bounding_box_" + box + ".jsonl", err: "outside the input folders", ignore: true},
		{key: "elsewhere/file.jsonl", err: "outside the input folders", ignore: true},
		{key: "fields/input/" + box + "/fields_2025-13-02.jsonl", err: "month out of range"},
		{key: "fields/input/" + box + "/fields_2025-02-30.jsonl", err: "day out of range"},
		{key: "fields/input/../input/" + box + "/fields_2025-06-02.jsonl", err: `".." segment`},
		{key: "/fields/input/" + box + "/fields_2025-06-02.jsonl", err: "absolute"},
		{key: "fields//input/x", err: "empty segment"},
		{key: "fields/input/./x", err: `"." segment`},
		{key: `fields\input\x`, err: "backslash"},
		{key: "", err: "empty key"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			in, err := p.Parse(tc.key)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if got := errors.Is(err, ErrNotInput); got != tc.ignore {
					t.Errorf("errors.Is(err, ErrNotInput) = %v, want %v", got, tc.ignore)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Asset.Name != tc.asset || in.Box != box || in.Values["suffix"] != tc.suffix {
				t.Errorf("got asset %s box %s suffix %q", in.Asset.Name, in.Box, in.Values["suffix"])
			}
			if tc.date != "" && in.Date.Format("2006-01-02") != tc.date {
				t.Errorf("date = %s, want %s", in.Date, tc.date)
			}
			if want := strings.Replace(tc.key, "/input/", "/output/", 1); in.OutputKey() != want {
				t.Errorf("output = %s, want %s", in.OutputKey(), want)
			}
		})
	}
}

func TestLoadSettings(t *testing.T) {
	env := map[string]string{
		"FIELDS_FOLDER_INPUT":  "/raw/fields/",
		"FIELDS_FOLDER_OUTPUT": "clean/fields",
		"DATE_FORMAT":          "%d.%m.%Y",
		"START_DATE":           "03.06.2025",
		"FIELDS_PATTERN":       `(?P<box>[0-9a-f]{32})/f_(?P<date>\d{2}\.\d{2}\.\d{4})(?P<suffix>[^/]*)\.jsonl`,
		"QUARANTINE_FOLDER":    "bad",
	}
	p, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !p.StartDate.Equal(time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("start = %s", p.StartDate)
	}
	in, err := p.Parse("raw/fields/" + box + "/f_04.06.2025_x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if in.OutputKey() != "clean/fields/"+box+"/f_04.06.2025_x.jsonl" || in.Date.Day() != 4 {
		t.Errorf("output %s date %s", in.OutputKey(), in.Date)
	}
	if got := p.ReportKey(in.Key); got != "bad/raw/fields/"+box+"/f_04.06.2025_x.jsonl.error.txt" {
		t.Errorf("report key = %s", got)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name, value, err string
	}{
		{"START_DATE", "2025/06/02", "START_DATE"},
		{"DATE_FORMAT", "%Y-%j", "directive %j is not supported"},
		{"DATE_FORMAT", "%Y-%m-%d1", "digits"},
		{"FIELDS_PATTERN", `fields_\d{4}-\d{2}-\d{2}(.*)?\.jsonl$`, "neither literal text nor a named group"},
		{"FIELDS_PATTERN", `(?P<box>[0-9a-f]{32})/fields_(?P<when>.*)\.jsonl`, "needs a (?P<date>...) group"},
		{"BOXES_PATTERN", `bounding_box_(.*)\.jsonl`, "has no name"},
		{"BOXES_PATTERN", `bounding_box_(?P<id>[0-9a-f]{32})\.jsonl`, "no (?P<box>...) group"},
		{"BOXES_PATTERN", `bounding_box_(?P<box>[0-9a-f]{32}\.jsonl`, "missing closing )"},
		{"BOXES_FOLDER_OUTPUT", "boxes/input", "input and output prefix are both"},
		{"QUARANTINE_FOLDER", "../q", `".." segment`},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := Load(func(k string) string {
				if k == tc.name {
					return tc.value
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestPatternBuildAndPrefix(t *testing.T) {
	p := defaultPipeline(t)
	field := p.Asset("field")
	if got := field.Pattern.Prefix(map[string]string{"box": box}); got != box+"/fields_" {
		t.Errorf("prefix = %q", got)
	}
	if got := field.Pattern.Prefix(nil); got != "" {
		t.Errorf("prefix with nothing fixed = %q", got)
	}
	in, err := p.InputFor(p.Asset("box"), map[string]string{"box": box, "date": "2025-06-02"})
	if err != nil || in.Key != "boxes/input/bounding_box_"+box+".jsonl" {
		t.Errorf("InputFor = %q, %v", in.Key, err)
	}
	if _, err := p.InputFor(p.Asset("box"), map[string]string{"box": "nothex"}); err == nil {
		t.Error("built a key that does not match its own pattern")
	}
	if _, err := field.Pattern.Build(map[string]string{"box": box}); err == nil {
		t.Error("built a key without a date")
	}
}
