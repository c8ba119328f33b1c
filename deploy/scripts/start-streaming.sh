#!/usr/bin/env bash
# Starts streaming on a deployed stack (the seed's scripts/start.sh):
#   1. enables the stream Lambda's Kinesis event-source mapping (Lambda polls coattail-trades again,
#      from where it stopped while records are within the stream's 24 h retention);
#   2. starts the producer: the hosted one (the ECS Fargate service, scaled to one task, which ECS
#      restarts whenever it exits; its log in CloudWatch, /ecs/<project>-producer) once the stack
#      has an image (terraform variable producer_image); otherwise, or with --local-producer,
#      adapters/producer on this machine in the background (live Binance + Coinbase by default;
#      producer flags after --, e.g. -- -sim -speed 1), its pid in build/producer.pid and its log
#      in build/producer.log.
# Names come from `terraform output` in deploy/terraform; AWS credentials from the SDK's default
# chain (AWS_PROFILE, environment, SSO). Kinesis ON_DEMAND bills per stream-hour whether or not
# records flow: run stop-streaming.sh when done.
#
#   bash deploy/scripts/start-streaming.sh [--no-producer | --local-producer] [-- PRODUCER_FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'start-streaming: %s\n' "$*"; }
fail() { printf 'start-streaming: %s\n' "$*" >&2; exit 1; }

producer=1
local_producer=0
if [ "${1:-}" = "--no-producer" ]; then producer=0; shift; fi
if [ "${1:-}" = "--local-producer" ]; then local_producer=1; shift; fi
[ "${1:-}" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(-live)

command -v aws >/dev/null || fail "the AWS CLI (aws) is needed: https://docs.aws.amazon.com/cli/"
command -v terraform >/dev/null || fail "terraform is needed to read the stack's outputs"
tf() { terraform -chdir=deploy/terraform output -raw "$1" 2>/dev/null || fail "terraform output $1 failed: deploy the stack first (README, Deploy to AWS)"; }

uuid=$(tf event_source_mapping_uuid)
stream=$(tf stream_name)
dlq=$(tf dlq_stream_name)
region=$(tf region)

say "enabling event-source mapping $uuid ($stream → stream Lambda)"
aws lambda update-event-source-mapping --region "$region" --uuid "$uuid" --enabled >/dev/null

service=$(terraform -chdir=deploy/terraform output -raw producer_service 2>/dev/null || true)
if [ "$producer" = 1 ] && [ "$local_producer" = 0 ] && [ -n "$service" ]; then
  cluster=$(tf producer_cluster)
  say "starting the hosted producer: ECS service $service on $cluster, one task (log group /ecs/$service)"
  aws ecs update-service --region "$region" --cluster "$cluster" --service "$service" --desired-count 1 >/dev/null
elif [ "$producer" = 1 ]; then
  [ -n "$service" ] || say "no hosted producer yet (set producer_image, README): running it here"
  mkdir -p build
  if [ -f build/producer.pid ] && kill -0 "$(cat build/producer.pid)" 2>/dev/null; then
    say "producer already running (pid $(cat build/producer.pid))"
  else
    go build -o build/producer ./adapters/producer
    AWS_REGION=$region nohup build/producer -stream "$stream" -dlq-stream "$dlq" "${flags[@]}" >build/producer.log 2>&1 &
    echo $! >build/producer.pid
    say "producer started (pid $!, flags ${flags[*]}), log build/producer.log"
  fi
fi
say "streaming; API: $(tf api_url)"
