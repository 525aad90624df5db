package s3test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	s3store "github.com/fieldflow/fieldflow/processor/store/s3"
)

// Timeouts of a store made by Proxy.Store: short, so that fault tests
// measure them in seconds.
const (
	StallTimeout = 1 * time.Second
	CallTimeout  = 3 * time.Second
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a Server whose behaviour a
// test sets: it passes bytes through, or cuts, stalls or corrupts the body
// of GET responses, or stops answering, or stops reading requests.
//
// A behaviour applies to the connections accepted after it is set. So that
// every request gets a connection of its own, the proxy adds
// "Connection: close" to each response: no client reuses a connection made
// under an earlier behaviour.
type Proxy struct {
	// Endpoint is the proxy's URL, for s3.Options.Endpoint.
	Endpoint string
	upstream string
	ln       net.Listener

	closed chan struct{}

	mu       sync.Mutex
	fault    fault
	conns    map[net.Conn]struct{}
	accepted int
	wg       sync.WaitGroup
}

type faultKind int

const (
	pass         faultKind = iota
	cutBody                // GET bodies: close after n bytes
	stallBody              // GET bodies: send nothing after n bytes
	flipBody               // GET bodies: invert the byte at offset n
	stallHead              // every response: send nothing at all
	slowBody               // GET bodies: one byte every n nanoseconds
	stallRequest           // every request: read nothing after n bytes
)

type fault struct {
	kind faultKind
	n    int64
}

// Proxy starts a proxy in front of s, closed when the test ends.
func (s *Server) Proxy(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{
		Endpoint: "http://" + ln.Addr().String(),
		upstream: strings.TrimPrefix(s.Endpoint, "http://"),
		ln:       ln,
		closed:   make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Store returns a store on bucket, an existing bucket of the proxy's
// server, that goes through the proxy with StallTimeout and CallTimeout.
func (p *Proxy) Store(t testing.TB, bucket string) *s3store.Store {
	t.Helper()
	st, err := s3store.NewWithOptions(context.Background(), bucket, s3store.Options{
		Endpoint:     p.Endpoint,
		StallTimeout: StallTimeout,
		CallTimeout:  CallTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Pass makes the proxy pass every byte through.
func (p *Proxy) Pass() { p.set(fault{kind: pass}) }

// CutBody makes the proxy close the connection after n bytes of the body of
// a GET response, as a server that crashes or a network that drops does.
func (p *Proxy) CutBody(n int64) { p.set(fault{cutBody, n}) }

// StallBody makes the proxy send nothing more after n bytes of the body of
// a GET response, keeping the connection open.
func (p *Proxy) StallBody(n int64) { p.set(fault{stallBody, n}) }

// FlipBody makes the proxy invert the bits of the byte at offset n of the
// body of a GET response.
func (p *Proxy) FlipBody(n int64) { p.set(fault{flipBody, n}) }

// SlowBody makes the proxy send the body of a GET response one byte every
// interval: a connection that never stalls and never ends.
func (p *Proxy) SlowBody(interval time.Duration) { p.set(fault{slowBody, int64(interval)}) }

// StallHead makes the proxy pass requests on but send no byte of any
// response, keeping the connection open.
func (p *Proxy) StallHead() { p.set(fault{kind: stallHead}) }

// StallRequest makes the proxy stop reading a request after n bytes (head
// included) and keep the connection open: a server that stops receiving an
// upload.
func (p *Proxy) StallRequest(n int64) { p.set(fault{stallRequest, n}) }

func (p *Proxy) set(f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// Connections is how many connections the proxy has accepted: with one
// request per connection, how many requests (retries included) it saw.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops the proxy and ends every connection through it.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		f := p.fault
		p.accepted++
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c, f)
		}()
	}
}

// track records c for Close.
func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = struct{}{}
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

// handle proxies one connection, that carries one request.
func (p *Proxy) handle(client net.Conn, f fault) {
	p.track(client)
	defer p.forget(client)
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		return // the client sees its connection closed, as with a server gone
	}
	p.track(server)
	defer p.forget(server)

	// done closes when the client's side ends: a stalled direction waits
	// for it, as a real stalled peer would wait forever.
	done := make(chan struct{})
	method := make(chan string, 1)
	go func() {
		defer close(done)
		defer server.Close()
		request(client, server, f, method, p.closed)
	}()
	response(server, client, f, method, done)
}

// request copies the client's request to the server, telling response its
// method.
func request(client, server net.Conn, f fault, method chan<- string, closed <-chan struct{}) {
	br := bufio.NewReader(client)
	line, err := br.ReadString('\n')
	m, _, _ := strings.Cut(line, " ")
	method <- m
	if err != nil {
		return
	}
	if _, err := io.WriteString(server, line); err != nil {
		return
	}
	if f.kind == stallRequest {
		io.CopyN(server, br, max(0, f.n-int64(len(line))))
		<-closed // read nothing more
	}
	io.Copy(server, br)
}

// response copies the server's response to the client, with the fault.
func response(server, client net.Conn, f fault, method <-chan string, done <-chan struct{}) {
	br := bufio.NewReader(server)
	if f.kind == stallHead {
		<-done
		return
	}
	head, err := finalHead(br, client)
	if err != nil {
		return
	}
	if _, err := client.Write(head); err != nil {
		return
	}
	if <-method != "GET" || f.kind == pass || f.kind == stallRequest {
		io.Copy(client, br)
		return
	}
	if f.kind == slowBody {
		trickle(client, br, time.Duration(f.n), done)
		return
	}
	if _, err := io.CopyN(client, br, f.n); err != nil {
		return
	}
	switch f.kind {
	case cutBody:
		client.Close()
	case stallBody:
		<-done
	case flipBody:
		b, err := br.ReadByte()
		if err != nil {
			return
		}
		if _, err := client.Write([]byte{^b}); err != nil {
			return
		}
		io.Copy(client, br)
	}
}

// trickle copies r to w one byte every interval, until r ends or done.
func trickle(w io.Writer, r io.ByteReader, interval time.Duration, done <-chan struct{}) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-time.After(interval):
		}
	}
}

// finalHead reads response heads from br, passing interim (1xx) ones to
// client, and returns the final one with "Connection: close".
func finalHead(br *bufio.Reader, client net.Conn) ([]byte, error) {
	for {
		var head bytes.Buffer
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(strings.ToLower(line), "connection:") {
				continue
			}
			if line == "\r\n" {
				break
			}
			head.WriteString(line)
		}
		if strings.HasPrefix(head.String(), "HTTP/1.1 1") {
			head.WriteString("\r\n")
			if _, err := client.Write(head.Bytes()); err != nil {
				return nil, err
			}
			continue
		}
		head.WriteString("Connection: close\r\n\r\n")
		return head.Bytes(), nil
	}
}

// LineEnd is the offset just after the n-th line break of content (n from
// 1): where a cut leaves whole lines only, the case a reader could most
// easily take for the end of the file.
func LineEnd(content []byte, n int) int64 {
	off := 0
	for range n {
		i := bytes.IndexByte(content[off:], '\n')
		if i < 0 {
			panic(fmt.Sprintf("content has fewer than %d lines", n))
		}
		off += i + 1
	}
	return int64(off)
}

// MidLine is the offset of the middle of the n-th line of content (n from
// 1).
func MidLine(content []byte, n int) int64 {
	start := int64(0)
	if n > 1 {
		start = LineEnd(content, n-1)
	}
	return (start + LineEnd(content, n) - 1) / 2
}
