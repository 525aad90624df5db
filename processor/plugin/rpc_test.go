package plugin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"
	"github.com/argoproj/argo-workflows/v3/workflow/executor/plugins/rpc"
)

// TestArgoRPC serves the handler to the RPC client Argo's agent calls
// plugins with, so that the protocol is Argo's and not this package's
// reading of it.
func TestArgoRPC(t *testing.T) {
	s, _ := fixture(t)
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx := context.Background()

	agent := rpc.New(srv.URL, token)
	for _, tc := range []struct {
		name  string
		args  executorplugins.ExecuteTemplateArgs
		phase wfv1.NodePhase // "" for no node: not this plugin's
		check func(t *testing.T, n *wfv1.NodeResult)
	}{
		{"check", opArgs(t, Op{Check: &Check{Key: fieldWaiting, Name: "box-processed"}}), wfv1.NodeSucceeded, func(t *testing.T, n *wfv1.NodeResult) {
			if params(*n)[OutputReady] != "false" || !strings.Contains(n.Message, boxReady) {
				t.Errorf("%q %v", n.Message, params(*n))
			}
		}},
		{"ready", opArgs(t, Op{Ready: &Ready{After: boxDone, Limit: 10}}), wfv1.NodeSucceeded, func(t *testing.T, n *wfv1.NodeResult) {
			if params(*n)["field"] != `["`+fieldReady+`"]` {
				t.Errorf("%v", params(*n))
			}
		}},
		{"failed node", opArgs(t, Op{Ready: &Ready{}}), wfv1.NodeFailed, func(t *testing.T, n *wfv1.NodeResult) {
			if exit(*n) != "3" {
				t.Errorf("exitCode %s", exit(*n))
			}
		}},
		{"another plugin's node", args(t, `{"hello": {}}`), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reply executorplugins.ExecuteTemplateReply
			if err := agent.ExecuteTemplate(ctx, tc.args, &reply); err != nil {
				t.Fatal(err)
			}
			if tc.phase == "" {
				if reply.Node != nil {
					t.Errorf("node %+v for another plugin's template", reply.Node)
				}
				return
			}
			if reply.Node == nil || reply.Node.Phase != tc.phase {
				t.Fatalf("reply %+v, want a %s node", reply, tc.phase)
			}
			tc.check(t, reply.Node)
		})
	}

	// A wrong token is a fatal error for the agent, not a node.
	var reply executorplugins.ExecuteTemplateReply
	err := rpc.New(srv.URL, "stolen").ExecuteTemplate(ctx, opArgs(t, Op{Status: &Status{}}), &reply)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("wrong token: %v, want a 403", err)
	}
}
