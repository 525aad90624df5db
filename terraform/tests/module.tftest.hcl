# `terraform test` of this module on a mocked AWS provider: nothing is
# created and no account is needed. Each run applies the module with the
# mock, then asserts what the plan would send: policy statements as written
# (the policy documents are data sources, evaluated by the real provider
# only), attributes, and wiring. terraform_test.go runs it, passing the
# names fieldflow's Go code defines (the pipeline's folders, the generator's
# namespace and queue) as the pipeline_* variables.

mock_provider "aws" {
  # A mock's random json would not be JSON.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::test-bucket" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:111122223333:queue" }
  }
}

# The dead-letter queue its own ARN, so a reference to the wrong queue fails.
override_resource {
  target = aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:us-east-1:111122223333:dead-letter" }
}

# Each policy document its own JSON, so a policy attached in the wrong place
# fails the wiring check.
override_data {
  target = data.aws_iam_policy_document.bucket
  values = { json = "{\"doc\":\"bucket\"}" }
}
override_data {
  target = data.aws_iam_policy_document.queue
  values = { json = "{\"doc\":\"queue\"}" }
}
override_data {
  target = data.aws_iam_policy_document.processor
  values = { json = "{\"doc\":\"processor\"}" }
}
override_data {
  target = data.aws_iam_policy_document.events
  values = { json = "{\"doc\":\"events\"}" }
}
override_data {
  target = data.aws_iam_policy_document.trust["processor"]
  values = { json = "{\"doc\":\"processor_trust\"}" }
}
override_data {
  target = data.aws_iam_policy_document.trust["events"]
  values = { json = "{\"doc\":\"events_trust\"}" }
}

variables {
  bucket_name       = "test-bucket"
  oidc_provider_arn = "arn:aws:iam::111122223333:oidc-provider/oidc.test.example/id/0123ABCD"
  oidc_provider_url = "https://oidc.test.example/id/0123ABCD"
  kms               = "arn:aws:kms:us-east-1:111122223333:key/test-key"
  bucket            = "arn:aws:s3:::test-bucket"
  queue             = "arn:aws:sqs:us-east-1:111122223333:queue"
}

# The defaults are fieldflow's: the folders the processor reads and writes
# when no setting changes them, the generator's namespace, service accounts
# and queue. With nothing set, the roles cover exactly what runs.
run "defaults" {
  assert {
    condition     = jsonencode([var.input_prefixes, var.output_prefixes]) == jsonencode([var.pipeline_input_prefixes, var.pipeline_output_prefixes])
    error_message = "input_prefixes ${jsonencode(var.input_prefixes)} and output_prefixes ${jsonencode(var.output_prefixes)} are not the pipeline's folders ${jsonencode(var.pipeline_input_prefixes)}, ${jsonencode(var.pipeline_output_prefixes)}"
  }
  assert {
    condition     = jsonencode([var.quarantine_prefix, var.failed_prefix, var.provenance_prefix]) == jsonencode(var.pipeline_other_prefixes)
    error_message = "quarantine, failed and provenance prefixes are not the pipeline's ${jsonencode(var.pipeline_other_prefixes)}"
  }
  assert {
    condition     = var.namespace == var.pipeline_namespace && var.queue_name == var.pipeline_queue
    error_message = "namespace ${var.namespace} or queue_name ${var.queue_name} is not the generator's (${var.pipeline_namespace}, ${var.pipeline_queue})"
  }
  assert {
    condition     = var.processor_service_account == var.pipeline_workflow_account && var.events_service_account == var.pipeline_events_account
    error_message = "the service accounts are not the ones the generated workflows and EventSource run as"
  }
  assert {
    condition = (
      jsonencode([var.region, var.kms_key_arn, var.noncurrent_version_days, var.max_receive_count, var.role_name_prefix,
      var.ecr_repository_name, var.ecr_keep_images]) == jsonencode(["us-east-1", null, 90, 5, "fieldflow", "fieldflow", 20])
    )
    error_message = "a default changed: region, kms_key_arn, noncurrent_version_days, max_receive_count, role_name_prefix, ecr_repository_name, ecr_keep_images"
  }
}

# What the workflow pods call (processor/ and processor/store/s3), by IAM
# action, with exactly the resources each needs; a missing action, an extra
# one, or a resource too wide or too narrow fails:
#   - ListBucket: ListObjectsV2 of inputs, outputs, markers, reports and
#     notes; the whole bucket, so a GET or HEAD of a missing key is a 404.
#   - ListBucketMultipartUploads: the incomplete uploads of a key before it
#     is written; the action has no s3:prefix condition key.
#   - GetObject: GetObject and HeadObject of inputs, quarantine reports,
#     failure notes, provenance markers and outputs' metadata.
#   - PutObject: PutObject and the multipart upload calls, with user
#     metadata, of outputs, quarantine copies and reports, notes, markers.
#   - AbortMultipartUpload: a failed upload, or one a killed writer left.
#   - DeleteObject: failure notes and an input's old markers; never inputs
#     or outputs.
run "processor_grants" {
  assert {
    condition = (
      jsonencode({
        for a in distinct(flatten(data.aws_iam_policy_document.processor.statement[*].actions)) :
        a => sort(distinct(flatten([for s in data.aws_iam_policy_document.processor.statement : s.resources if contains(s.actions, a)])))
        }) == jsonencode({
        "s3:ListBucket"                 = [var.bucket]
        "s3:ListBucketMultipartUploads" = [var.bucket]
        "s3:GetObject" = sort([for p in ["boxes/input/", "fields/input/", "boxes/output/", "fields/output/", "quarantine/", "failed/", "provenance/"] :
        "${var.bucket}/${p}*"])
        "s3:PutObject"            = sort([for p in ["boxes/output/", "fields/output/", "quarantine/", "failed/", "provenance/"] : "${var.bucket}/${p}*"])
        "s3:AbortMultipartUpload" = sort([for p in ["boxes/output/", "fields/output/", "quarantine/", "failed/", "provenance/"] : "${var.bucket}/${p}*"])
        "s3:DeleteObject"         = ["${var.bucket}/failed/*", "${var.bucket}/provenance/*"]
      })
    )
    error_message = "the processor's grants differ from what it calls"
  }
}

# Other prefixes, all unlike the defaults, so a prefix written into the
# policy instead of its variable fails; with a KMS key, Decrypt and
# GenerateDataKey on that key only, only through S3 in the region.
run "processor_grants_prefixes_kms" {
  variables {
    input_prefixes    = ["in-a/", "in-b/", "deep/in-c/"]
    output_prefixes   = ["out-a/"]
    quarantine_prefix = "q-test/"
    failed_prefix     = "f-test/"
    provenance_prefix = "p-test/"
    kms_key_arn       = "arn:aws:kms:us-east-1:111122223333:key/test-key"
  }
  assert {
    condition = (
      jsonencode({
        for a in distinct(flatten(data.aws_iam_policy_document.processor.statement[*].actions)) :
        a => sort(distinct(flatten([for s in data.aws_iam_policy_document.processor.statement : s.resources if contains(s.actions, a)])))
        }) == jsonencode({
        "s3:ListBucket"                 = [var.bucket]
        "s3:ListBucketMultipartUploads" = [var.bucket]
        "s3:GetObject"                  = sort([for p in ["in-a/", "in-b/", "deep/in-c/", "out-a/", "q-test/", "f-test/", "p-test/"] : "${var.bucket}/${p}*"])
        "s3:PutObject"                  = sort([for p in ["out-a/", "q-test/", "f-test/", "p-test/"] : "${var.bucket}/${p}*"])
        "s3:AbortMultipartUpload"       = sort([for p in ["out-a/", "q-test/", "f-test/", "p-test/"] : "${var.bucket}/${p}*"])
        "s3:DeleteObject"               = ["${var.bucket}/f-test/*", "${var.bucket}/p-test/*"]
        "kms:Decrypt"                   = [var.kms]
        "kms:GenerateDataKey"           = [var.kms]
      })
    )
    error_message = "the processor's grants with other prefixes and a KMS key differ from what it calls"
  }
  assert {
    condition = (
      alltrue([for s in data.aws_iam_policy_document.processor.statement :
        anytrue([for a in s.actions : startswith(a, "kms:")]) ?
        alltrue([for a in s.actions : startswith(a, "kms:")]) &&
        jsonencode([for c in s.condition : [c.test, c.variable, c.values]]) == jsonencode([["StringEquals", "kms:ViaService", ["s3.us-east-1.amazonaws.com"]]])
      : length(s.condition) == 0])
    )
    error_message = "KMS actions must be alone in a statement limited to S3 in the region (kms:ViaService); other statements have no condition, which would narrow the grant unseen"
  }
}

# The sqs EventSource: receive, delete, and change the visibility of the
# input queue's messages, and resolve its URL; nothing else, KMS or not.
run "events_grants" {
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/test-key"
  }
  assert {
    condition = (
      jsonencode({
        for a in distinct(flatten(data.aws_iam_policy_document.events.statement[*].actions)) :
        a => sort(distinct(flatten([for s in data.aws_iam_policy_document.events.statement : s.resources if contains(s.actions, a)])))
        }) == jsonencode({
        for a in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"] : a => [var.queue]
      })
    )
    error_message = "the EventSource's grants differ from what it calls"
  }
}

# Every policy document: no "*" action or resource, Allow statements name
# no wildcard action and use no not_* block, and the only wildcard resource
# is a trailing one after a key prefix in the bucket. Identity policies
# have no principals.
run "no_wildcards" {
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/test-key"
  }
  assert {
    condition = (
      alltrue(flatten([for d in [data.aws_iam_policy_document.processor, data.aws_iam_policy_document.events,
        data.aws_iam_policy_document.trust["processor"], data.aws_iam_policy_document.trust["events"], data.aws_iam_policy_document.queue] : [
        for s in d.statement : s.effect == "Allow" && length(coalesce(s.not_actions, [])) == 0 && length(coalesce(s.not_resources, [])) == 0 &&
        length(s.not_principals) == 0 && alltrue([for a in s.actions : !strcontains(a, "*")]) &&
        alltrue([for r in coalesce(s.resources, []) : !strcontains(r, "*") || can(regex("^${var.bucket}/[^/*][^*]*/\\*$", r))])
      ]]))
    )
    error_message = "a policy statement allows a wildcard or uses a not_* block"
  }
  assert {
    condition     = alltrue([for d in [data.aws_iam_policy_document.processor, data.aws_iam_policy_document.events] : alltrue([for s in d.statement : length(s.principals) == 0])])
    error_message = "identity policy statements must have no principals"
  }
}

# Each role is assumed only through the cluster's OIDC provider by its own
# service account, whether the issuer URL has its scheme or not. The values
# differ from the defaults, so a hard-coded name fails.
run "trust" {
  variables {
    oidc_provider_url         = "oidc.test.example/id/0123ABCD"
    namespace                 = "ns-test"
    processor_service_account = "sa-processor"
    events_service_account    = "sa-events"
  }
  assert {
    condition = (
      alltrue([for d, sa in data.aws_iam_policy_document.trust :
        length(sa.statement) == 1 && one(sa.statement).effect == "Allow" &&
        jsonencode(one(sa.statement).actions) == jsonencode(["sts:AssumeRoleWithWebIdentity"]) &&
        jsonencode([for p in one(sa.statement).principals : [p.type, p.identifiers]]) == jsonencode([["Federated", [var.oidc_provider_arn]]]) &&
        jsonencode({ for c in one(sa.statement).condition : c.variable => [c.test, c.values] }) == jsonencode({
          "oidc.test.example/id/0123ABCD:sub" = ["StringEquals", ["system:serviceaccount:ns-test:sa-${d}"]]
          "oidc.test.example/id/0123ABCD:aud" = ["StringEquals", ["sts.amazonaws.com"]]
      })])
    )
    error_message = "a role's trust is wider than its own service account through the OIDC provider"
  }
}

# The queue takes messages only from S3 for this bucket and account; the
# bucket refuses requests without TLS.
run "resource_policies" {
  assert {
    condition = (
      length(data.aws_iam_policy_document.queue.statement) == 1 &&
      jsonencode([for s in data.aws_iam_policy_document.queue.statement : [s.effect, s.actions, s.resources, [for p in s.principals : [p.type, p.identifiers]]]]) ==
      jsonencode([["Allow", ["sqs:SendMessage"], [var.queue], [["Service", ["s3.amazonaws.com"]]]]]) &&
      jsonencode({ for c in one(data.aws_iam_policy_document.queue.statement).condition : c.variable => [c.test, c.values] }) == jsonencode({
        "aws:SourceArn"     = ["ArnEquals", [var.bucket]]
        "aws:SourceAccount" = ["StringEquals", ["111122223333"]]
      })
    )
    error_message = "the queue policy must allow only S3 notifications of this bucket and account"
  }
  assert {
    condition = (
      anytrue([for s in data.aws_iam_policy_document.bucket.statement :
        jsonencode([s.effect, s.actions, s.resources, [for p in s.principals : [p.type, p.identifiers]], [for c in s.condition : [c.test, c.variable, c.values]]]) ==
        jsonencode(["Deny", ["s3:*"], sort([var.bucket, "${var.bucket}/*"]), [["*", ["*"]]], [["Bool", "aws:SecureTransport", ["false"]]]])
      ])
    )
    error_message = "no statement denies s3:* to everyone on the bucket and its objects without TLS"
  }
}

# One S3 -> SQS notification per input prefix, created objects only, keys
# filtered by prefix here and by pattern in the Sensors.
run "notifications" {
  variables {
    input_prefixes = ["boxes/input/", "fields/input/", "pumps/input/"]
  }
  assert {
    condition = (
      jsonencode(sort([for q in aws_s3_bucket_notification.inputs.queue : q.filter_prefix])) == jsonencode(sort(var.input_prefixes)) &&
      length(distinct([for q in aws_s3_bucket_notification.inputs.queue : q.id])) == 3 &&
      alltrue([for q in aws_s3_bucket_notification.inputs.queue :
      q.queue_arn == var.queue && jsonencode(q.events) == jsonencode(["s3:ObjectCreated:*"]) && q.filter_suffix == null])
    )
    error_message = "want one notification per input prefix to the input queue, for s3:ObjectCreated:*, without a suffix filter"
  }
}

# The settings that keep data safe and the wiring between resources.
run "attributes" {
  variables {
    max_receive_count = 7
    ecr_keep_images   = 3
  }
  assert {
    condition = (
      one(aws_s3_bucket_versioning.data.versioning_configuration).status == "Enabled" &&
      one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256" &&
      aws_s3_bucket_public_access_block.data.block_public_acls && aws_s3_bucket_public_access_block.data.block_public_policy &&
      aws_s3_bucket_public_access_block.data.ignore_public_acls && aws_s3_bucket_public_access_block.data.restrict_public_buckets &&
      one(aws_s3_bucket_ownership_controls.data.rule).object_ownership == "BucketOwnerEnforced"
    )
    error_message = "the bucket must be versioned, encrypted, private and owner-enforced"
  }
  assert {
    condition     = aws_sqs_queue.inputs.sqs_managed_sse_enabled && aws_sqs_queue.dead_letter.sqs_managed_sse_enabled && aws_sqs_queue.inputs.redrive_policy == jsonencode({ deadLetterTargetArn = aws_sqs_queue.dead_letter.arn, maxReceiveCount = 7 })
    error_message = "the queues must be encrypted, and failing notifications go to the dead-letter queue after max_receive_count receives"
  }
  assert {
    condition = (
      aws_ecr_repository.fieldflow.image_tag_mutability == "IMMUTABLE" && one(aws_ecr_repository.fieldflow.image_scanning_configuration).scan_on_push &&
      one(aws_ecr_repository.fieldflow.encryption_configuration).encryption_type == "AES256" &&
      jsonencode([for rule in jsondecode(aws_ecr_lifecycle_policy.fieldflow.policy).rules : [rule.selection, rule.action]]) ==
      jsonencode([[{ tagStatus = "any", countType = "imageCountMoreThan", countNumber = 3 }, { type = "expire" }]])
    )
    error_message = "the image repository must be immutable, scanned, encrypted, and keep ecr_keep_images images"
  }
  assert {
    condition = (
      aws_s3_bucket_policy.data.policy == data.aws_iam_policy_document.bucket.json && aws_sqs_queue_policy.inputs.policy == data.aws_iam_policy_document.queue.json &&
      aws_iam_role_policy.processor.role == aws_iam_role.processor.id && aws_iam_role_policy.processor.policy == data.aws_iam_policy_document.processor.json &&
      aws_iam_role_policy.events.role == aws_iam_role.events.id && aws_iam_role_policy.events.policy == data.aws_iam_policy_document.events.json &&
      aws_iam_role.processor.assume_role_policy == data.aws_iam_policy_document.trust["processor"].json && aws_iam_role.events.assume_role_policy == data.aws_iam_policy_document.trust["events"].json
    )
    error_message = "a policy is not attached where it belongs"
  }
  assert {
    condition = (
      jsonencode([output.region, output.bucket, output.queue_name, output.queue_url, output.dead_letter_queue_url, output.processor_role_arn, output.events_role_arn, output.ecr_repository_url]) == jsonencode([
        var.region, aws_s3_bucket.data.bucket, aws_sqs_queue.inputs.name, aws_sqs_queue.inputs.url, aws_sqs_queue.dead_letter.url,
      aws_iam_role.processor.arn, aws_iam_role.events.arn, aws_ecr_repository.fieldflow.repository_url])
    )
    error_message = "an output does not name what the kustomize overlay needs"
  }
}

run "attributes_kms" {
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/test-key"
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(one(aws_s3_bucket_server_side_encryption_configuration.data.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms &&
      one(aws_ecr_repository.fieldflow.encryption_configuration).encryption_type == "KMS" && one(aws_ecr_repository.fieldflow.encryption_configuration).kms_key == var.kms
    )
    error_message = "with kms_key_arn, the bucket and the repository must encrypt with that key"
  }
}

# Bad input is refused by the variables' own validation, before any plan.
run "rejects_bucket_name" {
  command = plan
  variables {
    bucket_name = "Not_A_Bucket"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_prefix_without_slash" {
  command = plan
  variables {
    input_prefixes = ["boxes/input"]
  }
  expect_failures = [var.input_prefixes]
}

run "rejects_provenance_prefix_without_slash" {
  command = plan
  variables {
    provenance_prefix = "provenance"
  }
  expect_failures = [var.provenance_prefix]
}

run "rejects_kms_key" {
  command = plan
  variables {
    kms_key_arn = "alias/fieldflow"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_max_receive_count" {
  command = plan
  variables {
    max_receive_count = 0
  }
  expect_failures = [var.max_receive_count]
}
