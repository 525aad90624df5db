package record

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Defaults for Options.
const (
	DefaultMaxLineBytes = 64 << 20
	DefaultMaxProblems  = 100
	bufferSize          = 256 << 10
)

// Options control one pass over a file.
type Options struct {
	Rules
	// MaxLineBytes bounds one record, and with it the memory a pass needs.
	MaxLineBytes int
	// MaxProblems caps the problems kept for the report; the rest are counted.
	MaxProblems int
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
	lr := lineReader{r: bufio.NewReaderSize(r, bufferSize), max: opt.MaxLineBytes}
	bw := bufio.NewWriterSize(w, bufferSize)
	var st Stats
	var bad *InvalidError
	for {
		line, tooLong, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read line %d: %w", st.Lines+1, err)
		}
		st.Lines++
		st.BytesIn += int64(lr.n)
		rule, detail := "", ""
		var p parsed
		if tooLong {
			rule, detail = RuleTooLong, fmt.Sprintf("line is longer than %d bytes", opt.MaxLineBytes)
		} else {
			rule, detail = validate(line, &opt.Rules, &p)
		}
		if rule != "" {
			if bad == nil {
				bad = &InvalidError{}
			}
			bad.Invalid++
			if len(bad.Problems) < opt.MaxProblems {
				bad.Problems = append(bad.Problems, Problem{Line: st.Lines, Rule: rule, Detail: detail})
			}
			continue
		}
		if bad != nil {
			continue
		}
		st.Records++
		n, err := writeProcessed(bw, line, &p)
		st.BytesOut += int64(n)
		if err != nil {
			return st, fmt.Errorf("write line %d: %w", st.Lines, err)
		}
	}
	if bad != nil {
		bad.Lines = st.Lines
		return st, bad
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write: %w", err)
	}
	return st, nil
}

// Validate checks one line (without its newline) and returns the rule it
// breaks, or "" when it is a valid record.
func Validate(line []byte, rules Rules) (rule, detail string) {
	var p parsed
	return validate(line, &rules, &p)
}

func validate(line []byte, rules *Rules, p *parsed) (rule, detail string) {
	if len(bytes.TrimLeft(line, " \t\r")) == 0 {
		return RuleEmpty, "empty line"
	}
	if rule, detail = scan(line, rules.Binary, p); rule != "" {
		return rule, detail
	}
	return rules.check(p)
}

func writeProcessed(w *bufio.Writer, line []byte, p *parsed) (int, error) {
	a, _ := w.Write(line[:p.flagStart])
	b, _ := w.WriteString("true")
	c, _ := w.Write(line[p.flagEnd:])
	err := w.WriteByte('\n')
	return a + b + c + 1, err
}

// lineReader yields lines without their newline. A line longer than max is
// read to its end and reported as too long, so memory stays bounded.
type lineReader struct {
	r    *bufio.Reader
	max  int
	long []byte // holds a line longer than the reader's buffer
	n    int    // bytes the last line took in the input, newline included
}

func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	chunk, err := lr.r.ReadSlice('\n')
	lr.n = len(chunk)
	if errors.Is(err, bufio.ErrBufferFull) {
		return lr.slow(chunk)
	}
	if err == io.EOF && len(chunk) > 0 {
		err = nil // last line without a newline
	} else if err != nil {
		return nil, false, err
	} else {
		chunk = chunk[:len(chunk)-1]
	}
	if len(chunk) > lr.max {
		return nil, true, nil
	}
	return chunk, false, nil
}

func (lr *lineReader) slow(chunk []byte) (line []byte, tooLong bool, err error) {
	lr.long = append(lr.long[:0], chunk...)
	for {
		chunk, err = lr.r.ReadSlice('\n')
		lr.n += len(chunk)
		if !tooLong {
			if len(lr.long)+len(chunk) > lr.max+1 {
				tooLong = true
				lr.long = lr.long[:0]
			} else {
				lr.long = append(lr.long, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			return lr.long, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		if tooLong {
			return nil, true, nil
		}
		return lr.long[:len(lr.long)-1], false, nil
	}
}
