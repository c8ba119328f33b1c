// Package deploy holds the AWS deployment of ctc: the Terraform under terraform/ (Kinesis, S3,
// Glue, DynamoDB, the Lambdas, API Gateway, Step Functions, EventBridge, CloudWatch, SNS, SSM,
// IAM and Lake Formation), the start/stop scripts under scripts/, and the small programs the build
// and the checks run (internal/zipper, internal/hclfmt). Its tests check the Step Functions
// definition against the Terraform that renders it, and that a Lambda zip is reproducible.
//
// The package has no Go API; README.md's "Deploy to AWS" section is the user's guide.
package deploy
