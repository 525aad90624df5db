package record

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Defaults for Options.
const (
	DefaultMaxLineBytes = 64 << 20
	DefaultMaxProblems  = 100
	DefaultBatchBytes   = 1 << 20
)

// Options control one pass over a file.
type Options struct {
	Rules
	// MaxLineBytes bounds one record, and with it the memory a pass needs.
	MaxLineBytes int
	// MaxProblems caps the problems kept for the report; the rest are counted.
	MaxProblems int
	// BatchBytes is the size of the chunks of whole lines that are
	// validated in parallel; a few of them are in memory at once.
	BatchBytes int
}

// Stats describes a pass.
type Stats struct {
	Lines    int64 `json:"lines"`
	Records  int64 `json:"records"` // valid records written
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
}

// InvalidError lists the invalid lines of a file.
type InvalidError struct {
	Problems []Problem // the first MaxProblems, in line order
	Invalid  int64     // invalid lines in all
	Lines    int64     // lines read
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%d of %d lines invalid, first %s", e.Invalid, e.Lines, e.Problems[0])
}

// Report is the error report for people: one line per problem, capped,
// with a count of the rest.
func (e *InvalidError) Report() string {
	var b strings.Builder
	for _, p := range e.Problems {
		fmt.Fprintln(&b, p)
	}
	if more := e.Invalid - int64(len(e.Problems)); more > 0 {
		fmt.Fprintf(&b, "... and %d more invalid lines\n", more)
	}
	return b.String()
}

// Process reads records from r, validates every line and writes each one to
// w with is_processed set to true and every other byte as it came. Memory
// stays bounded by the longest line, whatever the size of the input.
//
// On the first invalid line Process stops writing but reads on to the end so
// that the error lists every bad line. It returns *InvalidError then; the
// caller must discard what was written (stores do it by aborting the upload).
func Process(r io.Reader, w io.Writer, opt Options) (Stats, error) {
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = DefaultMaxLineBytes
	}
	if opt.MaxProblems <= 0 {
		opt.MaxProblems = DefaultMaxProblems
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = DefaultBatchBytes
	}
	return newPass(opt).run(r, w)
}

// Validate checks one line (without its newline) and returns the rule it
// breaks, or "" when it is a valid record.
func Validate(line []byte, rules Rules) (rule, detail string) {
	var p parsed
	return validate(line, &rules, &p)
}

func validate(line []byte, rules *Rules, p *parsed) (rule, detail string) {
	if bytes.HasPrefix(line, bom) {
		return RuleBOM, "line starts with a UTF-8 byte-order mark (EF BB BF): save the file without a byte-order mark"
	}
	if blank(line) {
		return RuleEmpty, "empty line"
	}
	if rule, detail = scan(line, rules.Binary, p); rule != "" {
		return rule, detail
	}
	return rules.check(p)
}

// bom is U+FEFF in UTF-8. Some editors put it at the start of a file, and
// joining such files puts it at the start of a line. It is refused rather
// than skipped: processing keeps every byte, and a reader that does not
// expect it reads a broken first record.
var bom = []byte{0xef, 0xbb, 0xbf}

func blank(line []byte) bool {
	for _, c := range line {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func appendProcessed(out, line []byte, p *parsed) []byte {
	out = append(out, line[:p.flagStart]...)
	out = append(out, "true"...)
	out = append(out, line[p.flagEnd:]...)
	return append(out, '\n')
}
