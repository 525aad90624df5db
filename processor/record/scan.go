package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds nesting in fields the rules do not know, as encoding/json does.
const maxDepth = 10000

// scanner walks one line once, checking JSON syntax and collecting what the
// rules need without building any value. It is hand-written because it is
// the whole cost of processing a file: encoding/json would allocate every
// number of every irrigation array.
type scanner struct {
	b      []byte
	i      int
	binary bool // track values other than 0 and 1
	p      *parsed
	// Details of the first lone surrogate escape and the first number out
	// of float64's range: reported when the syntax is good, before rule.
	lone, huge string
	// first rule broken by a field's value (type, duplicate); syntax errors
	// are returned directly and win over it.
	rule, detail string
}

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.off+1) }

// scan parses a line into p. It returns the first rule broken while reading
// (utf8, json, surrogate, number-range, duplicate-field, field-type) or "".
func scan(line []byte, binary bool, p *parsed) (rule, detail string) {
	s := scanner{b: line, binary: binary, p: p}
	if err := s.object(); err != nil {
		// A byte that is not UTF-8 stops the scanner like bad syntax, in a
		// string or out of one; it is named for what it is wherever it is.
		if off := badUTF8(line); off >= 0 {
			return RuleUTF8, fmt.Sprintf("byte %d (%#x) is not UTF-8: save the file as UTF-8", off+1, line[off])
		}
		return RuleJSON, err.Error()
	}
	switch {
	case s.lone != "":
		return RuleSurrogate, s.lone
	case s.huge != "":
		return RuleNumberRange, s.huge
	}
	return s.rule, s.detail
}

// badUTF8 returns the offset of the first byte of b that is not part of a
// UTF-8 sequence, or -1.
func badUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func (s *scanner) fail(msg string) error { return &syntaxError{off: s.i, msg: msg} }

func (s *scanner) semantic(rule, detail string) {
	if s.rule == "" {
		s.rule, s.detail = rule, detail
	}
}

func (s *scanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) object() error {
	s.ws()
	if s.peek() != '{' {
		if s.i == len(s.b) {
			return s.fail("expected a JSON object, found nothing")
		}
		return s.fail(fmt.Sprintf("expected a JSON object, found %q", s.b[s.i]))
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else if err := s.members(); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("unexpected text after the object")
	}
	return nil
}

func (s *scanner) members() error {
	for {
		s.ws()
		raw, esc, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.peek() != ':' {
			return s.fail("expected ':' after object key")
		}
		s.i++
		s.ws()
		if err := s.member(key(raw, esc)); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}' after object member")
		}
	}
}

// key returns the field index of a raw key, or -1 for a field the rules do
// not know.
func key(raw []byte, esc bool) int {
	if esc {
		raw = []byte(unquote(raw))
	}
	for i, r := range required {
		if string(raw) == r { // compared without allocating
			return i
		}
	}
	return -1
}

func (s *scanner) member(field int) error {
	if field >= 0 {
		if s.p.seen[field] {
			s.semantic(RuleDuplicate, "field "+strconv.Quote(required[field])+" appears twice")
		}
		s.p.seen[field] = true
	}
	switch field {
	case 0:
		return s.boxID()
	case 1, 2, 3, 4:
		return s.integer(field)
	case 5:
		return s.irrigation()
	case 6:
		return s.flag()
	}
	return s.value(0)
}

func (s *scanner) typeError(field int, want string) error {
	got := kind(s.peek())
	s.semantic(RuleType, fmt.Sprintf("%s must be %s, got %s", required[field], want, got))
	return s.value(0)
}

func kind(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return "a number"
}

func (s *scanner) boxID() error {
	if s.peek() != '"' {
		return s.typeError(0, "a string")
	}
	raw, esc, err := s.str()
	if err != nil {
		return err
	}
	s.p.boxID = raw
	if esc {
		s.p.boxID = []byte(unquote(raw))
	}
	return nil
}

func (s *scanner) integer(field int) error {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return s.typeError(field, "an integer")
	}
	start := s.i
	isInt, err := s.number()
	if err != nil {
		return err
	}
	num := s.b[start:s.i]
	v, perr := strconv.ParseInt(string(num), 10, 64)
	if !isInt || perr != nil {
		s.semantic(RuleType, fmt.Sprintf("%s must be an integer, got %s", required[field], num))
		return nil
	}
	s.p.coord[field-1] = v
	return nil
}

func (s *scanner) flag() error {
	start := s.i
	switch {
	case hasPrefix(s.b[s.i:], "true"):
		s.i += 4
	case hasPrefix(s.b[s.i:], "false"):
		s.i += 5
	default:
		return s.typeError(6, "a boolean")
	}
	s.p.flagStart, s.p.flagEnd = start, s.i
	return nil
}

func (s *scanner) irrigation() error {
	if s.peek() != '[' {
		return s.typeError(5, "an array of arrays of numbers")
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	p := s.p
	for {
		s.ws()
		p.rows++
		if s.peek() == '[' {
			n, err := s.row(p.rows)
			if err != nil {
				return err
			}
			if p.rows == 1 {
				p.cols = n
			} else if n != p.cols && p.badRow == 0 {
				p.badRow, p.badRowLen = p.rows, n
			}
		} else {
			s.semantic(RuleType, fmt.Sprintf("irrigation_array row %d must be an array of numbers, got %s", p.rows, kind(s.peek())))
			if err := s.value(1); err != nil {
				return err
			}
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']' in irrigation_array")
		}
	}
}

// row reads one row of numbers and returns how many it held. It is the hot
// loop: most of a file's bytes are row values, so it keeps its position in a
// local and has a fast path for one-digit integers.
func (s *scanner) row(rowNum int64) (int64, error) {
	b := s.b
	i := s.i + 1 // past '['
	var n int64
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			s.i = i
			return n, s.fail("unterminated irrigation_array row")
		}
		c := b[i]
		if n == 0 && c == ']' {
			s.i = i + 1
			return 0, nil
		}
		n++
		switch {
		case c >= '0' && c <= '9' && i+1 < len(b) && (b[i+1] == ',' || b[i+1] == ']' || isSpace(b[i+1])):
			if c > '1' && s.binary {
				s.nonBinary(rowNum, n, b[i:i+1])
			}
			i++
			if i+1 < len(b) && b[i] == ',' && b[i+1] == ' ' {
				i += 2
				continue
			}
		case c == '-' || (c >= '0' && c <= '9'):
			s.i = i
			if _, err := s.number(); err != nil {
				return n, err
			}
			if s.binary && !isBinary(b[i:s.i]) {
				s.nonBinary(rowNum, n, b[i:s.i])
			}
			i = s.i
		default:
			s.i = i
			s.semantic(RuleType, fmt.Sprintf("irrigation_array row %d value %d must be a number, got %s", rowNum, n, kind(c)))
			if err := s.value(2); err != nil {
				return n, err
			}
			i = s.i
		}
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			s.i = i
			return n, s.fail("unterminated irrigation_array row")
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			s.i = i + 1
			return n, nil
		default:
			s.i = i
			return n, s.fail("expected ',' or ']' in irrigation_array row")
		}
	}
}

func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') }

// nonBinary remembers the first value of a bounding box other than 0 or 1.
func (s *scanner) nonBinary(row, col int64, num []byte) {
	if s.p.nonBin == nil {
		s.p.nonBinRow, s.p.nonBinC = row, col
		s.p.nonBin = append([]byte(nil), num...)
	}
}

// number reads a JSON number and reports whether it is written as an integer.
//
// It also notes a number too large for a float64, which most readers of the
// output would fail on. Parsing every number to find those would cost more
// than the rest of the scan, so number bounds the magnitude from the digits
// it reads anyway and parses only numbers that may not fit. A number too
// small for a float64 (1e-400) is accepted: strconv and encoding/json read it
// as 0 or a subnormal without an error, and its bytes are kept as they came.
func (s *scanner) number() (isInt bool, err error) {
	b := s.b
	start := s.i
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		s.i = i
		return false, s.fail("invalid number")
	}
	// The number is below 10^mag: its integer digits are not zero-padded.
	mag := i - intStart
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return false, s.fail("invalid number: no digit after '.'")
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		neg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			neg = b[i] == '-'
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return false, s.fail("invalid number: no digit in exponent")
		}
		exp := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if exp < 1e9 { // past it the exponent only needs to stay large
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
		mag += exp
	}
	s.i = i
	if mag > maxExp10 {
		s.checkRange(start)
	}
	return isInt, nil
}

// maxExp10 is the largest n with 10^n below math.MaxFloat64 (1.8e308).
const maxExp10 = 308

// checkRange notes the number from start to s.i when it overflows a
// float64. strconv reports only that as ErrRange; an underflow is no error.
func (s *scanner) checkRange(start int) {
	if s.huge != "" {
		return
	}
	num := s.b[start:s.i]
	if _, err := strconv.ParseFloat(string(num), 64); errors.Is(err, strconv.ErrRange) {
		s.huge = fmt.Sprintf("number %s at byte %d is beyond the range of a 64-bit float (about ±1.8e308)", clip(num), start+1)
	}
}

// clip shortens a long number for a report.
func clip(num []byte) string {
	if len(num) <= 40 {
		return string(num)
	}
	return fmt.Sprintf("%s... (%d characters)", num[:32], len(num))
}

// str reads a JSON string and returns its raw content and whether it holds
// escapes.
func (s *scanner) str() (raw []byte, esc bool, err error) {
	if s.peek() != '"' {
		return nil, false, s.fail("expected a string")
	}
	b := s.b
	start := s.i + 1
	s.i = start
	for {
		// Most bytes stand for themselves: skip them in a tight loop.
		i := s.i
		for i < len(b) && plain[b[i]] {
			i++
		}
		s.i = i
		if i == len(b) {
			return nil, false, s.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i++
			return b[start:i], esc, nil
		case c == '\\':
			esc = true
			if err := s.escape(); err != nil {
				return nil, false, err
			}
		case c < 0x20:
			return nil, false, s.fail("control character in string")
		default: // the start of a multi-byte character
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, false, s.fail("invalid UTF-8 in string") // scan reports it as utf8
			}
			s.i += n
		}
	}
}

// plain marks the bytes that stand for themselves in a string: ASCII from
// the space up, other than '"' and '\\' (DEL included, as JSON allows).
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) escape() error {
	start := s.i
	s.i++ // '\'
	if s.i >= len(s.b) {
		return s.fail("unterminated escape")
	}
	switch s.b[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return nil
	case 'u':
		r, ok := hex4(s.b[s.i+1:])
		if !ok {
			s.i = start
			return s.fail("invalid \\u escape")
		}
		s.i += 5
		if r >= 0xd800 && r <= 0xdfff {
			s.surrogate(start, r)
		}
		return nil
	}
	return s.fail("invalid escape")
}

// surrogate takes the low half of a UTF-16 surrogate pair after the high
// half r escaped at start. A half on its own is no character: decoders
// replace it with U+FFFD or refuse the line, so it is reported.
func (s *scanner) surrogate(start int, r rune) {
	if r <= 0xdbff && hasPrefix(s.b[s.i:], `\u`) {
		if low, ok := hex4(s.b[s.i+2:]); ok && low >= 0xdc00 && low <= 0xdfff {
			s.i += 6
			return
		}
	}
	if s.lone != "" {
		return
	}
	esc := s.b[start : start+6]
	if r <= 0xdbff {
		s.lone = fmt.Sprintf("lone surrogate %s at byte %d: a high surrogate must be followed by a low one (\\udc00-\\udfff)", esc, start+1)
	} else {
		s.lone = fmt.Sprintf("lone surrogate %s at byte %d: a low surrogate must follow a high one (\\ud800-\\udbff)", esc, start+1)
	}
}

// hex4 decodes the four hex digits of a \u escape at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// value skips any JSON value, checking its syntax.
func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	switch c := s.peek(); {
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.number()
		return err
	case c == '{':
		return s.container(depth, '}', true)
	case c == '[':
		return s.container(depth, ']', false)
	case hasPrefix(s.b[s.i:], "true"), hasPrefix(s.b[s.i:], "null"):
		s.i += 4
		return nil
	case hasPrefix(s.b[s.i:], "false"):
		s.i += 5
		return nil
	}
	if s.i >= len(s.b) {
		return s.fail("expected a value, found the end of the line")
	}
	return s.fail(fmt.Sprintf("invalid character %q looking for a value", s.b[s.i]))
}

func (s *scanner) container(depth int, end byte, keyed bool) error {
	s.i++
	s.ws()
	if s.peek() == end {
		s.i++
		return nil
	}
	for {
		s.ws()
		if keyed {
			if _, _, err := s.str(); err != nil {
				return err
			}
			s.ws()
			if s.peek() != ':' {
				return s.fail("expected ':' after object key")
			}
			s.i++
			s.ws()
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case end:
			s.i++
			return nil
		default:
			return s.fail(fmt.Sprintf("expected ',' or %q", end))
		}
	}
}

func hasPrefix(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

// unquote decodes the raw content of a string the scanner already checked.
func unquote(raw []byte) string {
	var v string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if err := json.Unmarshal(q, &v); err != nil {
		return string(raw)
	}
	return v
}
