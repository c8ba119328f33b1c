#!/usr/bin/env bash
# Stops streaming on a deployed stack (the seed's scripts/stop.sh):
#   1. stops the producer start-streaming.sh started: the hosted one is scaled to zero tasks (ECS
#      sends SIGTERM: it puts what it holds within its -grace, then exits), a local one gets
#      SIGTERM here and is waited for;
#   2. disables the stream Lambda's event-source mapping (records left in the stream stay there
#      for 24 h; enabling it again resumes from its last position).
# Idle cost afterwards is the stream-hours of the two ON_DEMAND streams plus storage (README cost
# table); `terraform destroy` removes everything.
#
#   bash deploy/scripts/stop-streaming.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'stop-streaming: %s\n' "$*"; }
fail() { printf 'stop-streaming: %s\n' "$*" >&2; exit 1; }

if [ -f build/producer.pid ]; then
  pid=$(cat build/producer.pid)
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping producer (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && fail "producer $pid still running after 30 s; kill it by hand"
  fi
  rm -f build/producer.pid
fi

command -v aws >/dev/null || fail "the AWS CLI (aws) is needed"
command -v terraform >/dev/null || fail "terraform is needed to read the stack's outputs"
uuid=$(terraform -chdir=deploy/terraform output -raw event_source_mapping_uuid 2>/dev/null) ||
  fail "terraform output event_source_mapping_uuid failed: is the stack deployed?"
region=$(terraform -chdir=deploy/terraform output -raw region)
service=$(terraform -chdir=deploy/terraform output -raw producer_service 2>/dev/null || true)
if [ -n "$service" ]; then
  cluster=$(terraform -chdir=deploy/terraform output -raw producer_cluster)
  say "stopping the hosted producer: ECS service $service to zero tasks"
  aws ecs update-service --region "$region" --cluster "$cluster" --service "$service" --desired-count 0 >/dev/null
  aws ecs wait services-stable --region "$region" --cluster "$cluster" --services "$service" ||
    fail "the producer's service did not settle at zero tasks; see the ECS console"
fi
say "disabling event-source mapping $uuid"
aws lambda update-event-source-mapping --region "$region" --uuid "$uuid" --no-enabled >/dev/null
say "stopped"
