package record_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/fieldflow/fieldflow/processor/record"
	"github.com/fieldflow/fieldflow/processor/sample"
)

const benchBox = "01976dbcbdb77dc4b9b61ba545503b77"

// benchData is a megabyte of records as the sample generator writes them:
// the shape of real input, so that the numbers say what a run costs.
func benchData(b *testing.B, write func(io.Writer, *rand.Rand, string)) []byte {
	b.Helper()
	var buf bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	for buf.Len() < 1<<20 {
		write(&buf, rng, benchBox)
	}
	return buf.Bytes()
}

var benchKinds = []struct {
	name   string
	write  func(io.Writer, *rand.Rand, string)
	binary bool
}{
	{"box", sample.AppendBox, true},
	{"field", sample.AppendField, false},
}

// BenchmarkValidate measures the scanner alone, one line after another on
// one core: the steadiest number to compare changes to the fast path with.
func BenchmarkValidate(b *testing.B) {
	for _, k := range benchKinds {
		data := benchData(b, k.write)
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		rules := record.Rules{BoxID: benchBox, Binary: k.binary}
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for _, l := range lines {
					if rule, detail := record.Validate(l, rules); rule != "" {
						b.Fatalf("%s: %s", rule, detail)
					}
				}
			}
		})
	}
}

// BenchmarkProcess measures a whole pass: chunking, parallel validation and
// ordered output.
func BenchmarkProcess(b *testing.B) {
	for _, k := range benchKinds {
		data := benchData(b, k.write)
		opt := record.Options{Rules: record.Rules{BoxID: benchBox, Binary: k.binary}}
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := record.Process(bytes.NewReader(data), io.Discard, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
