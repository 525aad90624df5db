package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// printJSON writes v to stdout on one line, for scripts and Argo.
func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", b)
	return err
}

// printJSONList writes vs as one JSON array on one line, an element at a
// time: the status of tens of thousands of inputs is never a second copy in
// memory.
func printJSONList[T any](vs []T) error {
	w := bufio.NewWriter(os.Stdout)
	w.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			w.WriteByte(',')
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.Write(b)
	}
	w.WriteString("]\n")
	return w.Flush()
}
