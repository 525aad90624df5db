// Package record reads, validates and processes irrigation records: JSON
// Lines, one object a line. It works on the raw bytes of each line so that
// processing changes only the is_processed value and every other byte stays
// as it came (a 0.0 stays 0.0, key order is kept).
package record

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Rules broken by invalid lines. They are stable names: reports and tests
// refer to them. A bad line is reported under one rule, the first it breaks
// in this order; duplicate-field and field-type are found while reading and
// reported in the order they occur in the line.
const (
	RuleTooLong     = "line-too-long" // longer than Options.MaxLineBytes
	RuleBOM         = "bom"           // starts with a UTF-8 byte-order mark
	RuleEmpty       = "empty-line"    // a line with nothing on it
	RuleUTF8        = "utf8"          // bytes that are not UTF-8, in a string or not
	RuleJSON        = "json"          // not one well-formed JSON object
	RuleSurrogate   = "surrogate"     // a \u escape of half a UTF-16 surrogate pair
	RuleNumberRange = "number-range"  // overflows a float64 (1e400); 1e-400 passes as 0
	RuleDuplicate   = "duplicate-field"
	RuleType        = "field-type"      // a field has the wrong JSON type
	RuleMissing     = "missing-field"   // a required field is absent
	RuleBoxID       = "box-id"          // box_id is not 32 lowercase hex characters
	RuleBoxMismatch = "box-id-mismatch" // box_id differs from the box in the key
	RuleCoordinates = "coordinates"     // max not greater than min
	RuleShape       = "array-shape"     // irrigation_array rows or columns do not fit the coordinates
	RuleBinary      = "binary-values"   // a bounding box value other than 0 or 1
)

// Fields every record has, in the order they are reported when missing.
var required = [...]string{
	"box_id", "coordinates_x_min", "coordinates_y_min",
	"coordinates_x_max", "coordinates_y_max", "irrigation_array", "is_processed",
}

// Rules says what a valid record is for one input file.
type Rules struct {
	BoxID  string // the box id in the file's key; every record must carry it
	Binary bool   // every irrigation value must be 0 or 1 (bounding boxes)
}

// Problem is why one line is invalid.
type Problem struct {
	Line   int64  `json:"line"`
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s: %s", p.Line, p.Rule, p.Detail) }

// parsed is what the scanner learned of one line.
type parsed struct {
	seen               [len(required)]bool
	boxID              []byte   // within the line, or decoded when escaped
	coord              [4]int64 // x_min, y_min, x_max, y_max
	rows               int64
	cols               int64 // length of the first row
	badRow             int64 // 1-based row whose length differs from the first, 0 if none
	badRowLen          int64
	nonBinRow, nonBinC int64 // 1-based position of the first value other than 0 or 1
	nonBin             []byte
	flagStart, flagEnd int // the is_processed value within the line
}

// check applies the rules to a scanned line and returns the broken rule.
func (r *Rules) check(p *parsed) (rule, detail string) {
	for i, ok := range p.seen {
		if !ok {
			return RuleMissing, "missing field " + strconv.Quote(required[i])
		}
	}
	if !validBoxID(string(p.boxID)) {
		return RuleBoxID, fmt.Sprintf("box_id %q is not 32 lowercase hex characters", p.boxID)
	}
	if r.BoxID != "" && string(p.boxID) != r.BoxID {
		return RuleBoxMismatch, fmt.Sprintf("box_id %s does not match box %s of the file's key", p.boxID, r.BoxID)
	}
	xmin, ymin, xmax, ymax := p.coord[0], p.coord[1], p.coord[2], p.coord[3]
	if xmax <= xmin {
		return RuleCoordinates, fmt.Sprintf("coordinates_x_max (%d) must be greater than coordinates_x_min (%d)", xmax, xmin)
	}
	if ymax <= ymin {
		return RuleCoordinates, fmt.Sprintf("coordinates_y_max (%d) must be greater than coordinates_y_min (%d)", ymax, ymin)
	}
	// Differences are compared without computing them when they could overflow.
	if wantRows, ok := diff(ymax, ymin); !ok || p.rows != wantRows {
		return RuleShape, fmt.Sprintf("irrigation_array has %d rows, want y_max - y_min = %d", p.rows, uint64(ymax)-uint64(ymin))
	}
	wantCols, ok := diff(xmax, xmin)
	if p.badRow != 0 {
		return RuleShape, fmt.Sprintf("irrigation_array row %d has %d values, want x_max - x_min = %d", p.badRow, p.badRowLen, uint64(xmax)-uint64(xmin))
	}
	if !ok || p.cols != wantCols {
		return RuleShape, fmt.Sprintf("irrigation_array row 1 has %d values, want x_max - x_min = %d", p.cols, uint64(xmax)-uint64(xmin))
	}
	if r.Binary && p.nonBin != nil {
		return RuleBinary, fmt.Sprintf("irrigation_array row %d column %d is %s: bounding box values must be 0 or 1", p.nonBinRow, p.nonBinC, p.nonBin)
	}
	return "", ""
}

// diff returns a-b for a > b, and false when it does not fit in an int64.
func diff(a, b int64) (int64, bool) {
	d := a - b
	return d, d > 0
}

func validBoxID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isBinary reports whether a JSON number equals 0 or 1.
func isBinary(num []byte) bool {
	if len(num) == 1 {
		return num[0] == '0' || num[0] == '1'
	}
	var f float64
	if err := json.Unmarshal(num, &f); err != nil {
		return false
	}
	return f == 0 || f == 1
}
