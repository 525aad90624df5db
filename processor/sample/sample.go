// Package sample makes input data like the old system's generator: a few
// bounding boxes, and for each a handful of field files a day, some of them
// late uploads with a suffix.
package sample

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/fieldflow/fieldflow/processor/pipeline"
	"github.com/fieldflow/fieldflow/processor/store"
)

// Options shape a sample.
type Options struct {
	Seed  uint64
	Boxes int
	From  time.Time // first field date, inclusive
	To    time.Time // last field date, inclusive
	// Faults adds files that show the other states: an invalid field file
	// (quarantined), fields of a box that was never uploaded (waiting) and a
	// file that is no input (ignored).
	Faults bool
}

// Defaults are the old generator's: 5 boxes, fields from 2025-06-01 to
// 2025-06-05, one day before the default start date.
func Defaults() Options {
	return Options{
		Seed:  1,
		Boxes: 5,
		From:  time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		To:    time.Date(2025, 6, 5, 0, 0, 0, 0, time.UTC),
	}
}

// Write puts a sample into st and returns the keys it wrote.
func Write(ctx context.Context, st store.Store, p *pipeline.Pipeline, opt Options) ([]string, error) {
	g := &gen{rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), p: p, st: st}
	box, field := p.Asset(pipeline.BoxAsset), p.Asset(pipeline.FieldAsset)
	if box == nil || field == nil {
		return nil, fmt.Errorf("sample needs the box and field assets")
	}
	for range opt.Boxes {
		id := g.boxID()
		g.boxes = append(g.boxes, id)
		if err := g.file(ctx, box, map[string]string{pipeline.GroupBox: id}, 1, boxRecord); err != nil {
			return nil, err
		}
		if err := g.fields(ctx, field, id, opt.From, opt.To); err != nil {
			return nil, err
		}
	}
	if opt.Faults {
		if err := g.faults(ctx, field, opt.From.AddDate(0, 0, 1)); err != nil {
			return nil, err
		}
	}
	return g.keys, nil
}

type gen struct {
	rng   *rand.Rand
	p     *pipeline.Pipeline
	st    store.Store
	keys  []string
	boxes []string
}

func (g *gen) boxID() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 32)
	for i := range b {
		b[i] = hex[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) suffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("_")
	for range 8 {
		b = append(b, letters[g.rng.IntN(len(letters))])
	}
	return string(b)
}

// fields writes 1 to 3 files a day for box id, the first without suffix.
func (g *gen) fields(ctx context.Context, a *pipeline.Asset, id string, from, to time.Time) error {
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		n := 1 + g.rng.IntN(3)
		for i := range n {
			values := map[string]string{pipeline.GroupBox: id, pipeline.GroupDate: d.Format(g.p.DateLayout), pipeline.GroupSuffix: ""}
			if i > 0 {
				values[pipeline.GroupSuffix] = g.suffix()
			}
			if err := g.file(ctx, a, values, 10+g.rng.IntN(21), fieldRecord); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *gen) faults(ctx context.Context, a *pipeline.Asset, day time.Time) error {
	// Fields of a box that has no bounding box: they wait.
	orphan := g.boxID()
	values := map[string]string{pipeline.GroupBox: orphan, pipeline.GroupDate: day.Format(g.p.DateLayout), pipeline.GroupSuffix: ""}
	if err := g.file(ctx, a, values, 3, fieldRecord); err != nil {
		return err
	}
	if len(g.boxes) == 0 {
		return nil
	}
	// An invalid late upload for the first box: quarantined, and the box's
	// later dates wait until it is fixed.
	var buf bytes.Buffer
	id := g.boxes[0]
	AppendField(&buf, g.rng, id)
	buf.WriteString(`{"box_id": "` + id + `", "coordinates_x_min": 5, "coordinates_y_min": 1, "coordinates_x_max": 7, "coordinates_y_max": 3, "irrigation_array": [[0.0, 0.0]], "is_processed": false}` + "\n")
	buf.WriteString(`{"box_id": "` + id + `", "coordinates_x_min": 9, "coordinates_y_min": 1, "coordinates_x_max": 7, "coordinates_y_max": 3, "irrigation_array": [], "is_processed": false}` + "\n")
	in, err := g.p.InputFor(a, map[string]string{pipeline.GroupBox: id, pipeline.GroupDate: day.Format(g.p.DateLayout), pipeline.GroupSuffix: "_broken-upload"})
	if err != nil {
		return err
	}
	if err := g.put(ctx, in.Key, buf.Bytes()); err != nil {
		return err
	}
	return g.put(ctx, a.InputPrefix+"/readme.txt", []byte("Field files go in <box id>/fields_<date>.jsonl\n"))
}

func (g *gen) file(ctx context.Context, a *pipeline.Asset, values map[string]string, records int, rec func(io.Writer, *rand.Rand, string)) error {
	in, err := g.p.InputFor(a, values)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for range records {
		rec(&buf, g.rng, in.Box)
	}
	return g.put(ctx, in.Key, buf.Bytes())
}

func (g *gen) put(ctx context.Context, key string, b []byte) error {
	if err := g.st.Put(ctx, key, bytes.NewReader(b), nil); err != nil {
		return err
	}
	g.keys = append(g.keys, key)
	return nil
}

func boxRecord(w io.Writer, rng *rand.Rand, id string)   { AppendBox(w, rng, id) }
func fieldRecord(w io.Writer, rng *rand.Rand, id string) { AppendField(w, rng, id) }

// AppendBox writes one bounding box record: 5 to 20 cells a side of 0 and 1.
func AppendBox(w io.Writer, rng *rand.Rand, id string) {
	writeRecord(w, rng, id, 5+rng.IntN(16), 5+rng.IntN(16), func(b []byte) []byte {
		return strconv.AppendInt(b, int64(rng.IntN(2)), 10)
	})
}

// AppendField writes one field record: 2 to 10 cells a side of irrigation
// amounts written as the old system did (0.0, 0.35).
func AppendField(w io.Writer, rng *rand.Rand, id string) {
	writeRecord(w, rng, id, 2+rng.IntN(9), 2+rng.IntN(9), func(b []byte) []byte {
		if rng.IntN(3) == 0 {
			return append(b, "0.0"...)
		}
		return strconv.AppendFloat(b, float64(rng.IntN(100))/100, 'f', -1, 64)
	})
}

func writeRecord(w io.Writer, rng *rand.Rand, id string, width, height int, value func([]byte) []byte) {
	x, y := rng.IntN(200), rng.IntN(200)
	b := make([]byte, 0, 128+width*height*6)
	b = fmt.Appendf(b, `{"box_id": %q, "coordinates_x_min": %d, "coordinates_y_min": %d, "coordinates_x_max": %d, "coordinates_y_max": %d, "irrigation_array": [`,
		id, x, y, x+width, y+height)
	for r := range height {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '[')
		for c := range width {
			if c > 0 {
				b = append(b, ", "...)
			}
			b = value(b)
		}
		b = append(b, ']')
	}
	b = append(b, `], "is_processed": false}`+"\n"...)
	w.Write(b)
}
