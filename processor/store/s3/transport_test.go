package s3

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection, the client's
// wrapped in an idleConn.
func pair(t *testing.T, timeout time.Duration) (*idleConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := (<-accepted).(*net.TCPConn)
	t.Cleanup(func() { c.Close(); s.Close() })
	return &idleConn{Conn: c, timeout: timeout}, s
}

const testTimeout = 300 * time.Millisecond

func wantStall(t *testing.T, err error, start time.Time) {
	t.Helper()
	took := time.Since(start)
	var stall *stallError
	if !errors.As(err, &stall) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("err = %v, want a stall", err)
	}
	if took < testTimeout || took > 3*testTimeout {
		t.Errorf("stall reported after %s, want about %s", took, testTimeout)
	}
}

func TestIdleConnReadStall(t *testing.T) {
	c, s := pair(t, testTimeout)
	s.Write([]byte("some"))
	start := time.Now()
	_, err := io.ReadAll(c)
	wantStall(t, err, start)
}

func TestIdleConnWriteStall(t *testing.T) {
	c, _ := pair(t, testTimeout) // the server never reads
	start := time.Now()
	_, err := c.Write(make([]byte, 64<<20))
	wantStall(t, err, start)
}

// TestIdleConnSlowButMoving checks that bytes that keep moving, slower
// than the stall timeout in total, never count as a stall, either way; one
// large Write included.
func TestIdleConnSlowButMoving(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		c, s := pair(t, testTimeout)
		go func() {
			for range 10 {
				s.Write([]byte("x"))
				time.Sleep(testTimeout / 3)
			}
			s.Close()
		}()
		b, err := io.ReadAll(c)
		if err != nil || len(b) != 10 {
			t.Errorf("slow read: %d bytes, %v", len(b), err)
		}
	})
	t.Run("write", func(t *testing.T) {
		c, s := pair(t, testTimeout)
		go func() {
			buf := make([]byte, 1<<20)
			for {
				if _, err := s.Read(buf); err != nil {
					return
				}
				time.Sleep(testTimeout / 10)
			}
		}()
		start := time.Now()
		n, err := c.Write(make([]byte, 16<<20)) // more than the sockets' buffers
		if err != nil || n != 16<<20 {
			t.Errorf("slow write: %d bytes, %v", n, err)
		}
		if took := time.Since(start); took < testTimeout {
			t.Errorf("write took %s: not slower than the stall timeout, proves nothing", took)
		}
	})
}
