package processor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

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
//
// A failure note also counts attempts: it is written when an attempt starts
// (outcome: running, at: its start) and rewritten when it fails (outcome:
// failed, at: the failure, which the backoff counts from), so an attempt
// that never ends still counts:
//
//	fieldflow failure note
//	input: boxes/input/bounding_box_<box>.jsonl
//	version: "9b2cf535f27731c974343645a3985328"
//	attempt: 2
//	at: 2025-06-02T10:00:00.123456789Z
//	outcome: failed
//	summary: put boxes/output/...: connection reset by peer
var errNoNote = errors.New("no note")

type note struct {
	title   string
	input   string
	version string
	attempt int       // failure notes only
	at      time.Time // failure notes only: when it started, or failed
	running bool      // failure notes only: the attempt has not ended
	summary string
	body    string
}

func (n note) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fieldflow %s\ninput: %s\nversion: %s\n", n.title, n.input, n.version)
	if n.attempt > 0 {
		outcome := "failed"
		if n.running {
			outcome = "running"
		}
		fmt.Fprintf(&b, "attempt: %d\nat: %s\noutcome: %s\n", n.attempt, n.at.UTC().Format(time.RFC3339Nano), outcome)
	}
	fmt.Fprintf(&b, "summary: %s\n", oneLine(n.summary))
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
		case "attempt":
			n.Attempt, _ = strconv.Atoi(value)
		case "at":
			n.At, _ = time.Parse(time.RFC3339Nano, value)
		case "outcome":
			n.Running = value == "running"
		}
	}
	return n, sc.Err()
}
