data "aws_caller_identity" "current" {}

resource "aws_sqs_queue" "inputs" {
  name = var.queue_name

  # SSE-SQS: encrypted at rest without a KMS key policy that S3 would need
  # permission to use.
  sqs_managed_sse_enabled = true

  # The EventSource only forwards a message to the event bus before deleting
  # it; a minute covers that, and a crashed pod's messages return quickly.
  visibility_timeout_seconds = 60
  message_retention_seconds  = 345600 # 4 days: outlasts a weekend outage
  receive_wait_time_seconds  = 20     # long polling, as the EventSource asks

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Notifications that keep failing land here instead of looping; the reconcile
# sweep still processes their files.
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.queue_name}-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600 # 14 days, the maximum, to inspect failures
}

# Only the input queue may use the dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.inputs.arn]
  })
}

# S3 may send only this bucket's events from this account: without the
# conditions any bucket's notifications could be pointed at the queue.
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "AllowBucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.inputs.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.data.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "inputs" {
  queue_url = aws_sqs_queue.inputs.id
  policy    = data.aws_iam_policy_document.queue.json
}

resource "aws_s3_bucket_notification" "inputs" {
  bucket = aws_s3_bucket.data.id

  # One notification per input prefix: outputs, quarantine copies and notes
  # never trigger a workflow.
  dynamic "queue" {
    for_each = var.input_prefixes
    content {
      id            = "fieldflow-${replace(trimsuffix(queue.value, "/"), "/", "-")}"
      queue_arn     = aws_sqs_queue.inputs.arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = queue.value
    }
  }

  # S3 checks that it may send to the queue when the notification is created.
  depends_on = [aws_sqs_queue_policy.inputs]
}
