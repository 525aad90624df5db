package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/fieldflow/fieldflow/processor"
)

// opNames are Op's fields as the templates spell them, for messages.
const opNames = "check, verdict, ready, submit or status"

// ours returns the body of a template's fieldflow plugin node, and false
// when the template is no node of this plugin (another plugin's, or no
// plugin node at all): the agent then asks the next plugin.
func ours(plugins map[string]json.RawMessage) (json.RawMessage, bool) {
	raw, ok := plugins[Name]
	return raw, ok
}

// decodeOp reads an Op strictly: an unknown field, trailing data or not
// exactly one operation is a template the generator did not write, and
// permanent.
func decodeOp(raw json.RawMessage) (Op, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var op Op
	if err := dec.Decode(&op); err != nil {
		return Op{}, processor.Permanent(fmt.Errorf("plugin %s: %w", Name, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Op{}, processor.Permanent(fmt.Errorf("plugin %s: data after the operation", Name))
	}
	if n := op.count(); n != 1 {
		return Op{}, processor.Permanent(fmt.Errorf("plugin %s: want exactly one of %s, got %d", Name, opNames, n))
	}
	return op, nil
}

// count is how many operations op sets.
func (op Op) count() int {
	n := 0
	for _, set := range []bool{op.Check != nil, op.Verdict != nil, op.Ready != nil, op.Submit != nil, op.Status != nil} {
		if set {
			n++
		}
	}
	return n
}

// Kind is the operation op sets: check, verdict, ready, submit or status.
func (op Op) Kind() string {
	switch {
	case op.Check != nil:
		return "check"
	case op.Verdict != nil:
		return "verdict"
	case op.Ready != nil:
		return "ready"
	case op.Submit != nil:
		return "submit"
	case op.Status != nil:
		return "status"
	}
	return ""
}
