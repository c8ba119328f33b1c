# The producer (adapters/producer: exchange WebSockets → quality → Kinesis) as one ECS Fargate
# task on Graviton, so that streaming does not stop when an operator's laptop sleeps. ECS starts
# the task again whenever it exits; start-streaming.sh and stop-streaming.sh set the service's
# desired count to 1 and 0.
#
# Network: a VPC of its own with one public subnet and an internet gateway — no NAT gateway
# (about $33 a month before traffic): the task gets a public IPv4 address, accepts no inbound
# connection (its security group has no ingress rule) and reaches the exchanges, Kinesis, ECR and
# CloudWatch Logs over HTTPS. A documented alternative for accounts that forbid public IPs: a
# private subnet with VPC interface endpoints for Kinesis, ECR (api, dkr), S3 (gateway) and Logs,
# and the exchanges through a NAT gateway or an egress proxy.

locals {
  name = "${var.project}-producer"
}

# Images are pushed by scripts/build-producer-image.sh -push; tags are immutable, so the digest a
# task runs is the one that was built.
#tfsec:ignore:aws-ecr-repository-customer-key AES-256 at rest by ECR; the image holds no secret
resource "aws_ecr_repository" "producer" {
  name                 = local.name
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "producer" {
  repository = aws_ecr_repository.producer.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 10 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 10 }
      action       = { type = "expire" }
    }]
  })
}

#tfsec:ignore:aws-ec2-require-vpc-flow-logs-for-all-vpcs one task, no inbound traffic; flow logs would cost more than the task
resource "aws_vpc" "producer" {
  cidr_block           = "10.42.0.0/24"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = local.name }
}

resource "aws_internet_gateway" "producer" {
  vpc_id = aws_vpc.producer.id
  tags   = { Name = local.name }
}

resource "aws_subnet" "public" {
  vpc_id            = aws_vpc.producer.id
  cidr_block        = "10.42.0.0/25"
  availability_zone = "${var.region}a"
  tags              = { Name = "${local.name}-public" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.producer.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.producer.id
  }
  tags = { Name = "${local.name}-public" }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "producer" {
  name        = local.name
  description = "The producer task: no inbound, HTTPS out to the exchanges and AWS"
  vpc_id      = aws_vpc.producer.id
  #tfsec:ignore:aws-ec2-no-public-egress-sgr the exchanges' WebSockets and AWS's public endpoints are on the internet
  egress {
    description = "HTTPS and WSS to the exchanges, Kinesis, ECR and CloudWatch Logs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  # With var.kafka, the MSK Serverless cluster in this VPC (msk.tf): an inline rule, to the VPC's
  # own range, so that the two security groups do not name each other.
  dynamic "egress" {
    for_each = var.kafka ? [1] : []
    content {
      description = "Kafka (IAM, TLS) to the MSK Serverless cluster in this VPC"
      from_port   = 9098
      to_port     = 9098
      protocol    = "tcp"
      cidr_blocks = [aws_vpc.producer.cidr_block]
    }
  }
  #tfsec:ignore:aws-ec2-no-public-egress-sgr Binance's WebSocket listens on 9443
  egress {
    description = "Binance WebSocket port 9443"
    from_port   = 9443
    to_port     = 9443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

#tfsec:ignore:aws-cloudwatch-log-group-customer-key the producer logs counts and errors, no secret or personal data
resource "aws_cloudwatch_log_group" "producer" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_cluster" "producer" {
  name = local.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# The execution role: what ECS itself needs to start the task (pull the image, write its logs).
resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    # GetAuthorizationToken has no resource-level permission: AWS requires "*" for it.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] #tfsec:ignore:aws-iam-no-policy-wildcards ecr:GetAuthorizationToken takes no resource
  }
  statement {
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.producer.arn]
  }
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.producer.arn}:*"] #tfsec:ignore:aws-iam-no-policy-wildcards ":*" is the streams of this one log group

  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# The task role: what the producer does — put records on the trade and dead-letter streams.
resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "task" {
  statement {
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]
    resources = [var.stream_arn, var.dlq_arn]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "kinesis-put"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# The task and the service exist once an image is given (var.image): the first apply makes the
# repository to push it to.
resource "aws_ecs_task_definition" "producer" {
  count                    = var.image == "" ? 0 : 1
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }
  container_definitions = jsonencode([{
    name                   = "producer"
    image                  = var.image
    essential              = true
    command                = ["-live", "-grace", "20s", "-binance-ws", var.binance_ws, "-binance-rest", var.binance_rest]
    readonlyRootFilesystem = true
    user                   = "65532:65532"
    stopTimeout            = 30
    environment = concat([
      { name = "CTC_STREAM", value = var.stream_name },
      { name = "CTC_DLQ_STREAM", value = var.dlq_name },
      { name = "CTC_SYMBOLS", value = var.symbols },
      { name = "AWS_REGION", value = var.region },
      ], var.kafka ? [
      # The Kafka path: the same trades to MSK Serverless topics named as the streams.
      { name = "CTC_KAFKA_BROKERS", value = aws_msk_serverless_cluster.kafka[0].bootstrap_brokers_sasl_iam },
      { name = "CTC_KAFKA_SASL", value = "aws-msk-iam" },
      { name = "CTC_KAFKA_TOPIC", value = var.stream_name },
      { name = "CTC_KAFKA_DLQ_TOPIC", value = var.dlq_name },
    ] : [])
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.producer.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "producer"
      }
    }
  }])
}

resource "aws_ecs_service" "producer" {
  count           = var.image == "" ? 0 : 1
  name            = local.name
  cluster         = aws_ecs_cluster.producer.id
  task_definition = aws_ecs_task_definition.producer[0].arn
  launch_type     = "FARGATE"
  # start-streaming.sh / stop-streaming.sh set it to 1 / 0; Terraform leaves it alone afterwards.
  desired_count = var.enabled ? 1 : 0
  # One producer at a time: a deployment stops the old task before it starts the new one (two at
  # once would put every trade twice — harmless downstream, which deduplicates by event id, but
  # wasteful).
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  network_configuration {
    subnets          = [aws_subnet.public.id]
    security_groups  = [aws_security_group.producer.id]
    assign_public_ip = true
  }
  lifecycle {
    ignore_changes = [desired_count]
  }
}
