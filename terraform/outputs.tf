# Everything the kustomize overlay for AWS needs, by the names it uses.

output "region" {
  description = "AWS region of the bucket and the queue."
  value       = var.region
}

output "bucket" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.bucket
}

output "queue_name" {
  description = "Name of the input notification queue, for the sqs EventSource."
  value       = aws_sqs_queue.inputs.name
}

output "queue_url" {
  description = "URL of the input notification queue."
  value       = aws_sqs_queue.inputs.url
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue of notifications that kept failing."
  value       = aws_sqs_queue.dead_letter.url
}

output "processor_role_arn" {
  description = "IAM role for the workflow pods' service account (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.processor.arn
}

output "events_role_arn" {
  description = "IAM role for the sqs EventSource's service account (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.events.arn
}

output "ecr_repository_url" {
  description = "ECR repository URL of the fieldflow image."
  value       = aws_ecr_repository.fieldflow.repository_url
}
