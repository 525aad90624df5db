package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/fieldflow/fieldflow/processor/rules"
)

var checkCmd = command{
	name:    "check",
	summary: `print {"key","state","ready","reason"} for one input as JSON (with --check, one dependency check)`,
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		storeURL := storeFlag(fs)
		key := fs.String("key", "", "input key to judge")
		only := fs.String("check", "", "judge only this dependency check (as the Argo DAG does, one task a check)")
		outputs := outputsFlag(fs)
		return func(ctx context.Context) error {
			p, err := openKey(ctx, *storeURL, *key)
			if err != nil {
				return err
			}
			v, err := p.Check(ctx, *key)
			if err != nil {
				return err
			}
			if *only != "" {
				if v, err = oneCheck(v, *only); err != nil {
					return err
				}
			}
			if err := writeOutputs(*outputs, v); err != nil {
				return err
			}
			return printJSON(v)
		}
	},
}

// oneCheck narrows a verdict to one check: ready says whether that check
// holds, the reason is the check's own.
func oneCheck(v rules.Verdict, name string) (rules.Verdict, error) {
	var names []string
	for _, c := range v.Checks {
		if c.Name == name {
			return rules.Verdict{Key: v.Key, Asset: v.Asset, State: v.State, Ready: c.OK, Reason: c.Reason, Checks: []rules.Check{c}}, nil
		}
		names = append(names, c.Name)
	}
	if v.State == rules.Done {
		// A done input is not judged further; every check counts as holding.
		return rules.Verdict{Key: v.Key, Asset: v.Asset, State: v.State, Ready: true, Reason: v.Reason}, nil
	}
	return v, usageError(fmt.Sprintf("%s has no check %q (its checks: %v)", v.Asset, name, names))
}
