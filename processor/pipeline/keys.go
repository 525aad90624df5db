package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotInput marks a well-formed key that is no input of any asset: a
// readme beside the data, an output, a report. Such keys are ignored.
var ErrNotInput = errors.New("not an input")

// Input is a parsed input key.
type Input struct {
	Asset  *Asset
	Key    string            // the whole object key
	Name   string            // Key relative to the asset's input prefix
	Values map[string]string // named groups of the pattern
	Box    string
	Date   time.Time // zero when the asset has no date
}

// OutputKey is where the processed file goes.
func (in Input) OutputKey() string { return in.Asset.OutputPrefix + "/" + in.Name }

// Dated reports whether the input carries a date.
func (in Input) Dated() bool { return !in.Date.IsZero() }

// CheckKey rejects keys that could escape a folder, mean different objects
// on a disk and in a bucket, or not read as what they are.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("key %q is absolute: keys are relative to the bucket or folder", key)
	case strings.ContainsRune(key, '\\'):
		return fmt.Errorf("key %q contains a backslash", key)
	}
	if err := checkChars(key); err != nil {
		return err
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "..", ".":
			return fmt.Errorf("key %q has a %q segment", key, seg)
		case "":
			return fmt.Errorf("key %q has an empty segment", key)
		}
	}
	return nil
}

// checkChars rejects bytes that are not UTF-8 and control characters. A
// newline or a tab in a key splits or hides it in every listing, log line and
// workflow parameter that shows it; bytes that are not UTF-8 are read
// differently by different stores and tools, and cannot be typed.
func checkChars(key string) error {
	for i, r := range key {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(key[i:]); n == 1 {
				return fmt.Errorf("key %q is not UTF-8: byte %d is %q", key, i+1, key[i:i+1])
			}
		}
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("key %q contains the control character %q at byte %d", key, r, i+1)
		}
	}
	return nil
}

// Parse finds the asset a key belongs to. A key outside every input folder
// is an error; one inside a folder that does not match the asset's pattern
// wraps ErrNotInput.
func (p *Pipeline) Parse(key string) (Input, error) {
	if err := CheckKey(key); err != nil {
		return Input{}, err
	}
	for _, a := range p.Assets {
		name, ok := strings.CutPrefix(key, a.InputPrefix+"/")
		if !ok {
			continue
		}
		values, ok := a.Pattern.Match(name)
		if !ok {
			return Input{}, fmt.Errorf("%s: %w of %s (name does not match %s)", key, ErrNotInput, a.Name, a.Pattern)
		}
		return p.input(a, key, name, values)
	}
	return Input{}, fmt.Errorf("%s: %w: outside the input folders %s", key, ErrNotInput, p.inputPrefixes())
}

func (p *Pipeline) input(a *Asset, key, name string, values map[string]string) (Input, error) {
	in := Input{Asset: a, Key: key, Name: name, Values: values, Box: values[GroupBox]}
	if !ValidBoxID(in.Box) {
		return Input{}, fmt.Errorf("%s: box id %q is not 32 lowercase hex characters", key, in.Box)
	}
	if d, ok := values[GroupDate]; ok {
		t, err := time.Parse(p.DateLayout, d)
		if err != nil {
			return Input{}, fmt.Errorf("%s: date %q: %w", key, d, err)
		}
		in.Date = t
	}
	return in, nil
}

// InputFor builds the input key of asset a whose groups take values.
func (p *Pipeline) InputFor(a *Asset, values map[string]string) (Input, error) {
	name, err := a.Pattern.Build(values)
	if err != nil {
		return Input{}, err
	}
	return p.input(a, a.InputPrefix+"/"+name, name, values)
}

// QuarantineKey is where an invalid input is copied.
func (p *Pipeline) QuarantineKey(inputKey string) string {
	return p.QuarantinePrefix + "/" + inputKey
}

// ReportKey is the error report beside a quarantined copy.
func (p *Pipeline) ReportKey(inputKey string) string {
	return p.QuarantineKey(inputKey) + ReportSuffix
}

// FailedKey is the note left by a run that failed for a reason other than
// invalid input.
func (p *Pipeline) FailedKey(inputKey string) string {
	return p.FailedPrefix + "/" + inputKey + ReportSuffix
}

// ReportSuffix ends every report and failure note.
const ReportSuffix = ".error.txt"

func (p *Pipeline) inputPrefixes() string {
	var s []string
	for _, a := range p.Assets {
		s = append(s, a.InputPrefix+"/")
	}
	return strings.Join(s, ", ")
}
