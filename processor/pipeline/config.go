package pipeline

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Settings that differ between deployments, with their defaults. The names
// are those of the old system's .env so an existing file keeps working for
// folders and dates; patterns are regexes with named groups (see Pattern).
var defaults = map[string]string{
	"BOXES_FOLDER_INPUT":   "boxes/input",
	"BOXES_FOLDER_OUTPUT":  "boxes/output",
	"FIELDS_FOLDER_INPUT":  "fields/input",
	"FIELDS_FOLDER_OUTPUT": "fields/output",
	"QUARANTINE_FOLDER":    "quarantine",
	"FAILED_FOLDER":        "failed",
	"PROVENANCE_FOLDER":    "provenance",
	"BOXES_PATTERN":        `bounding_box_(?P<box>[0-9a-f]{32})\.jsonl`,
	"FIELDS_PATTERN":       `(?P<box>[0-9a-f]{32})/fields_(?P<date>\d{4}-\d{2}-\d{2})(?P<suffix>[^/]*)\.jsonl`,
	"DATE_FORMAT":          "%Y-%m-%d",
	"START_DATE":           "2025-06-02",
	"RETRY_ATTEMPTS":       "5",
	"RETRY_BACKOFF":        "10s",
	"RETRY_MAX_BACKOFF":    "5m",
}

// The assets' names: metric labels, object names, profile keys, and what
// the sample generator asks the pipeline for.
const (
	BoxAsset   = "box"
	FieldAsset = "field"
)

// DefaultProfiles are the assets' pod resources by asset name, for a
// deployment whose definition file does not change them.
func DefaultProfiles() map[string]Profile {
	return map[string]Profile{
		BoxAsset:   {CPURequest: "100m", CPULimit: "1", MemoryRequest: "64Mi", MemoryLimit: "256Mi"},
		FieldAsset: {CPURequest: "250m", CPULimit: "2", MemoryRequest: "128Mi", MemoryLimit: "512Mi"},
	}
}

// Names lists the configuration variables, sorted, for documentation and for
// rendering a ConfigMap.
func Names() []string {
	return []string{
		"BOXES_FOLDER_INPUT", "BOXES_FOLDER_OUTPUT", "BOXES_PATTERN",
		"DATE_FORMAT", "FAILED_FOLDER", "FIELDS_FOLDER_INPUT",
		"FIELDS_FOLDER_OUTPUT", "FIELDS_PATTERN", "PROVENANCE_FOLDER", "QUARANTINE_FOLDER",
		"RETRY_ATTEMPTS", "RETRY_BACKOFF", "RETRY_MAX_BACKOFF", "START_DATE",
	}
}

// Default returns the value a setting has when the environment does not set it.
func Default(name string) string { return defaults[name] }

// FromEnv builds the pipeline from the process environment.
func FromEnv() (*Pipeline, error) { return Load(os.Getenv) }

// FromData builds the pipeline from settings by name: the data of the
// ConfigMap the pods take their environment from.
func FromData(data map[string]string) (*Pipeline, error) {
	return Load(func(name string) string { return data[name] })
}

// Load builds the pipeline with settings read through getenv; an empty value
// means the default.
func Load(getenv func(string) string) (*Pipeline, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return defaults[name]
	}
	layout, err := dateLayout(get("DATE_FORMAT"))
	if err != nil {
		return nil, fmt.Errorf("DATE_FORMAT: %w", err)
	}
	start, err := time.Parse(layout, get("START_DATE"))
	if err != nil {
		return nil, fmt.Errorf("START_DATE %q does not match DATE_FORMAT %q: %w", get("START_DATE"), get("DATE_FORMAT"), err)
	}
	boxes, err := CompilePattern(get("BOXES_PATTERN"))
	if err != nil {
		return nil, fmt.Errorf("BOXES_PATTERN: %w", err)
	}
	fields, err := CompilePattern(get("FIELDS_PATTERN"))
	if err != nil {
		return nil, fmt.Errorf("FIELDS_PATTERN: %w", err)
	}
	retry, err := loadRetry(get)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{
		QuarantinePrefix: trimSlash(get("QUARANTINE_FOLDER")),
		FailedPrefix:     trimSlash(get("FAILED_FOLDER")),
		ProvenancePrefix: trimSlash(get("PROVENANCE_FOLDER")),
		DateLayout:       layout,
		StartDate:        start,
		Assets: []*Asset{
			{
				Name:         BoxAsset,
				Title:        "Bounding box",
				Description:  "Validates a bounding box file (irrigation values 0 or 1) and writes it with is_processed set. Boxes have no dependencies; finishing one releases its fields.",
				InputPrefix:  trimSlash(get("BOXES_FOLDER_INPUT")),
				OutputPrefix: trimSlash(get("BOXES_FOLDER_OUTPUT")),
				Pattern:      boxes,
				BinaryValues: true,
				Profile:      DefaultProfiles()[BoxAsset],
				Retry:        retry,
				Metrics:      []Metric{MetricRuns, MetricDuration, MetricRecords},
			},
			{
				Name:         FieldAsset,
				Title:        "Field",
				Description:  "Validates a field file and writes it with is_processed set, once its date is in range, its bounding box is processed and every earlier date of the box is processed.",
				InputPrefix:  trimSlash(get("FIELDS_FOLDER_INPUT")),
				OutputPrefix: trimSlash(get("FIELDS_FOLDER_OUTPUT")),
				Pattern:      fields,
				Checks: []Check{
					{Name: "start-date", Kind: StartDate},
					{Name: "box-processed", Kind: AssetDone, Asset: BoxAsset},
					{Name: "earlier-dates-processed", Kind: EarlierDone},
				},
				Profile: DefaultProfiles()[FieldAsset],
				Retry:   retry,
				Metrics: []Metric{MetricRuns, MetricDuration, MetricRecords},
			},
		},
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// loadRetry reads the attempts and backoff every asset retries with.
func loadRetry(get func(string) string) (Retry, error) {
	r := Retry{Factor: 2}
	n, err := strconv.Atoi(get("RETRY_ATTEMPTS"))
	if err != nil || n < 1 || n > 100 {
		return r, fmt.Errorf("RETRY_ATTEMPTS %q: want a whole number from 1 to 100", get("RETRY_ATTEMPTS"))
	}
	r.Attempts = n
	for _, d := range []struct {
		name string
		into *time.Duration
	}{{"RETRY_BACKOFF", &r.Backoff}, {"RETRY_MAX_BACKOFF", &r.MaxBackoff}} {
		v, err := time.ParseDuration(get(d.name))
		if err != nil || v <= 0 {
			return r, fmt.Errorf("%s %q: want a positive duration such as 10s or 5m", d.name, get(d.name))
		}
		*d.into = v
	}
	if r.MaxBackoff < r.Backoff {
		return r, fmt.Errorf("RETRY_MAX_BACKOFF %s is shorter than RETRY_BACKOFF %s", r.MaxBackoff, r.Backoff)
	}
	return r, nil
}

func trimSlash(s string) string { return strings.Trim(s, "/") }

// dateLayout turns the old system's strftime format into a Go layout. Only
// the directives a date in a key needs are supported.
func dateLayout(format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			if strings.ContainsRune("0123456789", rune(c)) {
				return "", fmt.Errorf("%q: digits outside directives are ambiguous", format)
			}
			b.WriteByte(c)
			continue
		}
		if i+1 == len(format) {
			return "", fmt.Errorf("%q ends in a lone %%", format)
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString("2006")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("%q: directive %%%c is not supported (use %%Y, %%m, %%d)", format, format[i])
		}
	}
	return b.String(), nil
}

var boxIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidBoxID reports whether id is 32 lowercase hex characters.
func ValidBoxID(id string) bool { return boxIDPattern.MatchString(id) }
