package pipeline

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Pattern is a key regex relative to an asset's input folder, with named
// groups for the parts the rules need: "box" (the bounding box id), and for
// dated assets "date" and optionally "suffix".
//
// Besides matching, a Pattern can build a key back from group values and
// tell the literal prefix shared by every key with some groups fixed. Both
// need the regex to be a plain concatenation of literal text and named
// groups, which is checked when the pattern is compiled. That is what keeps a
// dependency check cheap: listing "fields/input/<box>/fields_" instead of the
// whole bucket.
type Pattern struct {
	text  string
	re    *regexp.Regexp
	parts []part
}

// part is one piece of the top-level concatenation: literal text, or a named
// group whose value comes from a match.
type part struct {
	literal string
	group   string
}

// CompilePattern parses a key regex. It is anchored at both ends.
func CompilePattern(text string) (*Pattern, error) {
	re, err := regexp.Compile("^(?:" + text + ")$")
	if err != nil {
		return nil, fmt.Errorf("key pattern %q: %w", text, err)
	}
	tree, err := syntax.Parse(text, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("key pattern %q: %w", text, err)
	}
	parts, err := flatten(tree.Simplify())
	if err != nil {
		return nil, fmt.Errorf("key pattern %q: %w", text, err)
	}
	return &Pattern{text: text, re: re, parts: parts}, nil
}

func flatten(re *syntax.Regexp) ([]part, error) {
	switch re.Op {
	case syntax.OpConcat:
		var out []part
		for _, sub := range re.Sub {
			p, err := flatten(sub)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
		return merge(out), nil
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, fmt.Errorf("case-insensitive text %q cannot be used to build keys", string(re.Rune))
		}
		return []part{{literal: string(re.Rune)}}, nil
	case syntax.OpCapture:
		if re.Name == "" {
			return nil, fmt.Errorf("group %s has no name: use (?P<name>...) or (?:...)", re)
		}
		return []part{{group: re.Name}}, nil
	case syntax.OpEmptyMatch:
		return nil, nil
	}
	return nil, fmt.Errorf("%s is neither literal text nor a named group; keys could not be built from it", re)
}

func merge(parts []part) []part {
	var out []part
	for _, p := range parts {
		if n := len(out); n > 0 && p.group == "" && out[n-1].group == "" {
			out[n-1].literal += p.literal
			continue
		}
		out = append(out, p)
	}
	return out
}

// String returns the pattern as configured.
func (p *Pattern) String() string { return p.text }

// Regexp returns the anchored regular expression keys are matched with.
func (p *Pattern) Regexp() *regexp.Regexp { return p.re }

// Groups lists the named groups in order of appearance.
func (p *Pattern) Groups() []string {
	var out []string
	for _, pt := range p.parts {
		if pt.group != "" {
			out = append(out, pt.group)
		}
	}
	return out
}

// Match returns the group values of name, or false when it does not match.
func (p *Pattern) Match(name string) (map[string]string, bool) {
	m := p.re.FindStringSubmatch(name)
	if m == nil {
		return nil, false
	}
	values := make(map[string]string, len(m))
	for i, g := range p.re.SubexpNames() {
		if g != "" {
			values[g] = m[i]
		}
	}
	return values, true
}

// Build returns the name whose groups have the given values. Every group
// must have a value, and the result must match the pattern.
func (p *Pattern) Build(values map[string]string) (string, error) {
	var b strings.Builder
	for _, pt := range p.parts {
		if pt.group == "" {
			b.WriteString(pt.literal)
			continue
		}
		v, ok := values[pt.group]
		if !ok {
			return "", fmt.Errorf("build key from %q: no value for group %q", p.text, pt.group)
		}
		b.WriteString(v)
	}
	if !p.re.MatchString(b.String()) {
		return "", fmt.Errorf("build key from %q: %q does not match", p.text, b.String())
	}
	return b.String(), nil
}

// Prefix returns the literal start shared by every name whose groups in
// fixed have those values: the pattern is filled in up to the first group
// that is not fixed.
func (p *Pattern) Prefix(fixed map[string]string) string {
	var b strings.Builder
	for _, pt := range p.parts {
		if pt.group == "" {
			b.WriteString(pt.literal)
			continue
		}
		v, ok := fixed[pt.group]
		if !ok {
			break
		}
		b.WriteString(v)
	}
	return b.String()
}
