package store_test

import (
	"strings"
	"testing"

	"github.com/fieldflow/fieldflow/processor/store"
)

func TestMetadataCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta store.Metadata
		want string // in the error; "" for valid
	}{
		{"none", nil, ""},
		{"simple", store.Metadata{"input-version": `"0123abc"`, "records": "12"}, ""},
		{"inner spaces", store.Metadata{"note": "a  b ~"}, ""},
		{"at the limit", store.Metadata{"k": strings.Repeat("x", store.MaxMetadataSize-1)}, ""},
		{"over the limit", store.Metadata{"k": strings.Repeat("x", store.MaxMetadataSize)}, "more than S3's 2048"},
		{"uppercase key", store.Metadata{"Input": "x"}, `key "Input"`},
		{"underscore key", store.Metadata{"a_b": "x"}, `key "a_b"`},
		{"empty key", store.Metadata{"": "x"}, "empty"},
		{"empty value", store.Metadata{"k": ""}, "empty value"},
		{"leading space", store.Metadata{"k": " x"}, "trimmed"},
		{"trailing tab", store.Metadata{"k": "x\t"}, "trimmed"},
		{"newline", store.Metadata{"k": "a\nb"}, "printable ASCII"},
		{"non-ASCII", store.Metadata{"k": "é"}, "printable ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.meta.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
