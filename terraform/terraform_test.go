// Package terraform has no Go code: its tests check the Terraform module in
// this folder without an AWS account. Terraform checks it: `fmt`,
// `validate`, and `terraform test` with a mocked provider
// (tests/module.tftest.hcl: the roles' exact grants, trust, notifications,
// attributes, bad input refused), given the names fieldflow's Go code
// defines. What terraform cannot assert (variables documented, depends_on,
// which resources grant permissions, the provider pin) is read from the
// parsed files here, without evaluating anything.
package terraform

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/fieldflow/fieldflow/generator"
	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// TestTerraform runs fmt, init from the local provider mirror, validate and
// the module's tests on a mocked provider, in a copy of the module. It is
// skipped, saying why, where terraform or the mirror is missing.
func TestTerraform(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH: skipping terraform fmt, validate and test")
	}
	plugins, tried := pluginDir()
	if plugins == "" {
		t.Skipf("no provider mirror with */hashicorp/aws in %s (set FIELDFLOW_TF_PLUGIN_DIR): skipping terraform validate and test", strings.Join(tried, ", "))
	}
	dir := copyModule(t)
	env := terraformEnv(t, dir)
	run := func(args ...string) string {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("fmt", "-check", "-recursive", "-diff", "-no-color")
	run("init", "-backend=false", "-plugin-dir="+plugins, "-input=false", "-no-color")
	if out := run("validate", "-no-color"); strings.Contains(out, "Warning") {
		t.Errorf("terraform validate warns:\n%s", out)
	}
	args := []string{"test", "-no-color"}
	for name, v := range fieldflowNames(t) {
		b, err := json.Marshal(v) // JSON strings and lists are HCL too
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "-var", name+"="+string(b))
	}
	t.Log(run(args...))
}

// fieldflowNames are the values the module's defaults must equal: the
// folders the processor uses when no setting changes them (with the
// trailing slash S3 prefixes take), and the generator's namespace, service
// accounts and queue.
func fieldflowNames(t *testing.T) map[string]any {
	folder := func(setting string) string {
		f := pipeline.Default(setting)
		if f == "" {
			t.Fatalf("the pipeline has no setting %s", setting)
		}
		return strings.Trim(f, "/") + "/"
	}
	c := generator.DefaultConfig()
	return map[string]any{
		"pipeline_input_prefixes":   []string{folder("BOXES_FOLDER_INPUT"), folder("FIELDS_FOLDER_INPUT")},
		"pipeline_output_prefixes":  []string{folder("BOXES_FOLDER_OUTPUT"), folder("FIELDS_FOLDER_OUTPUT")},
		"pipeline_other_prefixes":   []string{folder("QUARANTINE_FOLDER"), folder("FAILED_FOLDER"), folder("PROVENANCE_FOLDER")},
		"pipeline_namespace":        c.Namespace,
		"pipeline_queue":            c.SQS.Queue,
		"pipeline_workflow_account": generator.WorkflowServiceAccount,
		"pipeline_events_account":   generator.EventsServiceAccount,
	}
}

// terraformEnv keeps terraform to the copy: no user CLI config, no
// checkpoint calls, its data beside the module.
func terraformEnv(t *testing.T, dir string) []string {
	cfg := filepath.Join(t.TempDir(), "empty.tfrc")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"TF_DATA_DIR="+filepath.Join(dir, ".terraform"))
}

// pluginDir finds an unpacked provider mirror holding hashicorp/aws.
func pluginDir() (string, []string) {
	var tried []string
	if d := os.Getenv("FIELDFLOW_TF_PLUGIN_DIR"); d != "" {
		tried = append(tried, d)
	}
	tried = append(tried, "/opt/tf-plugins")
	if home, err := os.UserHomeDir(); err == nil {
		tried = append(tried, filepath.Join(home, ".terraform.d", "plugins"))
	}
	for _, d := range tried {
		if m, _ := filepath.Glob(filepath.Join(d, "*", "hashicorp", "aws")); len(m) > 0 {
			return d, tried
		}
	}
	return "", tried
}

// copyModule copies the .tf files and tests/ into a temporary folder, so
// init's lock file and data stay out of the repository.
func copyModule(t *testing.T) string {
	dir := t.TempDir()
	files, _ := filepath.Glob("*.tf")
	tests, _ := filepath.Glob(filepath.Join("tests", "*.tftest.hcl"))
	if len(files) == 0 || len(tests) == 0 {
		t.Fatalf("no module here: %d .tf files, %d tests", len(files), len(tests))
	}
	for _, f := range append(files, tests...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// blocks parses every .tf file of the module.
func blocks(t *testing.T) []*hclsyntax.Block {
	p := hclparse.NewParser()
	files, _ := filepath.Glob("*.tf")
	var out []*hclsyntax.Block
	for _, name := range files {
		f, diags := p.ParseHCLFile(name)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		out = append(out, f.Body.(*hclsyntax.Body).Blocks...)
	}
	return out
}

// TestStructure checks what terraform test cannot see: every variable has
// a description and a type, and the ones a user must set have no default;
// the orderings references alone do not give; the only resources that
// grant the roles anything are the two policies the tests check; the
// provider is pinned.
func TestStructure(t *testing.T) {
	required := []string{"bucket_name", "oidc_provider_arn", "oidc_provider_url"}
	wantDeps := map[string]string{
		// S3 tests delivery when the notification is created.
		"aws_s3_bucket_notification.inputs": "aws_sqs_queue_policy.inputs",
		// S3 rejects concurrent policy and access block changes.
		"aws_s3_bucket_policy.data": "aws_s3_bucket_public_access_block.data",
	}
	granting := []string{"aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy", "aws_iam_role_policies_exclusive",
		"aws_iam_role_policy_attachments_exclusive", "aws_iam_policy_attachment"}
	var policies []string
	for _, b := range blocks(t) {
		addr := strings.Join(b.Labels, ".")
		switch b.Type {
		case "variable":
			for _, attr := range []string{"description", "type"} {
				if _, ok := b.Body.Attributes[attr]; !ok {
					t.Errorf("variable %s has no %s", addr, attr)
				}
			}
			if _, ok := b.Body.Attributes["default"]; ok == slices.Contains(required, addr) {
				t.Errorf("variable %s: a default is wanted on every variable but %v", addr, required)
			}
		case "resource":
			if dep, ok := wantDeps[addr]; ok && !slices.Contains(dependsOn(t, b), dep) {
				t.Errorf("%s does not depend on %s", addr, dep)
			}
			delete(wantDeps, addr)
			if slices.Contains(granting, b.Labels[0]) {
				policies = append(policies, addr)
			}
			if b.Labels[0] == "aws_iam_role" && (b.Body.Attributes["managed_policy_arns"] != nil || slices.ContainsFunc(b.Body.Blocks, func(c *hclsyntax.Block) bool { return c.Type == "inline_policy" })) {
				t.Errorf("%s grants through managed_policy_arns or inline_policy", addr)
			}
		case "terraform":
			checkProvider(t, b)
		}
	}
	if len(wantDeps) > 0 {
		t.Errorf("resources missing: %v", wantDeps)
	}
	slices.Sort(policies)
	if want := []string{"aws_iam_role_policy.events", "aws_iam_role_policy.processor"}; !slices.Equal(policies, want) {
		t.Errorf("IAM policy resources %q, want %q: any other grant escapes the grants test", policies, want)
	}
}

// dependsOn returns the addresses in a block's depends_on.
func dependsOn(t *testing.T, b *hclsyntax.Block) []string {
	a, ok := b.Body.Attributes["depends_on"]
	if !ok {
		return nil
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var out []string
	for _, e := range exprs {
		tr, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		out = append(out, tr.RootName()+"."+tr[1].(hcl.TraverseAttr).Name)
	}
	return out
}

// checkProvider wants hashicorp/aws pinned to 5.x from 5.100.
func checkProvider(t *testing.T, tf *hclsyntax.Block) {
	for _, b := range tf.Body.Blocks {
		if b.Type != "required_providers" {
			continue
		}
		v, diags := b.Body.Attributes["aws"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		aws := v.AsValueMap()
		if aws["source"].AsString() != "hashicorp/aws" || aws["version"].AsString() != "~> 5.100" {
			t.Errorf("aws provider %s %s, want hashicorp/aws ~> 5.100", aws["source"].AsString(), aws["version"].AsString())
		}
		return
	}
	t.Error("no required_providers block")
}
