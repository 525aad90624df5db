# The AWS side of fieldflow: the data bucket, the S3 -> SQS notifications that
# the Argo Events `sqs` EventSource reads, the IRSA roles of the workflow pods
# and of the EventSource pod, and the ECR repository of the processor image.
#
#   terraform init
#   terraform apply -var bucket_name=NAME \
#     -var oidc_provider_arn=ARN -var oidc_provider_url=URL
#
# bucket_name has no default because bucket names are global: a fixed one
# ("irrigation") would already be taken. The outputs are what the kustomize
# overlay needs (bucket, queue, region, role ARNs, image repository).
#
# For IRSA to reach the pods, annotate the service accounts named by
# processor_service_account and events_service_account with
# eks.amazonaws.com/role-arn (processor_role_arn, events_role_arn) and run the
# EventSource pod under events_service_account.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}
