package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// reference is a second, slow implementation of the rules on top of
// encoding/json. The fuzz test checks that the scanner agrees with it on
// every input, so a shortcut in the fast path cannot go unnoticed.
// It returns the broken rule and, for a valid line, where the is_processed
// value sits.
func reference(line []byte, rules Rules) (rule string, flagStart, flagEnd int) {
	if bytes.HasPrefix(line, []byte("\uFEFF")) {
		return RuleBOM, 0, 0
	}
	if len(bytes.TrimLeft(line, " \t\r")) == 0 {
		return RuleEmpty, 0, 0
	}
	if !utf8.Valid(line) {
		return RuleUTF8, 0, 0
	}
	if !json.Valid(line) || bytes.TrimLeft(line, " \t\r")[0] != '{' {
		return RuleJSON, 0, 0
	}
	if rule := lexical(line); rule != "" {
		return rule, 0, 0
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	dec.Token() // '{'
	var (
		first string
		seen  = map[string]bool{}
		boxID string
		coord = map[string]int64{}
		array []json.RawMessage
		note  = func(r string) {
			if first == "" {
				first = r
			}
		}
	)
	for dec.More() {
		tok, _ := dec.Token()
		name := tok.(string)
		known := false
		for _, r := range required {
			known = known || r == name
		}
		if known && seen[name] {
			note(RuleDuplicate)
		}
		seen[name] = seen[name] || known
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			panic(err)
		}
		end := int(dec.InputOffset())
		if known && string(raw) == "null" {
			note(RuleType) // encoding/json would quietly take null as a zero value
			continue
		}
		switch name {
		case "box_id":
			if err := json.Unmarshal(raw, &boxID); err != nil {
				note(RuleType)
			}
		case "coordinates_x_min", "coordinates_y_min", "coordinates_x_max", "coordinates_y_max":
			var n json.Number
			if json.Unmarshal(raw, &n) != nil || raw[0] == '"' {
				note(RuleType)
				continue
			}
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				note(RuleType)
			}
			coord[name] = v
		case "irrigation_array":
			array = nil
			if json.Unmarshal(raw, &array) != nil {
				note(RuleType)
				continue
			}
			for _, row := range array {
				var vals []json.RawMessage
				if string(row) == "null" || json.Unmarshal(row, &vals) != nil {
					note(RuleType)
					continue
				}
				for _, v := range vals {
					if c := v[0]; c != '-' && (c < '0' || c > '9') {
						note(RuleType)
					}
				}
			}
		case "is_processed":
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				note(RuleType)
			}
			flagStart, flagEnd = end-len(raw), end
		}
	}
	if first != "" {
		return first, 0, 0
	}
	for _, r := range required {
		if !seen[r] {
			return RuleMissing, 0, 0
		}
	}
	if !validBoxID(boxID) {
		return RuleBoxID, 0, 0
	}
	if rules.BoxID != "" && boxID != rules.BoxID {
		return RuleBoxMismatch, 0, 0
	}
	xmin, ymin := coord["coordinates_x_min"], coord["coordinates_y_min"]
	xmax, ymax := coord["coordinates_x_max"], coord["coordinates_y_max"]
	if xmax <= xmin || ymax <= ymin {
		return RuleCoordinates, 0, 0
	}
	if ymax-ymin <= 0 || int64(len(array)) != ymax-ymin {
		return RuleShape, 0, 0
	}
	var rows [][]json.Number
	for _, row := range array {
		var vals []json.Number
		json.Unmarshal(row, &vals)
		rows = append(rows, vals)
	}
	for _, row := range rows {
		if xmax-xmin <= 0 || int64(len(row)) != xmax-xmin {
			return RuleShape, 0, 0
		}
	}
	if rules.Binary {
		for _, row := range rows {
			for _, v := range row {
				f, _ := strconv.ParseFloat(string(v), 64)
				if f != 0 && f != 1 {
					return RuleBinary, 0, 0
				}
			}
		}
	}
	return "", flagStart, flagEnd
}

// processedByReference is what processing must make of a valid line.
func processedByReference(line []byte, start, end int) []byte {
	return fmt.Appendf(nil, "%s%s%s\n", line[:start], "true", line[end:])
}

// lexical finds what encoding/json lets through in a well-formed line: a
// lone surrogate escape, which it decodes as U+FFFD, and a number too large
// for a float64, which it keeps as text in a json.Number. A lone surrogate
// anywhere wins over a number anywhere.
func lexical(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var lone, huge bool
	for prev := 0; ; {
		tok, err := dec.Token()
		if err != nil { // io.EOF: the line is known to be valid
			break
		}
		// Between two tokens are only spaces, ',' and ':'.
		off := int(dec.InputOffset())
		raw := bytes.TrimLeft(line[prev:off], " \t\r\n,:")
		prev = off
		switch v := tok.(type) {
		case string:
			lone = lone || hasLoneSurrogate(raw)
		case json.Number:
			// strconv reports overflow as ErrRange; underflow is no error.
			_, err := strconv.ParseFloat(v.String(), 64)
			huge = huge || errors.Is(err, strconv.ErrRange)
		}
	}
	switch {
	case lone:
		return RuleSurrogate
	case huge:
		return RuleNumberRange
	}
	return ""
}

// hasLoneSurrogate reports whether a raw JSON string escapes half of a
// UTF-16 surrogate pair without the other half right after it.
func hasLoneSurrogate(raw []byte) bool {
	units := escapedUnits(raw)
	for i := 0; i < len(units); i++ {
		u := units[i]
		if u.r < 0 || !utf16.IsSurrogate(u.r) {
			continue
		}
		if i+1 < len(units) && units[i+1].at == u.at+6 &&
			utf16.DecodeRune(u.r, units[i+1].r) != unicode.ReplacementChar {
			i++ // a pair
			continue
		}
		return true
	}
	return false
}

// escapedUnit is one escape of a raw JSON string: r is the UTF-16 code unit
// of a \u escape, -1 for any other escape.
type escapedUnit struct {
	at int
	r  rune
}

func escapedUnits(raw []byte) []escapedUnit {
	var units []escapedUnit
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		u := escapedUnit{at: i, r: -1}
		if raw[i+1] == 'u' {
			v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
			if err != nil {
				panic(err) // the line is valid JSON
			}
			u.r = rune(v)
		}
		units = append(units, u)
		i++ // past the escaped character; hex digits hold no backslash
	}
	return units
}
