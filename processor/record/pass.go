package record

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// A pass spreads validation over every core: a reader cuts the input into
// chunks of whole lines, workers validate and process chunks in any order,
// and the caller's goroutine writes their output back in input order. At
// most inFlight chunks exist at once, which bounds memory.
const inFlight = 4

type pass struct {
	opt     Options
	queue   chan *chunk // in input order, to the writer
	work    chan *chunk // to any worker
	quit    chan struct{}
	invalid atomic.Bool // once set, workers stop producing output
	bufs    sync.Pool
}

type chunk struct {
	buf     []byte // backing array, returned to the pool
	data    []byte // whole lines; the last one may lack its newline at EOF
	line    int64  // number of the first line
	tooLong bool   // one line longer than the limit, its bytes dropped
	readErr error  // the input failed after data
	done    chan result
}

var zeroParsed parsed

type result struct {
	out      []byte
	problems []Problem
	invalid  int64
	lines    int64
	records  int64
}

func newPass(opt Options) *pass {
	workers := max(1, runtime.GOMAXPROCS(0))
	p := &pass{
		opt:   opt,
		queue: make(chan *chunk, inFlight),
		work:  make(chan *chunk),
		quit:  make(chan struct{}),
	}
	p.bufs.New = func() any { return make([]byte, 0, opt.BatchBytes) }
	for range workers {
		go p.worker()
	}
	return p
}

func (p *pass) getBuf() []byte { return p.bufs.Get().([]byte)[:0] }

func (p *pass) putBuf(b []byte) {
	if cap(b) <= 2*p.opt.BatchBytes { // long-line buffers are left to the GC
		p.bufs.Put(b[:0]) //nolint:staticcheck // a slice header is small enough
	}
}

func (p *pass) run(r io.Reader, w io.Writer) (Stats, error) {
	defer close(p.quit)
	in := &countingReader{r: r}
	go p.read(in)
	var st Stats
	var bad *InvalidError
	for c := range p.queue {
		res := <-c.done
		st.Lines += res.lines
		if c.readErr != nil {
			return st, fmt.Errorf("read after line %d: %w", st.Lines, c.readErr)
		}
		if res.invalid > 0 {
			if bad == nil {
				bad = &InvalidError{}
			}
			bad.Invalid += res.invalid
			room := p.opt.MaxProblems - len(bad.Problems)
			bad.Problems = append(bad.Problems, res.problems[:min(room, len(res.problems))]...)
		}
		if bad == nil {
			st.Records += res.records
			n, err := w.Write(res.out)
			st.BytesOut += int64(n)
			if err != nil {
				return st, fmt.Errorf("write after line %d: %w", st.Lines, err)
			}
		}
		p.putBuf(res.out)
	}
	st.BytesIn = in.n // the reader is done: it closed the queue
	if bad != nil {
		bad.Lines = st.Lines
		return st, bad
	}
	return st, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// fill reads into b until it is full or r ends. Only io.EOF itself ends
// the input: io.ErrUnexpectedEOF, a reset or a stall from the reader is a
// cut stream, never the end of the file (io.ReadFull would turn a short
// read at EOF into io.ErrUnexpectedEOF and hide the difference).
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// send hands a chunk to the writer and to a worker, in that order, so the
// writer always waits on chunks some worker will take.
func (p *pass) send(c *chunk) bool {
	c.done = make(chan result, 1)
	select {
	case p.queue <- c:
	case <-p.quit:
		return false
	}
	select {
	case p.work <- c:
		return true
	case <-p.quit:
		return false
	}
}

func (p *pass) read(r io.Reader) {
	defer close(p.work)
	defer close(p.queue)
	line := int64(1)
	buf := p.getBuf()
	skipping := false // dropping the rest of a line that is too long
	for {
		n, err := fill(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := err == io.EOF
		if err != nil && !eof {
			p.send(&chunk{buf: buf, line: line, readErr: err})
			return
		}
		if skipping {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				buf = buf[:0]
				if eof {
					return
				}
				continue
			}
			buf = buf[:copy(buf, buf[i+1:])]
			skipping = false
		}
		last := bytes.LastIndexByte(buf, '\n')
		switch {
		case last < 0 && eof:
			if len(buf) > 0 {
				p.send(&chunk{buf: buf, data: buf, line: line})
			}
			return
		case last < 0 && len(buf) > p.opt.MaxLineBytes:
			if !p.send(&chunk{buf: buf, line: line, tooLong: true}) {
				return
			}
			line++
			buf, skipping = p.getBuf(), true
			continue
		case last < 0:
			// A line longer than the buffer: grow it and read on.
			bigger := make([]byte, len(buf), min(2*cap(buf), p.opt.MaxLineBytes+p.opt.BatchBytes))
			copy(bigger, buf)
			p.putBuf(buf)
			buf = bigger
			continue
		}
		next := p.getBuf()
		next = append(next, buf[last+1:]...)
		c := &chunk{buf: buf, data: buf[:last+1], line: line}
		line += int64(bytes.Count(c.data, []byte{'\n'}))
		if !p.send(c) {
			return
		}
		buf = next
		if eof {
			if len(buf) > 0 {
				p.send(&chunk{buf: buf, data: buf, line: line})
			}
			return
		}
	}
}

func (p *pass) worker() {
	for c := range p.work {
		c.done <- p.process(c)
		p.putBuf(c.buf)
	}
}

func (p *pass) process(c *chunk) result {
	res := result{out: p.getBuf()}
	ln := c.line
	problem := func(rule, detail string) {
		res.invalid++
		p.invalid.Store(true)
		if len(res.problems) < p.opt.MaxProblems {
			res.problems = append(res.problems, Problem{Line: ln, Rule: rule, Detail: detail})
		}
	}
	if c.tooLong {
		res.lines = 1
		problem(RuleTooLong, fmt.Sprintf("line is longer than %d bytes", p.opt.MaxLineBytes))
		return res
	}
	data := c.data
	parsed := new(parsed) // one per chunk: it escapes, and a line's would be an allocation
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		*parsed = zeroParsed
		if len(line) > p.opt.MaxLineBytes {
			problem(RuleTooLong, fmt.Sprintf("line is longer than %d bytes", p.opt.MaxLineBytes))
		} else if rule, detail := validate(line, &p.opt.Rules, parsed); rule != "" {
			problem(rule, detail)
		} else if !p.invalid.Load() {
			res.out = appendProcessed(res.out, line, parsed)
			res.records++
		}
		ln++
		res.lines++
	}
	return res
}
