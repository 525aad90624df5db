package processor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fieldflow/fieldflow/processor/rules"
	"github.com/fieldflow/fieldflow/processor/store"
)

// A note is a small text object for people that the rules read back: the
// quarantine report beside an invalid input's copy, or the note a failed
// run leaves. Its header says which version of the input it describes, so
// uploading the file again (a new version) makes it run again.
//
//	fieldflow quarantine report
//	input: fields/input/<box>/fields_2025-06-03.jsonl
//	version: "9b2cf535f27731c974343645a3985328"
//	summary: 2 of 25 lines invalid, first line 4: coordinates: ...
//
//	line 4: coordinates: coordinates_x_max (5) must be greater than ...
var errNoNote = errors.New("no note")

type note struct {
	title   string
	input   string
	version string
	summary string
	body    string
}

func (n note) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fieldflow %s\ninput: %s\nversion: %s\nsummary: %s\n", n.title, n.input, n.version, oneLine(n.summary))
	if n.body != "" {
		fmt.Fprintf(&b, "\n%s", n.body)
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func writeNote(ctx context.Context, st store.Store, key string, n note) error {
	return st.Put(ctx, key, strings.NewReader(n.String()), nil)
}

// readNote reads the header of a note.
func readNote(ctx context.Context, st store.Store, key string) (rules.Note, error) {
	rc, _, err := st.Open(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return rules.Note{}, errNoNote // removed since it was listed
	}
	if err != nil {
		return rules.Note{}, err
	}
	defer rc.Close()
	n := rules.Note{Key: key, Summary: "unreadable note"}
	sc := bufio.NewScanner(io.LimitReader(rc, 64<<10))
	for sc.Scan() && sc.Text() != "" {
		name, value, _ := strings.Cut(sc.Text(), ": ")
		switch name {
		case "version":
			n.Version = value
		case "summary":
			n.Summary = value
		}
	}
	return n, sc.Err()
}
