// Package lambda holds ctc's AWS Lambda functions, each a main package built as bootstrap for the
// provided.al2023 runtime (scripts/build-lambdas.sh: linux/arm64, -tags lambda.norpc):
//
//	api/     API Gateway HTTP API (payload 2.0) → the same net/http handler as the local server
//	         (internal/apigw converts the events), reading the DynamoDB alert store, and the
//	         evidence report at CTC_EVIDENCE_URI (an S3 object) for /evidence
//	stream/  Kinesis event-source mapping → per-shard shardrunner.Runners with state in DynamoDB →
//	         DynamoDB alert store + Iceberg, failures as BatchItemFailures (the public package
//	         shardrunner/kinesislambda, so a service builds the same Lambda with its own
//	         detectors: examples/customdetector/lambda)
//	batch/   the Step Functions tasks, chosen by the input's "task" field: historical_load,
//	         reprocess, reprocess_status, quality_check, catalog_update, maintain, evidence
//	         (internal/batchfn; evidence writes the report the api function serves)
//
// Every function reads its configuration from environment variables (the public package awsenv
// lists them; awsenv/lakeenv opens the Iceberg catalog they name, Glue on AWS). The adapters are
// thin: their logic lives in library packages, which have their own tests, and the tests of this
// package run the built binaries under the Lambda Runtime Interface Emulator against kinesalite,
// dynalite, s3rver and the Binance test server.
package lambda
