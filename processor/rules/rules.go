// Package rules decides the state of an input from what the bucket holds:
// done, ready, waiting (and for what), quarantined, out of range or failed.
// It does no I/O: the caller lists the keys the rules need into an Index,
// so the rules are tested on tables and a check costs only its listings.
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
	Done        State = "done"         // its output exists
	Ready       State = "ready"        // every check holds; it can run now
	Waiting     State = "waiting"      // a check does not hold yet
	Quarantined State = "quarantined"  // invalid: copied to quarantine with a report
	OutOfRange  State = "out-of-range" // dated before the start date: never run
	Failed      State = "failed"       // its last run failed for another reason
)

// States lists every state in the order a summary shows them.
var States = []State{Done, Ready, Waiting, Quarantined, OutOfRange, Failed}

// Note is a quarantine report or failure note, read back from the store.
type Note struct {
	Key     string // where the note is
	Version string // the input version it describes
	Summary string // one line for people
}

// Entry is an input seen in a listing.
type Entry struct {
	Input pipeline.Input
	Info  store.Info
}

// Index is what the rules know of the bucket. It need only hold the keys
// around the inputs being judged (see the processor's scopes).
type Index struct {
	Inputs      map[string]Entry // by input key
	Outputs     map[string]bool  // output keys present
	Quarantined map[string]Note  // by input key
	Failed      map[string]Note  // by input key
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		Inputs:      map[string]Entry{},
		Outputs:     map[string]bool{},
		Quarantined: map[string]Note{},
		Failed:      map[string]Note{},
	}
}

// Verdict is the state of one input and why.
type Verdict struct {
	Key    string  `json:"key"`
	Asset  string  `json:"asset"`
	State  State   `json:"state"`
	Ready  bool    `json:"ready"` // processing would run it now (ready, or failed and retryable)
	Reason string  `json:"reason"`
	Checks []Check `json:"checks,omitempty"`
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
	v := Verdict{Key: in.Key, Asset: in.Asset.Name, Modified: idx.Inputs[in.Key].Info.ModTime}
	if idx.Outputs[in.OutputKey()] {
		v.State, v.Reason = Done, "output "+in.OutputKey()
		return v
	}
	// Every check is judged, even once one fails: the Argo DAG asks for
	// each by name (`fieldflow check --check NAME`).
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
	version := idx.Inputs[in.Key].Info.Version
	if n, ok := idx.Quarantined[in.Key]; ok && n.Version == version {
		v.State, v.Reason = Quarantined, fmt.Sprintf("%s (report %s; fix the file and upload it again)", n.Summary, n.Key)
		return v
	}
	if len(waiting) > 0 {
		v.State, v.Reason = Waiting, strings.Join(waiting, "; ")
		return v
	}
	v.Ready = true
	if n, ok := idx.Failed[in.Key]; ok && n.Version == version {
		v.State, v.Reason = Failed, fmt.Sprintf("last run failed: %s (note %s)", n.Summary, n.Key)
		return v
	}
	v.State, v.Reason = Ready, "every check holds"
	return v
}

func check(p *pipeline.Pipeline, idx *Index, in pipeline.Input, c pipeline.Check) Check {
	res := Check{Name: c.Name}
	switch c.Kind {
	case pipeline.StartDate:
		res.OK, res.Reason = startDate(p, in)
	case pipeline.AssetDone:
		res.OK, res.Reason = assetDone(p, idx, in, p.Asset(c.Asset))
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

func assetDone(p *pipeline.Pipeline, idx *Index, in pipeline.Input, dep *pipeline.Asset) (bool, string) {
	want, err := p.InputFor(dep, in.Values)
	if err != nil {
		return false, fmt.Sprintf("cannot name the %s this waits for: %v", strings.ToLower(dep.Title), err)
	}
	what := strings.ToLower(dep.Title) + " " + want.Key
	if idx.Outputs[want.OutputKey()] {
		return true, what + " is processed"
	}
	return false, "waiting for " + what + blocker(idx, want.Key)
}

// blocker says why an input this one waits for has no output.
func blocker(idx *Index, key string) string {
	e, ok := idx.Inputs[key]
	switch {
	case !ok:
		return " (not uploaded yet)"
	case idx.Quarantined[key].Version == e.Info.Version && idx.Quarantined[key].Key != "":
		return " (quarantined: fix it and upload it again)"
	case idx.Failed[key].Version == e.Info.Version && idx.Failed[key].Key != "":
		return " (its last run failed)"
	}
	return " (not processed yet)"
}

func earlierDone(p *pipeline.Pipeline, idx *Index, in pipeline.Input) (bool, string) {
	var missing []string
	earlier := 0
	for key, e := range idx.Inputs {
		o := e.Input
		if o.Asset != in.Asset || !sameGroup(o, in) || o.Date.Before(p.StartDate) || !o.Date.Before(in.Date) {
			continue
		}
		earlier++
		if !idx.Outputs[o.OutputKey()] {
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

// DependsOn reports whether a check of in waits for dep: in is a field of
// the box dep, or a later date of dep's box.
func DependsOn(p *pipeline.Pipeline, in, dep pipeline.Input) bool {
	for _, c := range in.Asset.Checks {
		switch c.Kind {
		case pipeline.AssetDone:
			if c.Asset == dep.Asset.Name {
				if want, err := p.InputFor(dep.Asset, in.Values); err == nil && want.Key == dep.Key {
					return true
				}
			}
		case pipeline.EarlierDone:
			if dep.Asset == in.Asset && sameGroup(dep, in) && !dep.Date.Before(p.StartDate) && dep.Date.Before(in.Date) {
				return true
			}
		}
	}
	return false
}

// sameGroup reports whether two inputs share every group but date and
// suffix: for fields, the same box.
func sameGroup(a, b pipeline.Input) bool {
	for g, v := range a.Values {
		if g != "date" && g != "suffix" && b.Values[g] != v {
			return false
		}
	}
	return true
}
