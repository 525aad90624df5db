variable "region" {
  description = "AWS region of the bucket, the queues and the ECR repository."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "bucket_name" {
  description = "Name of the data bucket (e.g. \"irrigation-<account>\"). No default: bucket names are global, so a fixed name would collide. Use the same name as `bucket` in generator/fieldflow.yaml."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the bucket and the ECR repository. Null uses SSE-S3 (AES256) and grants no KMS permissions."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN or null."
  }
}

variable "input_prefixes" {
  description = "Key prefixes of the input files; each gets an S3 -> SQS notification. Must match BOXES_FOLDER_INPUT and FIELDS_FOLDER_INPUT."
  type        = list(string)
  default     = ["boxes/input/", "fields/input/"]

  validation {
    condition     = length(var.input_prefixes) > 0 && alltrue([for p in var.input_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "input_prefixes must be non-empty and each prefix must end with \"/\" (so \"boxes/input\" cannot match \"boxes/input-old/\") and not start with one."
  }
}

variable "output_prefixes" {
  description = "Key prefixes the processor writes outputs to. Must match BOXES_FOLDER_OUTPUT and FIELDS_FOLDER_OUTPUT."
  type        = list(string)
  default     = ["boxes/output/", "fields/output/"]

  validation {
    condition     = alltrue([for p in var.output_prefixes : endswith(p, "/") && !startswith(p, "/")])
    error_message = "Each output prefix must end with \"/\" and not start with one."
  }
}

variable "quarantine_prefix" {
  description = "Key prefix of quarantined inputs and their error reports (QUARANTINE_FOLDER)."
  type        = string
  default     = "quarantine/"

  validation {
    condition     = endswith(var.quarantine_prefix, "/") && !startswith(var.quarantine_prefix, "/")
    error_message = "quarantine_prefix must end with \"/\" and not start with one."
  }
}

variable "failed_prefix" {
  description = "Key prefix of the notes of failed runs (FAILED_FOLDER)."
  type        = string
  default     = "failed/"

  validation {
    condition     = endswith(var.failed_prefix, "/") && !startswith(var.failed_prefix, "/")
    error_message = "failed_prefix must end with \"/\" and not start with one."
  }
}

variable "provenance_prefix" {
  description = "Key prefix of the provenance markers, one per processed input (PROVENANCE_FOLDER)."
  type        = string
  default     = "provenance/"

  validation {
    condition     = endswith(var.provenance_prefix, "/") && !startswith(var.provenance_prefix, "/")
    error_message = "provenance_prefix must end with \"/\" and not start with one."
  }
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 90
}

variable "queue_name" {
  description = "Name of the SQS queue of input notifications (sqs.queue in generator/fieldflow.yaml). The dead-letter queue is named after it with a -dlq suffix."
  type        = string
  default     = "fieldflow-inputs"
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider, trusted by the IRSA roles."
  type        = string
}

variable "oidc_provider_url" {
  description = "Issuer URL of the EKS cluster's OIDC provider, with or without https://."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace fieldflow runs in."
  type        = string
  default     = "fieldflow"
}

variable "processor_service_account" {
  description = "Service account of the Argo workflow pods (they run the processor)."
  type        = string
  default     = "fieldflow-workflow"
}

variable "events_service_account" {
  description = "Service account of the Argo Events sqs EventSource pod."
  type        = string
  default     = "fieldflow-events"
}

variable "role_name_prefix" {
  description = "Prefix of the IAM role names (<prefix>-processor, <prefix>-events); change it to run two deployments in one account."
  type        = string
  default     = "fieldflow"
}

variable "ecr_repository_name" {
  description = "Name of the ECR repository of the fieldflow image."
  type        = string
  default     = "fieldflow"
}

variable "ecr_keep_images" {
  description = "Number of most recent images the ECR lifecycle policy keeps."
  type        = number
  default     = 20

  validation {
    condition     = var.ecr_keep_images >= 1
    error_message = "ecr_keep_images must be at least 1."
  }
}
