package record

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

const box = "01976dbcbdb77dc4b9b61ba545503b77"

// line builds a record with the seed's key order; edit replaces parts.
func line(edits ...string) string {
	s := `{"box_id": "` + box + `", "coordinates_x_min": 7, "coordinates_y_min": 4, "coordinates_x_max": 9, "coordinates_y_max": 6, "irrigation_array": [[0.0, 1], [1, 0]], "is_processed": false}`
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			panic("edit not found: " + edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return s
}

// note is a valid record with one more field, "note", holding value.
func note(value string) string {
	return line(`false}`, `false, "note": `+value+`}`)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		line   string
		binary bool
		rule   string
		detail string // part of the message
	}{
		{"valid field", line(), false, "", ""},
		{"valid box", line("0.0", "0"), true, "", ""},
		{"box values 1.0 and 0e3 count as binary", line("0.0, 1", "1.0, 0e3"), true, "", ""},
		{"field values may be any number", line("0.0, 1", "-2.5e-3, 17"), false, "", ""},
		{"extra fields are kept", line(`"is_processed": false`, `"is_processed": false, "note": {"a": [1, "x", null]}`), false, "", ""},
		{"keys in any order", `{"is_processed": true, "irrigation_array": [[1]], "coordinates_y_max": 1, "coordinates_x_max": 1, "coordinates_y_min": 0, "coordinates_x_min": 0, "box_id": "` + box + `"}`, true, "", ""},
		{"escaped key", line(`"box_id"`, `"box\u005fid"`), false, "", ""},
		{"crlf ending", line() + "\r", false, "", ""},

		{"empty", "", false, RuleEmpty, "empty line"},
		{"blank", " \t", false, RuleEmpty, "empty line"},
		{"truncated", line()[:40], false, RuleJSON, "unterminated string"},
		{"not an object", `[1, 2]`, false, RuleJSON, "expected a JSON object"},
		{"trailing text", line() + " x", false, RuleJSON, "after the object"},
		{"two objects", line() + line(), false, RuleJSON, "after the object"},
		{"trailing comma", line(`false}`, `false,}`), false, RuleJSON, "expected a string"},
		{"bad number", line("0.0", "0."), false, RuleJSON, "no digit after '.'"},
		{"leading zero", line("[1, 0]", "[1, 01]"), false, RuleJSON, "expected ',' or ']'"},
		{"NaN", line("0.0", "NaN"), false, RuleJSON, ""},
		{"single quotes", line(`"box_id"`, `'box_id'`), false, RuleJSON, "expected a string"},
		{"control character", line(box, box+"\x01"), false, RuleJSON, "control character"},
		{"bad escape", line(box, box+`\x`), false, RuleJSON, "invalid escape"},
		{"short \\u escape", line(box, box+`\u12`), false, RuleJSON, "invalid \\u escape at byte 45"},

		{"bom at the start", "\uFEFF" + line(), false, RuleBOM, "save the file without a byte-order mark"},
		{"bom alone", "\uFEFF", false, RuleBOM, "byte-order mark"},
		{"bom after a space is bad syntax", " \uFEFF" + line(), false, RuleJSON, "expected a JSON object"},
		{"bom inside a string is text", note(`"\uFEFF"`), false, "", ""},
		{"utf8 text", note(`"é 漢 😀"`), false, "", ""},
		{"DEL in a string is text", note("\"a\x7fb\""), false, "", ""},
		{"Latin-1 in a string", note("\"caf\xe9\""), false, RuleUTF8, "(0xe9) is not UTF-8: save the file as UTF-8"},
		{"UTF-16 file", "\xff\xfe{\x00", false, RuleUTF8, "byte 1 (0xff) is not UTF-8"},
		{"not UTF-8 outside strings", line("[1, 0]", "[1, 0]\xff"), false, RuleUTF8, "(0xff) is not UTF-8"},
		{"not UTF-8 wins over bad syntax", `{"a` + "\x80", false, RuleUTF8, "byte 4 (0x80)"},
		{"UTF-8 encoded surrogate", note("\"\xed\xa0\x80\""), false, RuleUTF8, "(0xed)"},
		{"overlong UTF-8", note("\"\xc0\xaf\""), false, RuleUTF8, "(0xc0)"},
		{"escaped surrogate pair", note(`"\ud83d\ude00 \uD83D\uDE00"`), false, "", ""},
		{"first and last surrogate pairs", note(`"\ud800\udc00 \udbff\udfff"`), false, "", ""},
		{"lone high surrogate", note(`"\ud800"`), false, RuleSurrogate, `lone surrogate \ud800 at byte 216: a high surrogate must be followed by a low one`},
		{"lone low surrogate", note(`"\udfff"`), false, RuleSurrogate, `lone surrogate \udfff at byte 216: a low surrogate must follow a high one`},
		{"high surrogate then a letter", note(`"\ud800\u0041"`), false, RuleSurrogate, `\ud800`},
		{"surrogates in reverse", note(`"\udc00\ud800"`), false, RuleSurrogate, `\udc00`},
		{"two high surrogates", note(`"\ud800\ud800\udc00"`), false, RuleSurrogate, `\ud800`},
		{"lone surrogate in a key", line(`"is_processed"`, `"\udbff": 1, "is_processed"`), false, RuleSurrogate, `\udbff`},
		{"lone surrogate in box_id", line(box, `\ud800`+box), false, RuleSurrogate, `\ud800`},
		{"bad syntax wins over a surrogate", note(`"\ud800"`) + "x", false, RuleJSON, "after the object"},
		{"1e400 in a row", line("[1, 0]", "[1, 1e400]"), false, RuleNumberRange, "number 1e400 at byte 179 is beyond the range of a 64-bit float"},
		{"-1e400 in an unknown field", note(`-1e400`), false, RuleNumberRange, "number -1e400"},
		{"beyond range in a nested field", note(`{"a": [2E+309]}`), false, RuleNumberRange, "2E+309"},
		{"beyond range in a coordinate", line(`"coordinates_x_max": 9`, `"coordinates_x_max": 1e999`), false, RuleNumberRange, "1e999"},
		{"1e308 written out", note("1" + strings.Repeat("0", 308)), false, "", ""},
		{"2e308 written out", note("2" + strings.Repeat("0", 308)), false, RuleNumberRange, "number 20000000000000000000000000000000... (309 characters)"},
		{"2e308 written out with a small exponent", note("2" + strings.Repeat("0", 308) + ".5e-10"), false, "", ""},
		{"largest float64", note("-1.7976931348623157e308"), false, "", ""},
		{"just past the largest float64", note("1.7976931348623159e308"), false, RuleNumberRange, "1.7976931348623159e308"},
		{"huge exponent", note("0.1e99999999999999999999"), false, RuleNumberRange, ""},
		{"zero with a huge exponent", note("0e99999"), false, "", ""},
		{"underflow passes", note("1e-400"), false, "", ""},
		{"underflow is 0 in a box", line("0.0", "1e-400"), true, "", ""},
		{"surrogate wins over number-range", line("[1, 0]", "[1, 1e400]", `false}`, `false, "note": "\udc00"}`), false, RuleSurrogate, ""},
		{"number-range wins over field-type", line(`"coordinates_x_min": 7`, `"coordinates_x_min": "7"`, "[1, 0]", "[1, 1e400]"), false, RuleNumberRange, ""},

		{"missing box_id", line(`"box_id": "`+box+`", `, ``), false, RuleMissing, `"box_id"`},
		{"missing is_processed", line(`, "is_processed": false`, ``), false, RuleMissing, `"is_processed"`},
		{"missing coordinate", line(`"coordinates_y_max": 6, `, ``), false, RuleMissing, `"coordinates_y_max"`},
		{"duplicate field", line(`"is_processed": false`, `"is_processed": false, "box_id": "x"`), false, RuleDuplicate, `"box_id" appears twice`},
		{"box_id a number", line(`"`+box+`"`, `12`), false, RuleType, "box_id must be a string, got a number"},
		{"box_id null", line(`"`+box+`"`, `null`), false, RuleType, "got null"},
		{"coordinate a string", line(`"coordinates_x_min": 7`, `"coordinates_x_min": "7"`), false, RuleType, "coordinates_x_min must be an integer, got a string"},
		{"coordinate a float", line(`"coordinates_x_min": 7`, `"coordinates_x_min": 7.0`), false, RuleType, "must be an integer, got 7.0"},
		{"coordinate too large", line(`"coordinates_x_max": 9`, `"coordinates_x_max": 99999999999999999999`), false, RuleType, "must be an integer"},
		{"array not an array", line(`[[0.0, 1], [1, 0]]`, `"none"`), false, RuleType, "irrigation_array must be an array of arrays of numbers, got a string"},
		{"row not an array", line(`[[0.0, 1], [1, 0]]`, `[[0.0, 1], 5]`), false, RuleType, "row 2 must be an array of numbers"},
		{"value not a number", line(`[1, 0]`, `[1, "0"]`), false, RuleType, "row 2 value 2 must be a number, got a string"},
		{"value null", line(`[1, 0]`, `[1, null]`), false, RuleType, "got null"},
		{"is_processed a string", line(`false}`, `"false"}`), false, RuleType, "is_processed must be a boolean"},
		{"is_processed a number", line(`false}`, `0}`), false, RuleType, "is_processed must be a boolean"},
		{"box_id not hex", line(box, strings.ToUpper(box)), false, RuleBoxID, "not 32 lowercase hex"},
		{"box_id short", line(box, box[:31]), false, RuleBoxID, "not 32 lowercase hex"},
		{"x max equals min", line(`"coordinates_x_max": 9`, `"coordinates_x_max": 7`), false, RuleCoordinates, "coordinates_x_max (7) must be greater than coordinates_x_min (7)"},
		{"y max below min", line(`"coordinates_y_max": 6`, `"coordinates_y_max": 1`), false, RuleCoordinates, "coordinates_y_max (1) must be greater than coordinates_y_min (4)"},
		{"too few rows", line(`[[0.0, 1], [1, 0]]`, `[[0.0, 1]]`), false, RuleShape, "has 1 rows, want y_max - y_min = 2"},
		{"too many rows", line(`[[0.0, 1], [1, 0]]`, `[[0.0, 1], [1, 0], [1, 1]]`), false, RuleShape, "has 3 rows"},
		{"no rows", line(`[[0.0, 1], [1, 0]]`, `[]`), false, RuleShape, "has 0 rows"},
		{"short row", line(`[1, 0]`, `[1]`), false, RuleShape, "row 2 has 1 values, want x_max - x_min = 2"},
		{"wide first row", line(`[0.0, 1]`, `[0.0, 1, 1]`), false, RuleShape, "row 2 has 2 values"},
		{"all rows wide", line(`[[0.0, 1], [1, 0]]`, `[[1, 1, 1], [1, 0, 0]]`), false, RuleShape, "row 1 has 3 values, want x_max - x_min = 2"},
		{"huge extent", line(`"coordinates_x_min": 7`, `"coordinates_x_min": -9223372036854775807`), false, RuleShape, "want x_max - x_min = 9223372036854775816"},
		{"box value 2", line(`[1, 0]`, `[1, 2]`), true, RuleBinary, "row 2 column 2 is 2"},
		{"box value 0.5", line("0.0", "0.5"), true, RuleBinary, "row 1 column 1 is 0.5"},
		{"box value -1", line("0.0", "-1"), true, RuleBinary, "is -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := Rules{BoxID: box, Binary: tc.binary}
			rule, detail := Validate([]byte(tc.line), rules)
			if rule != tc.rule {
				t.Fatalf("rule = %q (%s), want %q", rule, detail, tc.rule)
			}
			if !strings.Contains(detail, tc.detail) {
				t.Errorf("detail = %q, want it to contain %q", detail, tc.detail)
			}
			if ref, _, _ := reference([]byte(tc.line), rules); ref != tc.rule {
				t.Errorf("reference rule = %q, want %q", ref, tc.rule)
			}
		})
	}
}

func TestBoxIDMustMatchKey(t *testing.T) {
	other := strings.Repeat("a", 32)
	rule, detail := Validate([]byte(line()), Rules{BoxID: other})
	if rule != RuleBoxMismatch || !strings.Contains(detail, "does not match box "+other) {
		t.Errorf("got %q %q", rule, detail)
	}
}

func TestProcessKeepsBytes(t *testing.T) {
	text := `"é 漢 😀 \ud83d\ude00 \uFEFF` + "\uFEFF" + `"`
	in := line("0.0, 1", "0.0, 1.50") + "\n" +
		line(`"is_processed": false`, `"is_processed":true`) + "\n" +
		line(`, "is_processed": false}`, `, "is_processed"  :  false , "extra": [1.0e2]}`) + "\r\n" +
		note(`[`+text+`, 1e-400, -1.7976931348623157e308]`) + "\n" +
		line() // no final newline
	var out bytes.Buffer
	st, err := Process(strings.NewReader(in), &out, Options{Rules: Rules{BoxID: box}})
	if err != nil {
		t.Fatal(err)
	}
	want := line("0.0, 1", "0.0, 1.50", `"is_processed": false`, `"is_processed": true`) + "\n" +
		line(`"is_processed": false`, `"is_processed":true`) + "\n" +
		line(`, "is_processed": false}`, `, "is_processed"  :  true , "extra": [1.0e2]}`) + "\r\n" +
		line(`"is_processed": false`, `"is_processed": true`, `}`, `, "note": [`+text+`, 1e-400, -1.7976931348623157e308]}`) + "\n" +
		line(`"is_processed": false`, `"is_processed": true`) + "\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if st.Lines != 5 || st.Records != 5 || st.BytesIn != int64(len(in)) || st.BytesOut != int64(len(want)) {
		t.Errorf("stats = %+v", st)
	}
}

func TestProcessInvalidListsEveryBadLine(t *testing.T) {
	var in strings.Builder
	for i := 1; i <= 250; i++ {
		switch {
		case i == 3:
			in.WriteString(line(`"coordinates_x_max": 9`, `"coordinates_x_max": 1`))
		case i%2 == 0:
			in.WriteString("{broken")
		default:
			in.WriteString(line())
		}
		in.WriteString("\n")
	}
	var out bytes.Buffer
	_, err := Process(strings.NewReader(in.String()), &out, Options{Rules: Rules{BoxID: box}, MaxProblems: 10})
	var bad *InvalidError
	if !errors.As(err, &bad) {
		t.Fatalf("err = %v, want *InvalidError", err)
	}
	if bad.Invalid != 126 || bad.Lines != 250 || len(bad.Problems) != 10 {
		t.Errorf("invalid %d of %d with %d problems kept", bad.Invalid, bad.Lines, len(bad.Problems))
	}
	if p := bad.Problems[0]; p.Line != 2 || p.Rule != RuleJSON {
		t.Errorf("first problem = %v", p)
	}
	if p := bad.Problems[1]; p.Line != 3 || p.Rule != RuleCoordinates {
		t.Errorf("second problem = %v", p)
	}
	report := bad.Report()
	if !strings.Contains(report, "line 3: coordinates: coordinates_x_max (1)") || !strings.HasSuffix(report, "... and 116 more invalid lines\n") {
		t.Errorf("report:\n%s", report)
	}
	if !strings.Contains(err.Error(), "126 of 250 lines invalid, first line 2: json:") {
		t.Errorf("error = %v", err)
	}
	// Lines after the first bad one are never written, and what was
	// written is never flushed: the caller sees nothing to keep.
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes of an invalid file", out.Len())
	}
}

// TestProcessReportsEncodingRules checks that the rules about bytes rather
// than records are reported like the others: each on its own line number,
// with no output for the file.
func TestProcessReportsEncodingRules(t *testing.T) {
	in := "\uFEFF" + line() + "\n" + // a file saved with a byte-order mark
		line() + "\n" +
		note("\"caf\xe9\"") + "\n" + // Latin-1
		note(`"\ud800"`) + "\n" +
		line("[1, 0]", "[1, 1e400]") + "\n" +
		"\uFEFF" + line() + "\n" // a second file appended to the first
	var out bytes.Buffer
	_, err := Process(strings.NewReader(in), &out, Options{Rules: Rules{BoxID: box}})
	var bad *InvalidError
	if !errors.As(err, &bad) {
		t.Fatalf("err = %v, want *InvalidError", err)
	}
	want := []struct {
		line int64
		rule string
	}{{1, RuleBOM}, {3, RuleUTF8}, {4, RuleSurrogate}, {5, RuleNumberRange}, {6, RuleBOM}}
	if len(bad.Problems) != len(want) || bad.Invalid != int64(len(want)) || bad.Lines != 6 {
		t.Fatalf("%d problems, %d invalid of %d lines:\n%s", len(bad.Problems), bad.Invalid, bad.Lines, bad.Report())
	}
	for i, w := range want {
		if p := bad.Problems[i]; p.Line != w.line || p.Rule != w.rule {
			t.Errorf("problem %d = %v, want line %d rule %s", i, p, w.line, w.rule)
		}
	}
	if report := bad.Report(); !strings.HasPrefix(report, "line 1: bom: line starts with a UTF-8 byte-order mark (EF BB BF): save the file without a byte-order mark\n") {
		t.Errorf("report:\n%s", report)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes of an invalid file", out.Len())
	}
}

func TestLongLines(t *testing.T) {
	long := line("[1, 0]]", "[1, 0]]"+`, "pad": "`+strings.Repeat("x", 600<<10)+`"`)
	in := line() + "\n" + long + "\n" + line() + "\n"
	var out bytes.Buffer
	// Longer than the read buffer but allowed: processed whole.
	st, err := Process(strings.NewReader(in), &out, Options{Rules: Rules{BoxID: box}})
	if err != nil || st.Records != 3 || out.Len() != len(in)-3 {
		t.Fatalf("records %d, out %d bytes, err %v", st.Records, out.Len(), err)
	}
	// Over the limit: reported on its line, and the next line is read correctly.
	_, err = Process(strings.NewReader(in), io.Discard, Options{Rules: Rules{BoxID: box}, MaxLineBytes: 1000})
	var bad *InvalidError
	if !errors.As(err, &bad) || bad.Invalid != 1 || bad.Problems[0].Line != 2 || bad.Problems[0].Rule != RuleTooLong {
		t.Fatalf("err = %v", err)
	}
}

// TestProcessStreamsInConstantMemory pushes 64 MiB through Process and
// checks the heap it allocated in all stays a small fixed amount.
func TestProcessStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const size = 64 << 20
	r := &recordSource{rng: rand.New(rand.NewPCG(1, 2)), left: size}
	alloc := testing.AllocsPerRun(1, func() {
		r.left = size
		if _, err := Process(r, io.Discard, Options{Rules: Rules{BoxID: box, Binary: true}}); err != nil {
			t.Fatal(err)
		}
	})
	// Buffers and a string per record box id; nothing per irrigation value.
	if perRecord := alloc / float64(r.records); perRecord > 2 {
		t.Errorf("%.1f allocations a record", perRecord)
	}
}

// recordSource yields box records until left bytes are produced.
type recordSource struct {
	rng     *rand.Rand
	left    int
	buf     bytes.Buffer
	records int
}

func (s *recordSource) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.left > 0 {
		n := s.buf.Len()
		appendBox(&s.buf, s.rng)
		s.left -= s.buf.Len() - n
		s.records++
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	return s.buf.Read(p)
}

func appendBox(b *bytes.Buffer, rng *rand.Rand) {
	b.WriteString(`{"box_id": "` + box + `", "coordinates_x_min": 0, "coordinates_y_min": 0, "coordinates_x_max": 15, "coordinates_y_max": 14, "irrigation_array": [`)
	for r := range 14 {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('[')
		for c := range 15 {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte("01"[rng.IntN(2)])
		}
		b.WriteByte(']')
	}
	b.WriteString(`], "is_processed": false}` + "\n")
}

// FuzzValidate checks the fast scanner against the encoding/json reference
// and checks that processing a valid line changes only is_processed.
func FuzzValidate(f *testing.F) {
	f.Add(line(), false)
	f.Add(line("0.0", "0"), true)
	f.Add(line(`"is_processed": false`, `"is_processed": false, "x": {"y": [null, true, "\u00e9"]}`), false)
	f.Add(line(`"box_id"`, `"box\u005fid"`), true)
	f.Add(line("[1, 0]", "[1, 2]"), true)
	f.Add(line(`"coordinates_x_min": 7`, `"coordinates_x_min": 7.5`), false)
	f.Add(line(`[[0.0, 1], [1, 0]]`, `[[0.0, 1], null]`), false)
	f.Add(`{"box_id": null}`, false)
	f.Add(`{}`, false)
	f.Add(` `, false)
	f.Add("\uFEFF"+line(), false)
	f.Add(note(`"\uFEFF"`), false)
	f.Add(note("\"caf\xe9\""), false)
	f.Add(line("[1, 0]", "[1, 0]\xff"), true)
	f.Add(note("\"\xed\xa0\x80\""), false)
	f.Add(note(`"\ud83d\ude00"`), false)
	f.Add(note(`"\ud800"`), false)
	f.Add(note(`"\udfff"`), false)
	f.Add(note(`"\ud800\u0041"`), false)
	f.Add(note(`"\ud800\\udc00"`), false)
	f.Add(line("[1, 0]", "[1, 1e400]"), true)
	f.Add(note(`{"a": [-1e400]}`), false)
	f.Add(note("1"+strings.Repeat("0", 308)), false)
	f.Add(note("2"+strings.Repeat("0", 308)), false)
	f.Add(note("1.7976931348623159e308"), false)
	f.Add(note("1e-400"), false)
	f.Add(line("0.0", "1e-400"), true)
	f.Fuzz(func(t *testing.T, s string, binary bool) {
		if strings.ContainsRune(s, '\n') {
			return // one line at a time, by contract
		}
		rules := Rules{BoxID: box, Binary: binary}
		b := []byte(s)
		rule, detail := Validate(b, rules)
		ref, start, end := reference(b, rules)
		if rule != ref {
			t.Fatalf("scanner says %q (%s), reference says %q for %q", rule, detail, ref, s)
		}
		if rule != "" {
			return
		}
		var out bytes.Buffer
		if _, err := Process(strings.NewReader(s), &out, Options{Rules: rules}); err != nil {
			t.Fatalf("valid line failed to process: %v", err)
		}
		if want := processedByReference(b, start, end); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("processed %q\n got %q\nwant %q", s, out.Bytes(), want)
		}
	})
}

// TestBatchSizeDoesNotChangeOutput cuts the same input into tiny and large
// batches: lines cross batch boundaries, the output must not change.
func TestBatchSizeDoesNotChangeOutput(t *testing.T) {
	var in bytes.Buffer
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		appendBox(&in, rng)
	}
	var want bytes.Buffer
	if _, err := Process(bytes.NewReader(in.Bytes()), &want, Options{Rules: Rules{BoxID: box, Binary: true}}); err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 100, 4096, 1 << 16} {
		var got bytes.Buffer
		st, err := Process(bytes.NewReader(in.Bytes()), &got, Options{Rules: Rules{BoxID: box, Binary: true}, BatchBytes: batch})
		if err != nil || st.Records != 300 || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("batch %d: %d records, err %v, output equal: %v", batch, st.Records, err, bytes.Equal(got.Bytes(), want.Bytes()))
		}
	}
}

// cutReader yields its content, then err instead of io.EOF: a connection
// that ends early.
type cutReader struct {
	r   io.Reader
	err error
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, c.err
	}
	return n, err
}

// TestCutReadIsAnError checks that a reader ending in an error, even
// io.ErrUnexpectedEOF after whole lines, fails the pass: a cut stream is
// never the end of the file.
func TestCutReadIsAnError(t *testing.T) {
	for _, cut := range []error{io.ErrUnexpectedEOF, errors.New("connection reset by peer")} {
		for name, content := range map[string]string{
			"on a line break": line() + "\n" + line() + "\n",
			"mid-line":        line() + "\n" + line()[:40],
		} {
			var out bytes.Buffer
			_, err := Process(&cutReader{r: strings.NewReader(content), err: cut}, &out, Options{Rules: Rules{BoxID: box}})
			var bad *InvalidError
			if !errors.Is(err, cut) || errors.As(err, &bad) {
				t.Errorf("%s, %v: err = %v, want the read error", name, cut, err)
			}
		}
	}
}
