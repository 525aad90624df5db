package main

import (
	"context"
	"flag"
	"fmt"
)

// commit is the source revision, stamped by the build (-X main.commit=...).
var commit = "unknown"

var versionCmd = command{
	name:    "version",
	summary: "print the commit this binary was built from",
	flags: func(fs *flag.FlagSet) func(context.Context) error {
		return func(context.Context) error {
			_, err := fmt.Println("fieldflow", commit)
			return err
		}
	},
}

func init() { commands = append(commands, versionCmd) }
