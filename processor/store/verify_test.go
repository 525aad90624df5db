package store_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fieldflow/fieldflow/processor/store"
)

func TestVerify(t *testing.T) {
	cut := errors.New("connection reset")
	for _, tc := range []struct {
		name    string
		r       io.Reader
		size    int64
		want    string // what was read
		wantErr error  // nil: a clean io.EOF
	}{
		{"whole", strings.NewReader("abc\n"), 4, "abc\n", nil},
		{"empty", strings.NewReader(""), 0, "", nil},
		{"short on a line break", strings.NewReader("abc\n"), 8, "abc\n", store.ErrIncomplete},
		{"short mid-line", strings.NewReader("ab"), 4, "ab", store.ErrIncomplete},
		{"longer than stat'ed", strings.NewReader("abcdef"), 4, "abcdef", store.ErrIncomplete},
		{"read error", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(cut)), 4, "ab", cut},
		{"unexpected EOF", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(io.ErrUnexpectedEOF)), 4, "ab", io.ErrUnexpectedEOF},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader("abc\n")), 4, "abc\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := store.Verify(io.NopCloser(tc.r), "k", tc.size)
			got, err := io.ReadAll(r)
			if string(got) != tc.want {
				t.Errorf("read %q, want %q", got, tc.want)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, store.ErrIncomplete) || !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want ErrIncomplete and %v", err, tc.wantErr)
			}
			// The error sticks: a second read never turns it into io.EOF.
			if _, again := r.Read(make([]byte, 8)); !errors.Is(again, store.ErrIncomplete) {
				t.Errorf("second read: err = %v, want ErrIncomplete again", again)
			}
		})
	}
}
