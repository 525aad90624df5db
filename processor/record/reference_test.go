package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// reference is a second, slow implementation of the rules on top of
// encoding/json. The fuzz test checks that the scanner agrees with it on
// every input, so a shortcut in the fast path cannot go unnoticed.
// It returns the broken rule and, for a valid line, where the is_processed
// value sits.
func reference(line []byte, rules Rules) (rule string, flagStart, flagEnd int) {
	if len(bytes.TrimLeft(line, " \t\r")) == 0 {
		return RuleEmpty, 0, 0
	}
	if !json.Valid(line) || bytes.TrimLeft(line, " \t\r")[0] != '{' {
		return RuleJSON, 0, 0
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
