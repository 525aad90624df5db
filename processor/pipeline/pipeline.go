// Package pipeline is the one definition of the fieldflow pipeline: its asset
// kinds, where their keys live, what each waits for. The processor enforces
// it and the generator renders it, so both read it from here.
package pipeline

import (
	"fmt"
	"time"
)

// CheckKind names a dependency rule.
type CheckKind string

const (
	// StartDate holds when the input's date is on or after the start date.
	// An input that fails it is out of range and never runs.
	StartDate CheckKind = "start-date"
	// AssetDone holds when the output of another asset, found by the same
	// group values (the same box), exists.
	AssetDone CheckKind = "asset-done"
	// EarlierDone holds when every input of the same asset and box dated
	// from the start date up to the day before this one has its output.
	EarlierDone CheckKind = "earlier-done"
)

// Check is one dependency rule of an asset. Its Name is what the user sees:
// the DAG task name in Argo and the label in `fieldflow check`.
type Check struct {
	Name  string
	Kind  CheckKind
	Asset string // for AssetDone: the asset whose output is needed
}

// Asset is one kind of input file and how it is processed.
type Asset struct {
	Name         string // short, lowercase: used in metric labels and object names
	Title        string // for people
	Description  string // for people: what the asset is and what processing does
	InputPrefix  string
	OutputPrefix string
	Pattern      *Pattern // key relative to InputPrefix; same name under OutputPrefix
	// BinaryValues requires every irrigation value to be 0 or 1.
	BinaryValues bool
	Checks       []Check
	Profile      Profile
	Retry        Retry
	Metrics      []Metric
}

// Profile is what the pod of one run of an asset gets. Quantities use
// Kubernetes syntax. The defaults are DefaultProfiles'; a deployment changes
// them in its definition file (generator/fieldflow.yaml, profiles:).
type Profile struct {
	CPURequest    string `json:"cpuRequest"`
	CPULimit      string `json:"cpuLimit"`
	MemoryRequest string `json:"memoryRequest"`
	MemoryLimit   string `json:"memoryLimit"`
	GPUs          int    `json:"gpus,omitempty"`    // nvidia.com/gpu count; 0 for none
	GPUType       string `json:"gpuType,omitempty"` // node selector value for the GPU product label
}

// Retry bounds the runs of one input version that fail for a reason worth
// retrying (exit code 1) or never finish (a crash, a kill, a lost node).
// Attempts are counted in the store, so a crash counts too; after Attempts
// the input is failed until it is uploaded again or retried by hand. Argo
// retries within one workflow with the same backoff. Invalid input (exit
// code 3) is never retried.
type Retry struct {
	Attempts   int // in all, the first included
	Backoff    time.Duration
	Factor     int
	MaxBackoff time.Duration
}

// Metric names a custom metric a run emits.
type Metric string

const (
	MetricRuns     Metric = "runs"     // counter by asset and result
	MetricDuration Metric = "duration" // histogram of processing seconds
	MetricRecords  Metric = "records"  // counter of records processed
)

// Pipeline is the whole definition: assets plus the settings that apply to
// all of them.
type Pipeline struct {
	Assets           []*Asset
	QuarantinePrefix string // invalid inputs are copied here with a report
	FailedPrefix     string // inputs whose last run failed get a note here
	// ProvenancePrefix holds one marker per processed input, named by the
	// input version its output was made from: listing it tells done from
	// stale without reading every output's metadata.
	ProvenancePrefix string
	DateLayout       string // Go time layout of the "date" group
	StartDate        time.Time
}

// Asset returns the asset called name, or nil.
func (p *Pipeline) Asset(name string) *Asset {
	for _, a := range p.Assets {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Validate reports a definition the rules could not run with.
func (p *Pipeline) Validate() error {
	seen := map[string]bool{}
	for _, a := range p.Assets {
		if seen[a.Name] {
			return fmt.Errorf("asset %q defined twice", a.Name)
		}
		seen[a.Name] = true
		if err := a.validate(p); err != nil {
			return fmt.Errorf("asset %q: %w", a.Name, err)
		}
	}
	for _, prefix := range []string{p.QuarantinePrefix, p.FailedPrefix, p.ProvenancePrefix} {
		if err := checkPrefix(prefix); err != nil {
			return err
		}
	}
	return nil
}

func (a *Asset) validate(p *Pipeline) error {
	for _, prefix := range []string{a.InputPrefix, a.OutputPrefix} {
		if err := checkPrefix(prefix); err != nil {
			return err
		}
	}
	if a.InputPrefix == a.OutputPrefix {
		return fmt.Errorf("input and output prefix are both %q", a.InputPrefix)
	}
	groups := map[string]bool{}
	for _, g := range a.Pattern.Groups() {
		groups[g] = true
	}
	if !groups[GroupBox] {
		return fmt.Errorf("key pattern %q has no (?P<box>...) group", a.Pattern)
	}
	for _, c := range a.Checks {
		switch c.Kind {
		case StartDate, EarlierDone:
			if !groups[GroupDate] {
				return fmt.Errorf("check %q needs a (?P<date>...) group in %q", c.Name, a.Pattern)
			}
		case AssetDone:
			dep := p.Asset(c.Asset)
			if dep == nil || dep == a {
				return fmt.Errorf("check %q: no other asset %q", c.Name, c.Asset)
			}
			for _, g := range dep.Pattern.Groups() {
				if !groups[g] {
					return fmt.Errorf("check %q: %q has group %q that %q lacks", c.Name, dep.Pattern, g, a.Pattern)
				}
			}
		default:
			return fmt.Errorf("check %q: unknown kind %q", c.Name, c.Kind)
		}
	}
	return nil
}

func checkPrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("empty prefix")
	}
	if err := CheckKey(prefix); err != nil {
		return fmt.Errorf("prefix: %w", err)
	}
	return nil
}

// HasCheck reports whether the asset has a check of kind k.
func (a *Asset) HasCheck(k CheckKind) bool {
	for _, c := range a.Checks {
		if c.Kind == k {
			return true
		}
	}
	return false
}
