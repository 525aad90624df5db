resource "aws_ecr_repository" "fieldflow" {
  name = var.ecr_repository_name

  # A tag names one image forever, so a deployed tag cannot change under a
  # running workflow.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }
}

# Immutable tags mean every release is a new image; keep the recent ones for
# rollbacks and let the rest go.
resource "aws_ecr_lifecycle_policy" "fieldflow" {
  repository = aws_ecr_repository.fieldflow.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last ${var.ecr_keep_images} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_keep_images
      }
      action = { type = "expire" }
    }]
  })
}
