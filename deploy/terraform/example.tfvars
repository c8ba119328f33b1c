# An example of the variables a deployment sets (terraform plan -var-file=example.tfvars).
# scripts/check-infra.sh --plan plans with this file, offline: keep an entry here for every new
# variable without a default. Values are examples; nothing here is a secret.
region                 = "eu-west-1"
project                = "coattail"
alarm_email            = "alerts@example.com"
streaming_enabled      = true
batch_schedule_enabled = false
batch_symbols          = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
# A dashboard hosted apart from the API (the one the API serves at / needs no CORS).
dashboard_origins = ["https://dashboard.example.com"]
api_users_mfa     = "OPTIONAL"
# The hosted producer's image by digest (scripts/build-producer-image.sh -push prints it); a
# placeholder here, so that the plan includes the ECS task and service.
producer_image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/coattail-producer@sha256:0000000000000000000000000000000000000000000000000000000000000000"
