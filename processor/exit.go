package processor

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Permanent marks err as one that retrying cannot fix (it then matches
// ErrPermanent), without changing its message: for callers outside this
// package that refuse a request, such as the executor plugin.
func Permanent(err error) error { return permanent(err) }

// Crash is a panic, recovered with its stack.
type Crash struct {
	Value any
	Stack []byte
}

func (c Crash) Error() string { return fmt.Sprintf("panic: %v\n\n%s", c.Value, c.Stack) }

// Recovered runs f and turns a panic on this goroutine into a Crash, so
// that a crash is reported as ExitCrash because fieldflow says so, not
// because Go's runtime happens to use the same number. A panic on another
// goroutine still ends the process with Go's exit code 2, which is
// ExitCrash too.
func Recovered(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Crash{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// ExitCode maps the outcome of a job to the code Argo's retry expression
// (`lastRetry.exitCode != "3"`) and metrics read: the exit code of a
// subcommand, and the exitCode output of an executor plugin node. One
// mapping for both, so a pod and the plugin fail alike.
func ExitCode(err error) int {
	var c Crash
	switch {
	case err == nil:
		return pipeline.ExitOK
	case errors.As(err, &c):
		return pipeline.ExitCrash
	case errors.Is(err, ErrPermanent):
		return pipeline.ExitPermanent
	default:
		return pipeline.ExitRetry
	}
}
