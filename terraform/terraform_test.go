// Package terraform has no Go code: its tests check the Terraform module in
// this folder without an AWS account. They parse every .tf file with HCL and
// evaluate what matters (attributes, policy documents, wiring) with the
// variables' defaults; a reference to another resource evaluates to a
// placeholder such as "<aws_s3_bucket.data.arn>", so wiring is checked by
// value, through locals and functions, not by matching source text. When
// terraform and a local provider mirror are present, they also run
// `terraform fmt`, `init`, `validate` and a plan against a mocked provider.
package terraform

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/fieldflow/fieldflow/processor/pipeline"
)

// Values for the variables without a default. The issuer is given with its
// scheme, as EKS reports it; condition keys must carry it without.
const (
	testBucket  = "test-bucket"
	testIssuer  = "oidc.test.example/id/0123ABCD"
	testOIDCARN = "arn:aws:iam::111122223333:oidc-provider/" + testIssuer
	testKMSKey  = "arn:aws:kms:us-east-1:111122223333:key/test-key"
)

var requiredVars = map[string]cty.Value{
	"bucket_name":       cty.StringVal(testBucket),
	"oidc_provider_arn": cty.StringVal(testOIDCARN),
	"oidc_provider_url": cty.StringVal("https://" + testIssuer),
}

// withVars returns requiredVars with more values set.
func withVars(more map[string]cty.Value) map[string]cty.Value {
	out := maps.Clone(requiredVars)
	maps.Copy(out, more)
	return out
}

var kmsVars = withVars(map[string]cty.Value{"kms_key_arn": cty.StringVal(testKMSKey)})

// ph is the placeholder a reference to a resource attribute evaluates to.
func ph(addr string) string { return "<" + addr + ">" }

// module is the parsed Terraform module: every top-level block of every .tf
// file in this folder.
type module struct {
	blocks []*hclsyntax.Block
}

func loadModule(t *testing.T) *module {
	t.Helper()
	files, err := filepath.Glob("*.tf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in the package folder (err %v)", err)
	}
	p := hclparse.NewParser()
	m := &module{}
	for _, name := range files {
		f, diags := p.ParseHCLFile(name)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", name, diags.Error())
		}
		m.blocks = append(m.blocks, f.Body.(*hclsyntax.Body).Blocks...)
	}
	return m
}

// find returns the top-level block of that kind and labels, or nil.
func (m *module) find(kind string, labels ...string) *hclsyntax.Block {
	for _, b := range m.blocks {
		if b.Type == kind && slices.Equal(b.Labels, labels) {
			return b
		}
	}
	return nil
}

// resource returns the resource or data block at a Terraform address such as
// "aws_s3_bucket.data" or "data.aws_iam_policy_document.queue".
func (m *module) resource(t *testing.T, addr string) *hclsyntax.Block {
	t.Helper()
	kind, labels := "resource", strings.Split(addr, ".")
	if labels[0] == "data" {
		kind, labels = "data", labels[1:]
	}
	b := m.find(kind, labels...)
	if b == nil {
		t.Fatalf("%s is not declared", addr)
	}
	return b
}

// all returns the top-level blocks of one kind whose first label is typ.
func (m *module) all(kind, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.blocks {
		if b.Type == kind && len(b.Labels) > 0 && b.Labels[0] == typ {
			out = append(out, b)
		}
	}
	return out
}

// evalContext binds var.* (defaults, then vars), local.*, placeholders for
// every resource and data attribute the module references, and the functions
// the module calls.
func (m *module) evalContext(t *testing.T, vars map[string]cty.Value) *hcl.EvalContext {
	t.Helper()
	ctx := &hcl.EvalContext{Variables: m.placeholders(t), Functions: functions()}
	ctx.Variables["var"] = m.varValues(t, vars)
	ctx.Variables["local"] = m.locals(t, ctx)
	return ctx
}

// varValues converts each variable's value (from vars, else its default) to
// its declared type, as Terraform does.
func (m *module) varValues(t *testing.T, vars map[string]cty.Value) cty.Value {
	t.Helper()
	out := map[string]cty.Value{}
	for _, b := range m.blocks {
		if b.Type != "variable" {
			continue
		}
		name := b.Labels[0]
		ty := cty.DynamicPseudoType
		if a, ok := b.Body.Attributes["type"]; ok {
			var diags hcl.Diagnostics
			if ty, diags = typeexpr.TypeConstraint(a.Expr); diags.HasErrors() {
				t.Fatalf("variable %s: type: %s", name, diags.Error())
			}
		}
		v, ok := vars[name]
		if !ok {
			a, has := b.Body.Attributes["default"]
			if !has {
				t.Fatalf("variable %s has no default: give the test a value for it", name)
			}
			v = eval(t, a.Expr, nil)
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			t.Fatalf("variable %s: value %#v does not convert to %s: %v", name, v, ty.FriendlyName(), err)
		}
		out[name] = cv
	}
	for name := range vars {
		if _, ok := out[name]; !ok {
			t.Fatalf("the test sets variable %s, which is not declared", name)
		}
	}
	return cty.ObjectVal(out)
}

// locals evaluates every local value, each once the locals it uses are known.
func (m *module) locals(t *testing.T, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	pending := map[string]hcl.Expression{}
	for _, b := range m.blocks {
		if b.Type == "locals" {
			for name, a := range b.Body.Attributes {
				pending[name] = a.Expr
			}
		}
	}
	done := map[string]cty.Value{}
	for len(pending) > 0 {
		progress := false
		for name, expr := range pending {
			if !localsKnown(expr, done) {
				continue
			}
			child := ctx.NewChild()
			child.Variables = map[string]cty.Value{"local": cty.ObjectVal(done)}
			done[name] = eval(t, expr, child)
			delete(pending, name)
			progress = true
		}
		if !progress {
			t.Fatalf("locals %v refer to each other or to undeclared locals", slices.Sorted(maps.Keys(pending)))
		}
	}
	return cty.ObjectVal(done)
}

// localsKnown reports whether every local.NAME that expr uses is in done.
func localsKnown(expr hcl.Expression, done map[string]cty.Value) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" {
			continue
		}
		if name := attrPath(tr); len(name) < 2 || done[name[1]] == cty.NilVal {
			return false
		}
	}
	return true
}

// placeholders builds, from every traversal in the module, objects such as
// aws_s3_bucket.data.arn = "<aws_s3_bucket.data.arn>".
func (m *module) placeholders(t *testing.T) map[string]cty.Value {
	t.Helper()
	tree := map[string]any{}
	for _, b := range m.blocks {
		walkExprs(b.Body, func(expr hclsyntax.Expression) {
			for _, tr := range expr.Variables() {
				path := attrPath(tr)
				depth := 3 // TYPE.NAME.ATTR
				if path[0] == "data" {
					depth = 4 // data.TYPE.NAME.ATTR
				} else if !strings.HasPrefix(path[0], "aws_") {
					continue // var, local, dynamic iterators
				}
				if len(path) >= depth {
					insert(t, tree, path[:depth])
				}
			}
		})
	}
	out := map[string]cty.Value{}
	for k, v := range tree {
		out[k] = toObject(v)
	}
	return out
}

// attrPath returns the names of a traversal's leading root and attribute
// steps (it stops at the first index).
func attrPath(tr hcl.Traversal) []string {
	var out []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			out = append(out, s.Name)
		case hcl.TraverseAttr:
			out = append(out, s.Name)
		default:
			return out
		}
	}
	return out
}

func walkExprs(body *hclsyntax.Body, fn func(hclsyntax.Expression)) {
	for _, a := range body.Attributes {
		fn(a.Expr)
	}
	for _, b := range body.Blocks {
		walkExprs(b.Body, fn)
	}
}

func insert(t *testing.T, tree map[string]any, path []string) {
	t.Helper()
	node := tree
	for _, name := range path[:len(path)-1] {
		next, ok := node[name].(map[string]any)
		if !ok {
			if node[name] != nil {
				t.Fatalf("%s is used both as an attribute and as an object", strings.Join(path, "."))
			}
			next = map[string]any{}
			node[name] = next
		}
		node = next
	}
	leaf := path[len(path)-1]
	if _, isObj := node[leaf].(map[string]any); isObj {
		t.Fatalf("%s is used both as an attribute and as an object", strings.Join(path, "."))
	}
	node[leaf] = ph(strings.Join(path, "."))
}

func toObject(v any) cty.Value {
	if s, ok := v.(string); ok {
		return cty.StringVal(s)
	}
	attrs := map[string]cty.Value{}
	for k, c := range v.(map[string]any) {
		attrs[k] = toObject(c)
	}
	return cty.ObjectVal(attrs)
}

// functions are the Terraform functions the module calls; go-cty implements
// them the same way for the arguments used here.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"coalesce":   stdlib.CoalesceFunc,
		"concat":     stdlib.ConcatFunc,
		"format":     stdlib.FormatFunc,
		"formatlist": stdlib.FormatListFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"join":       stdlib.JoinFunc,
		"length":     stdlib.LengthFunc,
		"replace":    stdlib.ReplaceFunc,
		"trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc,
	}
}

func eval(t *testing.T, expr hcl.Expression, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("evaluate %s: %s", expr.Range(), diags.Error())
	}
	return v
}

// scope is a block body with the context its expressions evaluate in (a
// dynamic block's content sees its iterator).
type scope struct {
	body *hclsyntax.Body
	ctx  *hcl.EvalContext
}

// blocks returns the nested blocks of a type, static ones and those a
// dynamic block generates, in source order.
func (s scope) blocks(t *testing.T, typ string) []scope {
	t.Helper()
	var out []scope
	for _, b := range s.body.Blocks {
		switch {
		case b.Type == typ:
			out = append(out, scope{b.Body, s.ctx})
		case b.Type == "dynamic" && b.Labels[0] == typ:
			out = append(out, s.expand(t, b)...)
		}
	}
	return out
}

func (s scope) expand(t *testing.T, dyn *hclsyntax.Block) []scope {
	t.Helper()
	iter := dyn.Labels[0]
	if a, ok := dyn.Body.Attributes["iterator"]; ok {
		tr, diags := hcl.AbsTraversalForExpr(a.Expr)
		if diags.HasErrors() {
			t.Fatalf("dynamic %q: iterator: %s", iter, diags.Error())
		}
		iter = tr.RootName()
	}
	var content *hclsyntax.Block
	for _, b := range dyn.Body.Blocks {
		if b.Type == "content" {
			content = b
		}
	}
	forEach, ok := dyn.Body.Attributes["for_each"]
	if content == nil || !ok {
		t.Fatalf("dynamic %q at %s needs for_each and content", iter, dyn.Range())
	}
	var out []scope
	for it := eval(t, forEach.Expr, s.ctx).ElementIterator(); it.Next(); {
		k, v := it.Element()
		child := s.ctx.NewChild()
		child.Variables = map[string]cty.Value{iter: cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})}
		out = append(out, scope{content.Body, child})
	}
	return out
}

// one returns the single nested block of a type.
func (s scope) one(t *testing.T, typ string) scope {
	t.Helper()
	bs := s.blocks(t, typ)
	if len(bs) != 1 {
		t.Fatalf("want one %q block at %s, found %d", typ, s.body.Range(), len(bs))
	}
	return bs[0]
}

func (s scope) has(name string) bool {
	_, ok := s.body.Attributes[name]
	return ok
}

func (s scope) value(t *testing.T, name string) cty.Value {
	t.Helper()
	a, ok := s.body.Attributes[name]
	if !ok {
		t.Fatalf("no attribute %q at %s", name, s.body.Range())
	}
	return eval(t, a.Expr, s.ctx)
}

func (s scope) str(t *testing.T, name string) string {
	t.Helper()
	v, err := convert.Convert(s.value(t, name), cty.String)
	if err != nil || v.IsNull() {
		t.Fatalf("attribute %q at %s is not a string: %v", name, s.body.Range(), err)
	}
	return v.AsString()
}

func (s scope) strs(t *testing.T, name string) []string {
	t.Helper()
	v, err := convert.Convert(s.value(t, name), cty.List(cty.String))
	if err != nil || v.IsNull() {
		t.Fatalf("attribute %q at %s is not a list of strings: %v", name, s.body.Range(), err)
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			t.Fatalf("attribute %q at %s holds a null", name, s.body.Range())
		}
		out = append(out, e.AsString())
	}
	return out
}

// path evaluates a dotted path of nested blocks ending in an attribute.
func (s scope) path(t *testing.T, path string) cty.Value {
	t.Helper()
	names := strings.Split(path, ".")
	for _, typ := range names[:len(names)-1] {
		s = s.one(t, typ)
	}
	return s.value(t, names[len(names)-1])
}

// at returns the scope of the block at a Terraform address.
func (m *module) at(t *testing.T, addr string, vars map[string]cty.Value) scope {
	t.Helper()
	return scope{m.resource(t, addr).Body, m.evalContext(t, vars)}
}

// jsonAttr decodes an attribute that holds jsonencode(...).
func (s scope) jsonAttr(t *testing.T, name string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(s.str(t, name)), &out); err != nil {
		t.Fatalf("attribute %q is not a JSON object: %v", name, err)
	}
	return out
}

func TestVariables(t *testing.T) {
	m := loadModule(t)
	strList := func(s ...string) cty.Value {
		var vs []cty.Value
		for _, x := range s {
			vs = append(vs, cty.StringVal(x))
		}
		return cty.ListVal(vs)
	}
	tests := []struct {
		name string
		def  cty.Value // cty.NilVal: required, no default
	}{
		{"region", cty.StringVal("us-east-1")},
		{"tags", cty.MapValEmpty(cty.String)},
		{"bucket_name", cty.NilVal},
		{"kms_key_arn", cty.NullVal(cty.String)},
		{"input_prefixes", strList("boxes/input/", "fields/input/")},
		{"output_prefixes", strList("boxes/output/", "fields/output/")},
		{"quarantine_prefix", cty.StringVal("quarantine/")},
		{"failed_prefix", cty.StringVal("failed/")},
		{"provenance_prefix", cty.StringVal("provenance/")},
		{"noncurrent_version_days", cty.NumberIntVal(90)},
		{"queue_name", cty.StringVal("fieldflow-inputs")},
		{"max_receive_count", cty.NumberIntVal(5)},
		{"oidc_provider_arn", cty.NilVal},
		{"oidc_provider_url", cty.NilVal},
		{"namespace", cty.StringVal("fieldflow")},
		{"processor_service_account", cty.StringVal("fieldflow-workflow")},
		{"events_service_account", cty.StringVal("fieldflow-events")},
		{"role_name_prefix", cty.StringVal("fieldflow")},
		{"ecr_repository_name", cty.StringVal("fieldflow")},
		{"ecr_keep_images", cty.NumberIntVal(20)},
	}
	defaults := m.varValues(t, requiredVars).AsValueMap()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := m.find("variable", tt.name)
			if b == nil {
				t.Fatalf("variable %s is not declared", tt.name)
			}
			for _, attr := range []string{"description", "type"} {
				if _, ok := b.Body.Attributes[attr]; !ok {
					t.Errorf("variable %s has no %s", tt.name, attr)
				}
			}
			_, hasDefault := b.Body.Attributes["default"]
			switch {
			case tt.def == cty.NilVal && hasDefault:
				t.Errorf("variable %s has a default; it must be set by the user", tt.name)
			case tt.def != cty.NilVal && !defaults[tt.name].RawEquals(tt.def):
				t.Errorf("variable %s defaults to %#v, want %#v", tt.name, defaults[tt.name], tt.def)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	m := loadModule(t)
	ctx := m.evalContext(t, requiredVars)
	tests := map[string]string{
		"region":                "us-east-1",
		"bucket":                ph("aws_s3_bucket.data.bucket"),
		"queue_name":            ph("aws_sqs_queue.inputs.name"),
		"queue_url":             ph("aws_sqs_queue.inputs.url"),
		"dead_letter_queue_url": ph("aws_sqs_queue.dead_letter.url"),
		"processor_role_arn":    ph("aws_iam_role.processor.arn"),
		"events_role_arn":       ph("aws_iam_role.events.arn"),
		"ecr_repository_url":    ph("aws_ecr_repository.fieldflow.repository_url"),
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			b := m.find("output", name)
			if b == nil {
				t.Fatalf("output %s is not declared", name)
			}
			if got := (scope{b.Body, ctx}).str(t, "value"); got != want {
				t.Errorf("output %s = %q, want %q", name, got, want)
			}
		})
	}
}

func TestProvider(t *testing.T) {
	m := loadModule(t)
	tf := m.find("terraform")
	if tf == nil {
		t.Fatal("no terraform block")
	}
	s := scope{tf.Body, nil}
	if !s.has("required_version") {
		t.Error("terraform block has no required_version")
	}
	aws := s.one(t, "required_providers").value(t, "aws").AsValueMap()
	if got := aws["source"].AsString(); got != "hashicorp/aws" {
		t.Errorf("aws provider source = %q, want hashicorp/aws", got)
	}
	if got := aws["version"].AsString(); got != "~> 5.100" {
		t.Errorf("aws provider version = %q, want ~> 5.100", got)
	}
	p := m.find("provider", "aws")
	if p == nil {
		t.Fatal("no provider \"aws\" block")
	}
	vars := withVars(map[string]cty.Value{"region": cty.StringVal("eu-west-1")})
	if got := (scope{p.Body, m.evalContext(t, vars)}).str(t, "region"); got != "eu-west-1" {
		t.Errorf("provider region = %q, want var.region", got)
	}
}

// TestAttributes checks the key settings of each resource and how the
// resources refer to each other.
func TestAttributes(t *testing.T) {
	m := loadModule(t)
	str := cty.StringVal
	tests := []struct {
		addr, path string
		vars       map[string]cty.Value
		want       cty.Value
	}{
		{"aws_s3_bucket.data", "bucket", nil, str(testBucket)},
		{"aws_s3_bucket_versioning.data", "bucket", nil, str(ph("aws_s3_bucket.data.id"))},
		{"aws_s3_bucket_versioning.data", "versioning_configuration.status", nil, str("Enabled")},
		{"aws_s3_bucket_server_side_encryption_configuration.data", "bucket", nil, str(ph("aws_s3_bucket.data.id"))},
		{"aws_s3_bucket_server_side_encryption_configuration.data", "rule.apply_server_side_encryption_by_default.sse_algorithm", nil, str("AES256")},
		{"aws_s3_bucket_server_side_encryption_configuration.data", "rule.apply_server_side_encryption_by_default.kms_master_key_id", nil, cty.NullVal(cty.String)},
		{"aws_s3_bucket_server_side_encryption_configuration.data", "rule.apply_server_side_encryption_by_default.sse_algorithm", kmsVars, str("aws:kms")},
		{"aws_s3_bucket_server_side_encryption_configuration.data", "rule.apply_server_side_encryption_by_default.kms_master_key_id", kmsVars, str(testKMSKey)},
		{"aws_s3_bucket_public_access_block.data", "bucket", nil, str(ph("aws_s3_bucket.data.id"))},
		{"aws_s3_bucket_public_access_block.data", "block_public_acls", nil, cty.True},
		{"aws_s3_bucket_public_access_block.data", "block_public_policy", nil, cty.True},
		{"aws_s3_bucket_public_access_block.data", "ignore_public_acls", nil, cty.True},
		{"aws_s3_bucket_public_access_block.data", "restrict_public_buckets", nil, cty.True},
		{"aws_s3_bucket_ownership_controls.data", "bucket", nil, str(ph("aws_s3_bucket.data.id"))},
		{"aws_s3_bucket_ownership_controls.data", "rule.object_ownership", nil, str("BucketOwnerEnforced")},
		{"aws_s3_bucket_policy.data", "bucket", nil, str(ph("aws_s3_bucket.data.id"))},
		{"aws_s3_bucket_policy.data", "policy", nil, str(ph("data.aws_iam_policy_document.bucket.json"))},
		{"aws_sqs_queue.inputs", "name", nil, str("fieldflow-inputs")},
		{"aws_sqs_queue.inputs", "sqs_managed_sse_enabled", nil, cty.True},
		{"aws_sqs_queue.dead_letter", "sqs_managed_sse_enabled", nil, cty.True},
		{"aws_sqs_queue_policy.inputs", "queue_url", nil, str(ph("aws_sqs_queue.inputs.id"))},
		{"aws_sqs_queue_policy.inputs", "policy", nil, str(ph("data.aws_iam_policy_document.queue.json"))},
		{"aws_s3_bucket_notification.inputs", "bucket", nil, str(ph("aws_s3_bucket.data.id"))},
		{"aws_iam_role.processor", "assume_role_policy", nil, str(ph("data.aws_iam_policy_document.processor_trust.json"))},
		{"aws_iam_role.events", "assume_role_policy", nil, str(ph("data.aws_iam_policy_document.events_trust.json"))},
		{"aws_iam_role_policy.processor", "role", nil, str(ph("aws_iam_role.processor.id"))},
		{"aws_iam_role_policy.processor", "policy", nil, str(ph("data.aws_iam_policy_document.processor.json"))},
		{"aws_iam_role_policy.events", "role", nil, str(ph("aws_iam_role.events.id"))},
		{"aws_iam_role_policy.events", "policy", nil, str(ph("data.aws_iam_policy_document.events.json"))},
		{"aws_ecr_repository.fieldflow", "name", nil, str("fieldflow")},
		{"aws_ecr_repository.fieldflow", "image_tag_mutability", nil, str("IMMUTABLE")},
		{"aws_ecr_repository.fieldflow", "image_scanning_configuration.scan_on_push", nil, cty.True},
		{"aws_ecr_repository.fieldflow", "encryption_configuration.encryption_type", nil, str("AES256")},
		{"aws_ecr_repository.fieldflow", "encryption_configuration.encryption_type", kmsVars, str("KMS")},
		{"aws_ecr_repository.fieldflow", "encryption_configuration.kms_key", kmsVars, str(testKMSKey)},
		{"aws_ecr_lifecycle_policy.fieldflow", "repository", nil, str(ph("aws_ecr_repository.fieldflow.name"))},
	}
	for _, tt := range tests {
		name := tt.addr + "." + tt.path
		if tt.vars != nil {
			name += "/kms"
		}
		t.Run(name, func(t *testing.T) {
			vars := tt.vars
			if vars == nil {
				vars = requiredVars
			}
			got := m.at(t, tt.addr, vars).path(t, tt.path)
			if !got.RawEquals(tt.want) {
				t.Errorf("%s = %#v, want %#v", name, got, tt.want)
			}
		})
	}
}

// TestRedrive checks that failing notifications go to the dead-letter queue
// after var.max_receive_count receives.
func TestRedrive(t *testing.T) {
	m := loadModule(t)
	for _, n := range []int64{5, 7} {
		vars := requiredVars
		if n != 5 {
			vars = withVars(map[string]cty.Value{"max_receive_count": cty.NumberIntVal(n)})
		}
		got := m.at(t, "aws_sqs_queue.inputs", vars).jsonAttr(t, "redrive_policy")
		want := map[string]any{"deadLetterTargetArn": ph("aws_sqs_queue.dead_letter.arn"), "maxReceiveCount": float64(n)}
		if !maps.Equal(got, want) {
			t.Errorf("redrive_policy with max_receive_count %d = %v, want %v", n, got, want)
		}
	}
}

func TestECRLifecycle(t *testing.T) {
	m := loadModule(t)
	vars := withVars(map[string]cty.Value{"ecr_keep_images": cty.NumberIntVal(3)})
	policy := m.at(t, "aws_ecr_lifecycle_policy.fieldflow", vars).jsonAttr(t, "policy")
	rules, _ := policy["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("want one lifecycle rule, got %v", policy["rules"])
	}
	rule, _ := rules[0].(map[string]any)
	sel, _ := rule["selection"].(map[string]any)
	action, _ := rule["action"].(map[string]any)
	if sel["tagStatus"] != "any" || sel["countType"] != "imageCountMoreThan" || sel["countNumber"] != float64(3) {
		t.Errorf("selection = %v, want any image beyond var.ecr_keep_images (3)", sel)
	}
	if action["type"] != "expire" {
		t.Errorf("action = %v, want expire", action)
	}
}

// TestNotification checks one S3 -> SQS notification per input prefix, for
// the defaults and for a third prefix.
func TestNotification(t *testing.T) {
	m := loadModule(t)
	tests := [][]string{
		{"boxes/input/", "fields/input/"},
		{"boxes/input/", "fields/input/", "pumps/input/"},
	}
	for _, prefixes := range tests {
		t.Run(fmt.Sprint(len(prefixes)), func(t *testing.T) {
			var vs []cty.Value
			for _, p := range prefixes {
				vs = append(vs, cty.StringVal(p))
			}
			vars := withVars(map[string]cty.Value{"input_prefixes": cty.ListVal(vs)})
			var got []string
			ids := map[string]bool{}
			for _, q := range m.at(t, "aws_s3_bucket_notification.inputs", vars).blocks(t, "queue") {
				if arn := q.str(t, "queue_arn"); arn != ph("aws_sqs_queue.inputs.arn") {
					t.Errorf("queue_arn = %q, want the input queue's ARN", arn)
				}
				if ev := q.strs(t, "events"); !slices.Equal(ev, []string{"s3:ObjectCreated:*"}) {
					t.Errorf("events = %q, want [s3:ObjectCreated:*]", ev)
				}
				if q.has("filter_suffix") {
					t.Error("filter_suffix is set: keys are filtered by the Sensors")
				}
				if q.has("id") {
					ids[q.str(t, "id")] = true
				}
				got = append(got, q.str(t, "filter_prefix"))
			}
			if !slices.Equal(got, prefixes) {
				t.Errorf("queue filter prefixes = %q, want %q", got, prefixes)
			}
			if len(ids) != len(got) {
				t.Errorf("queue ids %v are not one per prefix", slices.Sorted(maps.Keys(ids)))
			}
		})
	}
}

// dependsOn returns the addresses in a block's depends_on.
func dependsOn(t *testing.T, b *hclsyntax.Block) []string {
	t.Helper()
	a, ok := b.Body.Attributes["depends_on"]
	if !ok {
		return nil
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		t.Fatalf("depends_on at %s: %s", a.Range(), diags.Error())
	}
	var out []string
	for _, e := range exprs {
		tr, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() {
			t.Fatalf("depends_on at %s: %s", e.Range(), diags.Error())
		}
		out = append(out, strings.Join(attrPath(tr), "."))
	}
	return out
}

// TestDependsOn checks orderings that references alone do not give.
func TestDependsOn(t *testing.T) {
	m := loadModule(t)
	tests := []struct{ addr, dep, why string }{
		{"aws_s3_bucket_notification.inputs", "aws_sqs_queue_policy.inputs", "S3 tests delivery when the notification is created"},
		{"aws_s3_bucket_policy.data", "aws_s3_bucket_public_access_block.data", "S3 rejects concurrent policy and access block changes"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if deps := dependsOn(t, m.resource(t, tt.addr)); !slices.Contains(deps, tt.dep) {
				t.Errorf("%s depends_on %q, want %s (%s)", tt.addr, deps, tt.dep, tt.why)
			}
		})
	}
}

// statement is one evaluated statement of an aws_iam_policy_document.
type statement struct {
	effect     string
	actions    []string
	resources  []string
	principals map[string][]string  // type -> identifiers
	conditions map[string]condition // by variable
	negated    []string             // not_actions, not_resources, not_principals
}

type condition struct {
	test   string
	values []string
}

// policy evaluates the statements of data.aws_iam_policy_document.NAME.
func (m *module) policy(t *testing.T, name string, vars map[string]cty.Value) []statement {
	t.Helper()
	var out []statement
	for _, s := range m.at(t, "data.aws_iam_policy_document."+name, vars).blocks(t, "statement") {
		out = append(out, parseStatement(t, s))
	}
	return out
}

func parseStatement(t *testing.T, s scope) statement {
	t.Helper()
	st := statement{effect: "Allow", principals: map[string][]string{}, conditions: map[string]condition{}}
	if s.has("effect") {
		st.effect = s.str(t, "effect")
	}
	if s.has("actions") {
		st.actions = s.strs(t, "actions")
	}
	if s.has("resources") {
		st.resources = s.strs(t, "resources")
	}
	for _, n := range []string{"not_actions", "not_resources"} {
		if s.has(n) {
			st.negated = append(st.negated, n)
		}
	}
	if len(s.blocks(t, "not_principals")) > 0 {
		st.negated = append(st.negated, "not_principals")
	}
	for _, p := range s.blocks(t, "principals") {
		typ := p.str(t, "type")
		st.principals[typ] = append(st.principals[typ], p.strs(t, "identifiers")...)
	}
	for _, c := range s.blocks(t, "condition") {
		v := c.str(t, "variable")
		if _, dup := st.conditions[v]; dup {
			t.Fatalf("two conditions on %s in one statement", v)
		}
		st.conditions[v] = condition{c.str(t, "test"), c.strs(t, "values")}
	}
	return st
}

// grants maps each allowed action to the sorted resources it is allowed on.
func grants(stmts []statement) map[string][]string {
	out := map[string][]string{}
	for _, s := range stmts {
		if s.effect != "Allow" {
			continue
		}
		for _, a := range s.actions {
			out[a] = append(out[a], s.resources...)
		}
	}
	for a, rs := range out {
		slices.Sort(rs)
		out[a] = slices.Compact(rs)
	}
	return out
}

// objects returns the bucket's object ARN pattern for each prefix.
func objects(prefixes ...string) []string {
	var out []string
	for _, p := range prefixes {
		out = append(out, ph("aws_s3_bucket.data.arn")+"/"+p+"*")
	}
	slices.Sort(out)
	return out
}

// prefixes are the values of the key prefix variables.
type prefixes struct {
	inputs, outputs                []string
	quarantine, failed, provenance string
}

// vars returns requiredVars with the prefix variables set to p.
func (p prefixes) vars() map[string]cty.Value {
	list := func(ss []string) cty.Value {
		var vs []cty.Value
		for _, s := range ss {
			vs = append(vs, cty.StringVal(s))
		}
		return cty.ListVal(vs)
	}
	return withVars(map[string]cty.Value{
		"input_prefixes":    list(p.inputs),
		"output_prefixes":   list(p.outputs),
		"quarantine_prefix": cty.StringVal(p.quarantine),
		"failed_prefix":     cty.StringVal(p.failed),
		"provenance_prefix": cty.StringVal(p.provenance),
	})
}

// customPrefixes differ from every default, so a prefix written into the
// policy instead of its variable fails the test.
var customPrefixes = prefixes{
	inputs:     []string{"in-a/", "in-b/", "deep/in-c/"},
	outputs:    []string{"out-a/"},
	quarantine: "q-test/",
	failed:     "f-test/",
	provenance: "p-test/",
}

// processorGrants is what the workflow pods call, by IAM action, with the
// exact resources each needs (see processor/ and processor/store/s3):
//
//   - ListBucket: ListObjectsV2 of inputs, outputs, markers, reports and
//     notes; the whole bucket, so a GET or HEAD of a missing key is a 404.
//   - ListBucketMultipartUploads: the incomplete uploads of a key before it
//     is written; the action has no s3:prefix condition key.
//   - GetObject: GetObject (ChecksumMode ENABLED) and HeadObject of inputs,
//     quarantine reports, failure notes, provenance markers and outputs'
//     metadata.
//   - PutObject: PutObject, CreateMultipartUpload, UploadPart and
//     CompleteMultipartUpload (the upload manager), with user metadata, of
//     outputs, quarantine copies and reports, failure notes and markers.
//   - AbortMultipartUpload: a failed upload, or one a killed writer left, of
//     any key it writes.
//   - DeleteObject: failure notes (success, retry) and an input's old
//     markers (before it runs again); never inputs or outputs.
//   - With a KMS key: Decrypt (reads, multipart writes) and GenerateDataKey
//     (writes).
func processorGrants(p prefixes, kms bool) map[string][]string {
	bucket := []string{ph("aws_s3_bucket.data.arn")}
	written := append(slices.Clone(p.outputs), p.quarantine, p.failed, p.provenance)
	out := map[string][]string{
		"s3:ListBucket":                 bucket,
		"s3:ListBucketMultipartUploads": bucket,
		"s3:GetObject":                  objects(append(slices.Clone(p.inputs), written...)...),
		"s3:PutObject":                  objects(written...),
		"s3:AbortMultipartUpload":       objects(written...),
		"s3:DeleteObject":               objects(p.failed, p.provenance),
	}
	if kms {
		out["kms:Decrypt"] = []string{testKMSKey}
		out["kms:GenerateDataKey"] = []string{testKMSKey}
	}
	return out
}

// TestLeastPrivilege checks the exact actions and resources each role is
// allowed, with and without a KMS key, with the default prefixes and with
// others: a missing action, an extra one, or a resource too wide or too
// narrow fails.
func TestLeastPrivilege(t *testing.T) {
	m := loadModule(t)
	queue := []string{ph("aws_sqs_queue.inputs.arn")}
	events := map[string][]string{
		"sqs:ReceiveMessage":          queue,
		"sqs:DeleteMessage":           queue,
		"sqs:GetQueueAttributes":      queue,
		"sqs:GetQueueUrl":             queue,
		"sqs:ChangeMessageVisibility": queue,
	}
	withKMS := func(vars map[string]cty.Value) map[string]cty.Value {
		out := maps.Clone(vars)
		out["kms_key_arn"] = cty.StringVal(testKMSKey)
		return out
	}
	defaults := prefixes{
		inputs:     []string{"boxes/input/", "fields/input/"},
		outputs:    []string{"boxes/output/", "fields/output/"},
		quarantine: "quarantine/",
		failed:     "failed/",
		provenance: "provenance/",
	}
	tests := []struct {
		name, doc string
		vars      map[string]cty.Value
		want      map[string][]string
	}{
		{"defaults", "processor", requiredVars, processorGrants(defaults, false)},
		{"defaults/kms", "processor", kmsVars, processorGrants(defaults, true)},
		{"prefixes", "processor", customPrefixes.vars(), processorGrants(customPrefixes, false)},
		{"prefixes/kms", "processor", withKMS(customPrefixes.vars()), processorGrants(customPrefixes, true)},
		{"defaults", "events", requiredVars, events},
		{"defaults/kms", "events", kmsVars, events},
		{"prefixes", "events", customPrefixes.vars(), events},
	}
	for _, tt := range tests {
		t.Run(tt.doc+"/"+tt.name, func(t *testing.T) {
			stmts := m.policy(t, tt.doc, tt.vars)
			got := grants(stmts)
			for _, a := range slices.Sorted(maps.Keys(got)) {
				if want, ok := tt.want[a]; !ok {
					t.Errorf("%s allows %s on %q: not needed", tt.doc, a, got[a])
				} else if !slices.Equal(got[a], want) {
					t.Errorf("%s allows %s on %q, want %q", tt.doc, a, got[a], want)
				}
			}
			for _, a := range slices.Sorted(maps.Keys(tt.want)) {
				if _, ok := got[a]; !ok {
					t.Errorf("%s does not allow %s", tt.doc, a)
				}
			}
			for _, s := range stmts {
				if s.effect != "Allow" || len(s.principals) > 0 {
					t.Errorf("%s: identity policy statements must be Allow without principals: %+v", tt.doc, s)
				}
				if slices.ContainsFunc(s.actions, isKMS) {
					if slices.ContainsFunc(s.actions, func(a string) bool { return !isKMS(a) }) {
						t.Errorf("%s: KMS actions share a statement, and its condition, with others: %q", tt.doc, s.actions)
					}
					want := map[string]condition{"kms:ViaService": {"StringEquals", []string{"s3.us-east-1.amazonaws.com"}}}
					if !maps.EqualFunc(s.conditions, want, conditionEqual) {
						t.Errorf("%s: KMS use is not limited to S3 in the region: %+v", tt.doc, s.conditions)
					}
				} else if len(s.conditions) > 0 {
					// The tables above are the whole grant: a condition would
					// narrow it unseen, and one on a key the action lacks
					// (s3:prefix on ListBucketMultipartUploads) denies every
					// request.
					t.Errorf("%s: statement %q has conditions %+v", tt.doc, s.actions, s.conditions)
				}
			}
		})
	}
}

// TestPrefixDefaults checks that each prefix variable defaults to the folder
// the processor uses when its setting is unset: with no setting changed, the
// role covers exactly the folders the processor reads and writes.
func TestPrefixDefaults(t *testing.T) {
	m := loadModule(t)
	defaults := m.varValues(t, requiredVars).AsValueMap()
	folder := func(setting string) cty.Value {
		f := pipeline.Default(setting)
		if f == "" {
			t.Fatalf("the pipeline has no setting %s", setting)
		}
		return cty.StringVal(strings.Trim(f, "/") + "/")
	}
	tests := map[string]cty.Value{
		"input_prefixes":    cty.ListVal([]cty.Value{folder("BOXES_FOLDER_INPUT"), folder("FIELDS_FOLDER_INPUT")}),
		"output_prefixes":   cty.ListVal([]cty.Value{folder("BOXES_FOLDER_OUTPUT"), folder("FIELDS_FOLDER_OUTPUT")}),
		"quarantine_prefix": folder("QUARANTINE_FOLDER"),
		"failed_prefix":     folder("FAILED_FOLDER"),
		"provenance_prefix": folder("PROVENANCE_FOLDER"),
	}
	for name, want := range tests {
		if got := defaults[name]; !got.RawEquals(want) {
			t.Errorf("variable %s defaults to %#v; the processor's default is %#v", name, got, want)
		}
	}
}

func isKMS(action string) bool { return strings.HasPrefix(action, "kms:") }

// TestNoWildcards checks every policy document: no statement names "*" as an
// action or resource, and an Allow has no wildcard action and no not_* block
// (which would allow everything else).
func TestNoWildcards(t *testing.T) {
	m := loadModule(t)
	for _, b := range m.all("data", "aws_iam_policy_document") {
		name := b.Labels[1]
		for _, vars := range []map[string]cty.Value{requiredVars, kmsVars} {
			for _, s := range m.policy(t, name, vars) {
				if slices.Contains(s.actions, "*") || slices.Contains(s.resources, "*") {
					t.Errorf("%s: statement uses \"*\" as action or resource: %+v", name, s)
				}
				if s.effect != "Allow" {
					continue
				}
				if slices.ContainsFunc(s.actions, func(a string) bool { return strings.Contains(a, "*") }) {
					t.Errorf("%s: Allow with a wildcard action: %q", name, s.actions)
				}
				if len(s.negated) > 0 {
					t.Errorf("%s: Allow with %v", name, s.negated)
				}
				for _, r := range s.resources {
					if strings.Contains(r, "*") && !isPrefixObjects(r) {
						t.Errorf("%s: Allow on %q: the only wildcard allowed is a trailing one after a key prefix in the bucket", name, r)
					}
				}
			}
		}
	}
}

// isPrefixObjects reports whether r is <bucket ARN>/PREFIX/*: every object
// under one non-empty prefix, the wildcard last and nowhere else.
func isPrefixObjects(r string) bool {
	key, ok := strings.CutPrefix(r, ph("aws_s3_bucket.data.arn")+"/")
	prefix, all := strings.CutSuffix(key, "*")
	return ok && all && strings.HasSuffix(prefix, "/") && !strings.HasPrefix(prefix, "/") && !strings.Contains(prefix, "*")
}

// TestOnlyTheseRolePolicies guards the least-privilege test: any other way of
// granting permissions to the roles would escape it.
func TestOnlyTheseRolePolicies(t *testing.T) {
	m := loadModule(t)
	var got []string
	for _, typ := range []string{"aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy", "aws_iam_role_policies_exclusive", "aws_iam_role_policy_attachments_exclusive", "aws_iam_policy_attachment"} {
		for _, b := range m.all("resource", typ) {
			got = append(got, strings.Join(b.Labels, "."))
		}
	}
	slices.Sort(got)
	if want := []string{"aws_iam_role_policy.events", "aws_iam_role_policy.processor"}; !slices.Equal(got, want) {
		t.Errorf("IAM policy resources = %q, want %q", got, want)
	}
	for _, b := range m.all("resource", "aws_iam_role") {
		for _, n := range []string{"managed_policy_arns", "inline_policy"} {
			if _, ok := b.Body.Attributes[n]; ok || slices.ContainsFunc(b.Body.Blocks, func(c *hclsyntax.Block) bool { return c.Type == n }) {
				t.Errorf("aws_iam_role.%s sets %s", b.Labels[1], n)
			}
		}
	}
}

// TestTrustPolicies checks that each role can be assumed only through the
// cluster's OIDC provider by its own service account. The test values differ
// from the defaults, so a hard-coded name fails.
func TestTrustPolicies(t *testing.T) {
	m := loadModule(t)
	for _, url := range []string{"https://" + testIssuer, testIssuer} {
		vars := withVars(map[string]cty.Value{
			"oidc_provider_url":         cty.StringVal(url),
			"namespace":                 cty.StringVal("ns-test"),
			"processor_service_account": cty.StringVal("sa-processor"),
			"events_service_account":    cty.StringVal("sa-events"),
		})
		for doc, sa := range map[string]string{"processor_trust": "sa-processor", "events_trust": "sa-events"} {
			t.Run(doc+"/"+url, func(t *testing.T) {
				stmts := m.policy(t, doc, vars)
				if len(stmts) != 1 {
					t.Fatalf("want one statement, got %d", len(stmts))
				}
				s := stmts[0]
				if s.effect != "Allow" || !slices.Equal(s.actions, []string{"sts:AssumeRoleWithWebIdentity"}) {
					t.Errorf("statement %s %q, want Allow sts:AssumeRoleWithWebIdentity", s.effect, s.actions)
				}
				if want := map[string][]string{"Federated": {testOIDCARN}}; !maps.EqualFunc(s.principals, want, slices.Equal) {
					t.Errorf("principals = %v, want %v", s.principals, want)
				}
				want := map[string]condition{
					testIssuer + ":sub": {"StringEquals", []string{"system:serviceaccount:ns-test:" + sa}},
					testIssuer + ":aud": {"StringEquals", []string{"sts.amazonaws.com"}},
				}
				if !maps.EqualFunc(s.conditions, want, conditionEqual) {
					t.Errorf("conditions = %+v, want %+v", s.conditions, want)
				}
			})
		}
	}
}

func conditionEqual(a, b condition) bool { return a.test == b.test && slices.Equal(a.values, b.values) }

// TestResourcePolicies checks the queue policy (only this bucket's S3 events
// from this account may send) and the bucket policy (TLS only).
func TestResourcePolicies(t *testing.T) {
	m := loadModule(t)
	t.Run("queue", func(t *testing.T) {
		stmts := m.policy(t, "queue", requiredVars)
		if len(stmts) != 1 {
			t.Fatalf("want one statement, got %d", len(stmts))
		}
		s := stmts[0]
		if s.effect != "Allow" || !slices.Equal(s.actions, []string{"sqs:SendMessage"}) || !slices.Equal(s.resources, []string{ph("aws_sqs_queue.inputs.arn")}) {
			t.Errorf("statement %s %q on %q, want Allow sqs:SendMessage on the input queue", s.effect, s.actions, s.resources)
		}
		if want := map[string][]string{"Service": {"s3.amazonaws.com"}}; !maps.EqualFunc(s.principals, want, slices.Equal) {
			t.Errorf("principals = %v, want %v", s.principals, want)
		}
		want := map[string]condition{
			"aws:SourceArn":     {"ArnEquals", []string{ph("aws_s3_bucket.data.arn")}},
			"aws:SourceAccount": {"StringEquals", []string{ph("data.aws_caller_identity.current.account_id")}},
		}
		if !maps.EqualFunc(s.conditions, want, conditionEqual) {
			t.Errorf("conditions = %+v, want %+v", s.conditions, want)
		}
	})
	t.Run("bucket", func(t *testing.T) {
		bucket := ph("aws_s3_bucket.data.arn")
		for _, s := range m.policy(t, "bucket", requiredVars) {
			c, ok := s.conditions["aws:SecureTransport"]
			if s.effect == "Deny" && ok && conditionEqual(c, condition{"Bool", []string{"false"}}) &&
				slices.Equal(s.actions, []string{"s3:*"}) && slices.Equal(s.resources, []string{bucket, bucket + "/*"}) &&
				maps.EqualFunc(s.principals, map[string][]string{"*": {"*"}}, slices.Equal) {
				return
			}
		}
		t.Error("no statement denies s3:* to everyone on the bucket and its objects when aws:SecureTransport is false")
	})
}

// terraformEnv keeps user configuration and the network out of terraform:
// an empty CLI config, no version check, data in dir.
func terraformEnv(t *testing.T, dir string) []string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "empty.tfrc")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cfg,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"TF_DATA_DIR="+filepath.Join(dir, ".terraform"),
	)
}

func lookTerraform(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH: skipping the terraform CLI checks")
	}
	return bin
}

func runTerraform(t *testing.T, bin, dir string, env []string, args ...string) (string, time.Duration) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out), time.Since(start)
}

func TestTerraformFmt(t *testing.T) {
	t.Parallel()
	bin := lookTerraform(t)
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// -check writes nothing; it fails and -diff shows what to change.
	runTerraform(t, bin, dir, terraformEnv(t, t.TempDir()), "fmt", "-check", "-recursive", "-diff", "-no-color")
}

// pluginDir finds a local provider mirror: a folder holding
// <host>/hashicorp/aws, so init needs no network.
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

// copyModule copies the .tf files to a new folder, so init never writes into
// the repository.
func copyModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("*.tf")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mockTest is a `terraform test` file run against a mocked provider: it
// plans with real Terraform semantics (dynamic blocks, variable validation)
// and no AWS account.
const mockTest = `
mock_provider "aws" {
  # Policy documents are data sources: a mock's random json is not JSON.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
}

variables {
  bucket_name       = "test-bucket"
  oidc_provider_arn = "` + testOIDCARN + `"
  oidc_provider_url = "https://` + testIssuer + `"
}

run "defaults" {
  command = plan
  assert {
    condition     = length(aws_s3_bucket_notification.inputs.queue) == 2
    error_message = "want one notification per input prefix"
  }
}

run "kms_key" {
  command = plan
  variables {
    kms_key_arn = "` + testKMSKey + `"
  }
  assert {
    condition     = aws_ecr_repository.fieldflow.encryption_configuration[0].encryption_type == "KMS"
    error_message = "want the ECR repository encrypted with the key"
  }
}

run "rejects_bucket_name" {
  command         = plan
  variables {
    bucket_name = "Not_A_Bucket"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_prefix_without_slash" {
  command         = plan
  variables {
    input_prefixes = ["boxes/input"]
  }
  expect_failures = [var.input_prefixes]
}

run "rejects_provenance_prefix_without_slash" {
  command         = plan
  variables {
    provenance_prefix = "provenance"
  }
  expect_failures = [var.provenance_prefix]
}

run "rejects_kms_key" {
  command         = plan
  variables {
    kms_key_arn = "alias/fieldflow"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_max_receive_count" {
  command         = plan
  variables {
    max_receive_count = 0
  }
  expect_failures = [var.max_receive_count]
}
`

// TestTerraformValidate runs init from the local mirror, validate, and a
// plan against a mocked provider, in a copy of the module.
func TestTerraformValidate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: terraform validate and the mocked plan take 20 s or more")
	}
	bin := lookTerraform(t)
	plugins, tried := pluginDir()
	if plugins == "" {
		t.Skipf("no provider mirror with */hashicorp/aws in %s: skipping terraform init and validate", strings.Join(tried, ", "))
	}
	dir := copyModule(t)
	env := terraformEnv(t, dir)
	_, took := runTerraform(t, bin, dir, env, "init", "-backend=false", "-plugin-dir="+plugins, "-input=false", "-no-color")
	t.Logf("terraform init: %v", took.Round(time.Millisecond))
	out, took := runTerraform(t, bin, dir, env, "validate", "-no-color")
	t.Logf("terraform validate: %v", took.Round(time.Millisecond))
	if strings.Contains(out, "Warning") {
		t.Errorf("terraform validate warns:\n%s", out)
	}

	if !versionAtLeast(t, bin, dir, env, 1, 7) {
		t.Skip("terraform is older than 1.7, which added mock providers: skipping the mocked plan")
	}
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tests", "mock.tftest.hcl"), []byte(mockTest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, took = runTerraform(t, bin, dir, env, "test", "-no-color")
	t.Logf("terraform test (mocked provider): %v", took.Round(time.Millisecond))
}

// versionAtLeast reports whether terraform is at least major.minor.
func versionAtLeast(t *testing.T, bin, dir string, env []string, major, minor int) bool {
	t.Helper()
	out, _ := runTerraform(t, bin, dir, env, "version", "-json")
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("terraform version -json: %v\n%s", err, out)
	}
	var gotMajor, gotMinor int
	if _, err := fmt.Sscanf(v.Version, "%d.%d", &gotMajor, &gotMinor); err != nil {
		t.Fatalf("terraform version %q: %v", v.Version, err)
	}
	return gotMajor > major || gotMajor == major && gotMinor >= minor
}
