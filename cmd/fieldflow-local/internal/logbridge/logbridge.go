// Package logbridge sends the logs of the embedded components (klog of the
// API server, logrus of the Argo controller) to log/slog.
package logbridge

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
	"k8s.io/klog/v2"
)

// Klog routes klog (kube-apiserver, client-go) to h, dropping records below floor.
func Klog(h slog.Handler, floor slog.Level) {
	klog.SetSlogLogger(slog.New(minLevel{Handler: h, min: floor}).With("component", "apiserver"))
}

// Logrus routes the standard logrus logger (the Argo controller) to h,
// dropping records below floor, and calls watch with every message at info
// level or above, whatever floor is (readiness is read from the messages).
func Logrus(h slog.Handler, floor slog.Level, watch func(msg string)) {
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrusLevel(min(floor, slog.LevelInfo)))
	log := slog.New(minLevel{Handler: h, min: floor}).With("component", "workflow-controller")
	logrus.AddHook(&hook{log: log, watch: watch})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: m.Handler.WithAttrs(as), min: m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: m.Handler.WithGroup(name), min: m.min}
}

type hook struct {
	log   *slog.Logger
	watch func(string)
}

func (h *hook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *hook) Fire(e *logrus.Entry) error {
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	h.log.Log(ctx, slogLevel(e.Level), e.Message, attrs...)
	if h.watch != nil {
		h.watch(e.Message)
	}
	return nil
}

func slogLevel(l logrus.Level) slog.Level {
	switch {
	case l <= logrus.ErrorLevel:
		return slog.LevelError
	case l == logrus.WarnLevel:
		return slog.LevelWarn
	case l == logrus.InfoLevel:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

func logrusLevel(l slog.Level) logrus.Level {
	switch {
	case l >= slog.LevelError:
		return logrus.ErrorLevel
	case l >= slog.LevelWarn:
		return logrus.WarnLevel
	case l >= slog.LevelInfo:
		return logrus.InfoLevel
	default:
		return logrus.DebugLevel
	}
}
