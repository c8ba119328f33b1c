#!/usr/bin/env bash
# Builds the producer's container image (linux/arm64, for the ECS Fargate task) without a Docker
# engine, reproducibly: the same commit gives the same image digest on any machine with the same
# Go version. Writes build/producer-image.tar (for `docker load`) and prints the digest; with
# -push REF also pushes it (CTC_REGISTRY_PASSWORD holds the password; for ECR:
#   CTC_REGISTRY_PASSWORD=$(aws ecr get-login-password) bash scripts/build-producer-image.sh -push <repo-url>:<tag>
# then set the Terraform variable producer_image to <repo-url>@<digest>).
#
#   bash scripts/build-producer-image.sh [-push REF]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

mkdir -p build
# Reproducible: no cgo, no paths, no VCS stamp, no build id; the image's timestamps are
# SOURCE_DATE_EPOCH (default: the commit's time when in git, else 0).
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' \
  -o build/producer-linux-arm64 ./adapters/producer
args=(-binary build/producer-linux-arm64 -name producer -arch arm64 -out build/producer-image.tar)
if [ "${1:-}" = "-push" ]; then
  [ -n "${2:-}" ] || { echo "usage: $0 [-push REF]" >&2; exit 2; }
  args+=(-push "$2")
fi
digest=$(go run ./deploy/image "${args[@]}")
echo "producer image: build/producer-image.tar, digest $digest"
