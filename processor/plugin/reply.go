package plugin

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/fieldflow/fieldflow/processor"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// answer is what an operation found: the node's message and its output
// parameters.
type answer struct {
	message string
	outputs []parameter
}

// param is one output parameter.
func param(name, value string) parameter { return parameter{Name: name, Value: value} }

// succeeded is the node of an operation that answered. Its exitCode is
// ExitOK, as a pod's would be.
func succeeded(a answer) nodeResult {
	return nodeResult{
		Phase:   succeededPhase,
		Message: a.message,
		Outputs: &outputs{Parameters: a.outputs, ExitCode: exitCode(pipeline.ExitOK)},
	}
}

// failed is the node of an operation that failed: the error is its
// message (a panic's without its stack, which the sidecar logs), and its
// exitCode is the one the same error gives a subcommand
// (processor.ExitCode), which the templates' retry expression reads:
// ExitPermanent is never retried.
func failed(err error) nodeResult {
	msg := err.Error()
	if c, ok := errors.AsType[processor.Crash](err); ok {
		msg = fmt.Sprintf("panic: %v (its stack is in the log of the %s container)", c.Value, Container)
	}
	return nodeResult{
		Phase:   failedPhase,
		Message: msg,
		Outputs: &outputs{ExitCode: exitCode(processor.ExitCode(err))},
	}
}

func exitCode(code int) *string {
	s := strconv.Itoa(code)
	return &s
}
