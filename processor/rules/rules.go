// Package rules decides the state of an input from what the bucket holds:
// done, stale, ready, waiting (and for what), running, retrying, failed,
// quarantined, out of range or rejected. It does no I/O: the caller lists
// the keys the rules need into an Index, so the rules are tested on tables
// and a check costs only its listings.
package rules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/store"
)

// State of one input.
type State string

const (
	Done        State = "done"         // its output was made from its current content
	Stale       State = "stale"        // changed after it was processed: runs again
	Ready       State = "ready"        // every check holds; it can run now
	Waiting     State = "waiting"      // a check does not hold yet
	Running     State = "running"      // an attempt started and has not ended yet
	Retrying    State = "retrying"     // an attempt failed or never ended; runs again after a backoff
	Failed      State = "failed"       // gave up after the asset's attempts
	Quarantined State = "quarantined"  // invalid: copied to quarantine with a report
	OutOfRange  State = "out-of-range" // dated before the start date: never run
	Rejected    State = "rejected"     // its key names no valid input (an impossible date, a control character)
)

// States lists every state in the order a summary shows them.
var States = []State{Done, Stale, Ready, Waiting, Running, Retrying, Failed, Quarantined, OutOfRange, Rejected}

// Note is a quarantine report or failure note, read back from the store.
type Note struct {
	Key     string // where the note is
	Version string // the input version it describes
	Summary string // one line for people
	// Failure notes count attempts: the note is written when an attempt
	// starts (Running) and rewritten with its error when it fails, so an
	// attempt that never ends, a crash or a kill, still counts.
	Attempt int
	At      time.Time // when the attempt started (Running), else when it failed
	Running bool
}

// Entry is an input seen in a listing.
type Entry struct {
	Input pipeline.Input
	Info  store.Info
}

// Index is what the rules know of the bucket. It need only hold the keys
// around the inputs being judged (see pipeline.Upstream).
type Index struct {
	Now         time.Time             // for backoffs
	Inputs      map[string]Entry      // by input key
	Outputs     map[string]store.Info // by output key
	Made        map[string][]string   // by input key: version tokens of its provenance markers
	Quarantined map[string]Note       // by input key
	Failed      map[string]Note       // by input key
	Rejected    map[string]Rejection  // keys in an input folder that name no valid input

	groups map[string][]string // input keys by asset and group; built by the first Judge
}

// Rejection is a key in an input folder that matches no valid input.
type Rejection struct {
	Asset  string
	Reason string
}

// NewIndex returns an empty index for judging at now.
func NewIndex(now time.Time) *Index {
	return &Index{
		Now:         now,
		Inputs:      map[string]Entry{},
		Outputs:     map[string]store.Info{},
		Made:        map[string][]string{},
		Quarantined: map[string]Note{},
		Failed:      map[string]Note{},
		Rejected:    map[string]Rejection{},
	}
}

// Verdict is the state of one input and why.
type Verdict struct {
	Key    string `json:"key"`
	Asset  string `json:"asset"`
	State  State  `json:"state"`
	Ready  bool   `json:"ready"` // the reconcile would run it now
	Reason string `json:"reason"`
	// Version is the input's current version; MadeFrom the version its
	// output records (equal when done).
	Version  string    `json:"version,omitempty"`
	MadeFrom string    `json:"made_from,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	RetryAt  time.Time `json:"retry_at,omitzero"`
	Checks   []Check   `json:"checks,omitempty"`
	// Modified is when the input was last written (its upload, on S3):
	// how long a waiting file has waited.
	Modified time.Time `json:"-"`
}

// Check is the outcome of one dependency check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
}

// Judge decides the state of in.
func Judge(p *pipeline.Pipeline, idx *Index, in pipeline.Input) Verdict {
	e := idx.Inputs[in.Key]
	v := Verdict{Key: in.Key, Asset: in.Asset.Name, Modified: e.Info.ModTime, Version: e.Info.Version}
	out, hasOutput := idx.Outputs[in.OutputKey()]
	made := idx.Made[in.Key]
	if len(made) == 1 {
		v.MadeFrom = made[0]
	}
	if hasOutput && len(made) == 1 && made[0] == pipeline.VersionToken(e.Info.Version) {
		v.State, v.Reason = Done, "output "+in.OutputKey()
		return v
	}
	// Every check is judged, even once one fails: the Argo DAG asks for
	// each by name (a plugin node a check; `fieldflow check --check NAME`).
	var waiting, outOfRange []string
	for _, c := range in.Asset.Checks {
		res := check(p, idx, in, c)
		v.Checks = append(v.Checks, res)
		switch {
		case res.OK:
		case c.Kind == pipeline.StartDate:
			outOfRange = append(outOfRange, res.Reason)
		default:
			waiting = append(waiting, res.Reason)
		}
	}
	if len(outOfRange) > 0 {
		v.State, v.Reason = OutOfRange, strings.Join(outOfRange, "; ")
		return v
	}
	if n, ok := idx.Quarantined[in.Key]; ok && n.Version == e.Info.Version {
		v.State, v.Reason = Quarantined, fmt.Sprintf("%s (report %s; fix the file and upload it again)", n.Summary, n.Key)
		return v
	}
	if len(waiting) > 0 {
		v.State, v.Reason = Waiting, strings.Join(waiting, "; ")
		return v
	}
	if n, ok := idx.Failed[in.Key]; ok && n.Version == e.Info.Version {
		return failure(in, idx.Now, n, v)
	}
	v.Ready = true
	if hasOutput {
		v.State, v.Reason = Stale, staleReason(in, out, v.MadeFrom)
		return v
	}
	v.State, v.Reason = Ready, "every check holds"
	return v
}

func staleReason(in pipeline.Input, out store.Info, madeFrom string) string {
	if madeFrom == "" {
		return fmt.Sprintf("output %s has no record of the input version it was made from: runs again", in.OutputKey())
	}
	return fmt.Sprintf("input changed after it was processed on %s: runs again", out.ModTime.UTC().Format(time.RFC3339))
}

// failure judges an input whose current version has a failure note: its
// attempt is running, it is retried after a backoff, or it gave up.
func failure(in pipeline.Input, now time.Time, n Note, v Verdict) Verdict {
	r := in.Asset.Retry
	next := n.At.Add(r.Wait(n.Attempt))
	v.Attempts, v.RetryAt = n.Attempt, next
	if n.Running && now.Before(next) {
		v.State, v.Reason = Running, fmt.Sprintf("attempt %d of %d started %s", n.Attempt, r.Attempts, n.At.UTC().Format(time.RFC3339))
		return v
	}
	if n.Attempt >= r.Attempts {
		v.RetryAt = time.Time{}
		v.State, v.Reason = Failed, fmt.Sprintf("gave up after %d attempts: %s (note %s; upload the file again or run `fieldflow retry --key %s`)", n.Attempt, n.Summary, n.Key, in.Key)
		return v
	}
	v.State = Retrying
	v.Ready = !now.Before(next)
	v.Reason = fmt.Sprintf("attempt %d of %d failed: %s; runs again from %s", n.Attempt, r.Attempts, n.Summary, next.UTC().Format(time.RFC3339))
	return v
}

// Unfinished is the summary of an attempt that started and never ended.
const Unfinished = "did not finish: the process was killed or crashed (out of memory, SIGKILL, a lost node, a panic)"

func check(p *pipeline.Pipeline, idx *Index, in pipeline.Input, c pipeline.Check) Check {
	res := Check{Name: c.Name}
	switch c.Kind {
	case pipeline.StartDate:
		res.OK, res.Reason = startDate(p, in)
	case pipeline.AssetDone:
		res.OK, res.Reason = assetDone(p, idx, in, c)
	case pipeline.EarlierDone:
		res.OK, res.Reason = earlierDone(p, idx, in)
	default:
		res.Reason = fmt.Sprintf("unknown check kind %q", c.Kind)
	}
	return res
}

func startDate(p *pipeline.Pipeline, in pipeline.Input) (bool, string) {
	d, start := in.Date.Format(p.DateLayout), p.StartDate.Format(p.DateLayout)
	if in.Date.Before(p.StartDate) {
		return false, fmt.Sprintf("dated %s, before the start date %s: out of range, never processed", d, start)
	}
	return true, fmt.Sprintf("dated %s, on or after the start date %s", d, start)
}

// assetDone holds when the input c names has an output. A dependency needs
// its input processed, not its current content: a stale box does not hold
// back its fields, and reprocessing it does not reprocess them.
func assetDone(p *pipeline.Pipeline, idx *Index, in pipeline.Input, c pipeline.Check) (bool, string) {
	dep := p.Asset(c.Asset)
	want, err := p.Needs(in, c)
	if err != nil {
		return false, fmt.Sprintf("cannot name the %s this waits for: %v", strings.ToLower(dep.Title), err)
	}
	what := strings.ToLower(dep.Title) + " " + want.Key
	if _, ok := idx.Outputs[want.OutputKey()]; ok {
		return true, what + " is processed"
	}
	return false, "waiting for " + what + blocker(idx, want.Key)
}

// blocker says why an input this one waits for has no output.
func blocker(idx *Index, key string) string {
	e, ok := idx.Inputs[key]
	if !ok {
		return " (not uploaded yet)"
	}
	if n, ok := idx.Quarantined[key]; ok && n.Version == e.Info.Version {
		return " (quarantined: fix it and upload it again)"
	}
	if n, ok := idx.Failed[key]; ok && n.Version == e.Info.Version {
		return fmt.Sprintf(" (its attempt %d failed: %s)", n.Attempt, n.Summary)
	}
	return " (not processed yet)"
}

func earlierDone(p *pipeline.Pipeline, idx *Index, in pipeline.Input) (bool, string) {
	var missing []string
	earlier := 0
	for _, key := range idx.group(in) {
		o := idx.Inputs[key].Input
		if !p.Earlier(in, o) {
			continue
		}
		earlier++
		if _, ok := idx.Outputs[o.OutputKey()]; !ok {
			missing = append(missing, key)
		}
	}
	kind := strings.ToLower(in.Asset.Title)
	if len(missing) == 0 {
		if earlier == 0 {
			return true, fmt.Sprintf("no earlier %s files since the start date", kind)
		}
		return true, fmt.Sprintf("all %d earlier %s files are processed", earlier, kind)
	}
	sort.Strings(missing)
	reason := fmt.Sprintf("waiting for earlier %s file %s%s", kind, missing[0], blocker(idx, missing[0]))
	if len(missing) > 1 {
		reason += fmt.Sprintf(" and %d more", len(missing)-1)
	}
	return false, reason
}

// group returns the keys of the inputs sharing in's asset and group. The
// first call indexes every input, so judging n inputs costs n times their
// group's size, not n squared.
func (idx *Index) group(in pipeline.Input) []string {
	if idx.groups == nil {
		idx.groups = map[string][]string{}
		for key, e := range idx.Inputs {
			g := groupKey(e.Input)
			idx.groups[g] = append(idx.groups[g], key)
		}
	}
	return idx.groups[groupKey(in)]
}

func groupKey(in pipeline.Input) string {
	return in.Asset.Name + "\x00" + in.GroupScope().Prefix
}
