package processor

import (
	"fmt"

	"github.com/fieldflow/fieldflow/processor/rules"
)

// OneCheck narrows a verdict to the check called name, as the Argo DAG
// asks for one check a task: Ready says whether that check lets the input
// run, and the reason is the check's own. A done input is not judged
// further and has nothing to run: no check lets it run again (a second
// workflow of a key, from a release or the reconcile, then ends without a
// processing pod), and each says why, with the verdict's reason. A name
// the input's asset has no check of is a permanent error.
func OneCheck(v rules.Verdict, name string) (rules.Verdict, error) {
	var names []string
	for _, c := range v.Checks {
		if c.Name == name {
			return rules.Verdict{Key: v.Key, Asset: v.Asset, State: v.State, Ready: c.OK, Reason: c.Reason, Checks: []rules.Check{c}}, nil
		}
		names = append(names, c.Name)
	}
	if v.State == rules.Done {
		return rules.Verdict{Key: v.Key, Asset: v.Asset, State: v.State, Reason: "done, nothing to run: " + v.Reason}, nil
	}
	return v, permanent(fmt.Errorf("%s has no check %q (its checks: %v)", v.Asset, name, names))
}
