package plugin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/fieldflow/fieldflow/processor"
)

// ExecutePath is where Argo's agent asks a plugin to run a node: the
// template.execute method of its RPC client, under /api/v1.
const ExecutePath = "/api/v1/template.execute"

// Timeout bounds one node's operation, store calls and API call included:
// under the 30 s the agent's RPC client waits, so that a slow store is
// answered with a Failed node worth retrying (exitCode 1) rather than a
// request the agent gives up on.
const Timeout = 25 * time.Second

// maxBody bounds a request: a template is a few kilobytes.
const maxBody = 4 << 20

// verdictsKept bounds the verdict cache. A sidecar serves one workflow's
// agent, so it holds one input's verdict, or a few.
const verdictsKept = 256

// Options configure a Server.
type Options struct {
	// Token is the bearer token the agent sends (the content of
	// TokenPath): a request without it is refused.
	Token string
	// ServiceAccountDir holds the token, ca.crt and namespace of the
	// plugin's service account, which Submit creates Workflows as.
	ServiceAccountDir string
	// Getenv reads KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT;
	// os.Getenv when nil.
	Getenv func(string) string
	Log    *slog.Logger
}

// Server answers Argo's agent for the nodes of the fieldflow plugin: it
// judges, lists and counts inputs with the processor, and submits
// Workflows through the Kubernetes API.
type Server struct {
	proc     *processor.Processor
	auth     []byte // the Authorization header the agent sends
	verdicts *verdicts
	kube     *kube
	log      *slog.Logger
	now      func() time.Time
}

// New returns the server of p's pipeline and store.
func New(p *processor.Processor, opt Options) (*Server, error) {
	if opt.Token == "" {
		return nil, processor.Permanent(errors.New("plugin: empty agent token"))
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		proc:     p,
		auth:     []byte("Bearer " + opt.Token),
		verdicts: newVerdicts(p.Check, verdictsKept),
		kube:     &kube{dir: opt.ServiceAccountDir, getenv: opt.Getenv},
		log:      opt.Log,
		now:      time.Now,
	}, nil
}

// ServeHTTP answers as Argo's RPC client expects: 403 for a wrong token,
// 404 for a method this plugin has not (the agent then stops asking), 200
// with the node, or {} for a template that is not this plugin's. A node
// that failed is a 200 too: the failure is the node's, and Argo's retry
// strategy decides by its exitCode.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), s.auth) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.URL.Path != ExecutePath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var args executeArgs
	if err := decodeArgs(w, r, &args); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply := s.execute(r.Context(), args)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(reply); err != nil {
		s.log.Warn("write reply", "err", err)
	}
}

// decodeArgs reads the request body, which must name the workflow and the
// template.
func decodeArgs(w http.ResponseWriter, r *http.Request, args *executeArgs) error {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(args); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if args.Workflow == nil || args.Template == nil {
		return errors.New("request: want a workflow and a template")
	}
	return nil
}

// execute runs the node args describes, or replies {} when it is not this
// plugin's.
func (s *Server) execute(ctx context.Context, args executeArgs) executeReply {
	raw, ok := ours(args.Template.Plugin)
	if !ok {
		return executeReply{}
	}
	start := time.Now()
	wf := args.Workflow.Metadata
	var node nodeResult
	op, err := decodeOp(raw)
	if err != nil {
		node = failed(err)
	} else {
		node = s.run(ctx, wf, op)
	}
	s.log.Info("node", "workflow", wf.Name, "template", args.Template.Name, "op", op.Kind(),
		"phase", node.Phase, "message", node.Message, "exitCode", *node.Outputs.ExitCode, "seconds", time.Since(start).Seconds())
	return executeReply{Node: &node}
}

// run runs one operation within Timeout; a panic is a failed node with
// exitCode ExitCrash, not a dead sidecar.
func (s *Server) run(ctx context.Context, wf workflowMeta, op Op) nodeResult {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var a answer
	err := processor.Recovered(func() (err error) {
		a, err = s.dispatch(ctx, wf, op)
		return err
	})
	if c, ok := errors.AsType[processor.Crash](err); ok {
		s.log.Error("panic", "workflow", wf.Name, "op", op.Kind(), "panic", c.Value, "stack", string(c.Stack))
	}
	if err != nil {
		return failed(err)
	}
	return succeeded(a)
}

// dispatch runs the operation op sets.
func (s *Server) dispatch(ctx context.Context, wf workflowMeta, op Op) (answer, error) {
	switch {
	case op.Check != nil:
		return s.check(ctx, wf.UID, *op.Check)
	case op.Verdict != nil:
		return s.verdict(ctx, wf.UID, *op.Verdict)
	case op.Ready != nil:
		return s.ready(ctx, *op.Ready)
	case op.Submit != nil:
		return s.submit(ctx, wf, *op.Submit)
	case op.Status != nil:
		return s.status(ctx)
	}
	return answer{}, processor.Permanent(fmt.Errorf("plugin %s: no operation", Name))
}
