locals {
  # The issuer as IAM writes it in condition keys: no scheme.
  oidc_issuer = trimprefix(var.oidc_provider_url, "https://")

  # The processor writes outputs, quarantine copies with their reports, notes
  # of failed runs and provenance markers; it reads those and the inputs.
  write_prefixes = concat(var.output_prefixes, [var.quarantine_prefix, var.failed_prefix, var.provenance_prefix])
  read_prefixes  = concat(var.input_prefixes, local.write_prefixes)

  # It deletes only what it replaces: a run's failure note once the run
  # succeeds (or is retried by hand), and an input's old provenance markers
  # before the input runs again. Inputs and outputs are never deleted.
  delete_prefixes = [var.failed_prefix, var.provenance_prefix]
}

# Trust for each role's own service account only (IRSA): the token's
# subject names the namespace and the service account, its audience is STS.
data "aws_iam_policy_document" "trust" {
  for_each = {
    processor = var.processor_service_account
    events    = var.events_service_account
  }

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${each.value}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "processor" {
  name               = "${var.role_name_prefix}-processor"
  description        = "fieldflow workflow pods: read inputs, write outputs, quarantine, failure notes and provenance markers."
  assume_role_policy = data.aws_iam_policy_document.trust["processor"].json
}

data "aws_iam_policy_document" "processor" {
  # Listing the whole bucket is deliberate: S3 answers a GET or HEAD of a
  # missing key with 404 only to callers that may list the bucket, and those
  # requests carry no s3:prefix to match a prefix condition. Without it every
  # "output not there yet" would be an AccessDenied.
  statement {
    sid       = "List"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }

  # Before writing a key the store aborts the incomplete multipart uploads a
  # killed writer left on it, found by listing the uploads with the key as
  # prefix. This action takes no s3:prefix condition key, so it is granted on
  # the bucket; aborting is limited to the written prefixes below.
  statement {
    sid       = "ListMultipartUploads"
    effect    = "Allow"
    actions   = ["s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.data.arn]
  }

  statement {
    sid       = "Read"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = formatlist("%s/%s*", aws_s3_bucket.data.arn, local.read_prefixes)
  }

  # Writes go through the upload manager: one PUT, or a multipart upload
  # whose Create, UploadPart and Complete are all s3:PutObject, as is the user
  # metadata. A failed upload is aborted, and so is one a killed writer left.
  statement {
    sid       = "Write"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = formatlist("%s/%s*", aws_s3_bucket.data.arn, local.write_prefixes)
  }

  statement {
    sid       = "DeleteNotesAndMarkers"
    effect    = "Allow"
    actions   = ["s3:DeleteObject"]
    resources = formatlist("%s/%s*", aws_s3_bucket.data.arn, local.delete_prefixes)
  }

  # With SSE-KMS, reading needs Decrypt and writing needs GenerateDataKey
  # (and Decrypt for multipart uploads), only through S3 in this region.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "BucketKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "processor" {
  name   = "fieldflow-bucket"
  role   = aws_iam_role.processor.id
  policy = data.aws_iam_policy_document.processor.json
}

resource "aws_iam_role" "events" {
  name               = "${var.role_name_prefix}-events"
  description        = "fieldflow sqs EventSource: consume the input notification queue."
  assume_role_policy = data.aws_iam_policy_document.trust["events"].json
}

# What the Argo Events sqs EventSource calls: resolve the queue URL, long-poll,
# delete what it forwarded, and extend or reset a message's visibility.
data "aws_iam_policy_document" "events" {
  statement {
    sid    = "ConsumeInputQueue"
    effect = "Allow"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ]
    resources = [aws_sqs_queue.inputs.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "fieldflow-queue"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}
