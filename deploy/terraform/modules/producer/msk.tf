# The optional Kafka path (var.kafka, off by default): an MSK Serverless cluster with IAM
# authentication in the producer's VPC, which the producer task then writes to instead of Kinesis
# (CTC_KAFKA_BROKERS, CTC_KAFKA_SASL=aws-msk-iam), for teams whose consumers speak Kafka
# (kafkarunner, adapters/consumer -kafka-brokers). MSK Serverless needs subnets in two
# availability zones: two private ones are added; the cluster accepts connections on 9098 (SASL/IAM
# over TLS) from the producer's security group and from var.kafka_client_security_groups.

resource "aws_subnet" "kafka" {
  for_each          = var.kafka ? { a = "10.42.0.128/26", b = "10.42.0.192/26" } : {}
  vpc_id            = aws_vpc.producer.id
  cidr_block        = each.value
  availability_zone = "${var.region}${each.key}"
  tags              = { Name = "${local.name}-kafka-${each.key}" }
}

resource "aws_security_group" "kafka" {
  count       = var.kafka ? 1 : 0
  name        = "${var.project}-kafka"
  description = "MSK Serverless: SASL/IAM over TLS from the producer and the Kafka consumers"
  vpc_id      = aws_vpc.producer.id
  ingress {
    description     = "Kafka clients (IAM authentication, TLS)"
    from_port       = 9098
    to_port         = 9098
    protocol        = "tcp"
    security_groups = concat([aws_security_group.producer.id], var.kafka_client_security_groups)
  }
}

resource "aws_msk_serverless_cluster" "kafka" {
  count        = var.kafka ? 1 : 0
  cluster_name = "${var.project}-kafka"
  vpc_config {
    subnet_ids         = [for s in aws_subnet.kafka : s.id]
    security_group_ids = [aws_security_group.kafka[0].id]
  }
  client_authentication {
    sasl {
      iam {
        enabled = true
      }
    }
  }
}

# What the producer may do on the cluster: connect, create and describe its two topics, write.
data "aws_iam_policy_document" "kafka_producer" {
  count = var.kafka ? 1 : 0
  statement {
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    resources = [aws_msk_serverless_cluster.kafka[0].arn]
  }
  statement {
    actions = ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:WriteDataIdempotently"]
    resources = [for t in [var.stream_name, var.dlq_name] :
    "arn:aws:kafka:${var.region}:${var.account_id}:topic/${aws_msk_serverless_cluster.kafka[0].cluster_name}/${aws_msk_serverless_cluster.kafka[0].cluster_uuid}/${t}"]
  }
}

resource "aws_iam_role_policy" "kafka_producer" {
  count  = var.kafka ? 1 : 0
  name   = "kafka-write"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.kafka_producer[0].json
}
